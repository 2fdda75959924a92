"""The exceptions `derive` raises.

Every error a user can cause is a `DeriveError`: the command line prints its message on one line and
exits with code 2. `VerificationError` is different in kind: a derivation step failed its own check,
which is a bug in `derive`, never a result to print.
"""
from __future__ import annotations

import difflib
import re
from typing import Iterable


class DeriveError(Exception):
    """A request `derive` cannot fulfil; the message is one clear line for the user.

    `position` is where in the user's text the fault is ({"line": 1, "column": 14}), or None.
    """

    position: dict | None = None


# The place a parse message names: "at column 14 in ..." or "at line 2, column 3 in ...".
_PLACE = re.compile(r"\bat (?:line (\d+), )?column (\d+)\b")


class ParseError(DeriveError):
    """The input text is not an expression `derive` understands.

    Its `position` is the place the message names (``at column 14 in "..."``), unless given.
    """

    def __init__(self, message: str = "", *, position: dict | None = None):
        super().__init__(message)
        place = _PLACE.search(message)
        if position is None and place:
            position = {"line": int(place.group(1) or 1), "column": int(place.group(2))}
        self.position = position


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


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'ols'?)`` when `word` is a near miss of one of `known` (any case), else ``""``."""
    spelled = {name.lower(): name for name in known}
    close = difflib.get_close_matches(word.lower(), spelled, n=1, cutoff=0.6)
    return f" (did you mean {spelled[close[0]]!r}?)" if close else ""
