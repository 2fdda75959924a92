"""derive's expressions in SymPy's own tools: `.diff`, `.evalf`, `lambdify`/`pycode` (DESIGN §3: results
are plain SymPy expressions, so a user's SymPy code must work on them).

SymPy differentiates a matrix expression by converting it to an array expression and dispatching on the
node's class (`array_derive`); a class it does not know converts to itself, and the dispatch recurses until
Python's stack runs out. So each node of derive's that SymPy's conversion does not know is given its
derivative here, as the SymPy node it means:
  f(U) entrywise (`Elementwise`)  by SymPy's rule for its `ElementwiseApplyFunction`, f′(U) in derive's form;
  diag(v) (`DiagMatrix` and derive's `Diag`)  is I ⊙ (v 1ᵀ), whose product rule SymPy knows;
  a name for a formula (S = diag(…))  is its definition; a leaf dV is a direction, so its derivative is 0.

What SymPy itself cannot do stays SymPy's error, not a recursion: its array canonicalisation (1.14) fails
with a ValueError on the derivative of an entrywise function inside diag(·), so the logistic Hessian
Xᵀdiag(σ ⊙ (1 − σ))X differentiated once more is out of reach; and `sp.diff(f, t, 2)` in one call
"simplifies" the result by pulling signs out of matrix sums as scalar products, which ⊙ refuses (write
`f.diff(t).diff(t)`, which the rules below make exact).

By a scalar, SymPy 1.14 adds the derivatives of a matrix sum's terms, and of a ⊙ product's factors, with the
scalar Add and a scalar 0 for what is free of the variable (so the second derivative of σ(tx) in t fails),
and differentiates A^∘k through log(A) applied as a Lambda, which nothing downstream evaluates: the
textbook rules replace them (sum rule, product rule for ⊙, kA^∘(k−1) ⊙ dA for a constant power).

SymPy 1.14's `MatMul.evalf()` and `MatAdd.evalf()` recurse without end on any product or sum holding a
`MatrixSymbol` (`(X.T*X).evalf()`; SymPy's `Mul` code splits off "the numbers" by `as_independent(Symbol)`,
and a `MatrixSymbol` is no `Symbol`). `matrix_evalf` is their evalf: evaluate every argument, and the
whole once no symbol is left. It is installed only where SymPy still uses its scalar `Mul`/`Add` code there.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matadd import MatAdd
from sympy.matrices.expressions.matmul import MatMul
from sympy.tensor.array.expressions.array_expressions import (
    ZeroArray,
    _array_diagonal,
    _array_tensor_product,
    get_rank,
)
from sympy.tensor.array.expressions.arrayexpr_derivatives import array_derive
from sympy.tensor.array.expressions.from_matrix_to_array import convert_matrix_to_array

from derive.errors import NotSupported
from derive.expr.functions import Elementwise, elementwise_derivative
from derive.expr.notation import Differential, NameForDefinition


@array_derive.register(Elementwise)
def _derive_elementwise(expr: Elementwise, x):
    """d f(U) = f′(U) ⊙ dU: SymPy's rule for its ElementwiseApplyFunction, with f′(U) written as derive
    writes it (σ(U) ⊙ (1 − σ(U)), not a Lambda), so the result prints, evaluates and lambdifies."""
    if get_rank(x) != 2:
        raise NotSupported(f"derive differentiates {sp.sstr(expr)} with respect to a matrix or vector, not an array")
    slope = elementwise_derivative(expr.name, expr.arg)
    return _array_diagonal(_array_tensor_product(slope, array_derive(expr.arg, x)), (0, 4), (1, 5))


def as_hadamard(expr: DiagMatrix) -> sp.HadamardProduct:
    """diag(v) = I ⊙ (v 1ᵀ) for a column v (and I ⊙ (1 v) for a row): products SymPy differentiates.
    (The identity comes first: SymPy 1.14 fails to simplify the array form of (v 1ᵀ) ⊙ I.)"""
    v = expr.args[0]
    k = max(v.shape, key=lambda s: s != 1)
    spread = v * sp.OneMatrix(1, k) if v.shape[1] == 1 else sp.OneMatrix(k, 1) * v
    return sp.HadamardProduct(sp.Identity(k), spread)


@array_derive.register(DiagMatrix)
def _derive_diag(expr: DiagMatrix, x):
    return array_derive(convert_matrix_to_array(as_hadamard(expr)), x)


@array_derive.register(Differential)
def _derive_differential(expr: Differential, x):
    expr._eval_derivative(x)   # 0 for a leaf dV (a direction); a compound d(U) is refused there
    return ZeroArray(*(x.shape + expr.shape))


@array_derive.register(NameForDefinition)
def _derive_name(expr, x):
    """S = diag(…) and its kin: the derivative of the definition the name stands for."""
    return array_derive(convert_matrix_to_array(expr.definition), x)


def matrix_evalf(self, prec):
    """A matrix sum or product with its numbers evaluated, and evaluated whole once it holds no symbol."""
    evaluated = self.func(*[arg._evalf(prec) for arg in self.args])
    return evaluated.doit()._evalf(prec) if not evaluated.free_symbols else evaluated


for _operation in (MatMul, MatAdd):
    if "_eval_evalf" not in vars(_operation):   # still the scalar Mul/Add code: SymPy has not fixed it
        _operation._eval_evalf = matrix_evalf


def _derivative_by_scalar(factor, x):
    """d factor/dx, a zero matrix (not SymPy's scalar 0) when the factor is free of x."""
    return factor.diff(x) if factor.has(x) else sp.ZeroMatrix(*factor.shape)


def hadamard_product_derivative(self, x):
    """(A ⊙ B)′ = A′ ⊙ B + A ⊙ B′ by a scalar x, over the factors that hold x, added as matrices."""
    terms = [sp.hadamard_product(*self.args[:k], _derivative_by_scalar(a, x), *self.args[k + 1:])
             for k, a in enumerate(self.args) if a.has(x)]
    return MatAdd(*terms) if len(terms) > 1 else terms[0] if terms else sp.ZeroMatrix(*self.shape)


def matrix_sum_derivative(self, x):
    """(A + B)′ = A′ + B′ by a scalar x, over the terms that hold x, added as matrices."""
    terms = [a.diff(x) for a in self.args if a.has(x)]
    return MatAdd(*terms) if len(terms) > 1 else terms[0] if terms else sp.ZeroMatrix(*self.shape)


_hadamard_power_by_logs = sp.HadamardPower._eval_derivative


def hadamard_power_derivative(self, x):
    """d(A^∘k)/dx = k A^∘(k−1) ⊙ dA/dx for an exponent k free of x, the power rule entry by entry."""
    if self.exp.has(x):
        return _hadamard_power_by_logs(self, x)
    if not self.base.has(x):
        return sp.ZeroMatrix(*self.shape)
    lower = self.base if self.exp == 2 else sp.HadamardPower(self.base, self.exp - 1)
    return sp.hadamard_product(self.exp * lower, self.base.diff(x))


# NOTE: SymPy 1.14 differentiates A + B and A ⊙ B by a scalar with the scalar Add, and puts a scalar 0 for a
# term or factor free of x into the result ("Mix of Matrix and Scalar symbols": the second derivative of σ(tx)
# in t), and A^∘k through log(A) as a Lambda applied entrywise, which nothing downstream evaluates or prints:
# the textbook rules instead, for derivatives by a scalar (by a matrix SymPy goes through array expressions).
MatAdd._eval_derivative = matrix_sum_derivative
sp.HadamardProduct._eval_derivative = hadamard_product_derivative
sp.HadamardPower._eval_derivative = hadamard_power_derivative
