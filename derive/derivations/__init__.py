"""The registry of models, and the one resolver every command calls: a model is a built-in name, the path
of a model file (TOML, DESIGN §8) or a `Model` object.

Built-in models are model files in `models/` (the statement a user would write, shown by
`derive models --json` as "spec"). The planner (`derive.derivations.planner`) derives a model file, in
every form (`derive.derivations.coordinates` writes the index and components forms from the plan). The
course's other derivations (Lagrange multipliers, expectations, Bayes, linear algebra, optimisation: no
likelihood or loss to plan) are modules of their own (REGISTRY, below), each imported when its model is
first asked for, so `derive show ols` does not pay for them.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from derive.derivations.model import Model, ModelError, model
from derive.errors import DeriveError, NotSupported, did_you_mean
from derive.expr.symbols import evaluable

__all__ = ["Model", "ModelError", "model", "resolve", "build", "names", "spec", "description", "FORMS"]

MODEL_FILES = Path(__file__).resolve().parent / "models"

FORMS = ("matrix", "index", "components")

# name → (module, keyword arguments of its `derivation`)
REGISTRY: dict[str, tuple] = {
    "categorical": ("constrained", {"name": "categorical"}),
    "pca": ("constrained", {"name": "pca"}),
    "min-norm": ("constrained", {"name": "min-norm"}),
    "svm-dual": ("constrained", {"name": "svm-dual"}),
    "random-vectors": ("expectations", {"name": "random-vectors"}),
    "sigma2-bias": ("expectations", {"name": "sigma2-bias"}),
    "ols-moments": ("expectations", {"name": "ols-moments"}),
    "bias-variance": ("expectations", {"name": "bias-variance"}),
    "bayes-gaussian": ("bayes", {"name": "bayes-gaussian"}),
    "bayes-linear": ("bayes", {"name": "bayes-linear"}),
    "beta-bernoulli": ("bayes", {"name": "beta-bernoulli"}),
    "projection": ("linear_algebra", {"name": "projection"}),
    "spectral": ("linear_algebra", {"name": "spectral"}),
    "svd-least-squares": ("linear_algebra", {"name": "svd-least-squares"}),
    "descent-lemma": ("optimisation", {"name": "descent-lemma"}),
    "gd-quadratic": ("optimisation", {"name": "gd-quadratic"}),
    "sgd-unbiased": ("optimisation", {"name": "sgd-unbiased"}),
}

DESCRIPTIONS = {
    "ols": "ordinary least squares: ‖y − Xβ‖²",
    "ridge": "ridge regression: ‖y − Xβ‖² + λ‖β‖²",
    "logistic": "logistic regression: Bernoulli likelihood, yᵢ ~ Bernoulli(σ(xᵢᵀβ))",
    "gaussian": "iid Gaussian sample xᵢ ~ N(μ, σ²): maximum likelihood for μ and σ²",
    "bernoulli": "iid Bernoulli sample xᵢ ~ Bernoulli(p): maximum likelihood for p",
    "poisson": "Poisson regression with log link: yᵢ ~ Poisson(exp(xᵢᵀβ))",
    "softmax": "multinomial (softmax) logistic regression, parameters W (d×K)",
    "mvn": "iid multivariate normal sample xᵢ ~ N(μ, Σ): maximum likelihood for μ and Σ",
    "wls": "weighted least squares: (y − Xβ)ᵀW(y − Xβ)",
    "gaussian-linear": "yᵢ ~ N(xᵢᵀβ, σ²): maximum likelihood for β and σ² (σ̂² = RSS/n)",
    "probit": "probit regression: yᵢ ~ Bernoulli(Φ(xᵢᵀβ))",
    "exponential": "iid exponential sample xᵢ ~ Exponential(λ): maximum likelihood for the rate",
    "categorical": "categorical counts c: maximum likelihood p̂ = c/n with a Lagrange multiplier for Σp = 1",
    "pca": "principal components: max vᵀSv subject to vᵀv = 1 gives Sv = λv, the top eigenvector",
    "min-norm": "minimum-norm solution of Xw = y (n < d): w = Xᵀ(XXᵀ)⁻¹y, the pseudo-inverse",
    "svm-dual": "hard-margin SVM by the KKT conditions: w = Xᵀdiag(y)α and the dual in α",
    "random-vectors": "expectations of a random vector: E[Ax + b] = Aμ + b, E[xxᵀ] = Σ + μμᵀ, Var(aᵀx) = aᵀΣa",
    "sigma2-bias": "the maximum-likelihood variance is biased: E[σ̂²] = (n − 1)σ²/n",
    "ols-moments": "least squares is unbiased: E[β̂] = β and Cov(β̂) = σ²(XᵀX)⁻¹",
    "bias-variance": "expected squared error of a least-squares prediction = noise + bias² + variance",
    "bayes-gaussian": "posterior of a Gaussian mean under a Gaussian prior, by completing the square",
    "bayes-linear": "Bayesian linear regression: β | y ~ N(m, S), S⁻¹ = XᵀX/σ² + I/τ², m = SXᵀy/σ²; MAP = ridge",
    "beta-bernoulli": "Beta(a, b) prior and Bernoulli data: posterior Beta(a + s, b + n − s)",
    "projection": "the hat matrix H = X(XᵀX)⁻¹Xᵀ is symmetric and idempotent; residuals ⟂ columns of X",
    "spectral": "a symmetric A = QΛQᵀ is positive semidefinite ⇔ its eigenvalues are ≥ 0",
    "svd-least-squares": "least squares by the SVD: β̂ = VΣ⁻¹Uᵀy = X⁺y, and κ(XᵀX) = κ(X)²",
    "descent-lemma": "gradient descent with step 1/L on an L-smooth f: f(x − ∇f/L) ≤ f(x) − ‖∇f‖²/(2L)",
    "gd-quadratic": "gradient descent on ½xᵀAx − bᵀx: error × (I − ηA) per step, rate 1 − 1/κ(A)",
    "sgd-unbiased": "stochastic gradient descent: one observation's gradient is an unbiased estimate",
}


def description(name) -> str:
    """What `derive models` says of a model: its line in DESCRIPTIONS, else (a model known only by its file,
    a user's or a new built-in) its title and its statement as the derivation writes it:
    "Probit regression: y_i ~ Bernoulli(Φ(xᵢᵀβ))", or without a title "loss: (y − Xβ)ᵀW(y − Xβ)"."""
    if isinstance(name, str) and name.lower() in DESCRIPTIONS:
        return DESCRIPTIONS[name.lower()]
    resolved = resolve(name)
    if not isinstance(resolved, Model):   # a scripted built-in: its model file, if it has one, states it
        if spec(resolved) is None:
            return ""
        resolved = Model.from_toml(MODEL_FILES / f"{resolved}.toml")
    heading = resolved.title or ("loss" if resolved.loss else "likelihood")
    try:
        statement = stated(resolved)
    except DeriveError:   # a statement derive cannot read: as written
        statement = resolved.loss or resolved.likelihood
    return heading + ("; " if ":" in heading else ": ") + statement


def stated(model: Model) -> str:
    """The statement of a model file in the printer's notation: its loss or its likelihood, with its penalty
    and its prior."""
    from derive.derivations.planner import INDEX, scalar_form
    from derive.derivations.statement import read_statement
    from derive.expr.printing import unicode

    def written(text: str) -> str:
        statement = read_statement(text, model.context(), model.expression)
        # a likelihood is about observation i: an entry yᵢ, or a row xᵢ of a matrix
        arguments = ", ".join(unicode(statement.argument(k, INDEX)) for k in range(len(statement.arguments)))
        return f"{unicode(statement.observation(INDEX))} ~ {statement.family.name}({arguments})"

    statement = unicode(scalar_form(model.expression(model.loss))) if model.loss else written(model.likelihood)
    if model.penalty:
        penalty = unicode(scalar_form(model.expression(model.penalty)))
        statement += f" + {penalty}" if model.loss else f", penalty {penalty}"
    return statement + (f", prior {written(model.prior)}" if model.prior else "")


def names() -> list[str]:
    """The built-in models, model files and scripted ones, in the order of DESIGN §2 (then any other by name)."""
    order = list(DESCRIPTIONS)
    every = set(REGISTRY) | set(_file_names())
    return sorted(every, key=lambda name: (order.index(name) if name in order else len(order), name))


def _file_names() -> list[str]:
    return sorted(p.stem for p in MODEL_FILES.glob("*.toml"))


def spec(name: str) -> str | None:
    """The model file of a built-in model, as text (None when it has none)."""
    path = MODEL_FILES / f"{name}.toml"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def resolve(model) -> "str | Model":
    """What `model` names: a scripted built-in's name (str), or the `Model` of a model file or object.

    Accepts a built-in name, a path to a .toml model file, or a `Model`; NotSupported otherwise."""
    if isinstance(model, Model):
        return model
    if not isinstance(model, (str, Path)):
        raise NotSupported(f"a model is a name, a model file or a derive.Model, not {type(model).__name__}")
    text = str(model)
    if text.endswith(".toml") or Path(text).is_file():
        return Model.from_toml(text)
    name = text.lower()  # built-in names are case-insensitive: OLS is ols
    if name in REGISTRY:
        return name
    if name in _file_names():
        return Model.from_toml(MODEL_FILES / f"{name}.toml")
    raise NotSupported(f"unknown model {text!r}{did_you_mean(text, names())}; models: {', '.join(names())}, "
                       "or the path of a model file (.toml)")


def display_name(model) -> str:
    """The name a message uses for a model: its name, or a model file's name."""
    resolved = resolve(model)
    return resolved if isinstance(resolved, str) else resolved.name


def build(name, form: str = "matrix", dim: int | None = None):
    """The verified derivation of a model (a name, a model file's path, or a `Model`) in `form`."""
    if form not in FORMS:
        raise NotSupported(f"unknown form {form!r}; forms: {', '.join(FORMS)}")
    resolved = resolve(name)
    if isinstance(resolved, Model):
        from derive.derivations.planner import plan
        planned = plan(resolved)
        if form == "matrix":
            derivation = planned.derivation
        else:
            from derive.derivations.coordinates import coordinate_derivation
            derivation = coordinate_derivation(planned, form, dim)
    else:
        module, options = REGISTRY[resolved]
        derivation = importlib.import_module(f"{__name__}.{module}").derivation(form=form, dim=dim, **options)
    derivation.results = {quantity: evaluable(expr) for quantity, expr in derivation.results.items()}
    return derivation
