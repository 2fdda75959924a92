"""The likelihood models: logistic, poisson, gaussian, bernoulli, softmax, mvn.

Every reference here is independent of `derive`: losses written out in plain numpy, finite differences of
those losses, numpy's own mean / var / cov, and published fits of the reference datasets in
derive/datasets (Stata's logit of Spector & Mazzeo, R's Poisson glm of cpunish). The derived SymPy results
are evaluated with `derive.core.numeval.evaluate` (and, for DESIGN §3, by substituting numbers and calling doit()).
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from conftest import require_tool
from scipy import stats

import derive.derivations as models
from derive.core.numeval import evaluate, indexed_key, padded
from derive.errors import NotSupported
from derive.expr.printing import latex, unicode

DATASETS = Path(__file__).resolve().parents[1] / "derive" / "datasets" / "data"

FORMS = {
    "logistic": ("matrix", "index", "components"),
    "poisson": ("matrix", "index", "components"),
    "gaussian": ("matrix", "index"),
    "bernoulli": ("matrix", "index"),
    "softmax": ("matrix", "index"),
    "mvn": ("matrix", "index"),
}
CASES = [(model, form) for model, forms in FORMS.items() for form in forms]
COMPONENTS_DIM = 3
FORBIDDEN = ("Lambda", "ArrayContraction", "PermuteDims", "Piecewise", "KroneckerDelta", "ArrayTensorProduct")


@lru_cache(maxsize=None)
def build(model: str, form: str):
    return models.build(model, form, COMPONENTS_DIM if form == "components" else None)


# ---------------------------------------------------------------------------------------------------
# Numerical helpers: plain central differences, and the env the evaluator reads
# ---------------------------------------------------------------------------------------------------
def fd_gradient(f, x, h=1e-6):
    """Central differences of the scalar f at the array x, entry by entry (same shape as x)."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def fd_hessian(f, x, h=1e-3):
    """Second central differences of the scalar f over the entries of x, row-major: (x.size, x.size)."""
    x = np.asarray(x, dtype=float)
    size = x.size
    H = np.zeros((size, size))
    unit = lambda a: np.eye(size)[a].reshape(x.shape) * h
    for a in range(size):
        for b in range(size):
            ea, eb = unit(a), unit(b)
            H[a, b] = (f(x + ea + eb) - f(x + ea - eb) - f(x - ea + eb) + f(x - ea - eb)) / (4 * h * h)
    return H


def env_of(arrays: dict, scalars: dict | None = None, **dimensions) -> dict:
    """The evaluator's env: each array as a matrix (vectors as columns) and as its 1-based indexed view."""
    env = dict(dimensions)
    for name, value in arrays.items():
        value = np.asarray(value, dtype=float)
        if value.ndim == 1:
            value = value.reshape(-1, 1)
        env[name] = value
        env[indexed_key(name)] = padded(value, 1 if value.shape[1] == 1 else 2)
    env.update(scalars or {})
    return env


def value(expr, env):
    return np.real(np.asarray(evaluate(expr, env), dtype=complex))


def close(ours, reference, rtol, atol=0.0):
    ours, reference = np.asarray(ours, dtype=float), np.asarray(reference, dtype=float)
    assert ours.size == reference.size, f"shapes differ: ours {ours.shape}, reference {reference.shape}"
    np.testing.assert_allclose(ours.reshape(reference.shape), reference, rtol=rtol, atol=atol,
                               err_msg="ours (derived) vs reference (independent)")


def entries(expr, env, **ranges):
    """An index-form result with free subscripts (k = 1…d, …) evaluated at every subscript: an array."""
    names = list(ranges)
    out = np.zeros(tuple(ranges[name] for name in names))
    for idx in np.ndindex(out.shape):
        out[idx] = value(expr, {**env, **{name: i + 1 for name, i in zip(names, idx)}}).item()
    return out


# ---------------------------------------------------------------------------------------------------
# Every step verified, textbook output, the registry
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model,form", CASES)
def test_every_step_is_verified(model, form):
    D = build(model, form)
    assert D.model == model and D.form == form
    assert len(D.steps) >= 8
    unverified = [s.rule for s in D.steps if not s.verified]
    assert not unverified, f"unverified steps: {unverified}"


def _printed(D):
    for s in D.steps:
        for part in (s.before, s.after, s.lhs):
            if part is not None:
                yield s.rule, part
    for name, result in D.results.items():
        yield name, result


@pytest.mark.parametrize("model,form", CASES)
def test_output_is_textbook_notation(model, form):
    D = build(model, form)
    for where, expr in _printed(D):
        text, tex = unicode(expr), latex(expr)
        for word in FORBIDDEN:
            assert word not in text and word not in tex, f"{word!r} printed in {where!r}: {text}"
        bare = tex.replace(r"\{", "").replace(r"\}", "")
        assert bare.count("{") == bare.count("}"), f"unbalanced braces in {where!r}: {tex}"
        assert tex.count(r"\left") == tex.count(r"\right"), f"unbalanced \\left/\\right in {where!r}: {tex}"


@pytest.mark.parametrize("model,form", CASES)
def test_standalone_latex_compiles(model, form, tmp_path):
    pdflatex = require_tool("pdflatex")
    tex = tmp_path / f"{model}.tex"
    tex.write_text(build(model, form).to_latex(standalone=True), encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


def test_textbook_forms_of_the_main_results():
    assert unicode(build("logistic", "matrix").results["gradient"]) == "Xᵀ(σ(Xβ) − y)"
    assert unicode(build("logistic", "matrix").results["hessian"]) == "Xᵀdiag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))X"
    assert unicode(build("poisson", "matrix").results["gradient"]) == "Xᵀ(exp(Xβ) − y)"
    assert unicode(build("poisson", "matrix").results["hessian"]) == "Xᵀdiag(exp(Xβ))X"
    rules = [s.rule for s in build("logistic", "matrix").steps]
    for rule in ("σ′ = σ(1 − σ)", "symmetry", "the log of a product is the sum of logs", "Newton step",
                 "iteratively reweighted least squares", "positive semidefinite"):
        assert rule in rules
    shown = [unicode(s.after) for s in build("softmax", "matrix").steps]
    assert "Xᵀ(P − Y)" in shown
    mvn_rules = [s.rule for s in build("mvn", "matrix").steps]
    assert "∂ log det Σ/∂Σ = Σ⁻ᵀ; ∂ tr(Σ⁻¹A)/∂Σ = −Σ⁻ᵀAᵀΣ⁻ᵀ" in mvn_rules and "the trace trick" in mvn_rules


@pytest.mark.parametrize("model,form", CASES)
def test_results_keys(model, form):
    keys = set(build(model, form).results)
    if model in ("logistic", "poisson"):
        expected = {"loss", "gradient", "hessian"} | ({"update"} if form != "components" else set())
    elif model == "softmax":   # no closed form: the gradient-descent update, W being identified only up to a shift
        expected = {"loss", "gradient", "hessian", "update"}
    else:
        expected = {"loss", "gradient", "hessian", "solution"}
    assert keys == expected


@pytest.mark.parametrize("model", ["gaussian", "bernoulli", "softmax", "mvn"])
def test_components_form_not_supported_names_the_forms(model):
    with pytest.raises(NotSupported, match=r"forms: matrix, index"):
        models.build(model, "components", 2)


def test_registered():
    for model in FORMS:
        assert model in models.names()
        assert models.DESCRIPTIONS[model]


# ---------------------------------------------------------------------------------------------------
# Gradients and Hessians against finite differences of losses written here in numpy
# ---------------------------------------------------------------------------------------------------
def _glm_data(rng, kind, n=40, d=3):
    X = rng.standard_normal((n, d))
    beta = 0.5 * rng.standard_normal(d)
    eta = X @ beta
    y = rng.binomial(1, 1 / (1 + np.exp(-eta))) if kind == "logistic" else rng.poisson(np.exp(eta))
    return X, y.astype(float), beta


def _glm_loss(kind, X, y):
    if kind == "logistic":
        return lambda b: float(np.sum(np.logaddexp(0.0, X @ b) - y * (X @ b)))
    return lambda b: float(np.sum(np.exp(X @ b) - y * (X @ b)))


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
@pytest.mark.parametrize("form", ["matrix", "index"])
def test_glm_gradient_and_hessian_match_finite_differences(kind, form):
    rng = np.random.default_rng(1)
    X, y, beta = _glm_data(rng, kind)
    n, d = X.shape
    loss = _glm_loss(kind, X, y)
    D = build(kind, form)
    env = env_of({"X": X, "y": y, "beta": beta}, n=n, d=d)
    close(value(D.results["loss"], env), loss(beta), rtol=1e-12)
    if form == "matrix":
        grad, hess = value(D.results["gradient"], env), value(D.results["hessian"], env)
    else:
        grad = entries(D.results["gradient"], env, k=d)
        hess = entries(D.results["hessian"], env, k=d, l=d)
    close(grad, fd_gradient(loss, beta), rtol=1e-7, atol=1e-7)
    close(hess, fd_hessian(loss, beta), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_glm_components_match_finite_differences(kind):
    rng = np.random.default_rng(2)
    X, y, beta = _glm_data(rng, kind, d=COMPONENTS_DIM)
    n = X.shape[0]
    loss = _glm_loss(kind, X, y)
    D = build(kind, "components")
    # components are β₀ … β_{D−1} and X_i0 … X_i,D−1: observations 1-based (row 0 spare), columns 0-based
    X_view = np.zeros((n + 1, COMPONENTS_DIM))
    X_view[1:] = X
    env = {"n": n, indexed_key("X"): X_view, indexed_key("y"): padded(y.reshape(-1, 1), 1),
           **{f"beta_{c}": beta[c] for c in range(COMPONENTS_DIM)}}
    close(value(D.results["loss"], env), loss(beta), rtol=1e-12)
    close(value(D.results["gradient"], env), fd_gradient(loss, beta), rtol=1e-7, atol=1e-7)
    close(value(D.results["hessian"], env), fd_hessian(loss, beta), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_newton_update_is_the_newton_step_of_the_numpy_loss(kind):
    rng = np.random.default_rng(3)
    X, y, beta = _glm_data(rng, kind)
    loss = _glm_loss(kind, X, y)
    env = env_of({"X": X, "y": y, "beta": beta}, n=X.shape[0], d=X.shape[1])
    for form in ("matrix", "index"):
        ours = value(build(kind, form).results["update"], env).ravel()
        newton = beta - np.linalg.solve(fd_hessian(loss, beta), fd_gradient(loss, beta))
        close(ours, newton, rtol=1e-5, atol=1e-5)


def test_gaussian_gradient_hessian_and_estimates():
    rng = np.random.default_rng(4)
    x = rng.normal(1.5, 2.0, 30)
    n = x.size
    theta = np.array([0.3, 1.7])   # (μ, σ²)
    loss = lambda t: float(n / 2 * np.log(2 * np.pi * t[1]) + np.sum((x - t[0]) ** 2) / (2 * t[1]))
    for form in FORMS["gaussian"]:
        D = build("gaussian", form)
        env = env_of({"x": x}, {"mu": theta[0], "sigma^2": theta[1]}, n=n)
        close(value(D.results["loss"], env), loss(theta), rtol=1e-12)
        close(value(D.results["gradient"], env), fd_gradient(loss, theta), rtol=1e-7, atol=1e-7)
        close(value(D.results["hessian"], env), fd_hessian(loss, theta), rtol=1e-5, atol=1e-5)
        close(value(D.results["solution"], env), [np.mean(x), np.var(x, ddof=0)], rtol=1e-12)
        # the estimate is a stationary point of the numpy loss, and a minimum there
        mle = np.array([np.mean(x), np.var(x)])
        close(fd_gradient(loss, mle), [0.0, 0.0], rtol=0, atol=1e-6)
        assert np.all(np.linalg.eigvalsh(fd_hessian(loss, mle)) > 0)


def test_bernoulli_derivatives_and_estimate():
    rng = np.random.default_rng(5)
    x = rng.binomial(1, 0.3, 25).astype(float)
    n, p = x.size, 0.42
    loss = lambda q: float(-np.sum(x * np.log(q) + (1 - x) * np.log(1 - q)))
    for form in FORMS["bernoulli"]:
        D = build("bernoulli", form)
        env = env_of({"x": x}, {"p": p}, n=n)
        close(value(D.results["loss"], env), loss(p), rtol=1e-12)
        close(value(D.results["gradient"], env), fd_gradient(lambda a: loss(a.item()), np.array([p])), rtol=1e-7)
        close(value(D.results["hessian"], env), fd_hessian(lambda a: loss(a.item()), np.array([p]), h=1e-4),
              rtol=1e-5)
        close(value(D.results["solution"], env), np.mean(x), rtol=1e-12)


def _step(D, rule):
    return next(s for s in D.steps if s.rule == rule)


def test_gaussian_at_the_estimates_and_the_global_minimum():
    """The planned second-order argument: the Hessian at (μ̂, σ̂²) and its inverse against central differences
    of the numpy loss at numpy's MLE; the profile argument's steps, not the script's "only stationary point"."""
    rng = np.random.default_rng(7)
    x = rng.normal(-0.5, 1.3, 40)
    n = x.size
    loss = lambda t: float(n / 2 * np.log(2 * np.pi * t[1]) + np.sum((x - t[0]) ** 2) / (2 * t[1]))
    mle = np.array([np.mean(x), np.var(x)])
    reference = fd_hessian(loss, mle, h=1e-4)
    D = build("gaussian", "matrix")
    env = env_of({"x": x}, {"mu_hat": mle[0], "sigma^2_hat": mle[1]}, n=n)
    close(value(_step(D, "evaluate at the estimates").after, env), reference, rtol=1e-5, atol=1e-6)
    close(value(_step(D, "asymptotic covariance").after, env), np.linalg.inv(reference), rtol=1e-5, atol=1e-9)
    assert unicode(_step(D, "evaluate at the estimates").after) == "[n/σ̂², 0; 0, n/(2·(σ̂²)²)]"
    assert unicode(_step(D, "asymptotic covariance").after) == "[σ̂²/n, 0; 0, 2·(σ̂²)²/n]"
    rules = [s.rule for s in D.steps]
    assert {"mixed partial derivative", "positive definite", "minimum in μ", "sign of the derivative",
            "minimum in σ²", "global minimum"} <= set(rules)
    assert not any("only stationary point" in s.explanation for s in D.steps)
    assert D.results["hessian"].shape == (2, 2)


def test_gaussian_linear_blocks_at_the_estimates_match_statsmodels():
    """(β, σ²): the cross block vanishes at β̂ (central differences of numpy's ∇_β ℓ in σ²), and the covariance
    block σ̂²(XᵀX)⁻¹ is statsmodels' OLS covariance with the MLE σ̂² = RSS/n in place of RSS/(n − d)."""
    import statsmodels.api as sm
    rng = np.random.default_rng(9)
    X = sm.add_constant(rng.standard_normal((50, 2)))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.7, 50)
    n, d = X.shape
    reference = sm.OLS(y, X).fit()
    beta, sigma2 = reference.params, reference.ssr / n
    D = build("gaussian-linear", "matrix")
    env = env_of({"X": X, "y": y}, {"beta_hat": beta.reshape(-1, 1), "sigma^2_hat": sigma2}, n=n, d=d)
    close(value(_step(D, "asymptotic covariance").after, env), reference.cov_params() * (n - d) / n, rtol=1e-10)
    gradient_in_beta = lambda s2: -X.T @ (y - X @ beta) / s2    # noqa: E731
    h = 1e-5
    close((gradient_in_beta(sigma2 + h) - gradient_in_beta(sigma2 - h)) / (2 * h), np.zeros(d), rtol=0, atol=1e-6)
    assert [s.rule for s in D.steps].count("zero at the estimates") == 1
    assert "global minimum" in [s.rule for s in D.steps]


def test_the_textbook_gaussian_density_and_gradient():
    """The density as a textbook writes it (and equal to scipy's), the gradient in μ collected."""
    D = build("gaussian", "matrix")
    density = _step(D, "independent observations").after.function
    assert unicode(density) == "1/√(2·π·σ²)·exp(−(x_i − μ)²/(2·σ²))"
    assert latex(density).startswith(r"\frac{1}{\sqrt{2 \pi \sigma^{2}}} e^{")
    env = env_of({"x": [0.7, 2.0]}, {"mu": 0.2, "sigma^2": 1.9, "i": 2}, n=2)
    close(value(density, env), stats.norm.pdf(2.0, 0.2, np.sqrt(1.9)), rtol=1e-13)
    gradient = _step(D, "differentiate in μ").after
    assert unicode(gradient) == "−Σ_{i=1..n} (x_i − μ)/σ²"


@pytest.mark.parametrize("family,arguments,reference", [
    ("Bernoulli", (0.3,), lambda x: 0.3 ** x * 0.7 ** (1 - x)),
    ("Poisson", (2.5,), lambda x: stats.poisson.pmf(x, 2.5)),
    ("Exponential", (1.7,), lambda x: stats.expon.pdf(x, scale=1 / 1.7)),
    ("Gamma", (2.2, 1.3), lambda x: stats.gamma.pdf(x, 2.2, scale=1 / 1.3)),
    ("Beta", (2.2, 1.3), lambda x: stats.beta.pdf(x, 2.2, 1.3)),
])
def test_each_density_as_written_is_its_value(family, arguments, reference):
    """A density kept as written (factors in order, nothing multiplied out) evaluates to scipy's."""
    from derive.derivations.distributions import distribution
    x = sp.Symbol("x")
    density = distribution(family).density(x, *[sp.Float(a) for a in arguments])
    point = 1.0 if family != "Beta" else 0.4
    close(value(density, {"x": point}), reference(point), rtol=1e-12)
    assert "√(2)" not in unicode(density)


def test_bernoulli_and_exponential_variances_at_the_estimate():
    """Var(p̂) = p̂(1 − p̂)/n and Var(λ̂) = λ̂²/n: the inverse of the second derivative at the MLE, against
    central differences of the numpy losses."""
    rng = np.random.default_rng(8)
    x = rng.binomial(1, 0.35, 60).astype(float)
    p = x.mean()
    loss = lambda q: float(-np.sum(x * np.log(q) + (1 - x) * np.log(1 - q)))
    D = build("bernoulli", "matrix")
    step = _step(D, "asymptotic covariance")
    assert unicode(step.after) == "(1 − p̂)·p̂/n"
    second = fd_hessian(lambda a: loss(a.item()), np.array([p]), h=1e-4).item()
    close(value(step.after, env_of({"x": x}, {"p_hat": p}, n=60)), 1 / second, rtol=1e-5)
    y = rng.exponential(0.5, 80)
    rate = 1 / y.mean()
    exponential = build("exponential", "matrix")
    loss = lambda r: float(-np.sum(np.log(r) - r * y))
    second = fd_hessian(lambda a: loss(a.item()), np.array([rate]), h=1e-4).item()
    close(value(_step(exponential, "asymptotic covariance").after, env_of({"x": y}, {"lambda_hat": rate}, n=80)),
          1 / second, rtol=1e-5)


def _softmax_data(rng, n=30, d=3, K=4):
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, K))
    Y = np.eye(K)[rng.integers(0, K, n)]
    loss = lambda w: float(np.sum(np.log(np.sum(np.exp(X @ w), axis=1)) - np.sum(Y * (X @ w), axis=1)))
    return X, W, Y, loss


def test_softmax_matrix_gradient():
    rng = np.random.default_rng(6)
    X, W, Y, loss = _softmax_data(rng)
    (n, d), K = X.shape, W.shape[1]
    D = build("softmax", "matrix")
    env = env_of({"X": X, "W": W, "Y": Y}, n=n, d=d, K=K)
    close(value(D.results["loss"], env), loss(W), rtol=1e-12)
    close(value(D.results["gradient"], env), fd_gradient(loss, W), rtol=1e-7, atol=1e-7)
    # and the textbook formula Xᵀ(P − Y), P the row-wise softmax, computed here independently
    P = np.exp(X @ W) / np.exp(X @ W).sum(axis=1, keepdims=True)
    close(value(D.results["gradient"], env), X.T @ (P - Y), rtol=1e-12)


def test_softmax_index_gradient_and_hessian():
    rng = np.random.default_rng(7)
    X, W, Y, loss = _softmax_data(rng, n=12, d=2, K=3)
    (n, d), K = X.shape, W.shape[1]
    D = build("softmax", "index")
    env = env_of({"X": X, "W": W, "Y": Y}, n=n, d=d, K=K)
    close(value(D.results["loss"], env), loss(W), rtol=1e-12)
    close(entries(D.results["gradient"], env, k=d, m=K), fd_gradient(loss, W), rtol=1e-7, atol=1e-7)
    hessian = entries(D.results["hessian"], env, k=d, m=K, l=d, q=K).reshape(d * K, d * K)
    close(hessian, fd_hessian(loss, W), rtol=1e-5, atol=1e-5)


def _mvn_data(rng, n=50, d=3):
    A = rng.standard_normal((d, d))
    X = rng.standard_normal((n, d)) @ A + rng.standard_normal(d)
    mu = rng.standard_normal(d)
    B = rng.standard_normal((d, d))
    Sigma = B @ B.T + d * np.eye(d)
    return X, mu, Sigma


def _mvn_loss(X):
    n, d = X.shape

    def loss(mu, Sigma):
        R = X - mu
        return float(n * d / 2 * np.log(2 * np.pi) + n / 2 * np.linalg.slogdet(Sigma)[1]
                     + 0.5 * np.sum(R * np.linalg.solve(Sigma, R.T).T))
    return loss


def test_mvn_matrix_gradients_hessian_and_estimates():
    rng = np.random.default_rng(8)
    X, mu, Sigma = _mvn_data(rng)
    n, d = X.shape
    loss = _mvn_loss(X)
    D = build("mvn", "matrix")
    env = env_of({"X": X, "mu": mu, "Sigma": Sigma}, n=n, d=d)
    close(value(D.results["loss"], env), loss(mu, Sigma), rtol=1e-12)
    grad_mu, grad_sigma = D.results["gradient"]
    close(value(grad_mu, env), fd_gradient(lambda m: loss(m, Sigma), mu), rtol=1e-7, atol=1e-7)
    # every entry of Σ moved on its own: at a symmetric Σ this is the gradient (n/2)Σ⁻¹ − ½Σ⁻¹AΣ⁻¹
    close(value(grad_sigma, env), fd_gradient(lambda S: loss(mu, S), Sigma), rtol=1e-6, atol=1e-7)
    close(value(D.results["hessian"], env), fd_hessian(lambda m: loss(m, Sigma), mu), rtol=1e-5, atol=1e-5)
    mean, covariance = D.results["solution"]
    close(value(mean, env), np.mean(X, axis=0), rtol=1e-12)
    close(value(covariance, env), np.cov(X.T, bias=True), rtol=1e-10)


def test_mvn_index_gradients_hessian_and_estimates():
    rng = np.random.default_rng(9)
    X, mu, Sigma = _mvn_data(rng, n=20, d=3)
    n, d = X.shape
    Omega = np.linalg.inv(Sigma)
    Omega = (Omega + Omega.T) / 2
    loss = lambda m, O: _mvn_loss(X)(m, np.linalg.inv(O))   # the same likelihood, in the precision Ω = Σ⁻¹
    D = build("mvn", "index")
    env = env_of({"X": X, "mu": mu, "Omega": Omega}, n=n, d=d)
    close(value(D.results["loss"], env), loss(mu, Omega), rtol=1e-10)
    grad_mu, grad_omega = D.results["gradient"]
    close(entries(grad_mu, env, k=d), fd_gradient(lambda m: loss(m, Omega), mu), rtol=1e-7, atol=1e-7)
    close(entries(grad_omega, env, k=d, l=d), fd_gradient(lambda O: loss(mu, O), Omega), rtol=1e-6, atol=1e-6)
    close(entries(D.results["hessian"], env, k=d, l=d), fd_hessian(lambda m: loss(m, Omega), mu),
          rtol=1e-5, atol=1e-5)
    mean, covariance = D.results["solution"]
    close(value(mean, env), np.mean(X, axis=0), rtol=1e-12)
    close(value(covariance, env), np.cov(X.T, bias=True), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------
# DESIGN §3: substitute numbers for every symbol, doit(), evalf() gives the value
# ---------------------------------------------------------------------------------------------------
def _substitute(expr, values: dict, dims: dict):
    expr = expr.subs(dims)
    replacements = {sp.MatrixSymbol(name, *np.shape(v)): sp.ImmutableMatrix(v) for name, v in values.items()}
    return np.array(expr.xreplace(replacements).doit().evalf(), dtype=float)


def _glm_doit_case(kind):
    X, y, beta = _glm_data(np.random.default_rng(10), kind, n=6, d=2)
    values = {"X": X, "y": y.reshape(-1, 1), "beta": beta.reshape(-1, 1)}
    dims = {sp.Symbol("n", integer=True, positive=True): 6, sp.Symbol("d", integer=True, positive=True): 2}
    return values, dims, env_of(values, n=6, d=2)


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
def test_gradient_evaluates_by_doit(kind):
    values, dims, env = _glm_doit_case(kind)
    gradient = build(kind, "matrix").results["gradient"]
    close(_substitute(gradient, values, dims), value(gradient, env), rtol=1e-10)


# NOTE: SymPy 1.14 leaves OneMatrix beside explicit matrices in MatMul/MatAdd.doit() (then evalf recurses) and
# DiagMatrix.doit() does not evaluate a non-explicit vector such as σ(Xβ) ⊙ (𝟏 − σ(Xβ)); results carry
# derive.expr.symbols.Ones / Diag, which do, so the DESIGN §3 contract holds for them too.
@pytest.mark.parametrize("kind,name", [("logistic", "loss"), ("logistic", "hessian"), ("logistic", "update"),
                                       ("poisson", "hessian")])
def test_results_with_ones_or_diag_evaluate_by_doit(kind, name):
    values, dims, env = _glm_doit_case(kind)
    result = build(kind, "matrix").results[name]
    close(_substitute(result, values, dims), value(result, env), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------
# Published fits: the derived Newton update, iterated, reproduces them
# ---------------------------------------------------------------------------------------------------
def _read(name):
    with open(DATASETS / name, newline="") as handle:
        return list(csv.DictReader(handle))


def _iterate(update, X, y, tol=1e-14, limit=100):
    beta = np.zeros((X.shape[1], 1))
    env = {"X": X, "y": y.reshape(-1, 1), "n": X.shape[0], "d": X.shape[1]}
    for iteration in range(1, limit + 1):
        new = np.real(evaluate(update, {**env, "beta": beta}))
        step = np.max(np.abs(new - beta))
        beta = new
        if step <= tol * (1 + np.max(np.abs(beta))):
            return beta.ravel(), iteration
    raise AssertionError(f"Newton did not converge in {limit} iterations")


@pytest.mark.parametrize("gpa_as_float32,rtol", [(True, 1e-10), (False, 1e-6)])
def test_logistic_newton_reproduces_stata_on_spector(gpa_as_float32, rtol):
    rows = _read("spector.csv")
    reference = json.loads((DATASETS / "spector_logit.json").read_text())
    gpa = np.array([float(r["GPA"]) for r in rows])
    if gpa_as_float32:  # Stata held GPA in single precision (datasets/README.md)
        gpa = gpa.astype(np.float32).astype(np.float64)
    X = np.column_stack([np.ones(len(rows)), gpa, [float(r["TUCE"]) for r in rows],
                         [float(r["PSI"]) for r in rows]])
    y = np.array([float(r["GRADE"]) for r in rows])
    beta, iterations = _iterate(build("logistic", "matrix").results["update"], X, y)
    expected = np.array([float(reference["params"][k]) for k in ("const", "GPA", "TUCE", "PSI")])
    close(beta, expected, rtol=rtol)
    assert iterations < 15   # Newton converges quadratically
    # the log-likelihood at the estimate, from our loss, is Stata's
    loss = value(build("logistic", "matrix").results["loss"], env_of({"X": X, "y": y, "beta": beta},
                                                                     n=X.shape[0], d=X.shape[1])).item()
    close(-loss, float(reference["llf"]), rtol=rtol)


def test_poisson_newton_reproduces_r_glm_on_cpunish():
    rows = _read("cpunish.csv")
    reference = json.loads((DATASETS / "cpunish_poisson.json").read_text())
    column = lambda name: np.array([float(r[name]) for r in rows])
    X = np.column_stack([np.ones(len(rows)), column("INCOME"), column("PERPOVERTY"), column("PERBLACK"),
                         np.log(column("VC100k96")), column("SOUTH"), column("DEGREE")])
    y = column("EXECUTIONS")
    D = build("poisson", "matrix")
    beta, _ = _iterate(D.results["update"], X, y)
    order = ("const", "INCOME", "PERPOVERTY", "PERBLACK", "LN_VC100k96", "SOUTH", "DEGREE")
    close(beta, [float(reference["params"][k]) for k in order], rtol=1e-6)   # R printed 7 digits
    loss = value(D.results["loss"], env_of({"X": X, "y": y, "beta": beta}, n=X.shape[0], d=X.shape[1])).item()
    log_factorials = sum(math.lgamma(v + 1) for v in y)   # the constant the loss leaves out
    close(-(loss + log_factorials), float(reference["llf"]), rtol=1e-12)


@pytest.mark.parametrize("family,rule,log_density,draw", [
    ("Gamma", "positive definite at every value", lambda x, a, b: stats.gamma.logpdf(x, a, scale=1 / b),
     lambda rng: rng.gamma(2.0, 0.5, 40)),
    ("Beta", "positive semidefinite", lambda x, a, b: stats.beta.logpdf(x, a, b), lambda rng: rng.beta(2.0, 3.0, 40)),
])
def test_gamma_and_beta_shapes_jointly_convex(tmp_path, family, rule, log_density, draw):
    """The Gamma(a, b) negative log-likelihood is shown jointly convex by its minors nψ′(a) and n²(aψ′(a) − 1)/b²
    (ψ′(a) > 1/a + 1/(2a²)); the Beta(a, b) one as an exponential family (∇²ℓ = n Cov(log x, log(1 − x))). The
    derived Hessian against central differences of scipy's log-density, positive definite at random (a, b).
    The Gaussian's, not convex in σ², is not claimed."""
    from derive.derivations import Model
    path = tmp_path / f"{family}.toml"
    path.write_text('symbols = { x = "n", a = "pos", b = "pos" }\nparameters = ["a", "b"]\n'
                    f'likelihood = "x_i ~ {family}(a, b)"\n', encoding="utf-8")
    D = models.build(Model.from_toml(path))
    assert rule in [s.rule for s in D.steps]
    assert not any("not shown" in note for note in D.notes)
    assert not {"positive definite at every value", "exponential family"} & {s.rule for s in build("gaussian", "matrix").steps}
    rng = np.random.default_rng(10)
    x = draw(rng)
    loss = lambda t: float(-np.sum(log_density(x, t[0], t[1])))   # noqa: E731
    for a, b in rng.uniform(0.5, 5.0, (4, 2)):
        H = value(D.results["hessian"], env_of({"x": x}, {"a": a, "b": b}, n=40))
        close(H, fd_hessian(loss, np.array([a, b]), h=1e-4), rtol=1e-5, atol=1e-5)
        assert np.all(np.linalg.eigvalsh(H) > 0)
