"""The textbook form: the rewrites that make a matrix derivative look as a person writes it.

Before differentiating, formulas written out by hand are recognised as the functions they are
(`recognise_special_functions`: log(1 + eᵘ) is softplus(u), log 𝟏ᵀeᶻ is logsumexp(z), log softmax(z) is
z − 𝟏 logsumexp(z)), so that the derivative comes out as a textbook writes it (σ(u), softmax(z)); after,
`textbook_form` collects terms, drops the transposes of 1×1 matrices, merges diagonal matrices and
simplifies entrywise formulas. Each rewrite is a verified step of the derivation; a rewrite that takes too
long is skipped, leaving the untidied (still verified) form.
"""
from __future__ import annotations

import dataclasses

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.matadd import canonicalize as matadd_canonicalize

from derive.core.limits import time_limit
from derive.errors import LimitExceeded
from derive.expr.algebra import (
    factor_common,
    multiply,
    split_product,
    transpose_shallow,
)
from derive.expr.functions import Elementwise, VectorApplication, record_of, sigmoid, softplus
from derive.expr.printing import negate

SIMPLIFY_SECONDS = 2.0     # for tidying one result; past it the untidied (still verified) form is kept


# --- before differentiating: the functions a formula spells out by hand ---------------------------------
def recognise_special_functions(D, f, lhs):
    """Rewrite the formulas that are special functions, each kind a step: log(𝟏 + exp(u)) as softplus(u) (and
    log σ(u), log(𝟏 − σ(u)) as −softplus(∓u)); log 𝟏ᵀexp(z) as logsumexp(z); exp(z)/𝟏ᵀexp(z) as softmax(z);
    and log softmax(z) as z − 𝟏 logsumexp(z), whose derivative is softmax(z) without a quotient."""
    for rule_name, why, match in RECOGNITIONS:
        rewritten = _rewrite(f, match)
        if rewritten != f:
            f = D.step(rule_name, why, f, rewritten, lhs=lhs)
    return f


def _rewrite(f, match):
    """f with every sub-expression that `match` recognises replaced, outermost first."""
    if not f.args:
        return f
    found = match(f)
    if found is not None:
        return found
    args = [_rewrite(a, match) for a in f.args]
    if all(a is b for a, b in zip(args, f.args)):
        return f
    return _flat_product(args) if isinstance(f, sp.MatMul) else f.func(*args)


def _is_one(e) -> bool:
    return isinstance(e, sp.OneMatrix) or e == 1


def _softplus_form(e):
    """softplus(u) for log(1 + eᵘ); −softplus(u) for log(1 − σ(u)); −softplus(−u) for log σ(u); else None."""
    if isinstance(e, Elementwise) and e.name == "log":
        inner = e.arg
    elif isinstance(e, sp.log):
        inner = e.args[0]
    else:
        return None
    vector = isinstance(e, Elementwise)
    terms = inner.args if isinstance(inner, (sp.MatAdd, sp.Add)) else (inner,)
    if len(terms) == 2:
        one = [t for t in terms if _is_one(t)]
        rest = [t for t in terms if not _is_one(t)]
        if len(one) == 1 and len(rest) == 1:
            t = rest[0]
            if isinstance(t, Elementwise) and t.name == "exp":
                return Elementwise("softplus", t.arg)
            if isinstance(t, sp.exp) and not vector:
                return softplus(t.args[0])
            negated = _negated(t)
            if negated is not None and isinstance(negated, Elementwise) and negated.name == "sigmoid":
                return -Elementwise("softplus", negated.arg)              # log(1 − σ(u)) = −softplus(u)
            if negated is not None and isinstance(negated, sigmoid) and not vector:
                return -softplus(negated.args[0])
    if isinstance(inner, Elementwise) and inner.name == "sigmoid":
        return -Elementwise("softplus", -inner.arg)                       # log σ(u) = −softplus(−u)
    if isinstance(inner, sigmoid):
        return -softplus(-inner.args[0])
    return None


def _sum_of_exponentials(e):
    """z for 𝟏ᵀexp(z) (z a column vector) or U for exp(U)𝟏 (the row sums of a matrix), else None."""
    if not isinstance(e, sp.MatMul) or len(e.args) != 2:
        return None
    first, second = e.args
    if isinstance(first, sp.OneMatrix) and isinstance(second, Elementwise) and second.name == "exp" \
            and second.arg.cols == 1:
        return second.arg
    if isinstance(second, sp.OneMatrix) and isinstance(first, Elementwise) and first.name == "exp" \
            and first.arg.cols != 1:
        return first.arg
    return None


def _logsumexp_form(e):
    """logsumexp(z) for log 𝟏ᵀexp(z) (and of each row for log(exp(U)𝟏)), else None."""
    if isinstance(e, Elementwise) and e.name == "log":
        z = _sum_of_exponentials(e.arg)
        return VectorApplication("logsumexp", z) if z is not None else None
    return None


def _softmax_form(e):
    """softmax(z) for exp(z)(𝟏ᵀexp(z))⁻¹, the exponentials divided by their sum, else None."""
    if isinstance(e, sp.MatMul) and len(e.args) == 2:
        exps, inverse = e.args
        if isinstance(exps, Elementwise) and exps.name == "exp" and isinstance(inverse, sp.Inverse) \
                and exps.arg.cols == 1 and _sum_of_exponentials(inverse.arg) == exps.arg:
            return VectorApplication("softmax", exps.arg)
    return None


def _log_softmax_form(e):
    """z − 𝟏 logsumexp(z) for log softmax(z); U − logsumexp(U)𝟏ᵀ for the row-wise log softmax(U)."""
    if isinstance(e, Elementwise) and e.name == "log" and isinstance(e.arg, VectorApplication) \
            and e.arg.name == "softmax":
        U = e.arg.arg
        normaliser = VectorApplication("logsumexp", U)
        spread = sp.MatMul(sp.OneMatrix(U.rows, 1), normaliser) if U.cols == 1 else \
            sp.MatMul(normaliser, sp.OneMatrix(1, U.cols))
        return sp.MatAdd(U, -spread)
    return None


RECOGNITIONS = (
    ("recognise softplus", "log(1 + eᵘ) is softplus(u), whose derivative is σ(u); log σ(u) = −softplus(−u) and "
     "log(1 − σ(u)) = −softplus(u). Entrywise on vectors.", _softplus_form),
    ("recognise log-sum-exp", "log 𝟏ᵀexp(z) is logsumexp(z), whose gradient is softmax(z) = exp(z)/𝟏ᵀexp(z) "
     "(of each row, for a matrix).", _logsumexp_form),
    ("recognise softmax", "exp(z)/𝟏ᵀexp(z) is softmax(z), whose Jacobian is diag(p) − ppᵀ with p = softmax(z).",
     _softmax_form),
    ("log of a softmax", "log softmax(z) = z − 𝟏 logsumexp(z): the log of a quotient is a difference, and the "
     "normaliser's log is the log-sum-exp (of each row, for a matrix).", _log_softmax_form),
)


def _flat_product(args):
    """The matrix product of args with nested products flattened and the numbers multiplied: −A(−B) = AB."""
    flat = []
    for a in args:
        flat.extend(a.args if isinstance(a, sp.MatMul) else [a])
    coefficient = sp.Mul(*[a for a in flat if not a.is_Matrix])
    matrices = [a for a in flat if a.is_Matrix]
    if coefficient == 1:
        return matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
    return sp.MatMul(coefficient, *matrices)


def _negated(t):
    """u when t is −u (−1·u as a product), else None."""
    if isinstance(t, sp.MatMul):
        c, ms = t.as_coeff_matrices()
        if c == -1:
            return ms[0] if len(ms) == 1 else sp.MatMul(*ms)
    if isinstance(t, sp.Mul) and t.could_extract_minus_sign():
        return -t
    return None


# --- after differentiating: the form a person writes ---------------------------------------------------
def textbook_form(D, expr, lhs):
    """Collect terms, merge diagonal matrices and simplify entrywise expressions, each change a verified step."""
    moves = [("a 1×1 matrix equals its transpose", "uᵀ = u for a 1×1 matrix u.", untranspose_scalars),
             ("a 1×1 factor is a number", "A 1×1 factor of a product is a number and moves to the front: "
              "x(xᵀx) = (xᵀx)x = ‖x‖²x, a·exp(aᵀx)aᵀ = exp(aᵀx)aaᵀ.", scalars_in_front),
             ("probabilities sum to 1", "𝟏ᵀy = 1 for probabilities y, and Y𝟏 = 𝟏 when each row of Y holds "
              "probabilities (declared prob, as one-hot labels are).", probabilities_sum_to_one),
             ("collect terms", "Take out the factors the terms share: AB + AC = A(B + C), BA + CA = (B + C)A.",
              collect_terms),
             ("diag(a)diag(b) = diag(a ⊙ b)", "Products and sums of diagonal matrices are taken entry by entry.",
              merge_diagonals),
             ("diag(a)b = a ⊙ b", "A diagonal matrix times a vector multiplies entry by entry: diag(a)b = a ⊙ b, "
              "so diag(x)x = x^∘2 and the terms collect.", diagonal_products_that_collect),
             ("simplify entry by entry", "The vector's entries are the same scalar formula in the entries of its "
              "arguments; simplify that formula (σ(−z) = 1 − σ(z), collect factors).", simplify_entrywise),
             ("take the signs out", "A(−B − C)D = −A(B + C)D: a factor whose terms are all negative gives its sign "
              "to the product.", signs_out),
             ("add the explicit matrices", "Explicit matrices are added entry by entry.", add_explicit),
             ("collect equal terms", "Equal terms of a sum are counted once with their coefficients added: "
              "a + 2a = 3a.", collect_equal_terms)]
    canonical = canonical_sums(expr)
    if canonical != expr and D.steps and D.steps[-1].after == expr:
        # the same sum with its terms in derive's canonical order (as `derive.parse` builds it)
        D.steps[-1] = dataclasses.replace(D.steps[-1], after=canonical, verified=False).verify(len(D.steps) - 1)
        expr = canonical
    for _ in range(3):
        changed = False
        for rule_name, why, move in moves:
            try:
                with time_limit(SIMPLIFY_SECONDS, "simplifying"):
                    after = move(expr)
            except LimitExceeded:
                continue
            after = canonical_sums(order_hadamard(after))
            if after != expr:
                expr = D.step(rule_name, why, expr, after, lhs=lhs)
                changed = True
        if not changed:
            break
    return expr


def signs_out(expr):
    """−Xᵀ(−W − Wᵀ)X = Xᵀ(W + Wᵀ)X: a factor of a product that is a sum of negative terms is negated,
    and the product's sign flips (recursively)."""
    if not expr.args:
        return expr
    args = [signs_out(a) for a in expr.args]
    rebuilt = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    if not isinstance(rebuilt, sp.MatMul):
        return rebuilt
    coefficient, factors = split_product(rebuilt)
    negative = [isinstance(f, sp.MatAdd) and all(t.could_extract_minus_sign() for t in f.args) for f in factors]
    if not any(negative):
        return rebuilt
    flipped = [sp.MatAdd(*[negate(t) for t in f.args]) if minus else f for f, minus in zip(factors, negative)]
    return multiply([coefficient * (-1) ** sum(negative), *flipped], rebuilt)


def add_explicit(expr):
    """[1, 2; 3, 4] + [1, 3; 2, 4] = [2, 5; 5, 8]: the explicit matrices of a sum added into one."""
    if not expr.args:
        return expr
    args = [add_explicit(a) for a in expr.args]
    if isinstance(expr, sp.MatAdd):
        explicit = [a for a in args if isinstance(a, sp.MatrixBase)]
        if len(explicit) > 1:
            total = sp.ImmutableMatrix(sum(explicit[1:], explicit[0]))
            rest = [a for a in args if not isinstance(a, sp.MatrixBase)]
            return total if not rest else sp.MatAdd(total, *rest)
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def collect_equal_terms(expr):
    """x + 2x = 3x in every matrix sum (SymPy's own grouping of a sum's terms, nothing else evaluated)."""
    if not expr.args:
        return expr
    args = [collect_equal_terms(a) for a in expr.args]
    rebuilt = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    return matadd_canonicalize(rebuilt) if isinstance(rebuilt, sp.MatAdd) else rebuilt


def canonical_sums(expr):
    """Every matrix sum with its terms sorted as `derive.parse` sorts them, so that the text of a result
    parses back to the identical expression (the printers still show positive terms first)."""
    if not expr.args:
        return expr
    args = [canonical_sums(a) for a in expr.args]
    if isinstance(expr, sp.MatAdd):
        return sp.MatAdd(*sorted(args, key=sp.default_sort_key))
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def untranspose_scalars(expr):
    """uᵀ = u wherever u is 1×1: exp(xᵀAx)ᵀ = exp(xᵀAx), xᵀAᵀx = xᵀAx (the form with fewer transposes)."""
    expr = expr.replace(lambda e: isinstance(e, sp.Transpose) and e.arg.shape == (1, 1), lambda e: e.arg)

    def fewer_transposes(m):
        # of two with as many transposes (aᵀx and xᵀa), one chosen always, so that equal terms look equal
        flipped = transpose_shallow(m)
        return min((m, flipped), key=lambda e: (e.count(sp.Transpose), sp.default_sort_key(e)))

    return expr.replace(lambda e: isinstance(e, sp.MatMul) and e.shape == (1, 1), fewer_transposes)


def scalars_in_front(expr):
    """x xᵀx = ‖x‖²x: in a product that is not itself 1×1, a run of factors whose product is 1×1 is a number;
    it becomes part of the coefficient (as the trace of that 1×1 matrix, which is its entry), a negative power
    of it a divisor (Aᵀr‖r‖⁻¹ = Aᵀr/‖r‖)."""
    expr = expr.replace(lambda e: isinstance(e, sp.Trace) and e.arg.shape == (1, 1), lambda e: _as_number(e.arg))
    return _pull_scalars(expr)


def _pull_scalars(expr):
    if not expr.args:
        return expr
    args = [_pull_scalars(a) for a in expr.args]
    rebuilt = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    if not isinstance(rebuilt, sp.MatMul) or rebuilt.shape == (1, 1):
        return rebuilt
    coefficient, factors = split_product(rebuilt)
    for i, first in enumerate(factors):
        if first.rows != 1:
            continue
        j = next((k for k in range(i, len(factors)) if factors[k].cols == 1), None)
        if j is None:
            break
        run = factors[i:j + 1]
        rest = factors[:i] + factors[j + 1:]
        number = _as_number(run[0] if len(run) == 1 else sp.MatMul(*run))
        return multiply([coefficient * number, *rest], rebuilt)
    return rebuilt


def _as_number(matrix):
    """The number a 1×1 matrix expression holds, tr(s); s^{∘k} as tr(s)ᵏ, s⁻¹ as 1/tr(s) and ⊙, + as the
    product and sum of numbers, so that powers of one norm combine
    (‖x‖⁻¹‖x‖⁻² = ‖x‖⁻³) and a negative power prints as a divisor."""
    if isinstance(matrix, HadamardPower):
        return _as_number(matrix.base) ** matrix.exp
    if isinstance(matrix, sp.Inverse):
        return 1 / _as_number(matrix.arg)
    if isinstance(matrix, HadamardProduct):  # for 1×1 matrices ⊙ is the product of numbers
        return sp.Mul(*[_as_number(a) for a in matrix.args])
    if isinstance(matrix, sp.MatAdd):
        return sp.Add(*[_as_number(a) for a in matrix.args])
    if isinstance(matrix, (sp.Identity, sp.OneMatrix)):
        return sp.S.One
    coefficient, factors = split_product(matrix)
    if coefficient != 1 and len(factors) == 1:
        return coefficient * _as_number(factors[0])
    return sp.Trace(matrix)


def _probabilities(m) -> bool:
    return getattr(m, "assumption", None) == "prob"


def _summed(left, right):
    """The all-ones matrix that left·right is when one of them sums probabilities (𝟏ᵀy, Y𝟏, 𝟏Yᵀ, yᵀ𝟏), else None."""
    ones = isinstance(left, sp.OneMatrix), isinstance(right, sp.OneMatrix)
    if ones[1] and _probabilities(left) and left.cols != 1:                   # Y𝟏 = 𝟏 (rows sum to 1)
        return sp.OneMatrix(left.rows, right.cols)
    if ones[0] and _probabilities(right) and right.cols == 1:                 # 𝟏ᵀy = 1
        return sp.OneMatrix(left.rows, 1)
    if ones[0] and isinstance(right, sp.Transpose) and _probabilities(right.arg) and right.arg.cols != 1:
        return sp.OneMatrix(left.rows, right.cols)                            # 𝟏Yᵀ = 𝟏
    if ones[1] and isinstance(left, sp.Transpose) and _probabilities(left.arg) and left.arg.cols == 1:
        return sp.OneMatrix(1, right.cols)                                    # yᵀ𝟏 = 1
    return None


def probabilities_sum_to_one(expr):
    """(𝟏ᵀy)softmax(z) − y = softmax(z) − y and Y𝟏𝟏ᵀ = 𝟏𝟏ᵀ for y, Y declared prob."""
    if not expr.args:
        return expr
    args = [probabilities_sum_to_one(a) for a in expr.args]
    rebuilt = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    if isinstance(rebuilt, sp.Trace) and isinstance(rebuilt.arg, sp.OneMatrix) and rebuilt.arg.shape == (1, 1):
        return sp.S.One
    if not isinstance(rebuilt, sp.MatMul):
        return rebuilt
    coefficient, factors = split_product(rebuilt)
    merged: list = []
    for f in factors:
        summed = _summed(merged[-1], f) if merged else None
        if summed is None:
            merged.append(f)
        else:
            merged[-1] = summed
    if len(merged) == len(factors):
        return rebuilt
    kept = [f for f in merged if f.shape != (1, 1)] or merged[:1]   # a 1×1 all-ones factor is the number 1
    return multiply([coefficient, *kept], rebuilt)


def collect_terms(expr):
    """Xᵀa − Xᵀb = Xᵀ(a − b); Ax + Aᵀx + b = (A + Aᵀ)x + b; 2a − 2b = 2(a − b); sA + sB = s(A + B) for a
    number s (A/‖x‖² + Aᵀ/‖x‖² = (A + Aᵀ)/‖x‖²). Recursively inside products and terms."""
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        inner = [collect_terms(m) for m in ms]
        return multiply([c] + inner, expr) if inner != list(ms) else expr
    if not isinstance(expr, sp.MatAdd):
        return expr
    inside = [collect_terms(t) for t in expr.args]
    if inside != list(expr.args):
        return sp.MatAdd(*inside)
    whole = factor_common(expr)
    if whole != expr:
        return _numeric_factor(whole)
    by_scalar = _collect_scalar_factors(expr)
    if by_scalar != expr:
        return by_scalar
    for side in (-1, 0):
        groups: dict = {}
        for t in expr.args:
            _, ms = split_product(t)
            key = ms[side] if len(ms) > 1 else None
            groups.setdefault(key, []).append(t)
        if any(key is not None and len(ts) > 1 for key, ts in groups.items()):
            terms = []
            for key, ts in groups.items():
                terms.extend(ts if key is None or len(ts) == 1 else [_numeric_factor(factor_common(sp.MatAdd(*ts)))])
            return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    return _numeric_factor(expr)


def _collect_scalar_factors(expr):
    """sA + sB + C = s(A + B) + C for the terms of a matrix sum that share their coefficient s up to a number."""
    groups: dict = {}
    for t in expr.args:
        coefficient, ms = split_product(t)
        number, scalar = coefficient.as_coeff_Mul()
        groups.setdefault(scalar, []).append(multiply([number, *ms], t))
    if not any(scalar != 1 and len(ts) > 1 for scalar, ts in groups.items()):
        return expr
    terms = []
    for scalar, ts in groups.items():
        if scalar == 1 or len(ts) == 1:
            terms.extend(multiply([scalar, t], t) for t in ts)
        else:
            terms.append(multiply([scalar, _numeric_factor(sp.MatAdd(*ts))], ts[0]))
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def _numeric_factor(expr):
    """2a − 2b = 2(a − b), inside products too: the common rational factor of a sum's terms in front."""
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        factored = [_numeric_factor(m) for m in ms]
        pulled = sp.S.One
        for k, m in enumerate(factored):
            if isinstance(m, sp.MatMul) and isinstance(ms[k], sp.MatAdd):
                mc, mms = m.as_coeff_matrices()
                pulled *= mc
                factored[k] = mms[0] if len(mms) == 1 else sp.MatMul(*mms)
        return multiply([c * pulled] + factored, expr) if factored != list(ms) or pulled != 1 else expr
    if not isinstance(expr, sp.MatAdd):
        return expr
    coefficients = [split_product(t)[0] for t in expr.args]
    if not all(c.is_Rational for c in coefficients):
        return expr
    common = sp.gcd_list([abs(c) for c in coefficients])
    if common in (0, 1):
        return expr
    return sp.MatMul(common, sp.MatAdd(*[multiply([c / common] + split_product(t)[1], t)
                                          for c, t in zip(coefficients, expr.args)]))


def merge_diagonals(expr):
    """diag(a)diag(b) = diag(a ⊙ b) and diag(a) + diag(b) = diag(a + b), everywhere in expr."""
    if not expr.args or not expr.has(DiagMatrix):
        return expr
    args = [merge_diagonals(a) for a in expr.args]
    if isinstance(expr, sp.MatMul):
        merged = []
        for a in args:
            if merged and isinstance(a, DiagMatrix) and isinstance(merged[-1], DiagMatrix):
                merged[-1] = DiagMatrix(HadamardProduct(merged[-1].args[0], a.args[0]))
            else:
                merged.append(a)
        return merged[0] if len(merged) == 1 else sp.MatMul(*merged)
    if isinstance(expr, sp.MatAdd):
        diagonal = [a for a in args if _diag_term(a) is not None]
        if len(diagonal) > 1:
            others = [a for a in args if _diag_term(a) is None]
            combined = DiagMatrix(sp.MatAdd(*[_diag_term(a) for a in diagonal]))
            return combined if not others else sp.MatAdd(combined, *others)
    return expr.func(*args)


def diagonal_products_that_collect(expr):
    """2diag(x)x + x^∘2 = 2x^∘2 + x^∘2: a term c·diag(a)b of a matrix sum (b a vector) written entrywise,
    a ⊙ b simplified, where that makes it equal to another term up to its coefficient (then collected);
    diag(a)b elsewhere stays as it is written."""
    if not expr.args or not expr.has(DiagMatrix):
        return expr
    args = [diagonal_products_that_collect(a) for a in expr.args]
    rebuilt = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    if not isinstance(rebuilt, sp.MatAdd):
        return rebuilt
    others = {sp.MatMul(*split_product(t)[1]) for t in rebuilt.args}
    terms = []
    for t in rebuilt.args:
        coefficient, factors = split_product(t)
        entrywise = _entrywise_product(factors)
        if entrywise is not None and (entrywise in others or sp.MatMul(entrywise) in others):
            t = multiply([coefficient, entrywise], t)
        terms.append(t)
    return sp.MatAdd(*terms) if terms != list(rebuilt.args) else rebuilt


def _entrywise_product(factors):
    """a ⊙ b, simplified entry by entry (x ⊙ x = x^∘2), for the factors diag(a), b of a product; else None."""
    if len(factors) != 2 or not isinstance(factors[0], DiagMatrix) or factors[1].cols != 1:
        return None
    product = HadamardProduct(factors[0].args[0], factors[1])
    atoms: dict = {}
    try:
        scalar = _lower(product, atoms)
    except ValueError:
        return None
    return _lift(_simplest_scalar(scalar), {v: k for k, v in atoms.items()}, product.shape)


def _diag_term(term):
    """a for diag(a), c·a for c·diag(a) (c a number), else None."""
    if isinstance(term, DiagMatrix):
        return term.args[0]
    if isinstance(term, sp.MatMul):
        c, ms = term.as_coeff_matrices()
        if len(ms) == 1 and isinstance(ms[0], DiagMatrix):
            return sp.MatMul(c, ms[0].args[0])
    return None


def order_hadamard(expr):
    """σ(u) ⊙ (𝟏 − σ(u)) rather than (𝟏 − σ(u)) ⊙ σ(u): plain applications first, as textbooks write them."""
    if not expr.args or not expr.has(HadamardProduct):
        return expr
    args = [order_hadamard(a) for a in expr.args]
    if isinstance(expr, HadamardProduct):
        return HadamardProduct(*sorted(args, key=_is_sum_factor))
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def _is_sum_factor(factor) -> bool:
    """Whether a factor of ⊙ is a sum (or a power of one): written after the plain applications."""
    return isinstance(factor.base if isinstance(factor, HadamardPower) else factor, sp.MatAdd)


# Entrywise algebra: a vector built with ⊙, entrywise functions and sums is one scalar formula per entry.
_ENTRYWISE = (HadamardProduct, HadamardPower, Elementwise)


def simplify_entrywise(expr):
    """Simplify every entrywise sub-expression through its scalar formula (σ(−u) = 𝟏 − σ(u), factor; 𝟏 ⊙ A = A)."""
    return _simplify_entrywise(expr.replace(_has_ones_factor, _without_ones))


def _has_ones_factor(e) -> bool:
    return isinstance(e, HadamardProduct) and any(isinstance(a, sp.OneMatrix) for a in e.args)


def _without_ones(e):
    kept = [a for a in e.args if not isinstance(a, sp.OneMatrix)]
    return e.args[0] if not kept else kept[0] if len(kept) == 1 else HadamardProduct(*kept)


def _simplify_entrywise(expr):
    if not getattr(expr, "is_Matrix", False) or not expr.has(*_ENTRYWISE):
        if expr.args and expr.has(*_ENTRYWISE):
            args = [_simplify_entrywise(a) for a in expr.args]
            return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
        return expr
    if _is_entrywise(expr):
        atoms: dict = {}
        try:
            scalar = _lower(expr, atoms)
        except ValueError:
            return expr
        better = _simplest_scalar(scalar)
        if better == scalar:
            return expr
        lifted = _lift(better, {v: k for k, v in atoms.items()}, expr.shape)
        if lifted is None or sp.count_ops(better) >= sp.count_ops(scalar):
            return expr
        return lifted
    args = [_simplify_entrywise(a) for a in expr.args]
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def _is_entrywise(expr) -> bool:
    if isinstance(expr, _ENTRYWISE):
        return True
    if isinstance(expr, sp.MatAdd):
        return any(_is_entrywise(a) for a in expr.args) and expr.has(*_ENTRYWISE)
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        return len(ms) == 1 and _is_entrywise(ms[0])
    return False


def _lower(expr, atoms: dict):
    """The scalar formula of one entry; matrix leaves (x, Xβ, ...) become scalar symbols."""
    if isinstance(expr, sp.OneMatrix):
        return sp.S.One
    if isinstance(expr, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*[_lower(a, atoms) for a in expr.args])
    if isinstance(expr, HadamardProduct):
        return sp.Mul(*[_lower(a, atoms) for a in expr.args])
    if isinstance(expr, HadamardPower):
        return _lower(expr.base, atoms) ** expr.exp
    if isinstance(expr, Elementwise):
        return expr.function(_lower(expr.arg, atoms))
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        if c != 1:
            return c * _lower(ms[0] if len(ms) == 1 else sp.MatMul(*ms), atoms)
    if not expr.is_Matrix:
        raise ValueError("not an entrywise expression")
    if expr not in atoms:
        atoms[expr] = sp.Dummy(f"u{len(atoms)}", real=True)
    return atoms[expr]


def _sigmoid_of_negative(e):
    """σ(−z) = 1 − σ(z)."""
    return e.replace(lambda t: isinstance(t, sigmoid) and t.args[0].could_extract_minus_sign(),
                     lambda t: 1 - sigmoid(-t.args[0]))


def _simplest_scalar(scalar):
    candidates = [scalar]
    rewritten = _sigmoid_of_negative(scalar)
    for base in {scalar, rewritten}:
        candidates.append(base)
        for transform in (sp.expand, sp.factor):
            try:
                candidates.append(transform(base))
            except (sp.PolynomialError, TypeError, ValueError):
                pass
    return ones_first(min(candidates, key=lambda e: (sp.count_ops(e), len(str(e)))))


def ones_first(product):
    """A factor c − 1 of a product written 1 − c, its sign given to the product (as 1 − p and 1 − Φ(u) are
    written): −φ(Φ − y)/((Φ − 1)Φ) = φ(Φ − y)/((1 − Φ)Φ)."""
    sign, factors = sp.S.One, []
    for f in sp.Mul.make_args(product):
        base, exponent = f.as_base_exp()
        if isinstance(base, sp.Add) and len(base.args) == 2 and sp.S.NegativeOne in base.args and exponent.is_Integer:
            sign *= (-1) ** exponent
            f = (-base) ** exponent
        factors.append(f)
    return sign * sp.Mul(*factors)


def textbook_signs(formula):
    """The scalar formula over one denominator and factored, with its factors c − 1 written 1 − c (cancel,
    not simplify: the same forms for a GLM's weights, in a tenth of the time)."""
    return ones_first(sp.factor(sp.cancel(formula)))


def _lift(e, atoms: dict, shape):
    """The scalar formula back as a vector expression: symbols → their matrices, · → ⊙, f → entrywise f."""
    ones = sp.OneMatrix(*shape)

    def go(t):
        if t in atoms:
            return atoms[t]
        if not t.has(*atoms):
            return ones if t == 1 else sp.MatMul(t, ones)
        if isinstance(t, sp.Add):
            return sp.MatAdd(*[go(a) for a in t.args])
        if isinstance(t, sp.Mul):
            coefficient, rest = t.as_independent(*atoms, as_Add=False)
            factors = sorted((go(a) for a in sp.Mul.make_args(rest)), key=_is_sum_factor)
            product = factors[0] if len(factors) == 1 else HadamardProduct(*factors)
            return product if coefficient == 1 else sp.MatMul(coefficient, product)
        if isinstance(t, sp.Pow) and not t.exp.has(*atoms):
            return HadamardPower(go(t.base), t.exp)
        if record_of(t) is not None:
            return Elementwise(record_of(t).name, go(t.args[0]))
        raise ValueError(f"cannot write {t} entrywise")

    try:
        return go(e)
    except ValueError:
        return None
