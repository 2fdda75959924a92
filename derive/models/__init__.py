"""The registry of models: name → function(form, dim) returning a verified `Derivation`.

Each model module states its derivation as a sequence of moves; this table is the only place that
lists them, so `derive models` and `derive.models()` always agree with what is implemented.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from ..errors import NotSupported
from . import linear

FORMS = ("matrix", "index", "components")

REGISTRY: dict[str, Callable] = {
    "ols": partial(linear.derivation, False),
    "ridge": partial(linear.derivation, True),
}

DESCRIPTIONS = {
    "ols": "ordinary least squares: ‖y − Xβ‖²",
    "ridge": "ridge regression: ‖y − Xβ‖² + λ‖β‖²",
}


def names() -> list[str]:
    return list(REGISTRY)


def build(name: str, form: str = "matrix", dim: int | None = None):
    if name not in REGISTRY:
        raise NotSupported(f"unknown model {name!r}; models: {', '.join(REGISTRY)}")
    if form not in FORMS:
        raise NotSupported(f"unknown form {form!r}; forms: {', '.join(FORMS)}")
    return REGISTRY[name](form=form, dim=dim)
