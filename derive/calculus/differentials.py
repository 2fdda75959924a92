"""Matrix calculus by differentials, step by step (Magnus & Neudecker; Minka, "Old and New Matrix Algebra").

Why differentials and not SymPy's `MatrixExpr.diff`: SymPy returns 0 for d log det S / dS and for a scalar
plus a trace, and array/contraction objects for elementwise functions. Differentials need only a handful of
rules, each a line a student can check, and the gradient is read off a canonical form:

    scalar f of a vector x:  df = gᵀ dx        ⇒  ∇f = g
    scalar f of a matrix X:  df = tr(Gᵀ dX)    ⇒  ∂f/∂X = G      (denominator layout: ∇f has X's shape)
    vector g of a vector x:  dg = H dx         ⇒  ∂g/∂xᵀ = H     (the Hessian when g is a gradient)

`d(u)` is a symbolic node. Each pass of `differentiate` pushes every d one level down by the rules below,
and each pass is a recorded step, verified numerically: a d-node evaluates as the complex-step directional
derivative of its argument, so every intermediate line is checked, not only the answer.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.core.steps import Derivation, DerivativeIs, Equal
from derive.errors import NotSupported
from derive.expr.algebra import (
    add,
    as_scalar,
    hadamard,
    multiply,
    split_product,
    transpose_shallow,
    zero_like,
)
from derive.expr.functions import VECTOR_REGISTRY, Elementwise, VectorApplication, elementwise_derivative, record_of
from derive.expr.notation import (
    Differential,
    Notation,
    ScalarDifferential,
    d,
)
from derive.expr.printing import unicode
from derive.expr.symbols import Eye


# ---------------------------------------------------------------------------------------------------
# The rules: each takes the argument u of d(u) and returns the next expression (with d inside)
# ---------------------------------------------------------------------------------------------------
def _d(a, variables):
    """d(a), written at once where no line is needed: d(constant) = 0 and d(vᵀ) = (dv)ᵀ."""
    if isinstance(a, sp.Transpose) and a.arg in variables:
        return sp.Transpose(d(a.arg))
    return d(a) if a.has(*variables) else zero_like(a)


def _product_rule(factors, like, variables):
    """d(F₁F₂…Fₘ) = Σₖ F₁…d(Fₖ)…Fₘ over the factors that depend on the variables (order kept)."""
    terms = []
    for k, f in enumerate(factors):
        if f.has(*variables):
            terms.append(multiply(factors[:k] + [_d(f, variables)] + factors[k + 1:], like))
    return add(terms, like)


def differential_rule(u, variables):
    """(rule name, d(u) one level down) or raise NotSupported naming the sub-expression."""
    def dd(a):
        return _d(a, variables)

    if not u.has(*variables):
        return "constant", zero_like(u)
    if u in variables:
        return None, d(u)
    if isinstance(u, (sp.MatAdd, sp.Add)):
        return "sum rule", add([dd(a) for a in u.args], u)
    if isinstance(u, (sp.MatMul, sp.Mul)):
        factors = list(u.args)
        dependent = [f for f in factors if f.has(*variables)]
        name = "product rule" if len(dependent) > 1 else "constant factor"
        return name, _product_rule(factors, u, variables)
    if isinstance(u, sp.Transpose):
        return "transpose", dd(u.arg).T
    if isinstance(u, sp.Inverse):
        inv = sp.Inverse(u.arg)
        return "inverse", -inv * dd(u.arg) * inv
    if isinstance(u, sp.MatPow) and u.exp.is_Integer and u.exp > 0:
        return "product rule", _product_rule([u.base] * int(u.exp), u, variables)
    if isinstance(u, sp.Trace):
        return "trace", sp.Trace(dd(u.arg))
    if isinstance(u, sp.Determinant):
        return "Jacobi's formula", u * sp.Trace(sp.Inverse(u.arg) * dd(u.arg))
    if isinstance(u, sp.log) and isinstance(u.args[0], sp.Determinant):
        A = u.args[0].arg
        return "log-determinant", sp.Trace(sp.Inverse(A) * dd(A))
    if isinstance(u, sp.log) and isinstance(u.args[0], sp.Abs) and isinstance(u.args[0].args[0], sp.Determinant):
        A = u.args[0].args[0].arg  # log|det A| has the same differential, of either sign (Cookbook (57))
        return "log-determinant", sp.Trace(sp.Inverse(A) * dd(A))
    if isinstance(u, Elementwise):
        return "chain rule (elementwise)", HadamardProduct(elementwise_derivative(u.name, u.arg), dd(u.arg))
    if isinstance(u, VectorApplication):
        return f"{u.name} rule", u.record.differential(u.arg, dd(u.arg))
    if isinstance(u, HadamardProduct):
        factors = list(u.args)
        terms = [HadamardProduct(*(factors[:k] + [dd(f)] + factors[k + 1:]))
                 for k, f in enumerate(factors) if f.has(*variables)]
        return "product rule (⊙)", add(terms, u)
    if isinstance(u, HadamardPower) and not u.exp.has(*variables):
        power = u.base if u.exp - 1 == 1 else HadamardPower(u.base, u.exp - 1)  # U^∘1 is U
        return "power rule (⊙)", u.exp * hadamard([power, dd(u.base)])
    if isinstance(u, DiagMatrix):
        return "diag is linear", DiagMatrix(dd(u.args[0]))
    if isinstance(u, sp.Pow) and not u.exp.has(*variables):
        return "power rule", u.exp * u.base ** (u.exp - 1) * dd(u.base)
    if isinstance(u, sp.Pow) and u.base == sp.E:
        return "chain rule", u * dd(u.exp)
    if record_of(u) is not None:
        return "chain rule", record_of(u).derivative(u.args[0]) * dd(u.args[0])
    raise NotSupported(f"no differential rule for {type(u).__name__}: {unicode(u)}")


def differential_pass(expr, variables):
    """Push every non-leaf d one level down; returns (new expression, rule names applied in order)."""
    used: list[str] = []

    def go(e):
        if isinstance(e, (Differential, ScalarDifferential)):
            name, result = differential_rule(e.arg, variables)
            if name and name not in used:
                used.append(name)
            return result
        if not e.args or not e.has(Differential, ScalarDifferential):
            return e
        return e.func(*[go(a) for a in e.args])

    return go(expr), used


def differentiate(derivation: Derivation, f, variable, lhs) -> sp.Basic:
    """Record d f, then one step per level of rules until only dv remains; returns the final differential."""
    variables = (variable,)
    current = d(f)
    derivation.step("take the differential",
                    f"Differentiate both sides; d is linear and d{_name(variable)} is the small change in "
                    f"{_name(variable)}.", f, current, check=DerivativeIs(variable, "differential"), lhs=_d_label(lhs))
    while _has_open_differential(current):
        after, used = differential_pass(current, variables)
        after = _tidy(after)
        derivation.step(", ".join(used), _explain(used), current, after, lhs=_d_label(lhs),
                        check=Equal(varying=variables))
        current = after
    return current


def _has_open_differential(expr) -> bool:
    return any(isinstance(n, (Differential, ScalarDifferential)) and not n.is_leaf
               for n in sp.preorder_traversal(expr))


def _tidy(expr):
    """Drop zero terms and flatten nested products (evaluating nothing else)."""
    if not expr.args or isinstance(expr, (Differential, ScalarDifferential, sp.MatrixSymbol)):
        return expr
    args = [_tidy(a) for a in expr.args]
    if isinstance(expr, (sp.MatAdd, sp.Add)):
        return add(args, expr)
    if isinstance(expr, (sp.MatMul, sp.Mul)):
        if any(a == 0 or isinstance(a, sp.ZeroMatrix) for a in args):
            return zero_like(expr)
        return multiply(args, expr)
    if isinstance(expr, sp.Trace) and isinstance(args[0], sp.ZeroMatrix):
        return sp.S.Zero
    return expr.func(*args)


RULE_EXPLANATIONS = {
    "constant": "the differential of anything not depending on the variable is zero",
    "sum rule": "d(A + B) = dA + dB",
    "constant factor": "d(AUB) = A(dU)B for constant A, B",
    "product rule": "d(UV) = (dU)V + U(dV), keeping the order of the factors",
    "transpose": "d(Uᵀ) = (dU)ᵀ",
    "inverse": "d(U⁻¹) = −U⁻¹(dU)U⁻¹",
    "trace": "d tr(U) = tr(dU)",
    "Jacobi's formula": "d det U = det U · tr(U⁻¹dU)",
    "log-determinant": "d log det U = tr(U⁻¹dU)",
    "chain rule (elementwise)": "d f(U) = f′(U) ⊙ dU for f applied entrywise",
    "product rule (⊙)": "d(U ⊙ V) = dU ⊙ V + U ⊙ dV",
    "power rule (⊙)": "d U^{∘k} = k U^{∘(k−1)} ⊙ dU",
    "diag is linear": "d diag(u) = diag(du)",
    "power rule": "d uᵏ = k uᵏ⁻¹ du",
    "chain rule": "d f(u) = f′(u) du",
    **{f"{record.name} rule": record.rule for record in VECTOR_REGISTRY},
}


def _explain(used) -> str:
    return "; ".join(RULE_EXPLANATIONS[name] for name in used) + "."


def _name(variable) -> str:
    return unicode(variable)


def _d_label(lhs):
    """d L for the label L of the function being differentiated."""
    return Notation("d" + lhs.text, r"\mathrm{d}" + lhs.latex) if lhs is not None else None


# ---------------------------------------------------------------------------------------------------
# Canonical forms: read the gradient / Jacobian off a differential linear in dv
# ---------------------------------------------------------------------------------------------------
def _terms(expr):
    """The differential as a list of terms, each with dv occurring once (products distributed over sums)."""
    expr = sp.expand(_split_traces(expr)) if not expr.is_Matrix else _distribute(_split_traces(expr))
    return list(expr.args) if isinstance(expr, (sp.MatAdd, sp.Add)) else [expr]


def _split_traces(expr):
    """tr(A + B) = tr(A) + tr(B) for the traces holding a d-leaf, products inside distributed first."""
    def split(trace):
        inner = _distribute(trace.arg)
        terms = inner.args if isinstance(inner, sp.MatAdd) else (inner,)
        return sp.Add(*[sp.Trace(t) for t in terms])

    return expr.replace(lambda e: isinstance(e, sp.Trace) and e.has(Differential), split)


def _distribute(expr):
    """Expand products over the sums that contain a d-leaf, leaving other factors intact."""
    leaf_sum = lambda a: isinstance(a, sp.MatAdd) and a.has(Differential)
    if isinstance(expr, sp.MatAdd):
        return sp.MatAdd(*[_distribute(a) for a in expr.args]).doit()
    if isinstance(expr, sp.MatMul):
        args = [_distribute(a) for a in expr.args]
        for k, a in enumerate(args):
            if leaf_sum(a):
                return sp.MatAdd(*[_distribute(sp.MatMul(*args[:k], t, *args[k + 1:]))
                                   for t in a.args]).doit()
        return sp.MatMul(*args)
    if isinstance(expr, sp.Transpose):
        pushed = expr.arg.T
        return expr if isinstance(pushed, sp.Transpose) else _distribute(pushed)
    if isinstance(expr, HadamardProduct):
        args = [_distribute(a) for a in expr.args]
        for k, a in enumerate(args):
            if leaf_sum(a):
                return sp.MatAdd(*[_distribute(HadamardProduct(*args[:k], t, *args[k + 1:]))
                                   for t in a.args]).doit()
        return HadamardProduct(*args)
    return expr


def gradient_coefficient(term, dv):
    """G with term = tr(Gᵀ dV), for one term linear in dV (Minka's canonical form)."""
    if isinstance(term, sp.Add):   # a scalar sum of differentials: 4(tr(dxᵀx) + tr(xᵀdx)) in d(4‖x‖²x)
        return add([gradient_coefficient(t, dv) for t in term.args], dv)
    if isinstance(term, sp.Trace) and isinstance(term.arg, sp.MatAdd):   # tr(A + B) = tr(A) + tr(B)
        return add([gradient_coefficient(sp.Trace(t), dv) for t in term.arg.args], dv)
    if isinstance(term, sp.Trace):
        return gradient_coefficient(term.arg, dv)
    if isinstance(term, sp.Mul) and not term.is_Matrix:  # (MatMul is a Mul too)
        coefficient, rest = term.as_independent(dv, as_Add=False)
        return coefficient * gradient_coefficient(rest, dv)
    if isinstance(term, ScalarDifferential) and term == dv:
        return sp.S.One
    if term.is_Matrix:
        coefficient, factors = split_product(term)
        if coefficient.has(dv) and not any(f.has(dv) for f in factors) and term.shape == (1, 1):
            # tr(dX)·1 (a scalar beside a 1×1 matrix, as in aᵀXb + tr(X)): the 1×1 factors are a number
            return gradient_coefficient(coefficient, dv) * _scalar_value(factors)
        k = _dependent_index(factors, dv, term)
        P, F, Q = factors[:k], factors[k], factors[k + 1:]
        if F == dv and not (P or Q) and dv.cols != 1:     # tr(dV) = tr(Iᵀ dV)
            return coefficient * Eye(dv.rows)
        if F == dv:                                      # tr(P dV Q) = tr(Q P dV)
            return coefficient * _transpose_product(Q + P)
        if isinstance(F, sp.Transpose) and F.arg == dv:  # tr(P dVᵀ Q) = tr(dVᵀ Q P)
            return coefficient * _mat(Q + P, dv)
        if isinstance(F, DiagMatrix) and F.args[0] == dv and dv.cols == 1:
            # tr(P diag(dv) Q) = Σᵢ (QP)ᵢᵢ dvᵢ: for a row P and a column Q that is (Pᵀ ⊙ Q)ᵀ dv
            if len(P) == 1 and len(Q) == 1 and P[0].rows == 1 and Q[0].cols == 1:
                return coefficient * hadamard([transpose_shallow(P[0]), Q[0]])
            return coefficient * DiagonalOf(_mat(Q + P, dv, rows=dv.rows))
        if isinstance(F, HadamardProduct):               # tr(K (B ⊙ M)) = tr((Kᵀ ⊙ B)ᵀ M)
            inner = [a for a in F.args if a.has(dv)]
            outer = [a for a in F.args if not a.has(dv)]
            if len(inner) == 1:
                around = _transpose_product(Q + P) if Q + P else Eye(F.rows)  # tr(B ⊙ M) = tr((I ⊙ B)ᵀ M)
                weight = hadamard([around, *outer])
                return coefficient * gradient_coefficient(multiply([weight.T, inner[0]], term), dv)
    raise NotSupported(f"cannot bring the term {unicode(term)} into the canonical form tr(Gᵀ d{unicode(dv.arg)})")


def jacobian_coefficient(term, dv):
    """J with term = J dv, for one vector-valued term linear in the vector dv."""
    coefficient, factors = split_product(term)
    if coefficient.has(dv) and not any(f.has(dv) for f in factors):
        # (aᵀdv)·u, a scalar differential times a constant vector: u aᵀ dv
        return multiply([_mat(factors, dv, rows=term.rows), gradient_coefficient(coefficient, dv).T], term)
    k = _dependent_index(factors, dv, term)
    P, F, Q = factors[:k], factors[k], factors[k + 1:]
    if Q and sp.MatMul(*Q).shape == (1, 1) and F.shape[1] == 1:
        # P dv s for a 1×1 s (‖x‖⁻¹ in dx/‖x‖): s is a number, P dv s = s P dv
        coefficient, Q = coefficient * as_scalar(Q[0] if len(Q) == 1 else sp.MatMul(*Q)), []
    if F.shape == (1, 1) and P and not Q:
        # P (gᵀdv): a vector times a scalar differential, P gᵀ dv (Hessians of ‖x‖⁴, log(1 + exp(aᵀx)))
        return coefficient * multiply([*P, transpose_shallow(gradient_coefficient(F, dv))], term)
    if isinstance(F, DiagMatrix) and F.args[0] == dv and Q:  # P diag(dv) q = P diag(q) dv
        return coefficient * multiply([*P, DiagMatrix(_mat(Q, dv))], term)
    if F == dv and not Q:                                # P dv
        return coefficient * _mat(P, dv, rows=term.rows)
    if isinstance(F, sp.Transpose) and F.arg == dv and len(P) >= 1:   # P (dvᵀ Q) = P Qᵀ dv
        return coefficient * _mat(P, dv) * _mat(Q, dv).T
    if isinstance(F, HadamardProduct) and not Q:         # P (B ⊙ M) = P diag(B) M
        inner = [a for a in F.args if a.has(dv)]
        outer = [a for a in F.args if not a.has(dv)]
        if len(inner) == 1 and outer:
            weight = DiagMatrix(hadamard(outer))
            return coefficient * multiply([*P, weight, jacobian_coefficient(inner[0], dv)], term)
    raise NotSupported(f"cannot bring the term {unicode(term)} into the form J d{unicode(dv.arg)}")


def _dependent_index(factors, dv, term) -> int:
    hits = [k for k, f in enumerate(factors) if f.has(dv)]
    if len(hits) != 1:
        raise NotSupported(f"the term {unicode(term)} is not linear in d{unicode(dv.arg)}")
    return hits[0]


def _scalar_value(factors):
    """The number a product of 1×1 constant matrices stands for (𝟏 and I of size 1 are 1)."""
    kept = [f for f in factors if not (isinstance(f, (sp.OneMatrix, sp.Identity)) and f.shape == (1, 1))]
    return sp.S.One if not kept else sp.Trace(sp.MatMul(*kept))


def _mat(factors, dv, rows=None):
    if not factors:
        return Eye(rows if rows is not None else dv.rows)
    return factors[0] if len(factors) == 1 else sp.MatMul(*factors)


def _transpose_product(factors):
    """(F₁F₂…Fₘ)ᵀ = Fₘᵀ…F₁ᵀ, for the factors around dV (the empty product of a vector term is 1×1)."""
    if not factors:
        return sp.Identity(1)
    return (factors[0] if len(factors) == 1 else sp.MatMul(*factors)).T


def _collect(terms, like):
    total = add(terms, like)
    return total.doit() if hasattr(total, "doit") else total


def gradient(derivation: Derivation, f, variable, lhs, result_lhs=None):
    """∇f by differentials: record d f, the rules, the canonical form and the gradient read off it."""
    differential = differentiate(derivation, f, variable, lhs)
    dv = d(variable)
    contributions = [gradient_coefficient(t, dv) for t in _terms(differential)]
    contributions = [_drop_unit(c) for c in contributions]
    G = _collect(contributions, variable)
    if not variable.is_Matrix:
        derivation.step("read off the derivative", "df = f′ dx, so the derivative is the coefficient of dx.",
                        differential, G, check=DerivativeIs(variable, of="differential"), lhs=result_lhs)
        return G
    if variable.cols == 1:
        canonical = multiply([transpose_shallow(G), dv], G)
        derivation.step("a scalar equals its transpose",
                        "Transpose the terms that hold (dv)ᵀ (a 1×1 matrix equals its transpose) and collect: "
                        "df = gᵀ dv.", differential, canonical, lhs=_d_label(lhs), check=Equal(varying=(variable,)))
        why = ("df = gᵀ dv, so the gradient is g (denominator layout: the gradient has the shape of "
               f"{_name(variable)})")
    else:
        canonical = sp.Trace(multiply([transpose_shallow(G), dv], G))
        derivation.step("canonical form tr(Gᵀ dX)",
                        "A scalar equals its trace, tr(AB) = tr(BA) and tr(Aᵀ) = tr(A): collect df = tr(Gᵀ dX).",
                        differential, canonical, lhs=_d_label(lhs), check=Equal(varying=(variable,)))
        why = f"df = tr(Gᵀ dX), so ∂f/∂X = G (denominator layout: G has the shape of {_name(variable)})"
    derivation.step("read off the gradient", why + ".", canonical, G, check=DerivativeIs(variable, of="differential"), lhs=result_lhs)
    return G


def jacobian(derivation: Derivation, g, variable, lhs, result_lhs=None):
    """∂g/∂vᵀ (the Hessian when g is a gradient): record dg and read H off dg = H dv."""
    differential = differentiate(derivation, g, variable, lhs)
    dv = d(variable)
    H = _collect([jacobian_coefficient(t, dv) for t in _terms(differential)], sp.Identity(g.rows))
    derivation.step("read off the Jacobian", "dg = H dv, so ∂g/∂vᵀ = H.",
                    differential, H, check=DerivativeIs(variable, "jacobian", of="differential"), lhs=result_lhs)
    return H


def _drop_unit(expr):
    """Remove the 1×1 identity that the empty product around a vector dv leaves behind."""
    if isinstance(expr, sp.MatMul):
        args = [a for a in expr.args if not (isinstance(a, sp.Identity) and a.rows == 1)]
        return sp.MatMul(*args) if len(args) > 1 else args[0]
    return expr
