"""The numpy code generated from derived SymPy results: values, stability, and the shape of the work."""
import warnings

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.errors import NotSupported
from derive.expr.functions import Elementwise
from derive.expr.symbols import X, beta, d, lam, n, y
from derive.fitting.codegen import lambdify, lambdify_model, model_arguments

SIGMA = Elementwise("sigmoid", X * beta)
EXP = Elementwise("exp", X * beta)
LOGISTIC_GRADIENT = X.T * (SIGMA - y)
LOGISTIC_HESSIAN = X.T * DiagMatrix(sp.HadamardProduct(SIGMA, sp.OneMatrix(n, 1) - SIGMA)) * X
POISSON_GRADIENT = X.T * (EXP - y)
POISSON_HESSIAN = X.T * DiagMatrix(EXP) * X

# The results the derivation engine produces (DESIGN §2), written by hand.
RESULTS = {
    ("ols", "loss"): (y - X * beta).T * (y - X * beta),
    ("ols", "gradient"): 2 * X.T * X * beta - 2 * X.T * y,
    ("ols", "gradient, factored"): -2 * X.T * (y - X * beta),
    ("ols", "hessian"): 2 * X.T * X,
    ("ols", "solution"): sp.Inverse(X.T * X) * X.T * y,
    ("ridge", "loss"): (y - X * beta).T * (y - X * beta) + lam * beta.T * beta,
    ("ridge", "gradient"): 2 * X.T * X * beta - 2 * X.T * y + 2 * lam * beta,
    ("ridge", "hessian"): 2 * (X.T * X + lam * sp.Identity(d)),
    ("ridge", "solution"): sp.Inverse(X.T * X + lam * sp.Identity(d)) * X.T * y,
    ("logistic", "loss"): sp.OneMatrix(1, n) * Elementwise("softplus", X * beta) - y.T * X * beta,
    ("logistic", "gradient"): LOGISTIC_GRADIENT,
    ("logistic", "hessian"): LOGISTIC_HESSIAN,
    ("logistic", "update"): beta - sp.Inverse(LOGISTIC_HESSIAN) * LOGISTIC_GRADIENT,
    ("poisson", "loss"): sp.OneMatrix(1, n) * EXP - y.T * X * beta,
    ("poisson", "gradient"): POISSON_GRADIENT,
    ("poisson", "hessian"): POISSON_HESSIAN,
    ("poisson", "update"): beta - sp.Inverse(POISSON_HESSIAN) * POISSON_GRADIENT,
}


def expit(z):
    return 1 / (1 + np.exp(-z))


def by_hand(model, quantity, b, A, t, penalty):
    """The same quantities in plain numpy, written from the textbook formulas."""
    r = t - A @ b
    p, mu = expit(A @ b), np.exp(A @ b)
    table = {
        ("ols", "loss"): lambda: r @ r,
        ("ols", "gradient"): lambda: -2 * A.T @ r,
        ("ols", "gradient, factored"): lambda: -2 * A.T @ r,
        ("ols", "hessian"): lambda: 2 * A.T @ A,
        ("ols", "solution"): lambda: np.linalg.lstsq(A, t, rcond=None)[0],
        ("ridge", "loss"): lambda: r @ r + penalty * b @ b,
        ("ridge", "gradient"): lambda: -2 * A.T @ r + 2 * penalty * b,
        ("ridge", "hessian"): lambda: 2 * (A.T @ A + penalty * np.eye(A.shape[1])),
        ("ridge", "solution"): lambda: np.linalg.solve(A.T @ A + penalty * np.eye(A.shape[1]), A.T @ t),
        ("logistic", "loss"): lambda: np.sum(np.log1p(np.exp(A @ b))) - t @ (A @ b),
        ("logistic", "gradient"): lambda: A.T @ (p - t),
        ("logistic", "hessian"): lambda: A.T @ np.diag(p * (1 - p)) @ A,
        ("logistic", "update"): lambda: b - np.linalg.solve(A.T @ np.diag(p * (1 - p)) @ A, A.T @ (p - t)),
        ("poisson", "loss"): lambda: np.sum(mu) - t @ (A @ b),
        ("poisson", "gradient"): lambda: A.T @ (mu - t),
        ("poisson", "hessian"): lambda: A.T @ np.diag(mu) @ A,
        ("poisson", "update"): lambda: b - np.linalg.solve(A.T @ np.diag(mu) @ A, A.T @ (mu - t)),
    }
    return table[model, quantity]()


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((40, 4))
    b = 0.3 * rng.standard_normal(4)
    t = rng.integers(0, 2, 40).astype(float)
    return b, A, t


@pytest.mark.parametrize("model, quantity", sorted(RESULTS))
def test_matches_hand_written_numpy(model, quantity, data):
    b, A, t = data
    expr = RESULTS[model, quantity]
    f = lambdify(expr, model_arguments(expr))
    kwargs = {"lam": 0.7} if lam in expr.free_symbols else {}
    value = f(b, A, t, **kwargs)
    expected = by_hand(model, quantity, b, A, t, 0.7)
    assert np.shape(value) == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("model, quantity", sorted(RESULTS))
def test_no_explicit_inverse_and_no_diagonal_matrix(model, quantity):
    expr = RESULTS[model, quantity]
    source = lambdify(expr, model_arguments(expr)).source
    assert "inv(" not in source
    assert "diagflat" not in source and "np.diag(" not in source


def test_gradient_multiplies_in_the_cheapest_order():
    source = lambdify(RESULTS["ols", "gradient"], [beta, X, y]).source
    assert "X @ beta" in source and "X.T @ X" not in source
    # The shared factor Xᵀ is taken out: one product with Xᵀ, and the scalar 2 scales a d-vector.
    assert source.count("X.T @") == 1
    scaled = [line for line in source.splitlines() if "2 *" in line]
    assert len(scaled) == 1 and "X.T" not in scaled[0]


def test_one_transpose_ones_times_vector_is_a_sum():
    source = lambdify(RESULTS["logistic", "loss"], [beta, X, y]).source
    assert ".sum(axis=0" in source and "np.ones" not in source
    assert source.count("X @ beta") == 1  # Xβ is shared by softplus(Xβ) and yᵀXβ


def test_results_together_share_common_work():
    exprs = [RESULTS["logistic", q] for q in ("loss", "gradient", "hessian")]
    f = lambdify(exprs, [beta, X, y])
    assert f.source.count("X @ beta") == 1 and f.source.count("_sigmoid(") == 1
    loss, gradient, hessian = f(np.zeros(3), np.eye(3), np.array([0.0, 1.0, 1.0]))
    assert loss == pytest.approx(3 * np.log(2) - 0.0)
    np.testing.assert_allclose(gradient, [0.5, -0.5, -0.5])
    np.testing.assert_allclose(hessian, np.eye(3) / 4)


def test_hessian_never_forms_an_n_by_n_matrix():
    # n×n doubles for n = 100,000 would take 80 GB.
    rng = np.random.default_rng(1)
    A = rng.standard_normal((100_000, 3))
    b = np.array([0.1, -0.2, 0.3])
    hessian = lambdify(RESULTS["logistic", "hessian"], [beta, X, y])(b, A)
    p = expit(A @ b)
    np.testing.assert_allclose(hessian, A.T @ ((p * (1 - p))[:, None] * A), rtol=1e-12)


def test_weighted_gram_with_negative_weights():
    rng = np.random.default_rng(2)
    A, s = rng.standard_normal((50, 3)), rng.standard_normal(50)
    w = sp.MatrixSymbol("w", n, 1)
    f = lambdify(X.T * DiagMatrix(w) * X, [X, w])
    np.testing.assert_allclose(f(A, s), A.T @ np.diag(s) @ A, rtol=1e-12)


def test_sigmoid_and_softplus_are_stable():
    z = sp.MatrixSymbol("z", n, 1)
    sig = lambdify(Elementwise("sigmoid", z), [z])
    soft = lambdify(Elementwise("softplus", z), [z])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = sig(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
        assert np.all(np.isfinite(values))
        assert values[0] < 1e-300 and values[2] == 0.5 and values[4] == 1.0
        assert values[1] == pytest.approx(4.248354255291589e-18, rel=1e-14)  # relative accuracy in the tail
        assert soft(np.array([1000.0]))[0] == 1000.0
        assert soft(np.array([-1000.0]))[0] == 0.0


def test_inverse_on_the_right_and_alone():
    A = sp.MatrixSymbol("A", d, d)
    B = sp.MatrixSymbol("B", n, d)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((5, 3))
    right = lambdify(B * sp.Inverse(A), [A, B])
    alone = lambdify(sp.Inverse(A), [A])
    squared = lambdify(A ** -2, [A])
    for f in (right, alone, squared):
        assert "inv(" not in f.source
    np.testing.assert_allclose(right(a, b), b @ np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(alone(a), np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(squared(a), np.linalg.inv(a @ a), rtol=1e-12)


def test_scalars_traces_and_log_determinants():
    S = sp.MatrixSymbol("S", d, d)
    x = sp.MatrixSymbol("x", d, 1)
    mu, s2 = sp.symbols("mu sigma2")
    f = lambdify(sp.Trace(S * S) + sp.log(sp.Determinant(S)) + d, [S])
    assert "slogdet" in f.source
    s = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert f(s) == pytest.approx(np.trace(s @ s) + np.log(np.linalg.det(s)) + 2)
    g = lambdify(x.T * S * x, [x, S])
    assert g(np.array([1.0, 2.0]), s) == pytest.approx(np.array([1.0, 2.0]) @ s @ np.array([1.0, 2.0]))
    h = lambdify(-(mu - 1) ** 2 / (2 * s2) - sp.log(s2) / 2, [mu, s2])
    assert h(np.array([1.0, 3.0]), 2.0) == pytest.approx([-np.log(2) / 2, -1 - np.log(2) / 2])


def test_dimension_symbols_come_from_the_arguments():
    f = lambdify(n * sp.Identity(d) + X.T * X, [X])
    A = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(f(A), 3 * np.eye(2) + A.T @ A)


def test_missing_values_are_reported():
    with pytest.raises(NotSupported, match="lambda"):
        lambdify(lam * beta, [beta])


def test_model_results_through_the_derivation():
    g = lambdify_model("ols", "gradient")
    b, A, t = np.ones(2), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]), np.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(g(b, A, t), -2 * A.T @ (t - A @ b))
    with pytest.raises(NotSupported, match="no derived"):
        lambdify_model("ols", "no such quantity")
