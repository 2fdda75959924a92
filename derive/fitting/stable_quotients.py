"""Quotients of functions that underflow together, rewritten so that generated code computes them stably.

A probit's derived gradient and Hessian weigh each observation by quotients of φ(ηᵢ), Φ(ηᵢ) and
1 − Φ(ηᵢ) = Φ(−ηᵢ). Evaluated as written they are 0/0 (or ∞·0) once |ηᵢ| is large, although their value is
an ordinary number: φ(40)/Φ(−40) ≈ 40, where φ(40) and Φ(−40) are both below 1e-347. The rewrite is general,
not the probit's formula: an entrywise expression (a Hadamard combination of registry functions of the
same entries) is read as a scalar formula in u = ηᵢ; where it divides by a symmetric function f (f(−u) =
1 − f(u): Φ), it is split into partial fractions in P = f(u), with 1 − P = f(−u), so that each term divides
by one power of f(u) or of f(−u) and nothing cancels between terms that would each overflow; every
f′(v)/f(v) is then one call of the registry's stable spelling of f's log-derivative (for Φ, the inverse
Mills ratio √(2/π)/erfcx(−v/√2), accurate for every v). The probit Hessian's weight

    φ²/(ΦΦ̄) + φ(Φ − y)(2Φφ + Φ²η − φ − ηΦ)/(Φ²Φ̄²)   becomes   y(λ(η)² + ηλ(η)) + (1 − y)(λ(−η)² − ηλ(−η))

with λ(v) = φ(v)/Φ(v), finite for every η. The rewritten formula is checked against the original at random
points, at high precision, before any code is generated from it.
"""
from __future__ import annotations

import random

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.errors import VerificationError
from derive.expr.functions import SYMMETRIC, Elementwise, record_of


class LogDerivative(sp.Function):
    """(log f)′(v) = f′(v)/f(v), written LogDerivative(f(v)) for a registry function f: generated code calls
    the record's `stable_log_derivative` for it. SymPy leaves it alone (no `eval`), so nothing simplifies it
    back into the quotient."""

    nargs = 1

    def as_quotient(self):
        applied = self.args[0]
        return record_of(applied).derivative(applied.args[0]) / applied


class EntrywiseFormula(MatrixExpr):
    """The matrix whose every entry is `formula` of the same entries of `leaves`, each leaf standing for the
    scalar symbol paired with it: generated code evaluates the formula on whole arrays (numpy broadcasts)."""

    def __new__(cls, formula, symbols, leaves):
        return super().__new__(cls, sp.sympify(formula), sp.Tuple(*symbols), sp.Tuple(*leaves))

    @classmethod
    def of(cls, formula, leaves: dict) -> EntrywiseFormula:
        symbols = sorted(leaves, key=str)
        return cls(formula, symbols, [leaves[s] for s in symbols])

    @property
    def formula(self):
        return self.args[0]

    @property
    def leaves(self) -> dict:
        return dict(zip(self.args[1], self.args[2]))

    @property
    def shape(self):
        return self.args[2][0].shape

    @property
    def free_symbols(self):
        return set().union(*(leaf.free_symbols for leaf in self.args[2]))


_ENTRYWISE = (HadamardProduct, HadamardPower, sp.MatAdd, Elementwise)


def with_stable_quotients(exprs: list) -> list:
    """`exprs` with each entrywise quotient of symmetric registry functions in its stable form (module doc).
    The leaves' symbols are shared by all of `exprs`, so that values common to them are computed once."""
    symbols: dict = {}
    return [_rewritten(e, symbols) for e in exprs]


def _rewritten(expr, symbols: dict):
    if not isinstance(expr, MatrixExpr) or not _divides_by_symmetric(expr):
        return expr
    if isinstance(expr, _ENTRYWISE):
        leaves: dict = {}
        formula = _scalar(expr, symbols, leaves)
        stable = _stable_formula(formula)
        if stable is not None:
            _check_same(formula, stable)
            return EntrywiseFormula.of(stable, leaves)
    args = [_rewritten(a, symbols) for a in expr.args]
    return expr.func(*args) if args != list(expr.args) else expr


def _divides_by_symmetric(expr) -> bool:
    return any(isinstance(e, HadamardPower) and e.exp.is_negative and isinstance(e.base, Elementwise)
               and e.base.function in SYMMETRIC for e in sp.preorder_traversal(expr))


def _scalar(expr, symbols: dict, leaves: dict):
    """The scalar formula of an entrywise matrix expression: each entry, in one symbol per leaf (a matrix
    that is not entrywise, such as Xβ or y)."""
    def go(e):
        if isinstance(e, HadamardProduct):
            return sp.Mul(*map(go, e.args))
        if isinstance(e, HadamardPower):
            return go(e.base) ** e.exp
        if isinstance(e, sp.MatAdd):
            return sp.Add(*map(go, e.args))
        if isinstance(e, Elementwise):
            return e.function(go(e.arg))
        if isinstance(e, sp.OneMatrix):
            return sp.S.One
        if isinstance(e, sp.ZeroMatrix):
            return sp.S.Zero
        if isinstance(e, sp.MatMul):
            coeff, rest = e.as_coeff_mmul()
            if coeff != 1:
                return coeff * go(rest.args[0] if len(rest.args) == 1 else rest)
        symbol = symbols.setdefault(e, sp.Dummy(f"entry{len(symbols)}", real=True))
        leaves[symbol] = e
        return symbol
    return go(expr)


def _stable_formula(formula):
    """`formula` as partial fractions in f(u) for the one symmetric function f it divides by, each f′/f as
    a LogDerivative; None where it is not of that kind (another argument, or not rational in f(u))."""
    applied = {a for a in formula.atoms(sp.Function) if type(a) in SYMMETRIC}
    if len({type(a) for a in applied}) != 1:
        return None
    function = type(next(iter(applied)))
    u = next(iter(applied)).args[0]
    u = -u if u.could_extract_minus_sign() else u
    if not applied <= {function(u), function(-u)}:
        return None
    derivative = record_of(function(u)).derivative
    if derivative(-u).rewrite(sp.exp) != derivative(u).rewrite(sp.exp):
        return None     # f′ even, so that f′(−u)/f(−u) is the log-derivative at −u
    d, D, P = derivative(u), sp.Dummy("D"), sp.Dummy("P")   # apart wants symbols: f′(u) as D, f(u) as P
    rational = sp.together(formula.xreplace({function(u): P, function(-u): 1 - P, d: D}))
    numerator, denominator = rational.as_numer_denom()
    if not (numerator.is_polynomial(P) and denominator.is_polynomial(P)):
        return None
    grouped: dict = {}
    for term in sp.Add.make_args(sp.apart(rational, P)):
        powers = _powers_of(term, P)
        if powers is None:
            return None
        coefficient, at_u, at_minus_u = powers
        for monomial in sp.Add.make_args(sp.expand(coefficient)):
            c, m = monomial.as_coeff_exponent(D)
            ratios = max(0, -at_u), max(0, -at_minus_u)
            if c.has(D) or m < sum(ratios):
                return None     # a quotient the log-derivatives do not absorb: no better than as written
            key = (ratios, m - sum(ratios), at_u + ratios[0], at_minus_u + ratios[1])
            grouped[key] = grouped.get(key, 0) + c
    return sp.Add(*(sp.factor(c) * LogDerivative(function(u)) ** a * LogDerivative(function(-u)) ** b
                    * d ** m * function(u) ** k * function(-u) ** j
                    for ((a, b), m, k, j), c in grouped.items()))


def _powers_of(term, P):
    """A partial fraction c·P^k·(1 − P)^j as (c, k, j), or None where a factor is another polynomial in P."""
    coefficient, at_u, at_minus_u = sp.S.One, 0, 0
    for factor in sp.Mul.make_args(term):
        base, exponent = factor.as_base_exp()
        if base == P:
            at_u += exponent
        elif base in (1 - P, P - 1):
            at_minus_u += exponent
            coefficient *= (-1) ** exponent if base == P - 1 else 1
        elif factor.has(P):
            return None
        else:
            coefficient *= factor
    return coefficient, at_u, at_minus_u


def _check_same(original, stable, points: int = 3):
    """The rewrite checked at random points, at 30 digits: a formula whose value changed raises."""
    generator = random.Random(0)
    quotient_form = stable.replace(lambda e: isinstance(e, LogDerivative), lambda e: e.as_quotient())
    for _ in range(points):
        at = {s: sp.Rational(generator.randint(-3000, 3000), 1000) for s in original.free_symbols}
        want, got = original.xreplace(at).evalf(30), quotient_form.xreplace(at).evalf(30)
        if abs(want - got) > 1e-20 * max(1, abs(want)):
            raise VerificationError(f"the stable form {stable} of {original} differs from it at {at}")
