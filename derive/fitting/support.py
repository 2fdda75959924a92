"""Where each model's observations live, declared once and checked with the first bad row named:
y ∈ {0, 1} for logistic regression (and x ∈ {0, 1} for a Bernoulli sample), counts for Poisson regression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from derive.fitting.design_columns import ValueAtRow


@dataclass(frozen=True)
class Support:
    """The values a model's observations may take."""

    described: str                  # completes "logistic regression needs y ...": "in {0, 1}"
    outside: Callable               # values ↦ True where a value is outside (numpy or dask arrays alike)


BINARY = Support("in {0, 1}", lambda v: (v != 0) & (v != 1))
COUNTS = Support("to be counts (integers ≥ 0)", lambda v: (v < 0) | (v != np.round(v)))

# model ↦ (how a message names it, the support of its observations)
SUPPORTS = {"logistic": ("logistic regression", BINARY), "poisson": ("poisson regression", COUNTS),
            "bernoulli": ("bernoulli", BINARY)}


def needs(model: str, name: str) -> str:
    """What the model needs of its observations `name`: "logistic regression needs y in {0, 1}"."""
    who, support = SUPPORTS[model]
    return f"{who} needs {name} {support.described}"


def check_support(model: str, values: np.ndarray, name: str) -> None:
    """ValueAtRow naming the first of `values` outside the model's support, and its row."""
    bad = np.flatnonzero(SUPPORTS[model][1].outside(values))
    if bad.size:
        raise ValueAtRow(f"{needs(model, name)}; {name} = {float(values[bad[0]])!r}", int(bad[0]))
