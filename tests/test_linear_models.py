"""OLS and ridge: every step verified, results against finite differences and numpy.linalg.lstsq."""
import numpy as np
import pytest
import sympy as sp

import derive
from derive.core.numeval import evaluate
from derive.expr.printing import latex, unicode

RNG = np.random.default_rng(42)
N, D, LAM = 30, 4, 0.7
Xv, yv, bv = RNG.standard_normal((N, D)), RNG.standard_normal((N, 1)), RNG.standard_normal((D, 1))
ENV = {"n": N, "d": D, "X": Xv, "y": yv, "beta": bv, "lambda": LAM}


def loss(b, ridge):
    r = yv - Xv @ b
    return (r.T @ r + (LAM * b.T @ b if ridge else 0)).item()


def finite_difference_gradient(f, b, h=1e-6):
    g = np.zeros_like(b)
    for k in range(b.size):
        e = np.zeros_like(b)
        e.flat[k] = h
        g.flat[k] = (f(b + e) - f(b - e)) / (2 * h)
    return g


@pytest.mark.parametrize("model", ["ols", "ridge"])
@pytest.mark.parametrize("form", ["matrix", "index", "components"])
def test_every_step_is_verified_and_printable(model, form):
    d = derive.derivation(model, form=form, dim=3)
    assert d.steps and all(s.verified for s in d.steps)
    for s in d.steps:
        for text in (unicode(s.after), latex(s.after)):
            for banned in ("Piecewise", "KroneckerDelta", "Lambda", "ArrayContraction", "PermuteDims"):
                assert banned not in text


@pytest.mark.parametrize("model", ["ols", "ridge"])
def test_gradient_and_hessian_against_finite_differences(model):
    ridge = model == "ridge"
    results = derive.derivation(model).results
    g = evaluate(results["gradient"], ENV)
    np.testing.assert_allclose(g, finite_difference_gradient(lambda b: loss(b, ridge), bv), rtol=1e-6)
    H = evaluate(results["hessian"], ENV)
    fd = np.column_stack([finite_difference_gradient(lambda b: loss(b, ridge), bv + e).ravel()
                          - finite_difference_gradient(lambda b: loss(b, ridge), bv - e).ravel()
                          for e in 1e-3 * np.eye(D)[:, :, None]]) / 2e-3
    np.testing.assert_allclose(H, fd, rtol=1e-5)
    np.testing.assert_allclose(evaluate(results["loss"], ENV).item(), loss(bv, ridge))


def test_ols_solution_matches_lstsq():
    solution = evaluate(derive.derivation("ols").results["solution"], ENV)
    np.testing.assert_allclose(solution, np.linalg.lstsq(Xv, yv, rcond=None)[0], rtol=1e-10)


def test_ridge_solution_matches_augmented_lstsq():
    solution = evaluate(derive.derivation("ridge").results["solution"], ENV)
    augmented = np.vstack([Xv, np.sqrt(LAM) * np.eye(D)])
    expected = np.linalg.lstsq(augmented, np.vstack([yv, np.zeros((D, 1))]), rcond=None)[0]
    np.testing.assert_allclose(solution, expected, rtol=1e-10)


def test_results_evaluate_by_substitution_and_doit():
    """DESIGN §3: numbers substituted for symbols, .doit().evalf() gives the value (floats included)."""
    from derive.expr.symbols import X, beta, d, lam, n, y
    sizes = {n: N, d: D}
    values = {X.subs(sizes): sp.ImmutableMatrix(Xv), y.subs(sizes): sp.ImmutableMatrix(yv),
              beta.subs(sizes): sp.ImmutableMatrix(bv), lam: LAM}
    for quantity, expr in derive.derivation("ridge").results.items():
        value = np.array(expr.subs(sizes).xreplace(values).doit().evalf(), dtype=float)
        np.testing.assert_allclose(value, evaluate(expr, ENV), rtol=1e-9, err_msg=quantity)


def test_textbook_forms():
    ols = derive.derivation("ols").results
    assert unicode(ols["gradient"]) == "−2Xᵀ(y − Xβ)"
    assert unicode(ols["hessian"]) == "2XᵀX"
    assert unicode(ols["solution"]) == "(XᵀX)⁻¹Xᵀy"
    assert unicode(derive.derivation("ridge").results["hessian"]) == "2(XᵀX + λI)"


def test_index_form_gradient_matches_matrix_form():
    index = derive.derivation("ols", form="index").results["gradient"]
    matrix = evaluate(derive.derivation("ols").results["gradient"], ENV).ravel()
    from derive.core.numeval import padded
    env = {**ENV, "X[]": padded(Xv, 2), "y[]": padded(yv, 1), "beta[]": padded(bv, 1)}
    for k in range(1, D + 1):
        assert evaluate(index, {**env, "k": k}) == pytest.approx(matrix[k - 1])
