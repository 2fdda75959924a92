"""Where each model's observations live, checked with the first bad row named: y ∈ {0, 1} for logistic
regression, counts for Poisson regression (a model file's observations: `model_fit`, by their distribution). Membership is the
distributions' own (`derive.derivations.distributions`); this table adds how a fit's message says it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derive.derivations import distributions
from derive.fitting.design_columns import ValueAtRow


@dataclass(frozen=True)
class Support:
    """The values a model's observations may take."""

    described: str                          # completes "logistic regression needs y ...": "in {0, 1}"
    domain: distributions.Domain            # the set itself, as the likelihood's distribution declares it

    def outside(self, values):
        """True where a value is outside (numpy or dask arrays alike)."""
        return ~self.domain.contains(values)


BINARY = Support("in {0, 1}", distributions.BINARY)
COUNTS = Support("to be counts (integers ≥ 0)", distributions.COUNTS)

# model ↦ (how a message names it, the support of its observations)
SUPPORTS = {"logistic": ("logistic regression", BINARY), "poisson": ("poisson regression", COUNTS)}


def needs(model: str, name: str) -> str:
    """What the model needs of its observations `name`: "logistic regression needs y in {0, 1}"."""
    who, support = SUPPORTS[model]
    return f"{who} needs {name} {support.described}"


def check_support(model: str, values: np.ndarray, name: str) -> None:
    """ValueAtRow naming the first of `values` outside the model's support, and its row."""
    bad = np.flatnonzero(SUPPORTS[model][1].outside(values))
    if bad.size:
        raise outside_error(model, name, values[bad[0]], int(bad[0]))


def outside_error(model: str, name: str, value, row: int) -> ValueAtRow:
    """The error for an observation `value` (in data row `row`) outside the model's support."""
    return ValueAtRow(f"{needs(model, name)}; {name} = {float(value)!r}", row)
