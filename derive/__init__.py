"""derive: step-by-step, machine-verified derivations for the mathematics of machine learning.

    >>> import derive
    >>> d = derive.derivation("ols")
    >>> all(step.verified for step in d.steps)
    True
    >>> derive.expr.printing.unicode(d.results["gradient"])
    '2XᵀXβ − 2Xᵀy'

Model names are case-insensitive (``derive.derivation("OLS")``); a misspelt one is refused with the
nearest name suggested.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Callable, Mapping

from derive import datasets
from derive.core.steps import Derivation, Step
from derive.errors import (
    DataError,
    DeriveError,
    LimitExceeded,
    NotSupported,
    ParseError,
    ShapeError,
    VerificationError,
    did_you_mean,
)
from derive.expr import printing

if TYPE_CHECKING:  # the result classes, for the annotations only: importing them costs start-up time
    from derive.checking.answers import CheckResult
    from derive.checking.code import CodeCheckResult
    from derive.checking.line_checking import StepsResult
    from derive.fitting.result import FitResult

try:
    __version__ = version("derive")  # the one version number is pyproject.toml's, as installed
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

__all__ = ["models", "derivation", "diff", "check", "check_steps", "check_code", "fit", "lambdify", "Derivation", "Step",
           "DeriveError", "ParseError", "ShapeError", "NotSupported", "LimitExceeded", "DataError",
           "VerificationError", "printing", "datasets", "__version__"]


def models() -> list[str]:
    """The names of the implemented models: "ols", "ridge", "logistic", ..."""
    from derive.derivations import names
    return names()


def _model_name(model: str) -> str:
    """A built-in model's name as the registry spells it ("OLS" -> "ols"); NotSupported, naming the nearest
    built-in model, for a name that is none of them. Text that names a file ("wls.toml") is left as it is.
    """
    known = models()
    if model.lower() in known:
        return model.lower()
    if "." in model or "/" in model:
        return model
    raise NotSupported(f"unknown model {model!r}{did_you_mean(model, known)}; models: {', '.join(known)}")


def derivation(model: str, form: str = "matrix", dim: int | None = None) -> Derivation:
    """The verified derivation of a model in the given form: "matrix" (vector and matrix notation),
    "index" (summation notation) or "components" (explicit β₀, …, β_{dim−1}; `dim` defaults to 2)."""
    from derive.derivations import build
    return build(_model_name(model), form=form, dim=dim)


def diff(expr: Any, wrt: Any, shapes: str | Mapping | None = None, order: int = 1, **options: Any) -> Derivation:
    """The derivative of `expr` (text, SymPy, or a Python function) with respect to `wrt`, step by step.

    `shapes` declares matrices ({"x": ("n", 1), "A": ("n", "n")}); `order` 2 gives the Hessian; options:
    symbols, form ("components" with dim). Returns a Derivation whose `.result` is the derivative.
    """
    from derive.calculus.differentiation import diff as differentiate
    return differentiate(expr, wrt, shapes, order=order, **options)


def fit(model: str, X: Any, y: Any, method: str = "auto", **options: Any) -> FitResult:
    """Fit `model` to X (n×d, used as given: no intercept is added) and y (n,) with the derived formulas.

    `method`: "auto" (exact rational arithmetic for small decimal data, else QR, for ols and ridge; Newton
    for logistic and poisson), "exact", "qr", "cholesky" (normal equations, after a condition check),
    "newton" or "gd" (gradient descent). Returns a `FitResult` (.coef, .std_errors, .converged, .iterations,
    .method, .loss, ...); options: lam (the ridge penalty), names, exact_data, tol, max_iter, progress.
    """
    from derive.fitting.dispatch import fit as fit_model
    return fit_model(_model_name(model), X, y, method, **options)


def lambdify(model: str, quantity: str) -> Callable[..., Any]:
    """A numpy function g(beta, X, y) computing a derived quantity (solve instead of inverse, stable σ)."""
    from derive.fitting.codegen import lambdify_model
    return lambdify_model(_model_name(model), quantity)


def check(model: str, quantity: str, answer: str) -> CheckResult:
    """Is `answer` (LaTeX or plain text) the model's `quantity` ("loss", "gradient", "hessian", "solution",
    "update")? The result has `.correct` and, when it is wrong, a `.diagnosis` saying what is wrong."""
    from derive.checking.answers import check as check_answer
    return check_answer(_model_name(model), quantity, answer)


def check_steps(text: str, model: str | None = None, shapes: str | Mapping | None = None) -> StepsResult:
    """Check a derivation line by line: `.valid`, `.first_error` (1-based line number or None), `.lines`."""
    from derive.checking.answers import check_steps as check_lines
    return check_lines(text, model=_model_name(model) if model is not None else None, shapes=shapes)


def check_code(model: str, quantity: str, function: str, timeout: float = 20) -> CodeCheckResult:
    """Run a person's numpy function ("FILE.py:FUNC", in a child process) against the derived quantity."""
    from derive.checking.code import check_code as check_function
    return check_function(_model_name(model), quantity, function, timeout=timeout)
