"""derive: step-by-step, machine-verified derivations for the mathematics of machine learning.

    >>> import derive
    >>> d = derive.derivation("ols")
    >>> all(step.verified for step in d.steps)
    True
    >>> derive.expr.printing.unicode(d.results["gradient"])
    '2XᵀXβ − 2Xᵀy'
"""
from __future__ import annotations

from derive.core.steps import Derivation, Step
from derive.errors import (
    DataError,
    DeriveError,
    LimitExceeded,
    NotSupported,
    ParseError,
    ShapeError,
    VerificationError,
)
from derive.expr import printing

__all__ = ["models", "derivation", "diff", "check", "check_steps", "check_code", "fit", "lambdify", "Derivation", "Step",
           "DeriveError", "ParseError", "ShapeError", "NotSupported", "LimitExceeded", "DataError",
           "VerificationError", "printing"]


def models() -> list[str]:
    """The names of the implemented models (DESIGN §2)."""
    from derive.derivations import names
    return names()


def derivation(model: str, form: str = "matrix", dim: int | None = None) -> Derivation:
    """The verified derivation of a model in the given form ("matrix", "index", "components" with `dim`)."""
    from derive.derivations import build
    return build(model, form=form, dim=dim)


def diff(expr, wrt, shapes=None, order: int = 1, **options):
    """The derivative of `expr` (text, SymPy, or a Python function) with respect to `wrt`, step by step.

    `shapes` declares matrices ({"x": ("n", 1), "A": ("n", "n")}); `order` 2 gives the Hessian; options:
    symbols, form ("components" with dim). Returns a Derivation whose `.result` is the derivative.
    """
    from derive.calculus.differentiation import diff as differentiate
    return differentiate(expr, wrt, shapes, order=order, **options)


def fit(model: str, X, y, method: str = "auto", **options):
    """Fit `model` to X (n×d, as given: no intercept added) and y (n,) with the derived formulas (DESIGN §6).

    Returns a `FitResult` (.coef, .std_errors, .converged, .iterations, .method, .loss, ...); options:
    lam (ridge), names, exact_data, tol, max_iter, progress.
    """
    from derive.fitting.dispatch import fit as fit_model
    return fit_model(model, X, y, method, **options)


def lambdify(model: str, quantity: str):
    """A numpy function g(beta, X, y) computing a derived quantity (solve instead of inverse, stable σ)."""
    from derive.fitting.codegen import lambdify_model
    return lambdify_model(model, quantity)


def check(model: str, quantity: str, answer):
    """Is `answer` (LaTeX or plain text, or a SymPy expression) the model's `quantity`? `.correct`, `.diagnosis`
    (DESIGN §3); a wrong result is falsy."""
    from derive.checking.answers import check as check_answer
    return check_answer(model, quantity, answer)


def check_steps(text: str, model: str | None = None, shapes=None):
    """Check a derivation line by line: `.valid`, `.first_error` (1-based line number or None), `.lines`."""
    from derive.checking.answers import check_steps as check_lines
    return check_lines(text, model=model, shapes=shapes)


def check_code(model: str, quantity: str, function: str, timeout: float = 20):
    """Run a person's numpy function ("FILE.py:FUNC", in a child process) against the derived quantity."""
    from derive.checking.code import check_code as check_function
    return check_function(model, quantity, function, timeout=timeout)
