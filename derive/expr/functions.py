"""The functions of machine learning that SymPy lacks, and elementwise application to matrices.

Scalars: `sigmoid` σ(z) = 1/(1 + e^{−z}) and `softplus` log(1 + e^z), SymPy functions that know their
derivatives, print as textbook notation and evaluate numerically.

Matrices: `Elementwise("sigmoid", Xβ)` is σ applied entry by entry. It is a first-class matrix expression
with the shape of its argument, so σ(Xβ) prints as σ(Xβ), never as a SymPy `Lambda` or array object, and
`.doit()` on an explicit matrix applies the scalar function to every entry. `lift` turns a scalar formula
in z (such as σ'(z) = σ(z)(1 − σ(z))) into the same formula applied entrywise (σ(U) ⊙ (1 − σ(U))).
"""
from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr


class sigmoid(sp.Function):
    """σ(z) = 1 / (1 + e^{−z}), the logistic function; σ'(z) = σ(z)(1 − σ(z))."""

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        text = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return text if exp is None else r"%s^{%s}" % (text, exp)  # σ(z)^{y}, as SymPy's Pow printer asks


class softplus(sp.Function):
    """softplus(z) = log(1 + e^z), the logistic loss's building block; softplus'(z) = σ(z)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        text = r"\log\left(1 + e^{%s}\right)" % printer._print(self.args[0])
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)


# The scalar functions that may be applied entrywise to a matrix, by the name stored in `Elementwise`.
SCALAR_FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
}
FUNCTION_NAMES = {function: name for name, function in SCALAR_FUNCTIONS.items()}
# How f(A) starts in LaTeX: exp(XW), not e^{z}(XW); log(·) with balanced braces.
LATEX_HEADS = {"exp": r"\exp", "log": r"\log", "sigmoid": r"\sigma", "softplus": r"\operatorname{softplus}",
               "sin": r"\sin", "cos": r"\cos", "tanh": r"\tanh"}


class Elementwise(MatrixExpr):
    """f(A): the scalar function named `name` applied to every entry of the matrix A."""

    is_commutative = False

    def __new__(cls, name, arg):
        if isinstance(name, Str):
            name = name.name
        if name not in SCALAR_FUNCTIONS:
            raise ValueError(f"no elementwise function named {name!r}")
        arg = sp.sympify(arg)
        if not arg.is_Matrix:
            raise TypeError("Elementwise applies to a matrix; use the scalar function on a scalar")
        return super().__new__(cls, Str(name), arg)

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def function(self):
        return SCALAR_FUNCTIONS[self.name]

    @property
    def arg(self):
        return self.args[1]

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        return self.function(self.arg._entry(i, j, **kwargs))

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(self.function)
        return Elementwise(self.name, arg)

    def _latex(self, printer):
        head = LATEX_HEADS.get(self.name, r"\operatorname{%s}" % self.name)
        return r"%s\left(%s\right)" % (head, printer._print(self.arg))

    def _sympystr(self, printer):
        return "%s(%s)" % (self.name, printer._print(self.arg))


def apply(function, arg):
    """f(arg): the scalar function on a scalar, entrywise on a matrix."""
    if getattr(arg, "is_Matrix", False):
        return Elementwise(FUNCTION_NAMES[function], arg)
    return function(arg)


def lift(formula: sp.Expr, z: sp.Symbol, U: MatrixExpr) -> MatrixExpr:
    """The scalar formula f(z) applied entrywise to U, written with ⊙, so σ(z)(1 − σ(z)) ↦ σ(U) ⊙ (1 − σ(U))."""
    ones = sp.OneMatrix(*U.shape)

    def go(e):
        if e == z:
            return U
        if not e.has(z):
            return e * ones
        if isinstance(e, sp.Add):
            return sp.MatAdd(*[go(a) for a in e.args])
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_independent(z, as_Add=False)
            # σ(U) ⊙ (1 − σ(U)), not the other way round: plain applications first, as textbooks write them
            factors = sorted((go(a) for a in sp.Mul.make_args(rest)), key=lambda f: isinstance(f, sp.MatAdd))
            product = factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors)
            return product if coeff == 1 else coeff * product
        if isinstance(e, sp.Pow) and not e.exp.has(z):
            return sp.HadamardPower(go(e.base), e.exp)
        if isinstance(e, sp.Function) and len(e.args) == 1 and type(e) in FUNCTION_NAMES:
            return Elementwise(FUNCTION_NAMES[type(e)], go(e.args[0]))
        raise ValueError(f"cannot apply {e} entrywise")

    return go(formula)


def elementwise_derivative(name: str, U: MatrixExpr) -> MatrixExpr:
    """f'(U) entrywise, from the scalar derivative: the ⊙-factor in d f(U) = f'(U) ⊙ dU."""
    z = sp.Dummy("z")
    return lift(sp.diff(SCALAR_FUNCTIONS[name](z), z), z, U)
