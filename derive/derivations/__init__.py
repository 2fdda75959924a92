"""The registry of models: name → the module whose `derivation(form, dim)` returns a verified `Derivation`.

Each model module states its derivation as a sequence of moves; this table is the only place that
lists them, so `derive models` and `derive.models()` always agree with what is implemented. A module is
imported when its model is first asked for, so `derive show ols` does not pay for the others.
"""
from __future__ import annotations

import importlib

from derive.errors import NotSupported
from derive.expr.symbols import evaluable

FORMS = ("matrix", "index", "components")

# name → (module, keyword arguments of its `derivation`)
REGISTRY: dict[str, tuple] = {
    "ols": ("linear", {"ridge": False}),
    "ridge": ("linear", {"ridge": True}),
    "logistic": ("logistic", {}),
    "gaussian": ("gaussian", {}),
    "bernoulli": ("bernoulli", {}),
    "poisson": ("poisson", {}),
    "softmax": ("softmax", {}),
    "mvn": ("mvn", {}),
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


def names() -> list[str]:
    return list(REGISTRY)


def build(name: str, form: str = "matrix", dim: int | None = None):
    if name not in REGISTRY:
        raise NotSupported(f"unknown model {name!r}; models: {', '.join(REGISTRY)}")
    if form not in FORMS:
        raise NotSupported(f"unknown form {form!r}; forms: {', '.join(FORMS)}")
    module, options = REGISTRY[name]
    derivation = importlib.import_module(f"{__name__}.{module}").derivation(form=form, dim=dim, **options)
    derivation.results = {quantity: evaluable(expr) for quantity, expr in derivation.results.items()}
    return derivation
