"""A model as a check sees it: its matrix-form results, the names an answer may use, its data domains,
and the results an answer for one quantity might be confused with.

    >>> from derive.checking.model_context import model_context
    >>> model_context("ols").symbol_list
    'X, β, y'
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Optional

import sympy as sp

from derive.core.steps import Domains
from derive.errors import NotSupported, did_you_mean
from derive.expr.printing import unicode
from derive.expr.symbols import PARAMETER_ALIASES

QUANTITY_NOUNS = {"loss": "loss", "gradient": "gradient", "hessian": "Hessian", "solution": "solution",
                  "update": "Newton update"}
# Models whose loss is a negative log-likelihood: a flipped sign is the log-likelihood's derivative.
LIKELIHOOD_MODELS = {"logistic", "poisson", "gaussian", "bernoulli", "softmax", "mvn"}
# A model's result given for another's: (related model, what the related one lacks).
RELATED_MODELS = {"ridge": [("ols", "without the penalty λ‖β‖²")]}


def quantity_noun(quantity: str) -> str:
    """The quantity as a sentence names it ("Hessian", "Newton update"); an unknown one by its own name."""
    return QUANTITY_NOUNS.get(quantity, quantity)


@dataclass(frozen=True)
class ModelContext:
    """A model as a check sees it: the matrix-form results, the names an answer may use, the domains."""

    name: str
    results: Mapping[str, sp.Basic]
    symbols: Mapping[str, sp.Basic]
    domains: Domains
    parameter: Optional[sp.Basic]

    @property
    def symbol_list(self) -> str:
        shown = []
        for name, obj in self.symbols.items():
            if name in PARAMETER_ALIASES[1:] or obj.is_integer or isinstance(obj, sp.Pow):
                continue
            text = unicode(obj)
            if text not in shown:
                shown.append(text)
        return ", ".join(shown)

    def result(self, quantity: str) -> sp.Basic:
        """The model's `quantity`; NotSupported naming the quantities it has."""
        if quantity not in self.results:
            raise NotSupported(f"{self.name} has no quantity {quantity!r}{did_you_mean(quantity, self.results)}; "
                               f"its quantities: {', '.join(self.results)}")
        return self.results[quantity]


@lru_cache(maxsize=None)
def model_context(model: str) -> ModelContext:
    """The check context of a registered model (NotSupported for an unknown name)."""
    from derive.derivations import build
    D = build(model, form="matrix")
    found: dict = {}
    for expr in D.results.values():
        labels = set()
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.MatrixSymbol):
                found.setdefault(node.name, node)
            elif isinstance(node, sp.IndexedBase):   # x in x_i: the answer's x_i must be the same entries
                found.setdefault(str(node.label), node)
                labels.add(node.label)
        for s in expr.free_symbols:  # bound summation indices are not free
            if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy) and s not in labels and \
                    (not s.is_integer or s.is_positive):
                found.setdefault(s.name, s)
    for name, s in list(found.items()):
        base, _, power = name.partition("^")   # the symbol σ² of a model: the answer's \sigma^2 is σ²
        if power == "2" and base.isidentifier() and base not in found and getattr(s, "is_positive", False):
            found[base] = sp.sqrt(s)
    symbols = dict(sorted(found.items(), key=lambda item: (not isinstance(item[1], sp.MatrixSymbol), item[0])))
    parameter = next((symbols[p] for p in ("beta", "W", "theta", "mu")
                      if isinstance(symbols.get(p), sp.MatrixSymbol)), None)
    if parameter is not None and parameter.name == "beta":
        for alias in PARAMETER_ALIASES:
            symbols.setdefault(alias, parameter)
    return ModelContext(model, dict(D.results), symbols, D.domains, parameter)


def confusable_results(context: ModelContext, quantity: str) -> tuple[dict, dict]:
    """What an answer for `quantity` may be instead, keyed by how a diagnosis names it: the model's other
    results ("the Hessian 2XᵀX"), and the same quantity of a related model, with what that one lacks."""
    noun = quantity_noun(quantity)
    others = {f"the {quantity_noun(q)} {unicode(e)}": e for q, e in context.results.items() if q != quantity}
    related = {}
    for other_model, lacking in RELATED_MODELS.get(context.name, ()):
        other = model_context(other_model).results.get(quantity)
        if other is not None:
            related[f"the {other_model.upper()} {noun} {unicode(other)}, {lacking}"] = other
    return others, related
