"""The registry of models: name → function(form, dim) returning a verified `Derivation`.

Each model module states its derivation as a sequence of moves; this table is the only place that
lists them, so `derive models` and `derive.models()` always agree with what is implemented.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from ..errors import NotSupported
from ..symbols import evaluable
from . import bernoulli, gaussian, linear, logistic, mvn, poisson, softmax

FORMS = ("matrix", "index", "components")

REGISTRY: dict[str, Callable] = {
    "ols": partial(linear.derivation, False),
    "ridge": partial(linear.derivation, True),
    "logistic": logistic.derivation,
    "gaussian": gaussian.derivation,
    "bernoulli": bernoulli.derivation,
    "poisson": poisson.derivation,
    "softmax": softmax.derivation,
    "mvn": mvn.derivation,
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
}


def names() -> list[str]:
    return list(REGISTRY)


def build(name: str, form: str = "matrix", dim: int | None = None):
    if name not in REGISTRY:
        raise NotSupported(f"unknown model {name!r}; models: {', '.join(REGISTRY)}")
    if form not in FORMS:
        raise NotSupported(f"unknown form {form!r}; forms: {', '.join(FORMS)}")
    derivation = REGISTRY[name](form=form, dim=dim)
    derivation.results = {quantity: evaluable(expr) for quantity, expr in derivation.results.items()}
    return derivation
