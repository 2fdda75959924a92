"""Models stated as a textbook states them (DESIGN §8): model files, one-off models, the planner's
derivations, and fits from the derived results.

References are independent of derive: hand-written numpy losses and their finite differences,
statsmodels (WLS, OLS, Logit), scipy.stats.expon.fit, and the shipped Spector data.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm

import derive
import derive.datasets
from derive.cli import main
from derive.derivations import Model, ModelError, names, spec
from derive.expr.printing import unicode

PROBIT = "probit"
RNG = np.random.default_rng(7)
N = 60
X = np.column_stack([np.ones(N), RNG.normal(size=(N, 2))])
Y = X @ np.array([0.5, 1.5, -2.0]) + RNG.normal(size=N)
W = RNG.uniform(0.5, 2.0, N)


def finite_gradient(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("name", ["wls", "gaussian-linear", "exponential"])
def test_builtin_model_files_derive_with_every_step_verified(name):
    d = derive.derivation(name)
    assert d.steps and all(s.verified for s in d.steps)
    assert {"loss", "gradient", "hessian", "solution"} <= set(d.results)
    assert name in names() and spec(name).startswith("name")


def test_wls_gradient_and_hessian_match_finite_differences_of_numpy():
    loss = lambda b: (Y - X @ b) @ (W * (Y - X @ b))          # noqa: E731
    g, H = derive.lambdify("wls", "gradient"), derive.lambdify("wls", "hessian")
    b = RNG.normal(size=3)
    assert np.allclose(g(b, X, Y, np.diag(W)), finite_gradient(loss, b), rtol=1e-6)
    assert np.allclose(H(b, X, Y, np.diag(W)), finite_gradient(lambda v: g(v, X, Y, np.diag(W)), b), rtol=1e-6)
    assert "2XᵀWX" == derive.printing.unicode(derive.derivation("wls").results["hessian"])


def test_wls_fit_matches_statsmodels():
    f = derive.fit("wls", X, Y, weights=W)
    reference = sm.WLS(Y, X, weights=W).fit()
    assert np.allclose(f.coef, reference.params, rtol=1e-12, atol=1e-12)
    assert np.allclose(f.std_errors, reference.bse, rtol=1e-10)


def test_gaussian_linear_fit_matches_statsmodels_ols_with_the_mle_variance():
    f = derive.fit("gaussian-linear", X, Y)
    ols = sm.OLS(Y, X).fit()
    n, p = X.shape
    assert f.names[-1] == "sigma2"
    assert np.allclose(f.coef[:3], ols.params, rtol=1e-12)
    assert f.coef[3] == pytest.approx(ols.scale * (n - p) / n, rel=1e-12)
    # standard errors from the Hessian at the MLE: statsmodels' with σ̂² = RSS/n
    assert np.allclose(f.std_errors[:3], ols.bse * np.sqrt((n - p) / n), rtol=1e-10)


def test_exponential_rate_matches_scipy():
    x = RNG.exponential(2.5, 40)
    f = derive.fit("exponential", None, x)
    assert f.coef[0] == pytest.approx(1 / scipy.stats.expon.fit(x, floc=0)[1], rel=1e-12)
    assert f.std_errors[0] == pytest.approx(f.coef[0] / np.sqrt(len(x)), rel=1e-10)   # √(λ̂²/n)


def test_logistic_stated_as_a_likelihood_fits_spector_like_statsmodels():
    data = derive.datasets.load("spector").data()
    Xs = np.column_stack([np.ones(len(data["GRADE"])), data["GPA"], data["TUCE"], data["PSI"]])
    m = derive.model(likelihood="y_i ~ Bernoulli(sigmoid(x_i' b))", wrt="b", shapes="X:nxd, y:n")
    f = derive.fit(m, Xs, data["GRADE"])
    logit = sm.Logit(data["GRADE"], Xs).fit(disp=0)
    assert f.converged and f.method == "newton"
    assert np.allclose(f.coef, logit.params, rtol=1e-8)
    assert np.allclose(f.std_errors, logit.bse, rtol=1e-6)


def test_one_off_model_equals_the_model_file():
    one_off = derive.model(loss="(y - X b)' W (y - X b)", wrt="b", shapes="X:nxd, y:n, W:nxn pd")
    assert derive.derivation(one_off).results == derive.derivation("wls").results


def test_lambdify_takes_parameters_then_symbols_by_position_or_name():
    g = derive.lambdify("gaussian-linear", "solution")
    assert g.arguments == ("beta", "sigma2", "X", "y")
    beta, sigma2 = g(X=X, y=Y)
    assert np.allclose(beta, np.linalg.lstsq(X, Y, rcond=None)[0])
    assert sigma2 == pytest.approx(np.mean((Y - X @ beta) ** 2))


def test_check_accepts_a_model_file():
    path = str(derive.derivations.MODEL_FILES / "wls.toml")
    assert derive.check(path, "gradient", "-2 X' W (y - X b)").correct
    wrong = derive.check(path, "gradient", "2 X' W (y - X b)")
    assert not wrong.correct and wrong.diagnosis


@pytest.mark.parametrize("text, expected", [
    ('name = "m"\nsymbols = { X = "n x d", beta = "d" }\nparameters = ["beta"]\nloss = "beta\'beta"\ncolour = 1\n',
     "line 5: unknown key 'colour'"),
    ('symbols = { X = "n x d", y = "n" }\nparameters = ["beta"]\nloss = "(y - X beta)\'(y - X beta)"\n',
     "line 2: the parameter 'beta' is not declared"),
    ('symbols = { X = "n x d", y = "n", beta = "n" }\nparameters = ["beta"]\nloss = "(y - X beta)\'(y - X beta)"\n',
     "line 3: cannot read the loss: cannot multiply"),
    ('symbols = { X = "n x d", y = "n", beta = "d", W = "n x d, pd" }\nparameters = ["beta"]\nloss = "beta\'beta"\n',
     "line 1: W: pd applies to a square matrix"),
    ('symbols = { x = "n", p = "scalar" }\nparameters = ["p"]\nlikelihood = "x_i ~ Bernoulli(1.5)"\n',
     "the p of Bernoulli(p) is 1.5; it must be a probability in (0, 1)"),
])
def test_bad_model_files_exit_2_with_one_line_naming_the_line(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_model_error_is_a_derive_error():
    with pytest.raises(ModelError):
        Model.from_text('loss = "x"\nparameters = ["x"]\nsymbols = {}\nlikelihood = "x_i ~ N(0, 1)"\n')


def test_cli_show_one_off_fit_weights_and_models_json(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "derive", *a], capture_output=True, text=True)  # noqa: E731
    shown = run("show", "--loss", "(y - X b)' W (y - X b)", "--wrt", "b", "--shapes", "X:nxd, y:n, W:nxn pd",
                "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["results"]["solution"]["text"]
    listed = json.loads(run("models", "--json").stdout)
    assert "wls" in listed and listed["wls"]["spec"].startswith('name = "wls"')
    csv = tmp_path / "d.csv"
    csv.write_text("x1,x2,w,y\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in zip(X[:, 1], X[:, 2], W, Y)))
    fitted = run("fit", "wls", str(csv), "--target", "y", "--weights", "w", "--json")
    assert fitted.returncode == 0, fitted.stderr
    coefficients = list(json.loads(fitted.stdout)["coefficients"].values())
    assert np.allclose(coefficients, sm.WLS(Y, X, weights=W).fit().params, rtol=1e-10)


MAP = '''name = "map-linear"
symbols = { X = "n x d", y = "n", beta = "d", sigma2 = "pos", tau2 = "pos" }
parameters = ["beta"]
likelihood = "y_i ~ N(x_i' beta, sigma2)"
prior = "beta ~ N(0, tau2 I)"
values = { sigma2 = 2.0, tau2 = 0.5 }
'''


def test_a_gaussian_prior_gives_the_map_reading_of_ridge_and_its_fit(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(MAP)
    d = derive.derivation(str(path))
    assert derive.printing.unicode(d.results["solution"]) == "(XᵀX + (σ²/τ²)I)⁻¹Xᵀy"
    assert any("ridge regression with λ = σ²/τ²" in s.explanation for s in d.steps)
    f = derive.fit(str(path), X, Y)
    lam = 2.0 / 0.5
    assert np.allclose(f.coef, np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ Y), rtol=1e-12)


def test_poisson_stated_as_a_likelihood_is_newton_with_the_irls_reading():
    m = derive.model(likelihood="y_i ~ Poisson(exp(x_i' b))", wrt="b", shapes="X:nxd, y:n")
    d = derive.derivation(m)
    assert [s.rule for s in d.steps][-1] == "iteratively reweighted least squares"
    assert derive.printing.unicode(d.results["hessian"]) == "Xᵀdiag(exp(Xβ))X"
    counts = np.random.default_rng(3).poisson(np.exp(X @ np.array([0.2, 0.3, -0.1])))
    f = derive.fit(m, X, counts)
    glm = sm.GLM(counts, X, family=sm.families.Poisson()).fit(tol=1e-14)
    assert np.allclose(f.coef, glm.params, rtol=1e-8) and np.allclose(f.std_errors, glm.bse, rtol=1e-6)


def test_fit_names_what_the_data_lack():
    with pytest.raises(derive.DataError, match="--weights"):
        derive.fit("wls", X, Y)
    with pytest.raises(derive.DataError, match="must be a positive number"):
        derive.fit("exponential", None, -np.ones(5))


def _lre(estimate, certified):
    return -np.log10(abs(estimate - certified) / abs(certified)) if estimate != certified else 15.0


@pytest.mark.parametrize("method, digits", [("auto", 14), ("qr", 7)])
def test_gaussian_linear_on_longley_keeps_the_nist_accuracy(method, digits):
    longley = derive.datasets.load("longley")
    data = longley.data()
    Xl = np.column_stack([np.ones(len(data["y"]))] + [data[f"x{k}"] for k in range(1, 7)])
    exact = ([["1", *row] for row in zip(*(longley.text_columns()[f"x{k}"] for k in range(1, 7)))],
             longley.text_columns()["y"])
    f = derive.fit("gaussian-linear", Xl, data["y"], method=method, exact_data=exact)
    certified = [float(longley.reference["certified"][f"B{k}"]) for k in range(7)]
    assert min(_lre(e, c) for e, c in zip(f.coef[:7], certified)) >= digits


def test_ridge_model_file_fits_as_the_builtin_ridge():
    path = str(derive.derivations.MODEL_FILES / "ridge.toml")
    assert np.allclose(derive.fit(path, X, Y, values={"lam": 0.7}).coef, derive.fit("ridge", X, Y, lam=0.7).coef,
                       rtol=1e-13)


def test_a_model_derived_in_part_shows_the_verified_part_and_says_where_it_stopped(capsys, tmp_path):
    path = tmp_path / "shifted.toml"   # the scalar μ inside the quadratic form of a regression: not yet
    path.write_text('symbols = { X = "n x d", y = "n", beta = "d", mu = "scalar" }\nparameters = ["beta", "mu"]\n'
                    'likelihood = "y_i ~ N(x_i\' beta + mu, 1)"\n')
    assert main(["show", str(path)]) == 2
    captured = capsys.readouterr()
    assert "sums in vector form  [✓ verified]" in captured.out and "Not derived further" in captured.out
    assert captured.err.count("\n") == 1 and "the planner stopped after step" in captured.err
    assert "cannot differentiate" in captured.err and "in the scalar mu" in captured.err


@pytest.mark.parametrize("likelihood, expected", [
    ("y_i ~ Weibull(x_i' beta)", "unknown distribution 'Weibull'"),
    ("y_i ~ Bernoulli(x_i' beta, 2)", "Bernoulli(p) takes 1 argument, not 2"),
    ("y_i ~ Poisson(exp(z_i' beta))", "no matrix Z is declared"),
    ("y_i Bernoulli(x_i' beta)", "write observation ~ Family(arguments)"),
    ("q_i ~ Bernoulli(sigmoid(x_i' beta))", "q in"),
])
def test_statements_the_reader_cannot_take_exit_2_naming_what_is_accepted(capsys, likelihood, expected):
    args = ["show", "--likelihood", likelihood, "--wrt", "beta", "--shapes", "X:nxd, y:n, beta:d"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


@pytest.mark.parametrize("name", ["ols", "ridge", "logistic", "poisson"])
def test_a_builtin_and_its_model_file_give_the_same_results(name):
    """DESIGN §8: `derive show NAME` and `derive show` of its file give the same results: equal expressions
    (the textbook forms of DESIGN §2), not only equal values."""
    scripted = derive.derivation(name).results
    planned = derive.derivation(str(derive.derivations.MODEL_FILES / f"{name}.toml")).results
    assert scripted == planned


def test_penalised_logistic_is_convex_and_fits_like_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    m = derive.model(likelihood="y_i ~ Bernoulli(sigmoid(x_i' b))", penalty="lam ||b||^2", wrt="b",
                     shapes="X:nxd, y:n, lam:pos")
    d = derive.derivation(m)
    assert "positive semidefinite" in [s.rule for s in d.steps]
    rng = np.random.default_rng(2)
    Xp = np.column_stack([np.ones(200), rng.normal(size=(200, 3))])
    yp = (rng.uniform(size=200) < 1 / (1 + np.exp(-Xp @ [0.3, 1, -1, 0.5]))).astype(float)
    f = derive.fit(m, Xp, yp, values={"lam": 0.8})
    # scikit-learn minimises ½‖w‖² + C Σ log-loss: the same minimiser for C = 1/(2λ)
    reference = LogisticRegression(C=1 / 1.6, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(Xp, yp)
    assert np.allclose(f.coef, reference.coef_[0], atol=1e-8)


def test_bernoulli_spec_plans_to_the_sample_mean():
    d = derive.derivation(str(derive.derivations.MODEL_FILES / "bernoulli.toml"))
    assert derive.printing.unicode(d.results["solution"]) == "𝟏ᵀx/n"
    x = np.array([1.0, 0, 0, 1, 1])
    assert derive.fit(str(derive.derivations.MODEL_FILES / "bernoulli.toml"), None, x).coef[0] == pytest.approx(0.6)


def test_model_objects_and_paths_go_wherever_a_name_goes(tmp_path):
    path = tmp_path / "my-wls.toml"
    path.write_text(spec("wls").replace('name = "wls"', 'name = "my-wls"'))
    m = derive.Model.from_toml(path)
    assert m.name == "my-wls" and derive.derivations.resolve(str(path)) == m
    assert derive.derivation(m).results == derive.derivation(str(path)).results == derive.derivation("wls").results
    assert np.allclose(derive.lambdify(m, "solution")(None, X, Y, np.diag(W)), derive.fit(m, X, Y, weights=W).coef)


def test_a_form_a_planned_model_has_not_is_refused_in_one_line(capsys):
    assert main(["show", "exponential", "--form", "components", "--dim", "2"]) == 2
    err = capsys.readouterr().err
    assert "forms: matrix, index" in err and err.count("\n") == 1


def _spector():
    data = derive.datasets.load("spector").data()
    design = np.column_stack([np.ones(len(data["GRADE"])), data["GPA"], data["TUCE"], data["PSI"]])
    return design, data["GRADE"]


def test_probit_derives_with_every_step_verified_in_weighted_residual_form():
    d = derive.derivation(PROBIT)
    assert d.steps and all(s.verified for s in d.steps)
    rules = [s.rule for s in d.steps]
    assert "weighted residuals" in rules and "chain rule, observation by observation" in rules
    # the weights have a line of their own, and the Hessian is written with their name
    assert any(s.lhs is not None and str(s.lhs) == "sᵢ" for s in d.steps)
    assert unicode(d.displayed_results()["hessian"]) == "XᵀSX"
    assert {"loss", "gradient", "hessian", "update"} <= set(d.results)


def _section(d, heading):
    """The steps under one heading of a derivation."""
    starts = [start for start, _ in d.sections] + [len(d.steps)]
    k = next(k for k, (_, h) in enumerate(d.sections) if h == heading)
    return d.steps[starts[k]:starts[k + 1]]


def test_probit_gradient_reads_as_a_textbook_writes_it():
    # ∇ℓ = Xᵀr with rᵢ = φᵢ(Φᵢ − yᵢ)/(Φᵢ(1 − Φᵢ)) on a line of its own, in the gradient's section
    d = derive.derivation(PROBIT)
    gradient = _section(d, "The gradient in β")
    assert unicode(gradient[-2].after) == "Xᵀr" and unicode(d.displayed_results()["gradient"]) == "Xᵀr"
    assert str(gradient[-1].lhs) == "rᵢ" and unicode(gradient[-1].after) == "(Φᵢ − y_i)·φᵢ/((1 − Φᵢ)·Φᵢ)"
    assert not any("^∘" in unicode(s.after) for s in gradient)      # 1/u is written as a division
    assert not any(str(s.lhs) == "rᵢ" for s in _section(d, "The Hessian in β"))   # stated once


@pytest.mark.parametrize("name, gradient", [("logistic", "Xᵀ(σ(Xβ) − y)"), ("poisson", "Xᵀ(exp(Xβ) − y)")])
def test_canonical_links_keep_the_plain_residual(name, gradient):
    assert unicode(derive.derivation(name).displayed_results()["gradient"]) == gradient


def test_probit_is_shown_convex_because_phi_is_log_concave():
    d = derive.derivation(PROBIT)
    rules = [s.rule for s in _section(d, "Convexity in β")]
    assert rules[0] == "one observation's loss" and rules[-1] == "positive semidefinite"
    assert {"Φ is log-concave", "1 − Φ is log-concave", "a convex loss per observation"} <= set(rules)
    assert all(s.verified for s in d.steps) and not any("not shown" in note for note in d.notes)


def test_the_log_concavity_lemma_matches_finite_differences_of_scipy():
    # d²/dz²(−log Φ(z)) from the lemma's step against central differences of scipy's log Φ, and ≥ 0
    from finite_differences import numeric
    from scipy.special import log_ndtr
    d = derive.derivation(PROBIT)
    second = next(s.after for s in d.steps if s.rule == "Φ is log-concave")
    (z,) = second.free_symbols
    h = 1e-4
    for value in (-6.0, -2.5, -0.3, 0.0, 1.2, 4.0):
        by_hand = -(log_ndtr(value + h) - 2 * log_ndtr(value) + log_ndtr(value - h)) / h ** 2
        derived = float(numeric(second, {}, {z.name: value}))
        assert derived >= 0 and np.isclose(derived, by_hand, rtol=1e-5)


def test_probit_hessian_is_positive_semidefinite_at_random_points():
    # the claim the convexity step makes, checked on the lambdified Hessian (yᵢ 0 or 1, any β)
    rng = np.random.default_rng(3)
    Xs, ys = rng.normal(size=(40, 3)), rng.integers(0, 2, 40).astype(float)
    H = derive.lambdify(PROBIT, "hessian")
    for _ in range(5):
        hessian = H(rng.normal(size=3), Xs, ys)
        assert np.linalg.eigvalsh(hessian).min() >= -1e-9 * np.abs(hessian).max()


def test_convexity_is_not_claimed_for_a_loss_that_is_not_convex():
    # Poisson counts with rate Φ(xᵢᵀβ): ℓᵢ = Φ(ηᵢ) − yᵢ log Φ(ηᵢ), and Φ is not convex: nothing is claimed
    m = derive.model(likelihood="y_i ~ Poisson(Phi(x_i' beta))", wrt="beta", shapes="X:nxd, y:n, beta:d")
    d = derive.derivation(m)
    assert "positive semidefinite" not in [s.rule for s in d.steps]
    assert any("Convexity in β not shown" in note for note in d.notes)


def test_probit_gradient_and_hessian_match_finite_differences_of_numpy():
    from scipy.special import log_ndtr
    Xs, ys = _spector()
    loss = lambda b: -(ys @ log_ndtr(Xs @ b) + (1 - ys) @ log_ndtr(-(Xs @ b)))     # noqa: E731
    g, H = derive.lambdify(PROBIT, "gradient"), derive.lambdify(PROBIT, "hessian")
    b = np.array([-7.0, 1.6, 0.05, 1.4])
    assert np.allclose(g(b, Xs, ys), finite_gradient(loss, b), rtol=1e-6, atol=1e-8)
    assert np.allclose(H(b, Xs, ys), finite_gradient(lambda v: g(v, Xs, ys), b), rtol=1e-6, atol=1e-6)


def test_probit_hessian_at_the_mean_is_the_expected_information():
    # with yᵢ at its mean Φ(xᵢᵀβ) the residual term vanishes: H = Xᵀdiag(φ²/(Φ(1 − Φ)))X, Fisher's information
    from scipy.stats import norm
    Xs, _ = _spector()
    b = np.array([-7.0, 1.6, 0.05, 1.4])
    eta = Xs @ b
    fisher = Xs.T @ (Xs * (norm.pdf(eta) ** 2 / (norm.cdf(eta) * norm.sf(eta)))[:, None])
    H = derive.lambdify(PROBIT, "hessian")
    assert np.allclose(H(b, Xs, norm.cdf(eta)), fisher, rtol=1e-10)


def test_probit_fits_spector_like_statsmodels():
    Xs, ys = _spector()
    f = derive.fit(PROBIT, Xs, ys)
    reference = sm.Probit(ys, Xs).fit(disp=0, tol=1e-14)
    assert f.converged and f.method == "newton"
    assert np.allclose(f.coef, reference.params, rtol=1e-8)
    assert np.allclose(f.std_errors, reference.bse, rtol=1e-8)


def test_check_code_calls_a_model_file_in_the_order_of_lambdify(tmp_path):
    from derive.checking.code import argument_names, check_code
    assert tuple(argument_names("wls")) == derive.lambdify("wls", "gradient").arguments == ("beta", "X", "y", "W")
    code = tmp_path / "wls_code.py"
    code.write_text("def grad(beta, X, y, W):\n    return -2 * X.T @ W @ (y - X @ beta)\n")
    assert check_code("wls", "gradient", f"{code}:grad").correct


GAMMA = '''name = "gamma-sample"
symbols = { x = "n", a = "pos", b = "pos" }
parameters = ["a", "b"]
likelihood = "x_i ~ Gamma(a, b)"
'''


def test_a_gamma_sample_derives_with_log_gamma_and_solves_the_rate_given_the_shape(tmp_path):
    path = tmp_path / "gamma.toml"
    path.write_text(GAMMA)
    d = derive.derivation(str(path))
    assert d.steps and all(s.verified for s in d.steps)
    assert "Newton update" in [s.rule for s in d.steps] and "solve for b" in [s.rule for s in d.steps]
    assert any("No closed-form solution for a" in note for note in d.notes)
    x = np.random.default_rng(5).gamma(2.0, 1 / 3.0, 50)
    from derive.core.numeval import evaluate
    env = {"x": x.reshape(-1, 1), "a": 2.0, "b": 3.0, "n": len(x)}
    # the derived loss is the negative log-likelihood (a gamma sample has no constant to drop)
    assert float(np.real(evaluate(d.results["loss"], env))) == pytest.approx(
        -scipy.stats.gamma.logpdf(x, 2.0, scale=1 / 3.0).sum(), rel=1e-12)
    gradient_a, gradient_b = d.results["gradient"]
    nll = lambda a, b: -scipy.stats.gamma.logpdf(x, a, scale=1 / b).sum()     # noqa: E731
    assert float(evaluate(gradient_a, env)) == pytest.approx((nll(2 + 1e-6, 3) - nll(2 - 1e-6, 3)) / 2e-6, rel=1e-6)
    assert float(evaluate(gradient_b, env)) == pytest.approx((nll(2, 3 + 1e-6) - nll(2, 3 - 1e-6)) / 2e-6, rel=1e-6)


@pytest.mark.parametrize("answer, correct, named", [
    (r"((X'X)^{-1}X'y, (y - X\hat\beta)'(y - X\hat\beta)/n)", True, None),
    (r"\hat\sigma^2 = ||y - X\hat\beta||^2/n", True, "σ̂²"),
    (r"(y - X\hat\beta)'(y - X\hat\beta)/(n-1)", False, "σ̂²"),
])
def test_check_takes_each_part_of_a_planned_models_solution_with_the_earlier_estimate(answer, correct, named):
    result = derive.check("gaussian-linear", "solution", answer)
    assert result.correct is correct
    if named:
        assert named in str(result)
    if not correct:
        assert "1/(n − 1)" in result.diagnosis


def test_cli_fits_probit_on_the_shipped_spector_data(capsys):
    assert main(["fit", str(PROBIT), "spector", "--target", "GRADE", "--features", "GPA,TUCE,PSI", "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    Xs, ys = _spector()
    reference = sm.Probit(ys, Xs).fit(disp=0, tol=1e-14)
    assert np.allclose(list(fitted["coefficients"].values()), reference.params, rtol=1e-8)
    assert np.allclose(list(fitted["std_errors"].values()), reference.bse, rtol=1e-8)


def test_the_gaussian_model_file_solves_for_the_mean_then_the_variance_like_numpy():
    path = str(derive.derivations.MODEL_FILES / "gaussian.toml")
    d = derive.derivation(path)
    assert all(s.verified for s in d.steps)
    assert unicode(d.displayed_results()["solution"]) == "[x̄; Σ_{i=1..n} (x_i − x̄)²/n]"
    x = RNG.normal(1.5, 2.0, 50)
    f = derive.fit(path, None, x)
    assert np.allclose(f.coef, [np.mean(x), np.var(x)], rtol=1e-12)


def test_the_bernoulli_model_file_shows_convexity_from_the_support_of_the_data():
    d = derive.derivation(str(derive.derivations.MODEL_FILES / "bernoulli.toml"))
    assert "nonnegative second derivative" in [s.rule for s in d.steps]
    assert not any("not shown" in note for note in d.notes)
    # the derived second derivative against central differences of the numpy loss
    x = np.array([1.0, 0, 0, 1, 1, 1, 0])
    loss = lambda p: -(x.sum() * np.log(p) + (len(x) - x.sum()) * np.log(1 - p))     # noqa: E731
    H = derive.lambdify(str(derive.derivations.MODEL_FILES / "bernoulli.toml"), "hessian")
    h = 1e-4
    assert H(0.3, x) == pytest.approx((loss(0.3 + h) - 2 * loss(0.3) + loss(0.3 - h)) / h ** 2, rel=1e-6)


def test_exponential_regression_is_shown_convex_by_the_convexity_of_exp():
    # yᵢ ~ Exponential(exp(xᵢᵀβ)): ℓᵢ = yᵢe^ηᵢ − ηᵢ with yᵢ > 0; its rate is not its mean, so nothing is said
    # of expected information at yᵢ = e^ηᵢ
    m = derive.model(likelihood="y_i ~ Exponential(exp(x_i' beta))", wrt="beta", shapes="X:nxd, y:n, beta:d")
    d = derive.derivation(m)
    rules = [s.rule for s in d.steps]
    assert {"exp is convex", "a convex loss per observation", "positive semidefinite"} <= set(rules)
    assert not any("expected information" in s.explanation for s in d.steps)
    rng = np.random.default_rng(4)
    Xs, ys = rng.normal(size=(30, 2)), rng.exponential(size=30)
    loss = lambda b: np.sum(ys * np.exp(Xs @ b) - Xs @ b)                      # noqa: E731
    g, H = derive.lambdify(m, "gradient"), derive.lambdify(m, "hessian")
    b = rng.normal(size=2)
    assert np.allclose(g(b, Xs, ys), finite_gradient(loss, b), rtol=1e-6)
    assert np.allclose(H(b, Xs, ys), finite_gradient(lambda v: g(v, Xs, ys), b), rtol=1e-6)


@pytest.mark.parametrize("text, support, convex", [
    ("-y log(Phi(u)) - (1 - y) log(1 - Phi(u))", "0 or 1", True),          # probit
    ("-y log(sigmoid(u)) - (1 - y) log(1 - sigmoid(u))", "0 or 1", True),  # logistic, as the density writes it
    ("y exp(u) - u", "a positive number", True),                            # exponential, log link
    ("Phi(u) - y log(Phi(u))", "a count 0, 1, 2, …", False),               # Φ is not convex
    ("(1 - 2y) log(Phi(u))", "0 or 1", False),                              # a weight of either sign
])
def test_the_convexity_lemmas_apply_by_premise(text, support, convex):
    import sympy as sp

    from derive.core.steps import Derivation
    from derive.derivations.lemmas import convex_terms
    from derive.parse import parse
    u, y = sp.Symbol("u", real=True), sp.IndexedBase("y")[sp.Symbol("i", integer=True)]
    loss = parse(text, symbols={"u": u, "y": y})
    found = convex_terms(loss, u, support)
    assert (found is not None) == convex
    if found:   # each lemma's proof records verified steps of its own
        D = Derivation("lemmas")
        for prove in found[0]:
            prove(D)
        assert D.steps and all(s.verified for s in D.steps)
