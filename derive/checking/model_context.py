"""A model as a check sees it: its matrix-form results, the names an answer may use, its data domains,
and the results an answer for one quantity might be confused with.

    >>> from derive.checking.model_context import model_context
    >>> model_context("ols").symbol_list
    'X, β, y'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Optional

import sympy as sp

from derive.core.random_points import Domains
from derive.errors import NotSupported, did_you_mean
from derive.expr.printing import unicode
from derive.expr.symbols import PARAMETER_ALIASES, Ones

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
    parameters: tuple = ()          # the parameters of a result that is a pair, (μ, σ²), in its order
    definitions: Mapping[str, sp.Basic] = field(default_factory=dict)   # S, P as the derivation names them
    # each result as the derivation's steps write it (−Σᵢ(xᵢ − μ)/σ², XᵀSX): what a check shows as expected
    shown: Mapping[str, sp.Basic] = field(default_factory=dict)

    def shown_result(self, quantity: str, part: Optional[str] = None) -> Optional[sp.Basic]:
        """The result (or the named part of a pair) as the steps write it; None where it has no such form."""
        from derive.derivations.abbreviations import Named
        shown = self.shown.get(quantity)
        if shown is None or shown.has(Named):   # XᵀSX: S is defined in the steps, not in a check's lines
            return None
        if part is None:
            return shown
        names = [name for name, _ in self.parts(quantity)]
        entries = list(shown.args) if isinstance(shown, sp.Tuple) else list(shown)
        return entries[names.index(part)] if part in names and len(entries) == len(names) else None

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

    def parts(self, quantity: str) -> list[tuple[str, sp.Basic]]:
        """A result that is a pair, (μ̂, σ̂²) or (∂ℓ/∂μ, ∂ℓ/∂Σ), as its named parts; [] for one result."""
        expected = self.result(quantity)
        entries = list(expected.args) if isinstance(expected, sp.Tuple) else \
            list(expected) if isinstance(expected, sp.MatrixBase) and expected.cols == 1 else []
        if len(entries) != len(self.parameters) or len(entries) < 2 or quantity not in ("gradient", "solution"):
            return []
        names = [estimate_name(p) if quantity == "solution" else f"∂ℓ/∂{unicode(p)}" for p in self.parameters]
        return list(zip(names, entries))

    def answer_symbols(self, quantity: str) -> dict:
        """The names an answer for `quantity` may use: the model's symbols, and the names of `meanings`."""
        return {**self.symbols, **{name: placeholder for name, (placeholder, _) in self.named(quantity).items()}}

    def meanings(self, quantity: str) -> dict:
        """What the named quantities of an answer stand for, {placeholder: value}, substituted before comparing."""
        return dict(self.named(quantity).values())

    def named(self, quantity: str) -> dict:
        """Names an answer may use for a longer expression, as name: (placeholder, value): the matrices the
        derivation names (XᵀSX with S = diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))), the sample mean x̄, and in a solution the
        estimate μ̂. The placeholder prints as the name, so the answer reads as written."""
        found = {name: (sp.MatrixSymbol(name, *value.shape), value) for name, value in self.definitions.items()}
        # x̄ is the sample mean of the observations x wherever it is written (p̂ = x̄, λ̂ = 1/x̄, Σᵢ(xᵢ − x̄)²)
        found.update({name: (Written(name, real=True), mean) for name, mean in self.sample_means().items()})
        estimates = self.parts("solution") if "solution" in self.results else []
        for (_, value), parameter in zip(estimates, self.parameters):
            value = _relabelled(value)
            # the mean of the rows of a data matrix (mvn: x̄ = μ̂ = Xᵀ𝟏/n) is x̄ too; μ̂ (β̂, any estimate)
            # names the estimate only in the solution, where a later part uses the earlier ones (σ̂² = ‖y − Xβ̂‖²/n)
            sample_mean = ("xbar",) if parameter.name == "mu" and "xbar" not in found else ()
            for name in (*sample_mean, f"{parameter.name}hat") if quantity == "solution" else sample_mean:
                placeholder = WrittenMatrix(name, *value.shape) if value.is_Matrix else Written(name, real=True)
                found[name] = (placeholder, value)
        return found

    def sample_means(self) -> dict:
        """{"xbar": Σⱼxⱼ/n} for each vector of observations x of the model (not a parameter, and no name the
        model declares itself): 𝟏ᵀx/n where the model writes x as a vector, Σⱼxⱼ/n where it writes xᵢ."""
        from derive.derivations.vector_form import Scalar
        means = {}
        for name, obj in self.symbols.items():
            if f"{name}bar" in self.symbols or obj in self.parameters or obj == self.parameter:
                continue
            if isinstance(obj, sp.MatrixSymbol) and obj.cols == 1:
                means[f"{name}bar"] = Scalar(Ones(1, obj.rows) * obj) / obj.rows
            elif isinstance(obj, sp.IndexedBase) and obj.shape:
                j, count = sp.Symbol("j", integer=True), obj.shape[0]   # j: apart from the i of (xᵢ − x̄)²
                means[f"{name}bar"] = sp.Sum(obj[j], (j, 1, count)) / count
        return means

    def result(self, quantity: str) -> sp.Basic:
        """The model's `quantity`; NotSupported naming the quantities it has."""
        if quantity not in self.results:
            raise NotSupported(f"{self.name} has no quantity {quantity!r}{did_you_mean(quantity, self.results)}; "
                               f"its quantities: {', '.join(self.results)}")
        return self.results[quantity]


def model_context(model) -> ModelContext:
    """The check context of a model: a built-in name, a model file's path or a `Model` (NotSupported for an
    unknown name)."""
    from derive.derivations import Model, resolve
    resolved = resolve(model)
    if isinstance(resolved, Model) and resolved.likelihood:
        LIKELIHOOD_MODELS.add(resolved.name)   # its loss is a negative log-likelihood too (for diagnoses)
    return _context(resolved)


@lru_cache(maxsize=None)
def _context(model) -> ModelContext:
    from derive.derivations import Model, build, display_name
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
    if isinstance(model, Model):   # the names the model file writes (lam, sigma2) read as its symbols
        found.update({name: obj for name, obj in model.context().items() if name not in found})
    symbols = dict(sorted(found.items(), key=lambda item: (not isinstance(item[1], sp.MatrixSymbol), item[0])))
    parameter = next((symbols[p] for p in ("beta", "W", "theta", "mu")
                      if isinstance(symbols.get(p), sp.MatrixSymbol)), None)
    if parameter is not None and parameter.name == "beta":
        for alias in PARAMETER_ALIASES:
            symbols.setdefault(alias, parameter)
    # a model file states its parameters; a built-in's pair of them is read off its loss and solution
    parameters = tuple(model.parameter_objects()) if isinstance(model, Model) else _pair_parameters(D)
    return ModelContext(display_name(model), dict(D.results), symbols, D.domains, parameter, parameters,
                        _named_matrices(D), dict(D.shown_results))


def _decorated(self, printer) -> str:
    """xbar as x̄ and muhat as μ̂ in text (SymPy's LaTeX printer already writes \\bar{x}, \\hat{\\mu})."""
    for suffix, mark in (("bar", "\u0304"), ("hat", "\u0302")):
        if self.name.endswith(suffix) and len(self.name) > len(suffix):
            text = printer._print(sp.Symbol(self.name[:-len(suffix)]))
            return text[0] + mark + text[1:]
    return self.name


class Written(sp.Symbol):
    """A scalar an answer names for a longer expression (x̄, μ̂): printed as the person wrote it."""

    _unicode = _decorated


class WrittenMatrix(sp.MatrixSymbol):
    """A vector or matrix an answer names for a longer expression (the mean vector x̄)."""

    _unicode = _decorated


def _relabelled(mean):
    """A mean Σᵢxᵢ/n with its index called j, so that (xᵢ − x̄)² written out keeps two indices apart."""
    if mean.is_Matrix:
        return mean
    return mean.xreplace({s: sp.Symbol("j", integer=True) for s in mean.atoms(sp.Sum) for s in [s.limits[0][0]]})


def estimate_name(parameter) -> str:
    """μ̂, σ̂², Σ̂: the parameter's name with a hat on its letter."""
    text = unicode(parameter)
    return text[0] + "\u0302" + text[1:]


def _pair_parameters(D) -> tuple:
    """The parameters of a model whose results are pairs (gaussian: μ, σ²), in the order the derivation
    lists them: its symbols that the loss has and the closed-form solution does not."""
    loss, solution = D.results.get("loss"), D.results.get("solution")
    if loss is None or solution is None:
        return ()
    in_loss = loss.free_symbols | loss.atoms(sp.MatrixSymbol)
    in_solution = solution.free_symbols | solution.atoms(sp.MatrixSymbol)
    return tuple(s for s, _ in D.symbols if isinstance(s, (sp.Symbol, sp.MatrixSymbol))
                 and s in in_loss and s not in in_solution)


def _named_matrices(D) -> dict:
    """The matrices a derivation's steps call by a capital letter (S, P, A), by that name: what they stand for."""
    from derive.derivations.abbreviations import Named
    found = {}
    for step in D.steps:
        for expr in (step.before, step.after):
            if isinstance(expr, sp.Basic):
                for node in sp.preorder_traversal(expr):
                    name = node.args[0].name if isinstance(node, Named) else ""
                    if len(name) == 1 and name.isupper() and name not in found:
                        found[name] = node.definition
    return found


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
