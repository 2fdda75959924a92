"""Numpy functions generated from SymPy matrix expressions: the derived results, evaluated fast and stably.

`lambdify(exprs, args)` writes the Python source of one numpy function from the expression tree and
compiles it (the source is `derive`'s own, generated from SymPy objects, never from a user's text).
`lambdify_model("logistic", "gradient")` does that for a derived result, giving `g(beta, X, y)`.
`standalone_source(source)` prints generated code as a module that runs with numpy and scipy alone (what
`derive lambdify` prints): the helpers it calls are printed from the table it is compiled with.

What the generated code does, and why:
- Common subexpressions are computed once (a value per distinct subexpression, shared across all the
  expressions of one call, so loss, gradient and Hessian together evaluate Xβ once); a value whose
  transpose is already known is taken as a transposed view.
- `Inverse(A)*B` becomes `solve(A, B)` (the rewrite of `sympy.codegen.rewriting.matinv_opt`, generalised
  to any position in a product): an explicit inverse costs more and loses digits.
- A product of matrices is multiplied in its cheapest order (`XᵀXβ` as `Xᵀ(Xβ)`), estimated with the
  sizes of a typical data set (n observations ≫ other dimensions); products computed elsewhere in the
  expression are free. A scalar factor multiplies the smallest operand, never a copy of X.
- A sum whose terms share a leading (or trailing) factor is factored: `2XᵀXβ − 2Xᵀy` is computed as
  `2Xᵀ(Xβ − y)`, one pass over X instead of two.
- `Aᵀdiag(s)A` never builds the n×n diagonal: it accumulates over blocks of rows, using the symmetric
  rank-k update (BLAS syrk, which numpy calls for `B.T @ B`) on `B = A·√s` when s ≥ 0. `diag(s)B` is a
  broadcast product, `1ᵀv` a column sum, `uᵀv` a sum of products (no BLAS call for one number).
- σ, softplus and the other elementwise functions use forms that do not overflow (softplus as
  max(z, 0) + log1p(e^−|z|)); log f(u) is the registry's stable log where it has one (log Φ as log_ndtr),
  1 − Φ(u) is Φ(−u), and quotients such as φ/Φ and φ²/(Φ(1 − Φ)) are partial fractions of stable
  log-derivatives (`derive.fitting.stable_quotients`), finite wherever their value is.

Vectors are passed as 1-d arrays (β of shape (d,), y of shape (n,)); internally every matrix value is a
2-d array, so n×1 results are returned as 1-d arrays and 1×1 results as floats.
"""
from __future__ import annotations

import ast
import dataclasses
import dis
import functools
import inspect
import itertools
import json
import keyword
import re
import textwrap
import types
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.codegen.matrix_nodes import MatrixSolve
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.core import user_cache
from derive.derivations.vector_form import Scalar
from derive.errors import NotSupported
from derive.expr import symbols as S
from derive.expr.functions import (
    REGISTRY,
    VECTOR_REGISTRY,
    Elementwise,
    VectorApplication,
    record_of,
    with_registry_functions,
    with_stable_complements,
)
from derive.expr.vec import Vec
from derive.fitting.stable_quotients import EntrywiseFormula, LogDerivative, with_stable_quotients

# Sizes assumed when choosing the order of a matrix product: the number of observations is much larger
# than the other dimensions, which are larger than small explicit sizes.
_TYPICAL_SIZES = {S.n: 10**6, S.K: 10}
_DEFAULT_TYPICAL_SIZE = 10**3

# Rows per block when accumulating Aᵀdiag(s)A: about 1 MB of A at a time, so the block is still in cache
# when BLAS reads it.
_BLOCK_BYTES = 1 << 20


# ----------------------------------------------------------------------------------------------------
# Numerical building blocks called by the generated code.

def _weighted_gram(A, s):
    """Aᵀ diag(s) A for an n×d A and an n×1 s, without forming the n×n diagonal.

    Accumulated over blocks of rows that fit in cache. When s ≥ 0 each block is B = A·√s and BᵀB is a
    symmetric rank-k update (numpy calls BLAS syrk for `B.T @ B`), half the work of a general product.
    """
    s = s.reshape(-1)
    n, d = A.shape
    rows = max(1, _BLOCK_BYTES // (A.itemsize * max(d, 1)))
    complex_data = np.iscomplexobj(A) or np.iscomplexobj(s)
    gram = np.zeros((d, d), dtype=np.result_type(A, s, float))
    if not complex_data and np.all(s >= 0):
        root = np.sqrt(s)
        for start in range(0, n, rows):
            block = A[start:start + rows] * root[start:start + rows, None]
            gram += block.T @ block
    else:
        for start in range(0, n, rows):
            block = A[start:start + rows]
            gram += block.T @ (s[start:start + rows, None] * block)
    return gram


def _inner(row, column):
    """The 1×1 product of a 1×k row and a k×1 column (yᵀXβ), as an elementwise product summed (pairwise).

    Not `row @ column`: that is OpenBLAS's multithreaded dot product, which on a busy machine spends
    milliseconds waking its threads for the few thousand entries of a row block, a thousand times the
    work of the sum; the sum is also the more accurate."""
    return (row.reshape(-1, 1) * column).sum(axis=0, keepdims=True)


def _matrix_argument(value, rows_is_one: bool, cols_is_one: bool):
    """An argument as a 2-d array: 1-d vectors become columns (or rows, for a row-vector symbol)."""
    a = np.asarray(value)
    if a.dtype.kind not in "fc":
        a = a.astype(float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1) if rows_is_one and not cols_is_one else a.reshape(-1, 1)
    return a


def _code_name(record) -> str:
    """How generated code calls a registry function: numpy's own ufunc by its name, else its stable form."""
    function = record.fitted
    return f"np.{function.__name__}" if getattr(np, getattr(function, "__name__", ""), None) is function \
        else f"_{record.name}"


_NUMPY_FUNCTIONS = {record.sympy: _code_name(record) for record in REGISTRY}
_NAMESPACE = {
    "np": np, "_weighted_gram": _weighted_gram, "_inner": _inner, "_matrix_argument": _matrix_argument,
    **{_code_name(record): record.fitted for record in REGISTRY if not _code_name(record).startswith("np.")},
    **{f"_{record.name}": record.numpy for record in VECTOR_REGISTRY},  # max-shifted: stable as they are
    **{f"_log_{record.name}": record.stable_log for record in REGISTRY if record.stable_log},
    **{f"_log_derivative_{record.name}": record.stable_log_derivative
       for record in REGISTRY if record.stable_log_derivative},
}


# ----------------------------------------------------------------------------------------------------
# Rewrites before code generation.

def _solve_inverses(expr):
    """Every `Inverse` turned into a `MatrixSolve`: `L·A⁻¹·R` ↦ `L·solve(A, R)`,
    `L·A⁻¹` ↦ `solve(Aᵀ, Lᵀ)ᵀ`, and a lone `A⁻¹` (the inverse itself is the result) ↦ `solve(A, I)`."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Inverse, sp.MatPow):
        return expr
    if isinstance(expr, (sp.Inverse, sp.MatPow)) and _is_inverse(expr):
        return MatrixSolve(_solve_inverses(_inverted(expr)), sp.Identity(expr.rows))
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        return _product(coeff, _solve_chain([_inverse_marker(f) for f in factors]))
    return expr.func(*[_solve_inverses(a) for a in expr.args])


def _is_inverse(expr) -> bool:
    """A⁻¹ or A⁻ᵏ (`Inverse` is the MatPow with exponent −1)."""
    return isinstance(expr, sp.MatPow) and expr.exp.is_integer and expr.exp.is_negative


def _inverted(expr):
    """The matrix whose inverse `expr` is: A for A⁻¹, Aᵏ for A⁻ᵏ."""
    return expr.base if expr.exp == -1 else sp.MatPow(expr.base, -expr.exp)


def _inverse_marker(factor):
    """A factor of a product, rewritten; inverses stay `Inverse` so the product can become a solve."""
    if _is_inverse(factor):
        return sp.Inverse(_solve_inverses(_inverted(factor)))
    return _solve_inverses(factor)


def _solve_chain(factors):
    for i, f in enumerate(factors):
        if isinstance(f, sp.Inverse):
            left, right = factors[:i], factors[i + 1:]
            if right:
                rest = _solve_chain(right)
                return left + [MatrixSolve(f.arg, _product(sp.S.One, rest))]
            if left:
                product = _product(sp.S.One, left)
                return [sp.Transpose(MatrixSolve(sp.transpose(f.arg), sp.transpose(product)))]
            return [MatrixSolve(f.arg, sp.Identity(f.arg.rows))]
    return factors


def _factor_sum(terms):
    """Terms (coefficient, factors) of a sum, with shared leading or trailing factors taken out:
    c·F·A + c'·F·B ↦ c·F·(A + (c'/c)·B). Applied repeatedly, largest group first."""
    for side in (0, -1):
        groups: dict = {}
        for term in terms:
            if len(term[1]) >= 2:
                groups.setdefault(term[1][side], []).append(term)
        shared = max(groups.values(), key=len, default=[])
        if len(shared) < 2:
            continue
        coeff = shared[0][0]
        inner = sp.MatAdd(*[_product(c / coeff, fs[1:] if side == 0 else fs[:-1]) for c, fs in shared],
                          evaluate=True)
        factor = shared[0][1][side]
        factored = (coeff, [factor, inner] if side == 0 else [inner, factor])
        rest = [t for t in terms if not any(t is s for s in shared)]
        return _factor_sum(rest + [factored])
    return terms


def _product(coeff, factors):
    return sp.MatMul(coeff, *factors, evaluate=True) if coeff != 1 or len(factors) > 1 else factors[0]


def _typical(size) -> int:
    size = sp.sympify(size)
    if size.is_Integer:
        return int(size)
    return int(size.subs({s: _TYPICAL_SIZES.get(s, _DEFAULT_TYPICAL_SIZE) for s in size.free_symbols}))


def _products_in(expr, found: set):
    """Every product in `expr` (and its transpose): values the generated code computes anyway."""
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        if len(factors) > 1:
            product = _product(sp.S.One, factors)
            found.update((product, sp.transpose(product)))
    for a in expr.args:
        if isinstance(a, sp.Basic):
            _products_in(a, found)


# ----------------------------------------------------------------------------------------------------
# Code generation.

class _Operand:
    """A factor in a product: an array (code), the vector of a diagonal matrix, or a matrix of ones."""

    def __init__(self, kind: str, code: str | None, shape):
        self.kind, self.code, self.shape = kind, code, shape


class _CodeGenerator:
    def __init__(self, args: Sequence[sp.Basic], used: set):
        self.lines: list[str] = []
        self.memo: dict = {}            # expression -> code naming its value
        self.known_products: set = set()
        self.names: dict = {}           # argument symbol -> Python name
        self.dimensions: dict = {}      # dimension symbol -> code for its size
        self.counter = itertools.count(1)
        for a in args:
            name = _python_name(a)
            self.names[a] = name
            self.memo[a] = name
            if isinstance(a, sp.MatrixSymbol) and a in used:
                for axis, size in enumerate(a.shape):
                    if isinstance(size, sp.Symbol):
                        self.dimensions.setdefault(size, f"{name}.shape[{axis}]")

    # -- helpers
    def assign(self, code: str) -> str:
        name = f"_t{next(self.counter)}"
        self.lines.append(f"{name} = {code}")
        return name

    def size(self, dim) -> str:
        dim = sp.sympify(dim)
        if dim.is_Integer:
            return str(int(dim))
        if dim in self.dimensions:
            return self.dimensions[dim]
        if dim.free_symbols <= set(self.dimensions):
            return self.scalar(dim)
        raise NotSupported(f"cannot tell the size {dim} from the arguments")

    # -- values
    def value(self, expr) -> str:
        if expr in self.memo:
            return self.memo[expr]
        if expr.is_Matrix and not isinstance(expr, sp.MatrixSymbol):
            transposed = sp.transpose(expr)
            if transposed in self.memo:
                return f"{self.memo[transposed]}.T"  # a view, no copy
        code = self._generate(expr)
        self.memo[expr] = code
        return code

    def scalar(self, expr) -> str:
        if expr.is_Matrix:
            raise NotSupported(f"expected a scalar, got the matrix {expr}")
        return self.value(expr)

    def _generate(self, expr) -> str:
        for cls in type(expr).__mro__:
            handler = _HANDLERS.get(cls)
            if handler is not None:
                return handler(self, expr)
            if cls in _NUMPY_FUNCTIONS:
                return f"{_NUMPY_FUNCTIONS[cls]}({self.value(expr.args[0])})"
        raise NotSupported(f"cannot generate numpy code for {type(expr).__name__}: {expr}")

    # -- products
    def product(self, coeff, factors) -> str:
        """coeff · F1·F2·…·Fk, in the cheapest order, with the scalar on the smallest operand."""
        factors = [f for f in factors if not isinstance(f, sp.Identity)]
        if not factors:
            raise NotSupported("a product of identity matrices has no size to take")
        k = len(factors)
        key = {(i, i): factors[i] for i in range(k)}
        for i in range(k):
            for j in range(i + 1, k):
                key[i, j] = sp.MatMul(*factors[i:j + 1], evaluate=True)
        if coeff != 1 and k > 1 and self._available(key[0, k - 1]):   # −Xβ where Xβ is computed anyway: no pass over X
            return self.assign(f"{self.scalar(coeff)} * {self.value(key[0, k - 1])}")
        cost, split = {}, {}
        for length in range(1, k + 1):
            for i in range(0, k - length + 1):
                j = i + length - 1
                if i == j or (length < k and self._available(key[i, j])):
                    cost[i, j] = 0
                    continue
                best = None
                for s in range(i, j):
                    c = cost[i, s] + cost[s + 1, j] + self._multiply_cost(factors, i, s, j)
                    if best is None or c < best[0]:
                        best = (c, s)
                cost[i, j], split[i, j] = best
        nodes = []
        self._tree_nodes(0, k - 1, split, nodes)
        scaled = None
        if coeff != 1:
            candidates = [(i, j) for i, j in nodes if not isinstance(factors[i], sp.OneMatrix) or i != j]
            scaled = min(candidates, key=lambda ij: self._node_size(factors, *ij))  # ties: the outermost
        operand = self._node(0, k - 1, factors, key, split, coeff, scaled)
        if operand.kind != "array":
            return self._materialise(operand)
        return operand.code

    def _available(self, expr) -> bool:
        """Whether a value is computed anyway: already, or as a whole product elsewhere in the expressions."""
        return expr in self.memo or expr in self.known_products or sp.transpose(expr) in self.memo

    @staticmethod
    def _node_size(factors, i, j):
        if i == j and isinstance(factors[i], DiagMatrix):
            return _typical(factors[i].rows)
        return _typical(factors[i].rows) * _typical(factors[j].cols)

    @staticmethod
    def _multiply_cost(factors, i, s, j):
        p, q, r = (_typical(x) for x in (factors[i].rows, factors[s].cols, factors[j].cols))
        elementwise = (DiagMatrix, sp.OneMatrix)  # scaling rows or columns, or summing them
        if (i == s and isinstance(factors[i], elementwise)) or (s + 1 == j and isinstance(factors[j], elementwise)):
            return p * r
        return p * q * r

    def _tree_nodes(self, i, j, split, out):
        out.append((i, j))
        if (i, j) in split:
            s = split[i, j]
            self._tree_nodes(i, s, split, out)
            self._tree_nodes(s + 1, j, split, out)

    def _node(self, i, j, factors, key, split, coeff, scaled) -> _Operand:
        expr = key[i, j]
        if i == j or (i, j) not in split or expr in self.memo or sp.transpose(expr) in self.memo:
            operand = self._leaf(factors[i]) if i == j else _Operand("array", self.value(expr), expr.shape)
            if scaled is not None and i <= scaled[0] and scaled[1] <= j:
                operand = self._scale(operand, coeff)
            return operand
        if j == i + 2 and isinstance(factors[i + 1], DiagMatrix) and factors[i] == sp.transpose(factors[j]):
            # Aᵀ diag(s) A: a weighted Gram matrix, symmetric, accumulated without the diagonal.
            a, s = self.value(factors[j]), self.value(factors[i + 1].args[0])
            operand = _Operand("array", self.assign(f"_weighted_gram({a}, {s})"), expr.shape)
            self.memo[expr] = operand.code
        else:
            s = split[i, j]
            left = self._node(i, s, factors, key, split, coeff, scaled)
            right = self._node(s + 1, j, factors, key, split, coeff, scaled)
            operand = _Operand("array", self.assign(self._multiply(left, right)), expr.shape)
            if scaled is None or not (i <= scaled[0] and scaled[1] <= j):
                self.memo[expr] = operand.code
        if (i, j) == scaled:
            operand = self._scale(operand, coeff)
        return operand

    def _leaf(self, factor) -> _Operand:
        if isinstance(factor, DiagMatrix):
            return _Operand("diag", self.value(factor.args[0]), factor.shape)
        if isinstance(factor, sp.OneMatrix):
            return _Operand("ones", None, factor.shape)
        return _Operand("array", self.value(factor), factor.shape)

    def _scale(self, operand, coeff) -> _Operand:
        c = self.scalar(coeff)
        if operand.kind == "ones":
            code = f"np.full(({self.size(operand.shape[0])}, {self.size(operand.shape[1])}), {c})"
            return _Operand("array", self.assign(code), operand.shape)
        code = f"-{operand.code}" if coeff == -1 else f"{c} * {operand.code}"
        return _Operand(operand.kind, self.assign(code), operand.shape)

    def _multiply(self, left: _Operand, right: _Operand) -> str:
        if left.kind == "ones" and right.kind == "ones":
            return f"np.full(({self.size(left.shape[0])}, {self.size(right.shape[1])}), " \
                   f"float({self.size(left.shape[1])}))"
        if left.kind == "ones":   # 1ᵀB: column sums
            total = f"{self._materialise(right)}.sum(axis=0, keepdims=True)"
            return total if left.shape[0] == 1 else f"np.repeat({total}, {self.size(left.shape[0])}, axis=0)"
        if right.kind == "ones":  # B1: row sums
            total = f"{self._materialise(left)}.sum(axis=1, keepdims=True)"
            return total if right.shape[1] == 1 else f"np.repeat({total}, {self.size(right.shape[1])}, axis=1)"
        if left.kind == "diag" and right.kind == "diag":
            return f"np.diagflat({left.code} * {right.code})"
        if left.kind == "diag":   # diag(s)B scales the rows of B
            return f"{left.code} * {right.code}"
        if right.kind == "diag":  # B diag(s) scales the columns of B
            return f"{left.code} * {right.code}.T"
        if left.shape[0] == 1 and right.shape[1] == 1:  # a row times a column: a scalar
            return f"_inner({left.code}, {right.code})"
        return f"{left.code} @ {right.code}"

    def _materialise(self, operand: _Operand) -> str:
        if operand.kind == "diag":
            return self.assign(f"np.diagflat({operand.code})")
        if operand.kind == "ones":
            return self.assign(f"np.ones(({self.size(operand.shape[0])}, {self.size(operand.shape[1])}))")
        return operand.code


def _python_name(symbol) -> str:
    name = symbol.name if hasattr(symbol, "name") else str(symbol)
    if name == S.lam.name:
        return "lam"
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    if not name.isidentifier() or keyword.iskeyword(name) or name in _NAMESPACE or name.startswith("_"):
        name = name + "_"
    return name


# ----------------------------------------------------------------------------------------------------
# Handlers, one per kind of SymPy node.

_HANDLERS: dict[type, Callable] = {}


def _handles(*types):
    def register(function):
        for t in types:
            _HANDLERS[t] = function
        return function
    return register


@_handles(sp.Symbol)
def _symbol(gen, expr):
    if expr in gen.dimensions:
        return gen.dimensions[expr]
    raise NotSupported(f"no value given for the symbol {expr}")


@_handles(sp.MatrixSymbol)
def _matrix_symbol(gen, expr):
    raise NotSupported(f"no value given for the matrix {expr}")


@_handles(sp.Integer)
def _integer(gen, expr):
    return str(int(expr))


@_handles(sp.Number, sp.NumberSymbol)
def _number(gen, expr):
    return repr(float(expr))


@_handles(sp.Add)
def _add(gen, expr):
    return "(" + " + ".join(gen.value(a) for a in expr.args) + ")"


@_handles(sp.Mul)
def _mul(gen, expr):
    return "(" + " * ".join(gen.value(a) for a in expr.args) + ")"


@_handles(sp.Pow)
def _pow(gen, expr):
    if expr.exp == sp.S.Half:
        return f"np.sqrt({gen.value(expr.base)})"
    return f"({gen.value(expr.base)} ** {gen.value(expr.exp)})"


@_handles(sp.Transpose)
def _transpose(gen, expr):
    return f"{gen.value(expr.arg)}.T"


@_handles(sp.MatMul)
def _matmul(gen, expr):
    coeff, factors = expr.as_coeff_matrices()
    return gen.product(coeff, factors)


@_handles(sp.MatAdd)
def _matadd(gen, expr):
    terms = []
    for term in expr.args:
        coeff, factors = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (sp.S.One, [term])
        terms.append((coeff, factors))
    terms = _factor_sum(terms)
    arrays, broadcasts = [], []   # array terms first, so that scalars (c·1) and c·I broadcast onto them
    for coeff, factors in terms:
        sign = -1 if coeff.could_extract_minus_sign() else 1
        if len(factors) == 1 and isinstance(factors[0], sp.OneMatrix):
            broadcasts.append((sign, gen.scalar(sign * coeff)))
        elif len(factors) == 1 and isinstance(factors[0], sp.Identity):
            broadcasts.append((sign, f"{gen.scalar(sign * coeff)} * np.eye({gen.size(factors[0].rows)})"))
        elif coeff in (1, -1):
            arrays.append((sign, gen.value(_product(sp.S.One, factors))))
        else:
            arrays.append((1, gen.value(_product(coeff, factors))))
    if not arrays:
        arrays.append((1, f"np.zeros(({gen.size(expr.rows)}, {gen.size(expr.cols)}))"))
    # Positive terms first (`1 - s`, `s - y`); a leading scalar still broadcasts onto the arrays after it.
    (first_sign, code), *rest = sorted(arrays + broadcasts, key=lambda term: -term[0])
    if first_sign == 1 and not rest:
        return code
    code = f"-{code}" if first_sign == -1 else code
    for sign, term in rest:
        code += f" {'-' if sign == -1 else '+'} {term}"
    return gen.assign(code)


@_handles(HadamardProduct)
def _hadamard(gen, expr):
    parts = [gen.value(a) for a in expr.args if not isinstance(a, sp.OneMatrix)]
    if not parts:
        return f"np.ones(({gen.size(expr.rows)}, {gen.size(expr.cols)}))"
    return gen.assign(" * ".join(parts))


@_handles(Elementwise)
def _elementwise(gen, expr):
    if expr.function is sp.log and _stable_log(gen, expr.arg):
        return gen.assign(_stable_log(gen, expr.arg))
    return gen.assign(f"{_NUMPY_FUNCTIONS[expr.function]}({gen.value(expr.arg)})")


def _stable_log(gen, applied) -> str | None:
    """The code of log f(u) by the registry's stable log of f (log Φ(u) as log_ndtr(u)), where it has one."""
    record = record_of(applied)
    if record is None or record.stable_log is None:
        return None
    return f"_log_{record.name}({gen.value(applied.args[-1])})"


@_handles(LogDerivative)
def _log_derivative(gen, expr):
    applied = expr.args[0]
    return gen.assign(f"_log_derivative_{record_of(applied).name}({gen.value(applied.args[0])})")


@_handles(EntrywiseFormula)
def _entrywise_formula(gen, expr):
    """The formula on whole arrays: each symbol is its leaf's value, and numpy broadcasts the rest."""
    for symbol, leaf in expr.leaves.items():
        gen.memo.setdefault(symbol, gen.value(leaf))
        if -leaf in gen.memo:       # −Xβ, computed already for Φ(−Xβ) elsewhere
            gen.memo.setdefault(-symbol, gen.memo[-leaf])
    for applied in _applications(expr.formula):   # each function and its argument computed once, inner first
        operands = applied.args[0].args if isinstance(applied, LogDerivative) else applied.args
        for part in (*operands, applied):
            code = gen.value(part)
            if not code.isidentifier():
                gen.memo[part] = gen.assign(code)
    return gen.assign(gen.value(expr.formula))


def _applications(formula) -> list:
    """The function applications a formula evaluates, inner first (not those a LogDerivative stands for)."""
    found = []

    def walk(e):
        if not isinstance(e, LogDerivative):
            for a in e.args:
                walk(a)
        if isinstance(e, sp.Function) and e not in found:
            found.append(e)
    walk(formula)
    return found


@_handles(VectorApplication)
def _vector_function(gen, expr):
    return gen.assign(f"_{expr.name}({gen.value(expr.arg)}, {expr.axis})")


@_handles(MatrixSolve)
def _solve(gen, expr):
    if isinstance(expr.matrix, DiagMatrix):  # diag(v)⁻¹B divides the rows of B by v: no n×n matrix, no O(n³)
        return gen.assign(f"{gen.value(expr.vector)} / {gen.value(expr.matrix.args[0])}")
    if isinstance(expr.vector, sp.Identity):  # the inverse itself is the result
        return gen.assign(f"np.linalg.solve({gen.value(expr.matrix)}, np.eye({gen.size(expr.vector.rows)}))")
    return gen.assign(f"np.linalg.solve({gen.value(expr.matrix)}, {gen.value(expr.vector)})")


@_handles(sp.ImmutableMatrix, sp.MutableDenseMatrix)
def _explicit(gen, expr):
    rows = ", ".join("[" + ", ".join(gen.value(e) for e in row) + "]" for row in expr.tolist())
    return gen.assign(f"np.array([{rows}])")


@_handles(sp.log)
def _log(gen, expr):
    if isinstance(expr.args[0], sp.Determinant):  # log det A from the LU factors, no overflow
        return f"np.linalg.slogdet({gen.value(expr.args[0].arg)})[1]"
    if _stable_log(gen, expr.args[0]):
        return _stable_log(gen, expr.args[0])
    return f"np.log({gen.value(expr.args[0])})"


@_handles(Scalar)
def _scalar_of_matrix(gen, expr):
    return f"{gen.value(expr.matrix)}.item()"


@_handles(MatrixElement)
def _element(gen, expr):
    parent, i, j = expr.args
    return f"{gen.value(parent)}[{gen.size(i)}, {gen.size(j)}]"


# Nodes whose code is one numpy call on their operands, as templates: `{value.base}` is the code of the
# node's `base`, `{size.rows}` the code of its number of rows, `{int.exp}` its exponent as an integer.
_TEMPLATES = {
    HadamardPower: "{value.base} ** {value.exp}",
    sp.MatPow: "np.linalg.matrix_power({value.base}, {int.exp})",
    DiagMatrix: "np.diagflat({value.args[0]})",
    DiagonalOf: "np.diagonal({value.arg}).reshape(-1, 1)",
    sp.Identity: "np.eye({size.rows})",
    sp.ZeroMatrix: "np.zeros(({size.rows}, {size.cols}))",
    sp.OneMatrix: "np.ones(({size.rows}, {size.cols}))",
    sp.Trace: "np.trace({value.arg})",
    sp.Determinant: "np.linalg.det({value.arg})",
    sp.KroneckerProduct: "np.kron({value.args[0]}, {value.args[1]})",   # two factors, as the vec rules make it
    Vec: "{value.arg}.reshape(-1, 1, order='F')",                        # vec stacks the columns
}


class _Operands:
    """The code of a node's operands, by attribute (and index, for `args`), converted by `convert`."""

    def __init__(self, convert, obj):
        self._convert, self._obj = convert, obj

    def _code(self, part):
        return _Operands(self._convert, part) if isinstance(part, tuple) else self._convert(part)

    def __getattr__(self, name):
        return self._code(getattr(self._obj, name))

    def __getitem__(self, index):
        return self._code(self._obj[index])


def _template_handler(template: str) -> Callable:
    def handle(gen, expr):
        return gen.assign(template.format(value=_Operands(gen.value, expr), size=_Operands(gen.size, expr),
                                          int=_Operands(int, expr)))
    return handle


for _node, _template in _TEMPLATES.items():
    _HANDLERS[_node] = _template_handler(_template)


# ----------------------------------------------------------------------------------------------------
# Printing: generated code as a module that runs on its own, with numpy and scipy alone.

# Modules printed code may import: what a user who copies it needs installed anyway.
_PRINTABLE_MODULES = ("numpy", "scipy")


def standalone_source(source: str, arguments=()) -> str:
    """Generated `source` preceded by everything it calls: the imports and the source of each helper of
    `_NAMESPACE` it uses (and the helpers and constants those use), each once, so that the text runs in a
    fresh interpreter. `_NAMESPACE` is the one table: what `compiled` runs the code with is what is printed.
    `arguments`, the names `derive.lambdify` takes (the model file's: sigma2), rename the function's
    parameters (its Python names: sigma_2), so that the printed function is called by the same names.
    """
    source = _renamed_parameters(source, arguments)
    wanted = _helpers_used(source)
    imports, constants, functions = [], [], []
    by_function: dict = {}
    for name, value in wanted.items():
        if isinstance(value, types.ModuleType):
            imports.append(_import_line(name, value))
        elif isinstance(value, types.FunctionType):
            by_function.setdefault(value, []).append(name)
        else:
            constants.append(f"{name} = {value!r}")
    for function, names in by_function.items():
        primary = function.__name__ if function.__name__ in names else names[0]  # helpers call it by its own name
        functions.append(_function_source(function, primary)
                         + "".join(f"\n\n\n{alias} = {primary}" for alias in names if alias != primary))
    head = "\n".join(sorted(imports) + ([""] if constants else []) + constants)
    return "\n\n\n".join([head] + functions + [source.rstrip("\n")]) + "\n"


def _renamed_parameters(source: str, arguments) -> str:
    """The generated function with its parameters renamed, in order, to `arguments` where each is an identifier
    the code does not already use (else the parameter keeps its name)."""
    definition = next(node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef))
    used = {node.id for node in ast.walk(definition) if isinstance(node, ast.Name)}
    renames = {a.arg: new for a, new in zip(definition.args.args, arguments)
               if a.arg != new and new.isidentifier() and not keyword.iskeyword(new) and new not in used}
    for old, new in renames.items():   # a whole name, not an attribute (np.x) or part of a longer name
        source = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, source)
    return source


def _helpers_used(source: str) -> dict:
    """Name -> value of every global the generated code needs, found by following the helpers' own globals."""
    tree = ast.parse(source)
    pending = [(node.id, _NAMESPACE[node.id]) for node in ast.walk(tree)
               if isinstance(node, ast.Name) and node.id in _NAMESPACE]
    wanted: dict = {}
    while pending:
        name, value = pending.pop(0)
        if name in wanted:
            if wanted[name] is not value:  # two helpers' modules give one name to different things
                raise NotSupported(f"cannot print generated code: two helpers it uses are both named {name}")
            continue
        _check_printable(name, value)
        wanted[name] = value
        if isinstance(value, types.FunctionType):
            pending += [(g, value.__globals__[g]) for g in _globals_read(value.__code__) if g in value.__globals__]
    return wanted


def _globals_read(code) -> list:
    """The global names a function's code (nested functions and comprehensions included) reads."""
    names = [i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names += _globals_read(constant)
    return names


def _check_printable(name: str, value) -> None:
    """Refuse a helper whose source alone would not define it (a lambda, a closure, a partial, a table)."""
    if isinstance(value, types.ModuleType):
        if value.__name__.split(".")[0] in _PRINTABLE_MODULES:
            return
        raise NotSupported(f"generated code uses the module {value.__name__}, which printed code may not import")
    if isinstance(value, types.FunctionType) and value.__name__ != "<lambda>" and value.__closure__ is None:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    raise NotSupported(f"cannot print the helper {name} ({value!r}) that generated code uses: "
                       "only module-level functions, numbers and numpy/scipy modules can be printed")


def _import_line(name: str, module) -> str:
    return f"import {module.__name__}" + (f" as {name}" if name != module.__name__ else "")


def _function_source(function, name: str) -> str:
    """A helper's source, its `def` named `name` (the name generated code calls it by)."""
    source = textwrap.dedent(inspect.getsource(function)).rstrip("\n")
    return source.replace(f"def {function.__name__}(", f"def {name}(", 1)


# ----------------------------------------------------------------------------------------------------
# Public functions.

def lambdify(exprs, args: Sequence[sp.Basic], name: str = "derived") -> Callable:
    """A numpy function of `args` computing `exprs` (one SymPy expression, or a list: returns a tuple).

    Matrix arguments accept arrays; column-vector symbols accept 1-d arrays. Trailing arguments that no
    expression uses default to None (a Hessian `h(beta, X)` needs no y). The generated source is in the
    function's `source` attribute.
    """
    return compiled(generated_source(exprs, args, name), name)


def generated_source(exprs, args: Sequence[sp.Basic], name: str) -> str:
    """The Python source of `lambdify`'s function `name`."""
    single = isinstance(exprs, sp.Basic)
    exprs = with_stable_quotients([with_stable_complements(with_registry_functions(sp.sympify(e)))
                                   for e in ([exprs] if single else exprs)])
    args = list(args)
    prepared = [_solve_inverses(e) for e in exprs]
    used = set().union(*(e.free_symbols for e in exprs))
    gen = _CodeGenerator(args, used)
    for e in prepared:
        _products_in(e, gen.known_products)
    results = []
    for e in prepared:
        code = gen.value(e)
        if e.is_Matrix and e.shape == (1, 1):
            code = f"{code}.item()"      # a 1×1 result (a loss) as a number
        elif e.is_Matrix and e.shape[1] == 1:
            code = f"{code}.reshape(-1)"  # a column (a gradient) as a 1-d array
        results.append(code)
    params, prologue = [], []
    last_used = max((i for i, a in enumerate(args) if a in used), default=-1)
    for i, a in enumerate(args):
        arg_name = gen.names[a]
        params.append(arg_name if i <= last_used else f"{arg_name}=None")
        if isinstance(a, sp.MatrixSymbol) and a in used:
            prologue.append(f"{arg_name} = _matrix_argument({arg_name}, {a.rows == 1}, {a.cols == 1})")
    body = prologue + gen.lines + [f"return {results[0] if single else '(' + ', '.join(results) + ',)'}"]
    return f"def {name}({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)


def compiled(source: str, name: str) -> Callable:
    """The function `name` defined by generated `source`, run with the numerical building blocks above."""
    namespace = dict(_NAMESPACE)
    exec(compile(source, f"<derive.fitting.codegen {name}>", "exec"), namespace)  # our generated code, no user text
    function = namespace[name]
    function.source = source
    return function


def model_arguments(exprs) -> list:
    """The arguments of a model's numpy functions: β, X, y, then λ and any other symbol, by name."""
    exprs = [exprs] if isinstance(exprs, sp.Basic) else list(exprs)
    free = set().union(*(e.free_symbols for e in exprs))
    dims = set().union(*(a.free_symbols for e in exprs for m in e.atoms(sp.MatrixSymbol) for a in m.shape))
    standard = [S.beta, S.X, S.y]
    others = sorted((s for s in free - set(standard) - dims), key=lambda s: (s != S.lam, str(s)))
    return standard + others


def derived_results(model) -> dict:
    """The derived results of a model (quantity -> SymPy expression), from the derivation engine."""
    from derive.derivations import build
    return build(model, form="matrix").results


def statement_arguments(model, exprs) -> list:
    """A model file's calling order (DESIGN §8): its parameters, then its other symbols as declared, then
    any undeclared scalar the results use (by name)."""
    declared = model.parameter_objects() + [o for name, o in model.objects().items() if name not in model.parameters]
    free = set().union(*(e.free_symbols for e in exprs))
    dims = set().union(*(a.free_symbols for e in exprs for m in e.atoms(sp.MatrixSymbol) for a in m.shape))
    others = sorted((s for s in free - set(declared) - dims), key=str)
    return declared + others


@functools.lru_cache(maxsize=None)
def lambdify_model(model, quantity: str) -> Callable:
    """The numpy function of a model's derived result: `g(beta, X, y)` (and `lam=` for ridge); for a model
    file, the parameters then the other symbols. A result with one entry per parameter returns a tuple."""
    return lambdify_results(model, (quantity,))


@functools.lru_cache(maxsize=None)
def lambdify_results(model, quantities: tuple, extra: tuple = ()) -> Callable:
    """One numpy function returning several derived results of a model (and any `extra` expressions of
    the same arguments, such as Xβ), sharing their common work.

    The generated code is kept in the user's cache (`derive.core.user_cache`), named by the model's
    statement, derive's own source and SymPy's version: it was generated from a derivation whose every
    step was verified, and any change to what could have made it names a different entry, so a later
    run need not derive and verify the model again to fit it."""
    from derive.derivations import Model, display_name, resolve
    resolved = resolve(model)
    name = "_".join((display_name(resolved), *quantities)).replace("-", "_")
    entry = user_cache.entry_name("fitted-code", _statement(resolved), name, sp.srepr(sp.Tuple(*extra)),
                                  sp.__version__, user_cache.source_fingerprint())
    function, names = _cached_code(entry, name)
    if function is None:
        exprs = _result_expressions(resolved, quantities, extra)
        if isinstance(resolved, Model):
            arguments = statement_arguments(resolved, exprs)
            by_object = {o: label for label, o in resolved.objects().items()}
            names = [by_object.get(a, str(a)) for a in arguments]
        else:
            arguments, names = model_arguments(exprs), None
        source = generated_source(exprs[0] if len(exprs) == 1 else exprs, arguments, name)
        function = compiled(source, name)
        user_cache.write(entry, json.dumps([source, names]).encode("utf-8"))
    return function if names is None else _called_by_names(function, names)


def _cached_code(entry: str, name: str) -> tuple:
    """The function `name` and its argument names (None: positional only) kept under `entry`, or (None, None)."""
    saved = user_cache.read(entry)
    if saved is None:
        return None, None
    try:
        source, names = json.loads(saved)
        return compiled(source, name), names
    except Exception:  # a corrupt entry is no entry: the code is derived again and the entry overwritten
        return None, None


def _statement(model) -> str:
    """Everything a model's derivation is made from: a built-in's name, or a model file's statement."""
    if isinstance(model, str):
        return model
    return repr([getattr(model, f.name) for f in dataclasses.fields(model) if f.compare])


def _result_expressions(model, quantities: tuple, extra: tuple) -> list:
    """The derived results `quantities` of `model` (a pair of results, one per parameter, as two) and `extra`."""
    from derive.derivations import display_name
    results = derived_results(model)
    missing = [q for q in quantities if q not in results]
    if missing:
        raise NotSupported(f"model {display_name(model)!r} has no derived {missing[0]!r}; it has: "
                           f"{', '.join(results)}")
    exprs = []
    for q in quantities:
        exprs += list(results[q]) if isinstance(results[q], sp.Tuple) else [results[q]]
    return exprs + list(extra)


def _called_by_names(generated: Callable, names: list) -> Callable:
    """The generated function, callable with the model file's names (sigma2=…, lam=…) as well as by position."""

    def call(*args, **kwargs):
        values = list(args) + [None] * (len(names) - len(args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{generated.__name__}() has no argument {key!r}; arguments: {', '.join(names)}")
            values[names.index(key)] = value
        return generated(*values)

    call.__name__, call.source, call.arguments = generated.__name__, generated.source, tuple(names)
    return call
