"""The course derivations beyond gradients: every step verified, and every result against an independent number.

References are computed here without derive: eigenvectors from numpy and scikit-learn's PCA, constrained optima
from scipy.optimize, pseudo-inverses from numpy, posterior moments by numerical integration (scipy), biases and
covariances by simulation, the hat matrix from statsmodels. Derived results are evaluated with
`derive.core.numeval.evaluate` (every symbol given a number, DESIGN §3).
"""
import json
import os
import subprocess

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import sympy as sp
from conftest import require_tool

import derive
from derive.cli import main
from derive.core.moments import Moments
from derive.core.numeval import evaluate, indexed_key, padded
from derive.core.random_points import Domains, dimension, positive, spd
from derive.core.steps import AtEigenpair, ExpectedValues, Holds, Proportional, StationaryPoint, Step
from derive.datasets import load
from derive.errors import VerificationError
from derive.expr.expectation import AtMost, E

COURSE = ["categorical", "pca", "min-norm", "svm-dual", "random-vectors", "sigma2-bias", "ols-moments", "bias-variance",
          "bayes-gaussian", "bayes-linear", "beta-bernoulli", "projection", "spectral", "svd-least-squares",
          "descent-lemma", "gd-quadratic", "sgd-unbiased"]
NAMED_IN_DESIGN = ["pca", "categorical", "bayes-linear", "beta-bernoulli", "sigma2-bias", "projection", "descent-lemma"]


@pytest.fixture(scope="module")
def derived():
    return {name: derive.derivation(name) for name in COURSE}


def value(expr, **env):
    """A derived result at numbers: matrices as 2-d arrays, vectors as columns, sizes from the arrays."""
    values = {}
    for name, v in env.items():
        v = np.asarray(v, dtype=float) if not np.isscalar(v) else v
        if isinstance(v, np.ndarray) and v.ndim == 1:
            v = v.reshape(-1, 1)
        values[name] = v
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.MatrixSymbol, sp.IndexedBase)):
            name = str(node.label) if isinstance(node, sp.IndexedBase) else node.name
            for size, k in zip(node.shape, np.shape(values[name])):
                if isinstance(size, sp.Symbol):
                    values.setdefault(size.name, k)
            if isinstance(node, sp.IndexedBase):
                values[indexed_key(name)] = padded(values[name], 1)
    result = evaluate(expr, values)
    return np.real(np.asarray(result)) if np.ndim(result) else float(np.real(result))


def longley_design():
    data = load("longley").data()
    X = np.column_stack([data[c] for c in ["x1", "x2", "x3", "x4", "x5", "x6"]])
    return X, data["y"]


def standardised(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


# ---------------------------------------------------------------------------------------------------
# Listed, every step verified, the results checkable
# ---------------------------------------------------------------------------------------------------
def test_every_course_derivation_is_listed_and_verified(derived):
    assert set(NAMED_IN_DESIGN) <= set(derive.models())
    for name in COURSE:
        assert name in derive.models()
        assert derived[name].steps and all(step.verified for step in derived[name].steps), name
        assert derived[name].results, name


def test_models_command_lists_them(capsys):
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    for name in COURSE:
        assert name in listed


def test_other_forms_are_refused_with_a_reason(capsys):
    assert main(["show", "pca", "--form", "index"]) == 2
    assert "matrix" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# Constrained optimisation
# ---------------------------------------------------------------------------------------------------
def test_pca_is_the_top_eigenvector_of_the_covariance(derived):
    from sklearn.decomposition import PCA
    Z = standardised(longley_design()[0])
    S = np.cov(Z, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(S)
    top, v = eigenvalues[-1], eigenvectors[:, -1]
    results = derived["pca"].results
    # the derived stationarity condition holds at numpy's eigenpair, and not at another unit vector
    assert np.allclose(value(results["stationarity"], S=S, v=v, **{"lambda": top}), 0, atol=1e-10)
    other = eigenvectors[:, 0]
    assert not np.allclose(value(results["stationarity"], S=S, v=other, **{"lambda": top}), 0, atol=1e-3)
    # the objective there is the largest eigenvalue and no random unit direction does better
    assert value(results["objective"], S=S, v=v) == pytest.approx(top, rel=1e-12)
    rng = np.random.default_rng(0)
    for u in rng.standard_normal((200, S.shape[0])):
        u /= np.linalg.norm(u)
        assert value(results["objective"], S=S, v=u) <= top + 1e-12
    direction = PCA(n_components=1).fit(Z).components_[0]
    assert abs(direction @ v) == pytest.approx(1.0, abs=1e-10)


def health_counts():
    data = load("randhie").data()
    good, fair, poor = data["hlthg"], data["hlthf"], data["hlthp"]
    excellent = 1 - good - fair - poor
    return np.array([excellent.sum(), good.sum(), fair.sum(), poor.sum()])


def test_categorical_mle_against_a_numerical_optimum(derived):
    counts = health_counts()
    derived_p = value(derived["categorical"].results["solution"], c=counts).ravel()

    def negative_log_likelihood(logits):   # the simplex through a softmax: an unconstrained problem
        log_p = logits - np.logaddexp.reduce(logits)
        return -counts @ log_p

    optimum = scipy.optimize.minimize(negative_log_likelihood, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    numeric = np.exp(optimum.x - np.logaddexp.reduce(optimum.x))
    assert np.allclose(derived_p, numeric, atol=1e-6)
    assert derived_p.sum() == pytest.approx(1.0)
    multiplier = value(derived["categorical"].results["multiplier"], c=counts)
    assert multiplier == counts.sum()
    assert np.allclose(value(derived["categorical"].results["stationarity"], c=counts, p=derived_p,
                             **{"lambda": multiplier}), 0, atol=1e-9)


def test_min_norm_is_the_pseudo_inverse_solution(derived):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((3, 7)), rng.standard_normal(3)
    w = value(derived["min-norm"].results["solution"], X=X, y=y).ravel()
    assert np.allclose(w, np.linalg.pinv(X) @ y, atol=1e-12)
    assert np.allclose(w, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-12)   # LAPACK's minimum-norm solution
    assert np.allclose(X @ w, y)


# ---------------------------------------------------------------------------------------------------
# Expectations, by simulation
# ---------------------------------------------------------------------------------------------------
def test_sigma2_bias_by_simulation(derived):
    n, mu, sigma2, reps = 5, 1.5, 2.0, 400_000
    rng = np.random.default_rng(2)
    samples = rng.normal(mu, np.sqrt(sigma2), (reps, n))
    mle = samples.var(axis=1, ddof=0)
    standard_error = mle.std() / np.sqrt(reps)
    expected = value(derived["sigma2-bias"].results["expectation"], n=n, **{"sigma^2": sigma2})
    assert expected == pytest.approx((n - 1) * sigma2 / n)
    assert abs(mle.mean() - expected) < 4 * standard_error
    assert abs(mle.mean() - sigma2) > 20 * standard_error     # the bias is real, not noise
    one = samples[0]
    assert value(derived["sigma2-bias"].results["estimator"], x=one) == pytest.approx(np.var(one))
    assert value(derived["sigma2-bias"].results["unbiased"], x=one) == pytest.approx(np.var(one, ddof=1))


def test_random_vector_moments_by_simulation(derived):
    rng = np.random.default_rng(3)
    d, reps = 3, 400_000
    mu = np.array([1.0, -2.0, 0.5])
    root = rng.standard_normal((d, d))
    Sigma = root @ root.T + np.eye(d)
    a = np.array([0.3, -1.0, 2.0])
    x = rng.multivariate_normal(mu, Sigma, reps)
    results = derived["random-vectors"].results
    second = value(results["second_moment"], mu=mu, Sigma=Sigma)
    assert np.allclose(second, x.T @ x / reps, rtol=0.02, atol=0.05)
    assert value(results["variance"], a=a, Sigma=Sigma) == pytest.approx(np.var(x @ a), rel=0.01)


def test_ols_moments_by_simulation():
    derived_moments = derive.derivation("ols-moments").results
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(30), rng.standard_normal((30, 2))])
    beta, sigma2, reps = np.array([1.0, -0.5, 2.0]), 0.7, 100_000
    y = X @ beta + rng.normal(0, np.sqrt(sigma2), (reps, 30))
    estimates = np.linalg.lstsq(X, y.T, rcond=None)[0].T
    assert np.allclose(value(derived_moments["mean"], beta=beta).ravel(), beta)
    assert np.allclose(estimates.mean(axis=0), beta, atol=0.01)
    covariance = value(derived_moments["covariance"], X=X, **{"sigma^2": sigma2})
    assert np.allclose(np.cov(estimates, rowvar=False), covariance, rtol=0.03, atol=1e-4)


def test_bias_variance_by_simulation(derived):
    rng = np.random.default_rng(5)
    t = np.linspace(-1, 1, 25)
    f = np.sin(3 * t)                                   # the truth: not a polynomial
    X = np.vander(t, 3, increasing=True)                # a quadratic fit
    x0, f0, sigma2, reps = np.array([1.0, 0.9, 0.81]), np.sin(2.7), 0.09, 200_000
    y = f + rng.normal(0, np.sqrt(sigma2), (reps, t.size))
    predictions = np.linalg.lstsq(X, y.T, rcond=None)[0].T @ x0
    y0 = f0 + rng.normal(0, np.sqrt(sigma2), reps)
    results = derived["bias-variance"].results
    env = {"X": X, "f": f, "x_0": x0, "f_0": f0, "sigma^2": sigma2}
    assert value(results["bias"], **env).item() == pytest.approx(f0 - predictions.mean(), abs=3e-3)
    assert value(results["variance"], **env).item() == pytest.approx(predictions.var(), rel=0.02)
    assert value(results["expected_error"], **env).item() == pytest.approx(np.mean((y0 - predictions) ** 2), rel=0.01)


# ---------------------------------------------------------------------------------------------------
# Bayes, by numerical integration
# ---------------------------------------------------------------------------------------------------
def test_gaussian_mean_posterior_by_integration(derived):
    x = load("longley").data()["x1"][:6] / 10
    sigma2, tau2, mu0 = 4.0, 9.0, 5.0

    def unnormalised(mu):
        return np.exp(-np.sum((x - mu) ** 2) / (2 * sigma2) - (mu - mu0) ** 2 / (2 * tau2))

    mass = scipy.integrate.quad(unnormalised, -50, 50, points=[x.mean()])[0]
    mean = scipy.integrate.quad(lambda m: m * unnormalised(m), -50, 50, points=[x.mean()])[0] / mass
    variance = scipy.integrate.quad(lambda m: (m - mean) ** 2 * unnormalised(m), -50, 50, points=[x.mean()])[0] / mass
    env = {"x": x, "n": x.size, "sigma^2": sigma2, "tau^2": tau2, "mu_0": mu0}
    assert value(derived["bayes-gaussian"].results["posterior_mean"], **env) == pytest.approx(mean, rel=1e-8)
    assert value(derived["bayes-gaussian"].results["posterior_variance"], **env) == pytest.approx(variance, rel=1e-7)


def test_bayesian_linear_regression_posterior_by_integration(derived):
    data = load("spector").data()
    X = np.column_stack([data["GPA"] - data["GPA"].mean(), data["TUCE"] - data["TUCE"].mean()])
    y = data["GRADE"] - data["GRADE"].mean()
    sigma2, tau2 = 0.2, 0.5
    results = derived["bayes-linear"].results
    env = {"X": X, "y": y, "sigma^2": sigma2, "tau^2": tau2}
    m, S = value(results["posterior_mean"], **env).ravel(), value(results["posterior_covariance"], **env)
    # the posterior on a grid ±8 posterior standard deviations wide, from likelihood × prior written here
    spread = 8 * np.sqrt(np.diag(S))
    b1, b2 = (np.linspace(c - s, c + s, 801) for c, s in zip(m, spread))
    B1, B2 = np.meshgrid(b1, b2, indexing="ij")
    grid = np.stack([B1.ravel(), B2.ravel()], axis=1)
    log_density = -np.sum((y[None, :] - grid @ X.T) ** 2, axis=1) / (2 * sigma2) - np.sum(grid ** 2, axis=1) / (2 * tau2)
    weights = np.exp(log_density - log_density.max())
    weights /= weights.sum()
    mean = weights @ grid
    centred = grid - mean
    covariance = (centred * weights[:, None]).T @ centred
    assert np.allclose(m, mean, rtol=1e-6, atol=1e-9)
    assert np.allclose(S, covariance, rtol=1e-4)
    from sklearn.linear_model import Ridge
    ridge = Ridge(alpha=sigma2 / tau2, fit_intercept=False, solver="svd").fit(X, y)
    assert np.allclose(value(results["map"], **env).ravel(), ridge.coef_, atol=1e-12)
    assert np.allclose(m, ridge.coef_, atol=1e-12)      # the posterior mode is the ridge estimate


def test_beta_bernoulli_posterior_by_integration(derived):
    x = load("spector").data()["GRADE"]
    a, b = 2.0, 3.0
    s, n = x.sum(), x.size

    def unnormalised(p):   # likelihood × prior, written here without derive
        return p ** s * (1 - p) ** (n - s) * p ** (a - 1) * (1 - p) ** (b - 1)

    mass = scipy.integrate.quad(unnormalised, 0, 1)[0]
    mean = scipy.integrate.quad(lambda p: p * unnormalised(p), 0, 1)[0] / mass
    mode = scipy.optimize.minimize_scalar(lambda p: -np.log(unnormalised(p)), bounds=(1e-9, 1 - 1e-9),
                                          method="bounded", options={"xatol": 1e-12}).x
    results = derived["beta-bernoulli"].results
    env = {"x": x, "a": a, "b": b}
    assert value(results["posterior_mean"], **env) == pytest.approx(mean, rel=1e-9)
    assert value(results["map"], **env) == pytest.approx(mode, abs=1e-8)
    assert (value(results["posterior_a"], **env), value(results["posterior_b"], **env)) == (a + s, b + n - s)


# ---------------------------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------------------------
def test_projection_properties_on_longley(derived):
    import statsmodels.api as sm
    X, y = longley_design()
    X = sm.add_constant(standardised(X))
    results = derived["projection"].results
    H = value(results["hat_matrix"], X=X)
    residuals = value(results["residuals"], X=X, y=y).ravel()
    assert np.allclose(H, H.T, atol=1e-12) and np.allclose(H @ H, H, atol=1e-12)
    assert np.allclose(X.T @ residuals, 0, atol=1e-8)
    assert np.trace(H) == pytest.approx(X.shape[1])
    assert np.allclose(np.diag(H), sm.OLS(y, X).fit().get_influence().hat_matrix_diag, atol=1e-12)
    assert np.allclose(residuals, sm.OLS(y, X).fit().resid, atol=1e-6)


def test_svd_route_and_the_squared_condition_number(derived):
    X, y = longley_design()
    X = np.column_stack([np.ones(len(y)), X])
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    results = derived["svd-least-squares"].results
    solution = value(results["solution"], U=U, s=s, V=Vt.T, y=y).ravel()
    certified = np.array([float(v) for v in load("longley").reference["certified"].values()])
    assert np.allclose(solution, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-7)
    assert np.allclose(solution, certified, rtol=1e-7)
    assert np.allclose(value(results["pseudo_inverse"], U=U, s=s, V=Vt.T), np.linalg.pinv(X), rtol=1e-6, atol=1e-12)
    assert np.linalg.cond(X.T @ X) == pytest.approx(np.linalg.cond(X) ** 2, rel=1e-2)


def test_spectral_psd_iff_nonnegative_eigenvalues():
    rng = np.random.default_rng(6)
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    indefinite = Q @ np.diag([3.0, 1.0, 0.5, -0.2]) @ Q.T
    witness = Q[:, 3]
    assert witness @ indefinite @ witness < 0        # a negative eigenvalue gives a direction with vᵀAv < 0
    semidefinite = Q @ np.diag([3.0, 1.0, 0.5, 0.0]) @ Q.T
    assert min(v @ semidefinite @ v for v in rng.standard_normal((500, 4))) >= -1e-12


# ---------------------------------------------------------------------------------------------------
# Optimisation
# ---------------------------------------------------------------------------------------------------
def test_descent_lemma_on_the_logistic_loss():
    """The lemma on a loss that is not quadratic: the logistic loss on Spector, L = λ_max(XᵀX)/4."""
    data = load("spector").data()
    X = np.column_stack([np.ones(32), data["GPA"], data["TUCE"], data["PSI"]])
    y = data["GRADE"]

    def loss(b):
        z = X @ b
        return np.sum(np.logaddexp(0, z) - y * z)

    def gradient(b):
        return X.T @ (1 / (1 + np.exp(-X @ b)) - y)

    L = np.linalg.eigvalsh(X.T @ X)[-1] / 4        # σ′ ≤ 1/4 bounds the Hessian XᵀSX
    step = derive.derivation("descent-lemma").results["step_size"]
    rng = np.random.default_rng(7)
    for b in rng.standard_normal((50, 4)):
        g = gradient(b)
        decrease = value(derive.derivation("descent-lemma").results["decrease"], g=g, L=L)
        assert loss(b - value(step, L=L) * g) <= loss(b) - decrease + 1e-9


def test_gradient_descent_rate_on_a_quadratic():
    rng = np.random.default_rng(8)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    A = Q @ np.diag([10.0, 3.0, 1.0]) @ Q.T
    b = rng.standard_normal(3)
    optimum = np.linalg.solve(A, b)
    x = rng.standard_normal(3)
    errors = []
    for _ in range(60):
        x = x - (A @ x - b) / 10.0
        errors.append(np.linalg.norm(x - optimum))
    assert errors[-1] / errors[-2] == pytest.approx(1 - 1 / 10, rel=1e-6)   # 1 − λ_min/λ_max
    iteration = value(derive.derivation("gd-quadratic").results["iteration_matrix"], A=A, eta=0.1)
    assert np.max(np.abs(np.linalg.eigvals(iteration))) == pytest.approx(0.9)


def test_sgd_gradient_is_unbiased():
    X, y = longley_design()
    X, y = standardised(X), (y - y.mean()) / y.std()
    beta = np.linspace(-1, 1, X.shape[1])
    results = derive.derivation("sgd-unbiased").results
    stochastic = [value(results["stochastic_gradient"], X=X, y=y, beta=beta, e=np.eye(len(y))[i]).ravel()
                  for i in range(len(y))]
    full = value(results["expected_gradient"], X=X, y=y, beta=beta).ravel()
    assert np.allclose(np.mean(stochastic, axis=0), full)
    h = 1e-6   # central differences of the average loss, written here
    average = lambda b: np.mean((y - X @ b) ** 2)   # noqa: E731
    numeric = [(average(beta + h * e) - average(beta - h * e)) / (2 * h) for e in np.eye(len(beta))]
    assert np.allclose(full, numeric, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# derive check accepts the new quantities
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, quantity, answer, correct", [
    ("bayes-linear", "posterior_mean", r"(X^TX + \frac{\sigma^2}{\tau^2} I)^{-1} X^T y", True),
    ("bayes-linear", "posterior_mean", r"(X^TX + \sigma^2 I)^{-1} X^T y", False),
    ("bayes-linear", "posterior_covariance", r"(X^TX/\sigma^2 + I/\tau^2)^{-1}", True),
    ("pca", "stationarity", r"2Sv - 2\lambda v", True),
    ("pca", "stationarity", r"2Sv + 2\lambda v", False),
    ("categorical", "stationarity", r"\lambda 1 - c ./ p", True),
    ("categorical", "solution", "c/(1'c)", True),
    ("min-norm", "solution", "X'(XX')^{-1}y", True),
    ("min-norm", "solution", "X'y", False),
    ("svm-dual", "weights", r"X^T \operatorname{diag}(y) \alpha", True),
    ("sigma2-bias", "expectation", r"\frac{n-1}{n}\sigma^2", True),
    ("sigma2-bias", "expectation", r"\sigma^2", False),
    ("beta-bernoulli", "posterior_mean", r"(a + \sum_{i=1}^n x_i)/(a + b + n)", True),
    ("ols-moments", "covariance", r"\sigma^2 (X^TX)^{-1}", True),
    ("descent-lemma", "decrease", "||g||^2/(2L)", True),
])
def test_check_accepts_answers_for_the_course_quantities(model, quantity, answer, correct):
    assert derive.check(model, quantity, answer).correct is correct


def test_check_command_exit_codes(capsys):
    assert main(["check", "bayes-linear", "posterior_mean", r"(X^TX + \frac{\sigma^2}{\tau^2} I)^{-1} X^T y"]) == 0
    assert main(["check", "pca", "stationarity", r"2Sv + 2\lambda v"]) == 1
    assert "expected" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# The new checks reject wrong steps
# ---------------------------------------------------------------------------------------------------
n = sp.Symbol("n", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
s2 = sp.Symbol("sigma^2", positive=True)
mu = sp.Symbol("mu", real=True)
IID = Moments(x, mu * sp.OneMatrix(n, 1), s2 * sp.Identity(n))


def verify(before, after, check, **samplers):
    return Step("test", "", before, after, check=check,
                domains=Domains({"n": dimension(2, 6), **samplers})).verify()


def test_expected_values_is_exact_and_rejects_a_wrong_expectation():
    ones = sp.OneMatrix(n, 1)
    square = sp.MatMul(1 / n, ones.T, x, x.T, ones)     # (Σxᵢ)²/n
    assert verify(E(square), sp.MatMul(s2 + n * mu ** 2, sp.OneMatrix(1, 1)), ExpectedValues(IID)).verified
    with pytest.raises(VerificationError):
        verify(E(square), sp.MatMul(n * mu ** 2, sp.OneMatrix(1, 1)), ExpectedValues(IID))


def test_proportional_rejects_a_different_shape_in_the_parameter():
    p = sp.Symbol("p", positive=True)
    assert verify(3 * p ** 2 * (1 - p), p ** 2 * (1 - p), Proportional(p)).verified
    with pytest.raises(VerificationError):
        verify(p ** 2 * (1 - p), p * (1 - p), Proportional(p))


def test_stationary_point_and_eigenpair_and_bound_checks_reject_wrong_claims():
    d = sp.Symbol("d", integer=True, positive=True)
    S, v = sp.MatrixSymbol("S", d, d), sp.MatrixSymbol("v", d, 1)
    lam = sp.Symbol("lambda", real=True)
    lagrangian = sp.MatAdd(v.T * S * v, sp.MatMul(lam, sp.MatAdd(sp.OneMatrix(1, 1), -v.T * v)))
    with pytest.raises(VerificationError):   # v = 0, λ = 0 is not stationary in λ (the constraint fails)
        verify(lagrangian, sp.Tuple(sp.Eq(v, sp.ZeroMatrix(d, 1)), sp.Eq(lam, 0)), StationaryPoint(), S=spd)
    assert verify(v.T * S * v, lam, AtEigenpair(S, lam, v), S=spd).verified
    with pytest.raises(VerificationError):
        verify(v.T * S * v, 2 * lam, AtEigenpair(S, lam, v), S=spd)
    t = sp.Symbol("t", positive=True)
    assert verify(t, AtMost(t, t + 1, evaluate=False), Holds(), t=positive).verified
    with pytest.raises(VerificationError):
        verify(t, AtMost(t + 1, t, evaluate=False), Holds(), t=positive)


def test_svm_dual_gives_scikit_learns_hard_margin_classifier():
    from sklearn.svm import SVC
    rng = np.random.default_rng(9)
    X = np.vstack([rng.normal([2, 2], 0.6, (15, 2)), rng.normal([-2, -1], 0.6, (15, 2))])
    y = np.repeat([1.0, -1.0], 15)
    K = (y[:, None] * X) @ (y[:, None] * X).T

    def negative_dual(a):   # the dual written here, without derive
        return 0.5 * a @ K @ a - a.sum()

    solution = scipy.optimize.minimize(negative_dual, np.zeros(30), jac=lambda a: K @ a - 1, method="SLSQP",
                                       bounds=[(0, None)] * 30, constraints=[{"type": "eq", "fun": lambda a: a @ y}],
                                       options={"ftol": 1e-14, "maxiter": 500})
    results = derive.derivation("svm-dual").results
    a = solution.x
    assert value(results["dual"], alpha=a, y=y, X=X).item() == pytest.approx(-solution.fun, rel=1e-9)
    w = value(results["weights"], X=X, y=y, alpha=a).ravel()
    reference = SVC(kernel="linear", C=1e10, tol=1e-12).fit(X, y)
    assert np.allclose(w, reference.coef_.ravel(), rtol=1e-4, atol=1e-6)
    assert np.allclose(value(results["stationarity"], w=w, X=X, y=y, alpha=a), 0, atol=1e-12)


def test_every_course_formula_renders_in_katex(derived, tmp_path):
    """The Markdown/HTML output sets formulas with KaTeX: every step's and result's LaTeX must parse there."""
    node = require_tool("node")
    npm = require_tool("npm")
    formulas = [step["latex"] for name in COURSE for step in derived[name].to_dict()["steps"]]
    formulas += [r["latex"] for name in COURSE for r in derived[name].to_dict()["results"].values()]
    (tmp_path / "formulas.json").write_text(json.dumps(formulas))
    script = ("const katex = require('katex'); const bad = [];"
              f"for (const tex of require({json.dumps(str(tmp_path / 'formulas.json'))})) {{"
              "  try { katex.renderToString(tex, {throwOnError: true, displayMode: true}); }"
              "  catch (e) { bad.push(tex.slice(0, 80) + ': ' + e.message); } }"
              "console.log(JSON.stringify(bad));")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()
    completed = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "NODE_PATH": root})
    if "Cannot find module 'katex'" in completed.stderr:
        require_tool("katex")   # the npm package is missing: skip locally, fail in CI
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
