"""The exceptions `derive` raises.

Every error a user can cause is a `DeriveError`: the command line prints its message on one line and
exits with code 2. `VerificationError` is different in kind: a derivation step failed its own check,
which is a bug in `derive`, never a result to print.
"""
from __future__ import annotations


class DeriveError(Exception):
    """A request `derive` cannot fulfil; the message is one clear line for the user."""


class ParseError(DeriveError):
    """The input text is not an expression `derive` understands."""


class ShapeError(DeriveError):
    """Operands whose shapes do not fit (``cannot multiply X (n×d) by X (n×d)``).

    `operation` and `operand` say, where known, what needed a square matrix and what was not square
    (``"inverse"`` and the SymPy ``X``), so that `derive.check` can explain the mistake.
    """

    def __init__(self, message: str = "", *, operation: str | None = None, operand=None):
        super().__init__(message)
        self.operation = operation
        self.operand = operand


class NotSupported(DeriveError):
    """A well-formed request outside what `derive` can derive; names what is missing."""


class LimitExceeded(DeriveError):
    """Input too large, or work on it took longer than the time limit."""


class DataError(DeriveError):
    """Numerical data that cannot be fitted as asked (bad cells, collinear columns, ...)."""


class VerificationError(DeriveError):
    """A derivation step failed its machine check: a bug in `derive`, raised instead of a wrong result."""
