"""Vector observations through the planner: xᵢ ~ N(μ, Σ) with xᵢ row i of X (DESIGN §8), the built-in mvn
model file and a user's model written with other names; results against finite differences of a
negative log-likelihood written here in numpy, fits against numpy and scipy.stats."""
from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from finite_differences import central_gradient, central_hessian, numeric
from scipy import stats

import derive
from derive.cli import main
from derive.derivations import build
from derive.derivations.statement import read_statement
from derive.derivations.vector_sample import Row
from derive.errors import DataError
from derive.expr.printing import unicode

USER = dict(likelihood="z_i ~ N(m, S)", parameters=["m", "S"], shapes="Z:nxk, m:k, S:kxk pd", name="gauss")


def negative_log_likelihood(X):
    """ℓ(μ, Σ) = Σᵢ −log N(xᵢ; μ, Σ), written here in numpy for any square Σ (scipy's density reads only one
    triangle of Σ, so it cannot be differentiated entry by entry)."""
    n, d = X.shape

    def loss(values):
        R = X - values["mu"].reshape(-1)
        Sigma = values["Sigma"]
        return (n * d / 2 * np.log(2 * np.pi) + n / 2 * np.linalg.slogdet(Sigma)[1]
                + 0.5 * np.sum(R * np.linalg.solve(Sigma, R.T).T))
    return loss


def sample(rng, n=40, d=3):
    A = rng.standard_normal((d, d))
    X = rng.standard_normal((n, d)) @ A + rng.standard_normal(d)
    B = rng.standard_normal((d, d))
    return X, rng.standard_normal((d, 1)), B @ B.T + d * np.eye(d)


@pytest.mark.parametrize("spec", ["mvn", "user"])
def test_results_against_finite_differences_and_numpy(spec):
    D = build("mvn") if spec == "mvn" else derive.derivation(derive.model(**USER))
    names = ("X", "mu", "Sigma") if spec == "mvn" else ("Z", "m", "S")
    rng = np.random.default_rng(3)
    X, mu, Sigma = sample(rng)
    n, d = X.shape
    sizes = {"n": n, "d": d, "k": d}
    values = dict(zip(names, (X, mu, Sigma)))
    at = {"mu": mu, "Sigma": Sigma}
    loss = negative_log_likelihood(X)
    assert numeric(D.results["loss"], sizes, values) == pytest.approx(loss(at), rel=1e-12)
    grad_mu, grad_sigma = D.results["gradient"]
    np.testing.assert_allclose(numeric(grad_mu, sizes, values), central_gradient(loss, at, "mu"), rtol=1e-6, atol=1e-6)
    # every entry of Σ moved on its own: at a symmetric Σ this is the gradient (n/2)Σ⁻¹ − ½Σ⁻¹AΣ⁻¹
    np.testing.assert_allclose(numeric(grad_sigma, sizes, values), central_gradient(loss, at, "Sigma"),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numeric(D.results["hessian"], sizes, values), central_hessian(loss, at, "mu"),
                               rtol=1e-5, atol=1e-5)
    mean, covariance = D.results["solution"]
    np.testing.assert_allclose(numeric(mean, sizes, values).reshape(-1), X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(numeric(covariance, sizes, values), np.cov(X.T, bias=True), rtol=1e-10)


def test_the_route_a_textbook_takes():
    D = build("mvn")
    rules = [s.rule for s in D.steps]
    for rule in ("multivariate normal density", "independent observations", "the trace trick", "the scatter matrix",
                 "∂ log det Σ/∂Σ = Σ⁻ᵀ; ∂ tr(Σ⁻¹A)/∂Σ = −Σ⁻ᵀAᵀΣ⁻ᵀ", "Σ and A are symmetric", "solve for μ",
                 "solve for Σ", "at μ = μ̂", "positive definite"):
        assert rule in rules
    assert all(s.verified for s in D.steps)
    shown = [unicode(s.after) for s in D.steps]
    assert "−Σ⁻¹Σ_{i=1..n} (xᵢ − μ)" in shown and "−Σ⁻¹(Xᵀ𝟏 − nμ)" in shown
    assert "(n/2)Σ⁻¹ − (1/2)Σ⁻¹AΣ⁻¹" in shown and "(1/n)Σ_{i=1..n} (xᵢ − x̄)(xᵢ − x̄)ᵀ" in shown
    text = D.to_text()
    # the script's sentences that did not match their equations are gone with it
    assert "first two terms" not in text and "the second term" not in text


def test_explanations_name_the_users_symbols():
    D = derive.derivation(derive.model(**USER))
    said = " ".join(s.explanation for s in D.steps)
    assert "zᵢ ~ N(m, S)" in said and "d log det S = tr(S⁻¹dS)" in said and "the sample mean" in said
    assert "Σ⁻¹" not in said and "μ" not in said    # every sentence from the operands, none written for mvn's names


def test_vector_observations_are_read_as_rows():
    m = derive.model(likelihood="y_i ~ Categorical(softmax(W' x_i))", parameters=["W"], shapes="X:nxd, Y:nxK, W:dxK")
    statement = read_statement(m.likelihood, m.context(), m.expression)
    i = sp.Symbol("i", integer=True)
    assert statement.rows and statement.observed.name == "Y" and statement.family.title == "categorical"
    assert unicode(statement.observation(i)) == "yᵢ" and unicode(statement.arguments[0]) == "softmax(Wᵀxᵢ)"
    assert statement.arguments[0].has(Row(m.objects()["X"], i))
    assert "categorical likelihood of a vector observation is read, but not derived" in derive.derivation(m).stopped


def test_fit_agrees_with_numpy_and_scipy():
    rng = np.random.default_rng(5)
    X = rng.multivariate_normal([1, -2, 0.5], [[2, 0.5, 0], [0.5, 1, 0.3], [0, 0.3, 0.5]], size=500)
    for model in ("mvn", derive.model(**USER)):
        f = derive.fit(model, X, names=["a", "b", "c"])
        Sigma = np.cov(X.T, bias=True)
        np.testing.assert_allclose(f.coef, X.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(f.covariance, Sigma, rtol=1e-12)
        np.testing.assert_allclose(f.std_errors, np.sqrt(np.diag(Sigma) / 500), rtol=1e-12)
        assert f.loglike == pytest.approx(stats.multivariate_normal(X.mean(axis=0), Sigma).logpdf(X).sum(), rel=1e-12)
    assert derive.fit("mvn", X, names=["a", "b", "c"]).names == ["mu[a]", "mu[b]", "mu[c]"]


def test_fit_refuses_a_sample_that_does_not_span_the_space():
    X = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 7.0], [5.0, 1.0, 6.0], [2.0, 2.0, 4.0]])   # c = a + b
    with pytest.raises(DataError, match="not positive definite on these data"):
        derive.fit("mvn", X)
    with pytest.raises(DataError, match="at row 2"):
        derive.fit("mvn", np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 3.0]]))


def test_fit_from_a_model_file_on_the_command_line(capsys, tmp_path):
    file = tmp_path / "gauss.toml"
    file.write_text('symbols = { X = "n x d", mu = "d", Sigma = "d x d, pd" }\nparameters = ["mu", "Sigma"]\n'
                    'likelihood = "x_i ~ N(mu, Sigma)"\n', encoding="utf-8")
    data = derive.datasets.load("longley")
    columns = np.column_stack([data.data()[c] for c in ("x1", "x2")])
    for model in ("mvn", str(file)):
        assert main(["fit", model, str(data.path), "--features", "x1,x2", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert list(out["coefficients"]) == ["mu[x1]", "mu[x2]"]
        np.testing.assert_allclose(list(out["coefficients"].values()), columns.mean(axis=0), rtol=1e-14)
        np.testing.assert_allclose(out["covariance"], np.cov(columns.T, bias=True), rtol=1e-12)


@pytest.mark.parametrize("parameters", [["mu"], ["Sigma"]])
def test_one_parameter_with_the_other_known(parameters):
    """A known covariance (or mean): the same moves for the one parameter, the loss in matrix form."""
    D = derive.derivation(derive.model(likelihood="x_i ~ N(mu, Sigma)", parameters=parameters,
                                       shapes="X:nxd, mu:d, Sigma:dxd pd", name="one"))
    rng = np.random.default_rng(11)
    X, mu, Sigma = sample(rng, n=30)
    sizes, values = {"n": 30, "d": 3}, {"X": X, "mu": mu, "Sigma": Sigma}
    loss = negative_log_likelihood(X)
    at = {"mu": mu, "Sigma": Sigma}
    assert numeric(D.results["loss"], sizes, values) == pytest.approx(loss(at), rel=1e-12)
    np.testing.assert_allclose(numeric(D.results["gradient"], sizes, values),
                               central_gradient(loss, at, parameters[0]), rtol=1e-6, atol=1e-6)
    expected = X.mean(axis=0) if parameters == ["mu"] else (X - mu.T).T @ (X - mu.T) / 30
    np.testing.assert_allclose(numeric(D.results["solution"], sizes, values).reshape(expected.shape), expected,
                               rtol=1e-12)
    assert ("hessian" in D.results) == (parameters == ["mu"])


def test_a_statement_the_route_does_not_take_stops_where_it_must():
    D = derive.derivation(derive.model(likelihood="x_i ~ N(mu, s2 I_d)", parameters=["mu", "s2"],
                                       shapes="X:nxd, mu:d, s2:pos", name="isotropic"))
    assert "not all such" in D.stopped and all(s.verified for s in D.steps)


def test_the_printed_fit_shows_the_covariance_estimate(capsys):
    data = derive.datasets.load("longley")
    assert main(["fit", "mvn", str(data.path), "--features", "x1,x2"]) == 0
    out = capsys.readouterr().out
    columns = np.column_stack([data.data()[c] for c in ("x1", "x2")])
    expected = np.cov(columns.T, bias=True)
    assert "covariance estimate (maximum likelihood, divisor n):" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("x2 "))
    np.testing.assert_allclose([float(v) for v in row.split()[1:]], expected[1], rtol=1e-9)


@pytest.mark.parametrize("shapes,words", [
    ("X:nxd, mu:d, Sigma:dxd", 'the covariance of N(mean, covariance) is Σ, which must be a positive definite matrix: '
                               'declare it so (Sigma = "d x d, pd")'),
    ("X:nxd, mu:d", "the covariance of N(mean, covariance) is Sigma (a scalar); for a d×1 observation (a row of X) "
                    "it must be d×d"),
    ("X:nxd, mu:k, Sigma:dxd pd", "the mean of N(mean, covariance) is mu (k×1); for a d×1 observation"),
])
def test_a_statement_with_the_wrong_arguments_exits_2_in_one_line(capsys, shapes, words):
    code = main(["show", "--likelihood", "x_i ~ N(mu, Sigma)", "--wrt", "mu, Sigma", "--shapes", shapes])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_vector_observation_names_the_families_it_takes(capsys):
    assert main(["show", "--likelihood", "x_i ~ Poisson(mu)", "--wrt", "mu", "--shapes", "X:nxd, mu:d"]) == 2
    assert "distributions: N(mean, covariance), Categorical(p)" in capsys.readouterr().err
