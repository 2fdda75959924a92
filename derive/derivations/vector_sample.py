"""A sample of vector observations: xᵢ, the row i of the n×d matrix X as a d×1 column (DESIGN §8: "x_i' is
row i of X"), and the moves from the likelihood of such a sample to its loss.

    xᵢ ~ N(μ, Σ) → p(xᵢ) as the textbook writes it → L = Πᵢ p(xᵢ) → log L = Σᵢ log p(xᵢ) → the log-density
    → ℓ = −log L → the terms free of i out of the sum (Σᵢ c = nc)

`Row(X, i)` is the node that keeps the textbook's xᵢ (never Σⱼ Xᵢⱼ or Xᵀeᵢ) in every step; it evaluates to
row i of the numbers drawn for X, so each step is verified as any other.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.core.numeval import evaluate, rule
from derive.core.steps import Derivation
from derive.derivations.abbreviations import Abbreviation
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.derivations.sentences import prose
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math


class Row(MatrixExpr):
    """xᵢ, observation i as a column: row i of the data matrix, transposed (i from 1 to n)."""

    prints_as_symbol = True

    def __new__(cls, matrix, index):
        return super().__new__(cls, matrix, sp.sympify(index))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def index(self):
        return self.args[1]

    @property
    def shape(self):
        return (self.matrix.cols, sp.S.One)

    def doit(self, **hints):
        return self

    def _name(self):
        name = str(self.matrix.name)
        return name.lower() if name.isupper() else name

    def _unicode(self, printer):
        return "%s%s" % (self._name(), {"i": "ᵢ"}.get(str(self.index), "_" + printer._print(self.index)))

    def _latex(self, printer):
        return "%s_{%s}" % (self._name(), printer._print(self.index))

    def _sympystr(self, printer):
        return "%s_%s" % (self._name(), printer._print(self.index))


@rule(Row)
def _evaluate_row(expr, env):
    matrix = np.asarray(evaluate(expr.matrix, env))
    return matrix[int(evaluate(expr.index, env)) - 1, :].reshape(-1, 1)


class SumOver(MatrixExpr):
    """Σᵢ M(i) for a matrix-valued summand (Σᵢ(xᵢ − μ), Σᵢ(xᵢ − μ)(xᵢ − μ)ᵀ): SymPy's Sum holds scalars only."""

    def __new__(cls, summand, index, count):
        return super().__new__(cls, summand, sp.sympify(index), sp.sympify(count))

    @property
    def summand(self):
        return self.args[0]

    @property
    def shape(self):
        return self.summand.shape

    def doit(self, **hints):
        return self

    def _body(self, printer, wrap):
        body = printer._print(self.summand)
        return wrap % body if isinstance(self.summand, sp.MatAdd) else body

    def _unicode(self, printer):
        return "Σ_{%s=1..%s} %s" % (printer._print(self.args[1]), printer._print(self.args[2]),
                                    self._body(printer, "(%s)"))

    def _latex(self, printer):
        return r"\sum_{%s=1}^{%s} %s" % (printer._print(self.args[1]), printer._print(self.args[2]),
                                         self._body(printer, r"\left(%s\right)"))

    def _sympystr(self, printer):
        return "Sum(%s, (%s, 1, %s))" % tuple(printer._print(a) for a in self.args)


@rule(SumOver)
def _evaluate_sum_over(expr, env):
    index = str(expr.args[1])
    count = int(evaluate(expr.args[2], env))
    return sum(np.asarray(evaluate(expr.summand, {**env, index: k})) for k in range(1, count + 1))


def rows_of(expr, index):
    """The matrices whose row `index` the expression holds (X for xᵢ)."""
    return {r.matrix for r in expr.atoms(Row) if r.index == index}


def negative_log_likelihood(D: Derivation, statement, index, label, parameters) -> sp.Basic:
    """From `xᵢ ~ family(θ)` to ℓ(θ) = Σᵢ −log p(xᵢ; θ) with the terms free of i taken out of the sum: the
    loss as a sum of terms, each a number times a function of the parameters or a sum over observations."""
    family, count = statement.family, statement.observed.rows
    x_i = Row(statement.observed, index)
    names = ", ".join(unicode(p) for p in parameters)
    names_tex = ", ".join(latex(p) for p in parameters)
    likelihood = Notation(f"L({names})", r"L(%s)" % names_tex)
    log_likelihood = Notation(f"log L({names})", r"\log L(%s)" % names_tex)
    density = family.density(x_i, *statement.arguments)
    p_i = Notation(f"p({unicode(x_i)} | {names})", r"p(%s \mid %s)" % (latex(x_i), names_tex))
    call = Math("%s(%s)" % (family.name, ", ".join(unicode(a) for a in statement.arguments)),
                r"\mathcal{%s}(%s)" % (family.name, ", ".join(latex(a) for a in statement.arguments)))
    D.step(f"{family.title} density", prose(
        "Each observation ", x_i, " (row i of ", statement.observed, ", transposed into a column of ", x_i.rows,
        " entries) has ", x_i, " ~ ", call,
        ", with ", *_joined_domains(family, statement.arguments), "."),
        density, density, lhs=p_i)
    why = prose("The observations ", x_i, ", i = 1, …, n, are independent: the likelihood is the product of "
                "their densities.")
    # the density by its name in the product and its log, as a textbook writes Πᵢ p(xᵢ | μ, Σ)
    named = Abbreviation(p_i.text, p_i.latex, density)
    logs = log_likelihood_of_independent(D, named, index, count, likelihood, log_likelihood, why=why)
    log_density = family.log_density(x_i, *statement.arguments)
    written = sp.Sum(log_density, (index, 1, count))
    D.step(f"log-density of the {family.title} distribution", prose(
        "log ", p_i, " = ", log_density, ": the log of a product is the sum of the logs, ",
        Math("log aᵇ = b log a", r"\log a^{b} = b \log a"), " and log eᵘ = u."), logs, written, lhs=log_likelihood)
    negative = sp.Sum(sp.expand(-log_density, deep=False, log=False, power_base=False, power_exp=False),
                      (index, 1, count))
    D.step("negative log-likelihood", prose("Maximising the likelihood is minimising ", label, " = −log L; the "
           "minus sign goes onto each term of the sum."), -written, negative, lhs=label)
    constant = [t for t in sp.Add.make_args(negative.function) if not rows_of(t, index)]
    varying = [t for t in sp.Add.make_args(negative.function) if rows_of(t, index)]
    loss = sp.Add(*[count * t for t in constant]) + sp.Add(*[sp.Sum(t, (index, 1, count)) for t in varying])
    D.step("constants out of the sum", prose(
        "Σᵢ c = nc: ", *_listed(constant), " the same for every observation; the sum of the other "
        "term" + ("s" if len(varying) > 1 else ""), " stays a sum over i."), negative, loss, lhs=label)
    return loss


def joined(terms) -> list:
    """"a, b and c": the terms as the parts of a sentence (for `prose`)."""
    parts = []
    for k, t in enumerate(terms):
        parts += ([", " if k < len(terms) - 1 else " and "] if k else []) + [t]
    return parts


def _listed(terms):
    """"a and b are", "a is"."""
    return joined(terms) + [" are" if len(terms) > 1 else " is"]


def _joined_domains(family, arguments):
    """"μ a real vector and Σ a positive definite matrix": each argument with its parameter's domain."""
    return joined([prose(a, " ", domain.name) for (_, domain), a in zip(family.parameters, arguments)])
