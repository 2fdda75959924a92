"""Generated code for the normal distribution family is finite and accurate far in the tails.

References: mpmath at 50 digits (the loss by log Φ, its first and second derivatives by mpmath's own
numerical differentiation at that precision), statsmodels Probit, and hand-written numpy."""
import json

import mpmath
import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm
import sympy as sp

import derive
from derive.cli import main
from derive.expr import symbols as S
from derive.expr.functions import REGISTRY, Elementwise
from derive.fitting.codegen import lambdify, lambdify_results
from derive.fitting.stable_quotients import EntrywiseFormula, with_stable_quotients

ETAS = (-40.0, -20.0, -8.0, 0.0, 8.0, 20.0, 40.0)
mpmath.mp.dps = 50


def _log_cdf(v):
    """log Φ(v) at 50 digits: for v > 0 as log1p(−Φ(−v)), which keeps the digits where Φ(v) is within 1e-50 of 1."""
    return mpmath.log(mpmath.ncdf(v)) if v <= 0 else mpmath.log1p(-mpmath.ncdf(-v))


def _observation_loss(eta, y):
    """ℓ(η) = −y log Φ(η) − (1 − y) log Φ(−η)."""
    return lambda t: -y * _log_cdf(t) - (1 - y) * _log_cdf(-t)


@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("eta", ETAS)
def test_probit_loss_gradient_and_hessian_are_accurate_at_large_linear_predictors(eta, y):
    # one observation x = (1, 2) and β with xᵀβ = η: the results are ℓ(η), ℓ′(η)x and ℓ″(η)xxᵀ
    x = np.array([[1.0, 2.0]])
    beta = np.array([eta / 5, 2 * eta / 5])
    loss, gradient, hessian = lambdify_results("probit", ("loss", "gradient", "hessian"))(beta, x, np.array([y]))
    ell = _observation_loss(eta, y)
    want = [float(ell(eta)), float(mpmath.diff(ell, eta)), float(mpmath.diff(ell, eta, 2))]
    assert np.isfinite(loss) and np.all(np.isfinite(gradient)) and np.all(np.isfinite(hessian))
    assert loss == pytest.approx(want[0], rel=1e-10, abs=1e-300)
    assert np.allclose(gradient, want[1] * x[0], rtol=1e-10, atol=1e-300)
    assert np.allclose(hessian, want[2] * np.outer(x[0], x[0]), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("record", [r for r in REGISTRY if r.stable_log or r.stable_log_derivative],
                         ids=lambda r: r.name)
def test_each_registry_stable_spelling_against_the_definition_at_50_digits(record):
    # log f(x) and f′(x)/f(x) from the function's SymPy definition, evaluated at 50 digits
    u = sp.Symbol("u", real=True)
    for x in ETAS:
        applied = record.sympy(sp.Float(x, 50)).rewrite(sp.exp)
        if record.stable_log:
            assert record.stable_log(np.array(x)) == pytest.approx(float(sp.log(applied).evalf(50)), rel=1e-13)
        if record.stable_log_derivative:
            quotient = (record.derivative(u) / record.sympy(u)).rewrite(sp.exp).subs(u, sp.Float(x, 50))
            want = float(quotient.evalf(50))
            assert record.stable_log_derivative(np.array(x)) == pytest.approx(want, rel=1e-13, abs=1e-300)


def test_the_probit_hessian_weight_is_partial_fractions_of_inverse_mills_ratios():
    source = lambdify_results("probit", ("gradient", "hessian")).source
    assert "_log_derivative_Phi" in source and "** -" not in source      # no power of Φ in a denominator


def test_any_quotient_by_phi_is_rewritten_not_only_the_probits():
    # −d²/du² log Φ(u) = φ(u)(φ(u) + uΦ(u))/Φ(u)², written as a Hadamard expression in U = Xβ
    U = S.X * S.beta
    Phi_U, phi_U = Elementwise("Phi", U), Elementwise("phi", U)
    curvature = sp.HadamardProduct(phi_U, phi_U + sp.HadamardProduct(U, Phi_U), sp.HadamardPower(Phi_U, -2))
    f = lambdify(curvature, [S.beta, S.X])
    eta = np.array(ETAS)
    want = [float(mpmath.diff(lambda t: -_log_cdf(t), t, 2)) for t in eta]
    assert np.allclose(f([1.0], eta.reshape(-1, 1)), want, rtol=1e-10, atol=1e-300)


def test_log_phi_is_log_ndtr_in_generated_code():
    f = lambdify(Elementwise("log", Elementwise("Phi", S.X * S.beta)), [S.beta, S.X])
    assert "_log_Phi" in f.source
    eta = np.array([-40.0, -1.0, 0.0, 9.0])
    want = [float(mpmath.log(mpmath.ncdf(t))) for t in eta]
    assert np.allclose(f([1.0], eta.reshape(-1, 1)), want, rtol=1e-13, atol=0)


def test_a_quotient_by_phi_of_another_argument_is_left_as_written():
    # φ(Xβ)/Φ(Xβ + y) has no partial fractions in one Φ(u): the rewrite does not apply (and does not guess)
    U, V = S.X * S.beta, S.X * S.beta + S.y
    expr = sp.HadamardProduct(Elementwise("phi", U), sp.HadamardPower(Elementwise("Phi", V), -1))
    assert with_stable_quotients([expr]) == [expr]
    w = sp.HadamardProduct(Elementwise("phi", U), sp.HadamardPower(Elementwise("Phi", U), -1))
    assert isinstance(with_stable_quotients([w])[0], EntrywiseFormula)


def _near_separated(n=4000, seed=3):
    """A column that separates the classes but for 8 observations near its threshold: the estimate's slope
    is about 127 and |xᵢᵀβ̂| reaches about 500 (where Φ(−|η|) underflows), yet every misclassified
    observation has |xᵢᵀβ̂| < 2, where statsmodels' clipping of Φ to [ε, 1 − ε] changes nothing."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = (x > 0).astype(float)
    flip = rng.choice(np.flatnonzero(np.abs(x) < 0.02), 8, replace=False)
    y[flip] = 1 - y[flip]
    return np.column_stack([np.ones(n), x, z]), y


def test_probit_fit_near_separation_agrees_with_statsmodels():
    X, y = _near_separated()
    f = derive.fit("probit", X, y)
    reference = sm.Probit(y, X).fit(method="newton", disp=0, tol=1e-14, maxiter=200)
    assert f.converged
    assert np.max(np.abs(X @ f.coef)) > 100           # the tails the naive forms could not evaluate
    assert not any("central differences" in note for note in f.notes)
    assert np.allclose(f.coef, reference.params, rtol=1e-8)
    assert np.allclose(f.std_errors, reference.bse, rtol=1e-8)


def test_cli_fits_probit_near_separation_like_statsmodels(tmp_path, capsys):
    X, y = _near_separated()
    data = tmp_path / "near.csv"
    np.savetxt(data, np.column_stack([y, X[:, 1:]]), delimiter=",", header="y,x,z", comments="", fmt="%.17g")
    assert main(["fit", "probit", str(data), "--target", "y", "--features", "x,z", "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    reference = sm.Probit(y, X).fit(method="newton", disp=0, tol=1e-14, maxiter=200)
    assert np.allclose(list(fitted["coefficients"].values()), reference.params, rtol=1e-8)
    assert np.allclose(list(fitted["std_errors"].values()), reference.bse, rtol=1e-8)


def test_logistic_and_poisson_generated_code_are_unchanged():
    # their derived forms have no quotient of Φ: the rewrite leaves them alone, and they match numpy
    for model in ("logistic", "poisson"):
        assert "_log_derivative" not in lambdify_results(model, ("loss", "gradient", "hessian")).source
    rng = np.random.default_rng(1)
    X, beta = rng.normal(size=(50, 3)), np.array([0.3, -1.0, 2.0])
    y = (rng.uniform(size=50) < scipy.special.expit(X @ beta)).astype(float)
    g = lambdify_results("logistic", ("gradient",))(beta, X, y)
    assert np.allclose(g, X.T @ (scipy.special.expit(X @ beta) - y), rtol=1e-12)
