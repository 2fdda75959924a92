r"""The classic mistakes, as transformations of the expected result that a tutor names.

Each entry of `MISTAKES` is one line: what the mistake does to the correct result (a function giving the
variants a student who made it would write, each with the sub-expressions it changed) and the sentence a
tutor says when the answer equals one of them. `derive.checking.diagnosis` evaluates the variants at the
comparison's random points and names the first mistake that matches the answer's values; where the answer
cannot be evaluated there (a log of a negative number), an answer identical to a variant still names it.

    >>> from derive.checking.answers import check
    >>> print(check("ridge", "solution", r"(X^TX + \lambda)^{-1}X^Ty").diagnosis)
    λ is added to every entry of XᵀX, not to its diagonal: write XᵀX + λI, with I the d×d identity

Adding a mistake is one line in the table (and, for a new kind of change, one small variant function).
"""
from __future__ import annotations

from dataclasses import dataclass
from string import Formatter
from typing import Callable, Iterator, Optional

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.expr.functions import Elementwise, VectorApplication, sigmoid
from derive.expr.printing import unicode
from derive.expr.prose import Prose, prose

MAX_VARIANTS_PER_MISTAKE = 12


@dataclass(frozen=True)
class Change:
    """One variant of the expected result: the variant, and the sub-expression before and after the change."""

    variant: sp.Basic
    before: Optional[sp.Basic] = None
    after: Optional[sp.Basic] = None


Variants = Callable[[sp.Basic], Iterator[Change]]


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: the variants of the expected result it produces, and how a tutor names it.

    `message` is formatted with `before` and `after` (the changed sub-expression, in Unicode), `variant`
    (the whole wrong result), `reference` and `subject` (as the comparison names them) and `parameter` (β, or
    the variable a derivation uses). `quantities`
    limits it to some quantities (None: any).
    """

    variants: Variants
    message: str
    quantities: Optional[tuple] = None

    def applies_to(self, quantity: Optional[str]) -> bool:
        return self.quantities is None or quantity in self.quantities

    def sentence(self, change: Change, reference: str, subject: str, parameter=None) -> Prose:
        """The tutor's sentence, its formulas the changed expressions themselves (a `Prose`: text and LaTeX)."""
        words = {"reference": reference, "subject": subject,
                 "parameter": unicode(parameter) if parameter is not None else "β"}
        formulas = {"before": change.before, "after": change.after, "variant": change.variant}
        parts = []
        for literal, field, _, _ in Formatter().parse(self.message):
            parts.append(literal)
            if field in formulas and formulas[field] is not None:
                parts.append(_tidied(formulas[field]))
            elif field:
                parts.append(words.get(field, ""))
        return prose(*parts)


def _tidied(expr):
    """An expression as a sentence shows it: XᵀIX as XᵀX."""
    try:
        return expr.doit() if _is_matrix(expr) else expr
    except Exception:  # noqa: BLE001 - shown as built
        return expr


# ---------------------------------------------------------------------------------------------------
# Finding and replacing sub-expressions
# ---------------------------------------------------------------------------------------------------
def _nodes(expr, matches) -> list:
    found = []
    for node in sp.preorder_traversal(expr):
        if matches(node) and node not in found:
            found.append(node)
    return found[:MAX_VARIANTS_PER_MISTAKE]


def replacing(matches: Callable[[sp.Basic], bool], replacement: Callable[[sp.Basic], Optional[sp.Basic]]) -> Variants:
    """Variants with every occurrence of one matching sub-expression replaced (a student who believes
    σ′ = σ(1 + σ) writes it everywhere)."""
    def variants(expr) -> Iterator[Change]:
        for node in _nodes(expr, matches):
            new = replacement(node)
            if new is None:
                continue
            try:
                yield Change(expr.xreplace({node: new}), node, new)
            except Exception:  # noqa: BLE001 - a variant SymPy refuses to build is not a candidate
                continue
    return variants


def substituting(name: str, new: Callable[[sp.Symbol], sp.Basic]) -> Variants:
    """The variant with the scalar symbol `name` (λ) replaced by new(symbol) (2λ) throughout."""
    def variants(expr) -> Iterator[Change]:
        for s in expr.free_symbols:
            if isinstance(s, sp.Symbol) and s.name == name:
                yield Change(expr.xreplace({s: new(s)}), s, new(s))
    return variants


def _is_matrix(expr) -> bool:
    return bool(getattr(expr, "is_Matrix", False))


def _scaled(expr, factor):
    return sp.MatMul(factor, expr) if _is_matrix(expr) else sp.Mul(factor, expr)


# ---------------------------------------------------------------------------------------------------
# The changes the mistakes make
# ---------------------------------------------------------------------------------------------------
def divided_by_n_minus_1(expr) -> Iterator[Change]:
    """A variance estimate divided by n − 1 where the MLE divides by n: n/(n − 1) times it."""
    if not any(isinstance(node, (sp.Pow, sp.Transpose)) for node in sp.preorder_traversal(expr)):
        return
    for n in expr.free_symbols:
        if isinstance(n, sp.Symbol) and n.name == "n" and n.is_integer:
            if isinstance(expr, sp.MatrixBase):   # a pair such as (μ̂, σ̂²): the variance entry alone
                for k in range(len(expr)):
                    if expr[k].has(sp.Pow):
                        entries = list(expr)
                        entries[k] = entries[k] * n / (n - 1)
                        yield Change(sp.ImmutableMatrix(expr.rows, expr.cols, entries))
            else:
                yield Change(_scaled(expr, n / (n - 1)))


def with_respect_to_root(expr) -> Iterator[Change]:
    """∂/∂σ for ∂/∂σ²: by the chain rule the derivative with respect to σ is 2σ·∂/∂σ²."""
    for s in expr.free_symbols:
        if isinstance(s, sp.Symbol) and s.name.endswith("^2") and s.is_positive:
            root = 2 * sp.sqrt(s)
            if isinstance(expr, sp.MatrixBase):
                for k in range(len(expr)):
                    entries = list(expr)
                    entries[k] = entries[k] * root
                    yield Change(sp.ImmutableMatrix(expr.rows, expr.cols, entries), s, sp.sqrt(s))
            else:
                yield Change(_scaled(expr, root), s, sp.sqrt(s))


def _is_sigmoid(expr) -> bool:
    return isinstance(expr, sigmoid) or isinstance(expr, Elementwise) and expr.name == "sigmoid"


def _negative_part(term):
    """s when term is −s, else None."""
    if isinstance(term, (sp.MatMul, sp.Mul)) and term.args[0] == -1:
        rest = term.args[1:]
        return rest[0] if len(rest) == 1 else term.func(*rest)
    return None


def _is_one(expr) -> bool:
    return expr == 1 or isinstance(expr, sp.OneMatrix)


def _one_minus_sigmoid(node) -> bool:
    """1 − σ(u), written with a number or with the vector of ones."""
    if not isinstance(node, (sp.Add, sp.MatAdd)) or len(node.args) != 2:
        return False
    return any(_is_one(a) for a in node.args) and any(_is_sigmoid(_negative_part(a)) for a in node.args)


def one_plus_sigmoid(node):
    one = next(a for a in node.args if _is_one(a))
    s = next(_negative_part(a) for a in node.args if _negative_part(a) is not None)
    return sp.MatAdd(one, s) if _is_matrix(node) else one + s


def _sigmoid_derivative(node) -> bool:
    """σ(u)(1 − σ(u)), as a product or entrywise."""
    return isinstance(node, (sp.Mul, HadamardProduct)) and len(node.args) == 2 and \
        any(_is_sigmoid(a) for a in node.args) and any(_one_minus_sigmoid(a) for a in node.args)


def sigmoid_alone(node):
    return next(a for a in node.args if _is_sigmoid(a))


def _penalty(node) -> bool:
    """λI, the ridge penalty's matrix."""
    return isinstance(node, sp.MatMul) and any(isinstance(a, sp.Identity) for a in node.args) and \
        any(isinstance(a, sp.Symbol) for a in node.args)


def on_every_entry(node):
    return node.xreplace({a: sp.OneMatrix(*a.shape) for a in node.args if isinstance(a, sp.Identity)})


def _weights(node) -> bool:
    return isinstance(node, DiagMatrix)


def identity_of(node):
    return sp.Identity(node.shape[0])


def _square_matrix(node) -> bool:
    """A square matrix of the model (a weight matrix W, a covariance Σ, or its inverse): one a student may drop."""
    if isinstance(node, sp.Inverse):
        node = node.args[0]
    return isinstance(node, sp.MatrixSymbol) and node.shape[0] == node.shape[1] and node.shape[0] != 1


def _normaliser(node) -> bool:
    """diag(v)⁻¹: dividing each row by its own number (the softmax's row sums); or a softmax itself."""
    return isinstance(node, sp.Inverse) and isinstance(node.args[0], DiagMatrix) \
        or isinstance(node, VectorApplication) and node.name == "softmax"


def _unnormalised(node):
    """What is left without the normaliser: the identity for diag(v)⁻¹, the exponentials exp(Z) for softmax(Z)."""
    return Elementwise("exp", node.arg) if isinstance(node, VectorApplication) else identity_of(node)


def _exp(node) -> bool:
    return isinstance(node, sp.exp) or isinstance(node, Elementwise) and node.name == "exp"


def log_of(node):
    return Elementwise("log", node.arg) if isinstance(node, Elementwise) else sp.log(node.args[0])


def argument_of(node):
    return node.arg if isinstance(node, Elementwise) else node.args[0]


def _target(node) -> bool:
    return isinstance(node, sp.MatrixSymbol) and node.name == "y"


def log_of_target(node):
    return Elementwise("log", node)


def _residual(node) -> bool:
    """μ − y (or y − μ): the residual of a mean μ and the target y."""
    return isinstance(node, sp.MatAdd) and any(t == sp.MatrixSymbol("y", *node.shape) or
                                               _negative_part(t) == sp.MatrixSymbol("y", *node.shape)
                                               for t in node.args)


def weights_dropped(expr) -> Iterator[Change]:
    """w ⊙ (μ − y) written as μ − y: the gradient's form for a canonical link, where the weights cancel."""
    for node in _nodes(expr, lambda e: isinstance(e, HadamardProduct) and any(_residual(a) for a in e.args)):
        residual = next(a for a in node.args if _residual(a))
        rest = [a for a in node.args if a != residual]
        weights = rest[0] if len(rest) == 1 else HadamardProduct(*rest)
        try:
            yield Change(expr.xreplace({node: residual}), weights, residual)
        except Exception:  # noqa: BLE001 - a variant SymPy refuses to build is not a candidate
            continue


# ---------------------------------------------------------------------------------------------------
# The catalogue: one line per mistake, tried in order
# ---------------------------------------------------------------------------------------------------
MISTAKES: list[Mistake] = [
    Mistake(divided_by_n_minus_1, "the MLE divides by n; 1/(n − 1) is the unbiased estimator "
            "(the maximum-likelihood estimate is the one with 1/n)", ("solution",)),
    Mistake(with_respect_to_root, "∂/∂σ in place of ∂/∂σ²: this is the derivative with respect to σ, "
            "2σ times the one with respect to the variance σ², which is the parameter here", ("gradient",)),
    Mistake(replacing(_one_minus_sigmoid, one_plus_sigmoid), "σ′ = σ(1 − σ), not σ(1 + σ): {subject} has "
            "{after} where {before} belongs"),
    Mistake(replacing(_sigmoid_derivative, sigmoid_alone), "σ′ = σ(1 − σ): {subject} has {after} where "
            "{before} belongs (the factor 1 − σ is missing)"),
    Mistake(replacing(_weights, identity_of), "{variant} is missing its weights S = {before}: {reference} "
            "is XᵀSX", ("hessian",)),
    Mistake(replacing(_weights, identity_of), "the Hessian in it is missing its weights S = {before} "
            "(it is XᵀSX, not XᵀX)", ("update",)),
    Mistake(replacing(_square_matrix, identity_of), "{before} is missing: {subject} equals {reference} with "
            "{before} left out"),
    Mistake(replacing(_normaliser, _unnormalised), "softmax without its normaliser: each row of the exponentials "
            "must be divided by its sum ({before} in {reference})"),
    Mistake(replacing(_penalty, on_every_entry), "λ is added to every entry of XᵀX, not to its diagonal: "
            "write XᵀX + λI, with I the d×d identity"),
    Mistake(substituting("lambda", lambda s: s / 2), "λ where 2λ is meant: the penalty λ‖{parameter}‖² has gradient "
            "2λ{parameter} (λ{parameter} is the gradient of (λ/2)‖{parameter}‖²)"),
    Mistake(substituting("lambda", lambda s: 2 * s), "2λ where λ is meant: the 2 of the penalty's gradient "
            "2λ{parameter} cancels against the 2 of 2XᵀX{parameter} − 2Xᵀy"),
    Mistake(weights_dropped, "the weights {before} on the residual {after} are missing: without them this is "
            "the gradient's form for a canonical link (σ in logistic regression, exp in Poisson regression), "
            "where the weights cancel; with this model's link they do not", ("gradient",)),
    Mistake(replacing(_exp, log_of), "log and exp are mixed up: {subject} has {after} where {before} belongs "
            "(with the log link the mean is exp of the linear predictor)"),
    Mistake(replacing(_exp, argument_of), "the exp is missing: {subject} has {after} where {before} belongs "
            "(with the log link the mean is exp of the linear predictor, not the predictor itself)"),
    Mistake(replacing(_target, log_of_target), "log and exp are mixed up: {subject} has {after} where {before} "
            "belongs (the data y enter as they are)"),
]
