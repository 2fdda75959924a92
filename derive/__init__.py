"""derive: step-by-step, machine-verified derivations for the mathematics of machine learning.

    >>> import derive
    >>> d = derive.derivation("ols")
    >>> all(step.verified for step in d.steps)
    True
    >>> derive.expr.printing.unicode(d.results["gradient"])
    '−2Xᵀ(y − Xβ)'

Model names are case-insensitive (``derive.derivation("OLS")``); a misspelt one is refused with the
nearest name suggested.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from derive import datasets
from derive.errors import (
    DataError,
    DeriveError,
    LimitExceeded,
    NotSupported,
    ParseError,
    ShapeError,
    VerificationError,
)

if TYPE_CHECKING:  # the result classes, for the annotations only: importing them costs start-up time
    from derive.checking.answers import CheckResult
    from derive.checking.code import CodeCheckResult
    from derive.checking.line_checking import StepsResult
    from derive.core.steps import Derivation, Step
    from derive.derivations.model import Model
    from derive.fitting.result import FitResult

__all__ = ["models", "model", "Model", "derivation", "diff", "check", "check_steps", "check_code", "fit", "lambdify", "Derivation", "Step",
           "DeriveError", "ParseError", "ShapeError", "NotSupported", "LimitExceeded", "DataError",
           "VerificationError", "printing", "datasets", "__version__"]


def models() -> list[str]:
    """The names of the implemented models: "ols", "ridge", "logistic", ..."""
    from derive.derivations import names
    return names()


def __getattr__(name):
    # NOTE: SymPy is imported on first use, not at `import derive`: the command line starts in a moment, and
    # a Ctrl-C while SymPy loads is caught by `derive.cli.main` (one line, exit 130), not a traceback.
    if name == "__version__":  # importlib.metadata takes longer to import than the whole command line
        value = _installed_version()
    elif name == "Model":
        from derive.derivations.model import Model as value
    elif name in ("Derivation", "Step"):
        from derive.core import steps
        value = getattr(steps, name)
    elif name == "printing":
        from derive.expr import printing as value
    else:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    globals()[name] = value  # found once: later lookups are plain attributes
    return value


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("derive")  # the one version number is pyproject.toml's, as installed
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


def model(**statement: Any) -> Model:
    """A one-off model: `model(loss="(y - X b)' W (y - X b)", wrt="b", shapes="X:nxd, y:n, W:nxn sym")`
    or `model(likelihood="y_i ~ Bernoulli(Phi(x_i' beta))", parameters=["beta"], shapes=...)`; optional
    penalty, prior, values, name. The `Model` goes wherever a model name goes."""
    from derive.derivations.model import model as make
    return make(**statement)


def derivation(model: str | Model, form: str = "matrix", dim: int | None = None) -> Derivation:
    """The verified derivation of a model (a name, a model file's path or a `Model`) in the given form:
    "matrix" (vector and matrix notation), "index" (summation notation) or "components" (explicit
    β₀, …, β_{dim−1}; `dim` defaults to 2). Model files are derived in matrix form."""
    from derive.derivations import build
    return build(model, form=form, dim=dim)


def diff(expr: Any, wrt: Any, shapes: str | Mapping | None = None, order: int = 1, **options: Any) -> Derivation:
    """The derivative of `expr` (text, SymPy, or a Python function) with respect to `wrt`, step by step.

    `shapes` declares matrices ({"x": ("n", 1), "A": ("n", "n")}); `order` 2 gives the Hessian; options:
    symbols, form ("components" with dim). Returns a Derivation whose `.result` is the derivative.
    """
    from derive.calculus.differentiation import diff as differentiate
    return differentiate(expr, wrt, shapes, order=order, **options)


def fit(model: str | Model, X: Any = None, y: Any = None, method: str = "auto", **options: Any) -> FitResult:
    """Fit `model` to X (n×d, used as given: no intercept is added) and y (n,) with the derived formulas.

    X, y: numpy, pandas (column names kept) or dask (fitted chunk by chunk on the scheduler in use); or
    data=DataFrame with formula="y ~ a*b + C(g)". `method`: "auto" (exact rational arithmetic for small
    decimal data, else QR, for ols and ridge; Newton for logistic and poisson), "exact", "qr", "cholesky"
    (normal equations, after a condition check), "newton" or "gd" (gradient descent). Returns a `FitResult`
    (.coef, .std_errors, .pvalues, .conf_int(), .predict(), .summary(), ...); options: lam (the ridge
    penalty), names, weights, offset, exposure, exact_data, tol, max_iter, progress; for a model file (or
    any model the planner derives): values={"lam": 0.5} (known scalars) and weights (W = diag(weights)).
    """
    from derive.fitting.dispatch import fit as fit_model
    return fit_model(model, X, y, method, **options)


def lambdify(model: str | Model, quantity: str) -> Callable[..., Any]:
    """A numpy function computing a derived quantity (solve instead of inverse, stable σ): its arguments are
    the parameters, then the other symbols (a model file's in the order of `symbols`), by position or name;
    `g(beta, X, y)` for the built-in regressions."""
    from derive.fitting.codegen import lambdify_model
    return lambdify_model(model, quantity)


def check(model: str | Model, quantity: str, answer: Any) -> CheckResult:
    """Is `answer` (LaTeX or plain text, or a SymPy expression) the model's `quantity` ("loss", "gradient",
    "hessian", "solution", "update")? The result has `.correct` and, when it is wrong, a `.diagnosis`
    saying what is wrong; a wrong result is falsy."""
    from derive.checking.answers import check as check_answer
    return check_answer(model, quantity, answer)


def check_steps(text: str, model: str | Model | None = None, shapes: str | Mapping | None = None) -> StepsResult:
    """Check a derivation line by line: `.valid`, `.first_error` (1-based line number or None), `.lines`."""
    from derive.checking.answers import check_steps as check_lines
    return check_lines(text, model=model, shapes=shapes)


def check_code(model: str | Model, quantity: str, function: str, timeout: float = 20) -> CodeCheckResult:
    """Run a person's numpy function ("FILE.py:FUNC", in a child process) against the derived quantity."""
    from derive.checking.code import check_code as check_function
    return check_function(model, quantity, function, timeout=timeout)
