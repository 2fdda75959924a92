"""derive: step-by-step, machine-verified derivations for the mathematics of machine learning.

    >>> import derive
    >>> d = derive.derivation("ols")
    >>> all(step.verified for step in d.steps)
    True
    >>> derive.printing.unicode(d.results["gradient"])
    '2XᵀXβ − 2Xᵀy'
"""
from __future__ import annotations

from . import printing
from .errors import DataError, DeriveError, LimitExceeded, NotSupported, ParseError, ShapeError, VerificationError
from .steps import Derivation, Step

__all__ = ["models", "derivation", "diff", "check", "check_steps", "fit", "lambdify", "Derivation", "Step",
           "DeriveError", "ParseError", "ShapeError", "NotSupported", "LimitExceeded", "DataError",
           "VerificationError", "printing"]


def models() -> list[str]:
    """The names of the implemented models (DESIGN §2)."""
    from .models import names
    return names()


def derivation(model: str, form: str = "matrix", dim: int | None = None) -> Derivation:
    """The verified derivation of a model in the given form ("matrix", "index", "components" with `dim`)."""
    from .models import build
    return build(model, form=form, dim=dim)
