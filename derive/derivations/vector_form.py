"""Between one observation and all of them: the i-th entry of a vector expression, and a sum over i
written back in vector form (Σᵢ aᵢbᵢ = aᵀb, Σᵢ uᵢ² = uᵀu, Σᵢ f(xᵢᵀβ) = 𝟏ᵀf(Xβ), Σᵢ c = nc).

Two small nodes make the textbook's notation exact: `RowTimes(X, β, i)` is xᵢᵀβ (row i of X times β, never
Σⱼ Xᵢⱼβⱼ), and `Scalar(M)` is a 1×1 matrix M used as the number it holds, so that a loss such as
(n/2) log(2πσ²) + (y − Xβ)ᵀ(y − Xβ)/(2σ²) is one scalar expression. Both evaluate numerically (the
verification of every step) and print as a textbook writes them.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.core.numeval import evaluate, rule
from derive.errors import NotSupported
from derive.expr.algebra import hadamard
from derive.expr.functions import Elementwise, apply
from derive.expr.printing import latex, unicode

SUBSCRIPT_I = "ᵢ"


class RowTimes(sp.Expr):
    """xᵢᵀb: row i (1-based) of the matrix A times the vector b."""

    is_commutative = True
    is_real = True

    def __new__(cls, A, b, index):
        return super().__new__(cls, A, b, index)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def vector(self):
        return self.args[1]

    def _eval_derivative(self, s):
        # xᵢᵀβ does not depend on an observation yᵢ; in its own symbols the derivative stays unevaluated
        return None if self.has(s) else sp.S.Zero

    def _row_name(self):
        name = self.matrix.name
        return name.lower() if name.isupper() else name

    def _unicode(self, printer):
        return f"{self._row_name()}{SUBSCRIPT_I}ᵀ{unicode(self.vector)}"

    def _latex(self, printer):
        return rf"{self._row_name()}_{{{latex(self.args[2])}}}^{{\top}} {latex(self.vector)}"

    def _sympystr(self, printer):
        return f"{self._row_name()}_{self.args[2]}'*{self.vector}"


@rule(RowTimes)
def _evaluate_row_times(expr, env):
    A = np.asarray(evaluate(expr.matrix, env))
    b = np.asarray(evaluate(expr.vector, env)).reshape(-1)
    return A[int(evaluate(expr.args[2], env)) - 1, :] @ b


class Scalar(sp.Expr):
    """A 1×1 matrix expression as the number it holds ((y − Xβ)ᵀ(y − Xβ), 𝟏ᵀx), printed as the matrix."""

    is_commutative = True
    is_real = True

    def __new__(cls, matrix):
        if matrix.shape != (1, 1):
            raise ValueError(f"Scalar holds a 1×1 matrix, not {matrix.shape}")
        return super().__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    def doit(self, **hints):
        inner = self.matrix.doit(**hints)
        return inner[0, 0] if isinstance(inner, sp.MatrixBase) else Scalar(inner)

    def _eval_derivative(self, s):
        if self.matrix.has(s):
            raise NotSupported(f"cannot differentiate {unicode(self.matrix)} in the scalar {s} inside it")
        return sp.S.Zero

    def _unicode(self, printer):
        return unicode(self.matrix)

    def _latex(self, printer):
        return latex(self.matrix)

    def _sympystr(self, printer):
        return str(self.matrix)

    def _numpycode(self, printer):
        """The 1×1 array's one entry, so that sympy.lambdify returns the number."""
        return "(%s)[0, 0]" % printer._print(self.matrix)


@rule(Scalar)
def _evaluate_scalar(expr, env):
    return np.asarray(evaluate(expr.matrix, env)).reshape(())[()]


def scalar(matrix):
    """The 1×1 matrix as a scalar expression: its numeric coefficient stays outside (2·(y − Xβ)ᵀ(y − Xβ))."""
    if isinstance(matrix, sp.MatMul):
        coefficient, factors = matrix.as_coeff_matrices()
        if coefficient != 1:
            return coefficient * Scalar(sp.MatMul(*factors) if len(factors) > 1 else factors[0])
    if isinstance(matrix, sp.MatAdd):
        return sp.Add(*[scalar(t) for t in matrix.args])
    return Scalar(matrix)


def matrix_form(expr):
    """A scalar expression with `Scalar` nodes as one 1×1 matrix expression (what the differentials and the
    code generator take): c·Scalar(M) ↦ cM, a term c free of matrices ↦ c·𝟏 (1×1)."""
    terms = []
    for term in sp.Add.make_args(sp.expand(expr, deep=False, mul=True, power_exp=False, power_base=False,
                                           log=False, multinomial=False)):
        inside = [f for f in sp.Mul.make_args(term) if isinstance(f, Scalar)]
        coefficient = sp.Mul(*[f for f in sp.Mul.make_args(term) if not isinstance(f, Scalar)])
        if len(inside) > 1:
            raise NotSupported(f"a product of two quadratic forms, {unicode(term)}, is not a matrix expression")
        if inside:
            terms.append(inside[0].matrix if coefficient == 1 else sp.MatMul(coefficient, inside[0].matrix))
        else:
            terms.append(sp.MatMul(coefficient, sp.OneMatrix(1, 1)))
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


# ---------------------------------------------------------------------------------------------------
# The i-th entry of a vector expression, and back
# ---------------------------------------------------------------------------------------------------
def entry(expr, index, count):
    """Entry i (1-based) of the n×1 expression `expr`, as a scalar formula: y ↦ yᵢ, Xβ ↦ xᵢᵀβ, f(u) ↦ f(uᵢ);
    scalars are the same in every entry."""
    if not getattr(expr, "is_Matrix", False):
        return expr
    if isinstance(expr, sp.MatrixSymbol) and expr.cols == 1:
        return sp.IndexedBase(expr.name, shape=(expr.rows,))[index]
    if isinstance(expr, sp.OneMatrix):
        return sp.S.One
    if isinstance(expr, sp.MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        scalars = sp.Mul(*[a for a in expr.args if not a.is_Matrix])
        if len(factors) == 1:
            return scalars * entry(factors[0], index, count)
        if len(factors) == 2 and isinstance(factors[0], sp.MatrixSymbol) and isinstance(factors[1], sp.MatrixSymbol) \
                and factors[1].cols == 1:
            return scalars * RowTimes(factors[0], factors[1], index)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*[entry(a, index, count) for a in expr.args])
    if isinstance(expr, Elementwise):
        return expr.function(entry(expr.arg, index, count))
    if isinstance(expr, HadamardProduct):
        return sp.Mul(*[entry(a, index, count) for a in expr.args])
    if isinstance(expr, HadamardPower):
        return entry(expr.base, index, count) ** expr.exp
    raise NotSupported(f"cannot write entry i of {unicode(expr)} for one observation (a statement may use "
                       "vectors yᵢ, rows xᵢᵀβ and functions of them)")


def vector(expr, index, count):
    """The n×1 vector whose entry i is the scalar formula `expr` (the inverse of `entry`)."""
    ones = sp.OneMatrix(count, 1)
    if not expr.has(index):
        return expr * ones
    if isinstance(expr, sp.Indexed) and expr.indices == (index,):
        return sp.MatrixSymbol(str(expr.base.label), count, 1)
    if isinstance(expr, RowTimes):
        return sp.MatMul(expr.matrix, expr.vector)
    if isinstance(expr, sp.Add):   # in SymPy's order of terms, the same whichever way the sum was built
        return sp.MatAdd(*[vector(a, index, count) for a in expr.args]).doit(deep=False)
    if isinstance(expr, sp.Mul):
        coefficient, rest = expr.as_independent(index, as_Add=False)
        # single factors before sums, as a textbook writes σ(1 − σ) and μ(1 − μ)
        parts = [vector(a, index, count) for a in sorted(sp.Mul.make_args(rest), key=lambda a: a.is_Add)]
        product = parts[0] if len(parts) == 1 else hadamard(parts)
        if coefficient == 1:
            return product
        return sp.MatMul(coefficient, *(product.args if isinstance(product, sp.MatMul) else (product,)))
    if isinstance(expr, sp.Pow) and not expr.exp.has(index):
        return HadamardPower(vector(expr.base, index, count), expr.exp)
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        try:
            return apply(type(expr), vector(expr.args[0], index, count))
        except (KeyError, ValueError):
            pass    # not a function derive applies entrywise
    raise NotSupported(f"cannot write {unicode(expr)} entrywise in vector form")


def sum_in_vector_form(summand, index, count):
    """Σᵢ summand as a scalar expression in vector form, term by term: Σᵢ c = nc, Σᵢ c·uᵢ² = c·uᵀu,
    Σᵢ aᵢbᵢ = aᵀb (the data factor first, yᵀ log σ(Xβ)), Σᵢ f(·ᵢ) = 𝟏ᵀf(·), more factors 𝟏ᵀ(a ⊙ b ⊙ …)."""
    total = []
    for term in sp.Add.make_args(summand):
        coefficient, rest = term.as_independent(index, as_Add=False)
        factors = list(sp.Mul.make_args(rest)) if rest != 1 else []
        if not factors:
            total.append(count * coefficient)
            continue
        factors.sort(key=_data_first)
        if len(factors) == 1 and isinstance(factors[0], sp.Add):   # Σᵢ(1 − xᵢ) = n − 𝟏ᵀx: term by term
            total.append(sum_in_vector_form(sp.expand(coefficient * factors[0], deep=False), index, count))
            continue
        try:
            total.append(coefficient * _vector_term(factors, index, count))
        except NotSupported:
            total.append(coefficient * sp.Sum(rest, (index, 1, count)))   # kept as a sum (log yᵢ!)
    return sp.Add(*total)


def _vector_term(factors, index, count):
    """One term's factors (those holding i) as a quadratic form or inner product."""
    if len(factors) == 1 and isinstance(factors[0], sp.Pow) and factors[0].exp == 2:
        u = vector(factors[0].base, index, count)
        return Scalar(sp.MatMul(_transposed(u), u))
    if len(factors) == 2:
        a, b = (vector(f, index, count) for f in factors)
        return Scalar(sp.MatMul(_transposed(a), b))
    return Scalar(sp.MatMul(sp.OneMatrix(1, count), vector(sp.Mul(*factors), index, count)))


def _transposed(u):
    """uᵀ kept as the transpose of u ((y − Xβ)ᵀ, not yᵀ − βᵀXᵀ); a symbol's transpose is plain."""
    return u.T if isinstance(u, sp.MatrixSymbol) else sp.Transpose(u)


def _data_first(factor) -> tuple:
    """Factors in textbook order: the data (yᵢ, 1 − yᵢ) before the functions of the parameters."""
    return (factor.has(RowTimes) or any(isinstance(a, sp.Function) for a in sp.preorder_traversal(factor)),
            sp.default_sort_key(factor))


def sums_term_by_term(summand, index, count):
    """Σᵢ summand as a textbook writes it for a sample: term by term, the factors free of i taken out and the
    terms that share them collected, Σᵢ c = nc (Σᵢ[−xᵢ log p − (1 − xᵢ) log(1 − p)] = −log p·Σᵢ xᵢ
    − log(1 − p)·Σᵢ(1 − xᵢ)); a part that holds i only with a parameter stays one sum (Σᵢ(xᵢ − μ)²)."""
    by_factor: dict = {}
    for term in sp.Add.make_args(sp.expand(summand, deep=False, log=False, power_base=False, power_exp=False,
                                           multinomial=False)):
        outside, inside = term.as_independent(index, as_Add=False)
        number, factor = outside.as_coeff_Mul()     # −xᵢ/(1 − p) and 1/(1 − p) share 1/(1 − p)
        by_factor[factor] = by_factor.get(factor, 0) + number * inside
    total = []
    for factor, inner in by_factor.items():
        content, inner = inner.as_content_primitive()   # numbers outside the sum: Σᵢ(xᵢ − μ)²/(2σ²)
        factor = content * factor
        if _leading_number(inner) < 0:   # −log p·Σᵢ xᵢ and −log(1 − p)·Σᵢ(1 − xᵢ), as a textbook writes them
            factor, inner = -factor, -inner
        total.append(factor * (count * inner if not inner.has(index) else sp.Sum(inner, (index, 1, count))))
    return sp.Add(*total)


def _leading_number(expr):
    """The constant term of a sum (else the coefficient of its first term): its sign is the sign it is read with."""
    terms = sp.Add.make_args(expr)
    constants = [t for t in terms if t.is_number]
    return constants[0] if constants else terms[0].as_coeff_Mul()[0]


def split_sums(expr, index, holding=None):
    """Every Σᵢ in expr (that holds one of `holding`, when given) written term by term (`sums_term_by_term`),
    so that a parameter in a summand comes out (Σᵢ(xᵢ − μ) = Σᵢ xᵢ − nμ)."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == index
                        and (holding is None or e.has(*holding)),
                        lambda e: sums_term_by_term(e.function, index, e.limits[0][2]))
