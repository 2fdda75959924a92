"""The iid models fitted to a sample with the derived MLE and Hessian, against the textbook formulas in
numpy and scipy's log-densities."""
import json

import numpy as np
import pytest
from conftest import DATASETS
from scipy import stats

import derive
from derive.cli import main


@pytest.fixture
def rng():
    return np.random.default_rng(2)


def test_gaussian(rng):
    """The closed forms from the planned derivation, against numpy, scipy's MLE and the textbook's standard
    errors √(σ̂²/n) and σ̂²√(2/n) (the inverse of the derived Hessian at the estimates)."""
    x = rng.normal(3, 2, size=400)
    f = derive.fit("gaussian", x)
    np.testing.assert_allclose(f.coef, [x.mean(), x.var()], rtol=1e-13)
    np.testing.assert_allclose(f.coef, [stats.norm.fit(x)[0], stats.norm.fit(x)[1] ** 2], rtol=1e-12)
    np.testing.assert_allclose(f.std_errors, [x.std() / np.sqrt(400), x.var() * np.sqrt(2 / 400)], rtol=1e-12)
    assert f.loglike == pytest.approx(stats.norm.logpdf(x, x.mean(), x.std()).sum(), rel=1e-12)
    assert f.names == ["mu", "sigma2"] and f.method == "closed form"
    with pytest.raises(derive.DataError, match="every observation is 2.5, so the maximum-likelihood estimate of σ² is 0"):
        derive.fit("gaussian", np.full(4, 2.5))


def test_gaussian_mean_and_its_standard_error_match_statsmodels(rng):
    """μ̂ is the intercept of an intercept-only regression; its MLE standard error √(σ̂²/n) is statsmodels'
    √(s²/n) with the MLE σ̂² = (n − 1)s²/n in place of s²."""
    import statsmodels.api as sm
    x = rng.normal(-1, 0.5, size=120)
    reference = sm.OLS(x, np.ones((120, 1))).fit()
    f = derive.fit("gaussian", x)
    assert f.coef[0] == pytest.approx(reference.params[0], rel=1e-13)
    assert f.std_errors[0] == pytest.approx(reference.bse[0] * np.sqrt(119 / 120), rel=1e-12)


def test_bernoulli(rng):
    x = (rng.random(250) < 0.3).astype(float)
    f = derive.fit("bernoulli", x)
    p = x.mean()
    np.testing.assert_allclose(f.coef, [p], rtol=1e-15)
    np.testing.assert_allclose(f.std_errors, [np.sqrt(p * (1 - p) / 250)], rtol=1e-12)
    assert f.loglike == pytest.approx(stats.bernoulli.logpmf(x, p).sum(), rel=1e-12)
    with pytest.raises(derive.DataError, match="every observation is 1, so .* on the boundary"):
        derive.fit("bernoulli", np.ones(5))
    with pytest.raises(derive.DataError, match=r"x must be 0 or 1 .*; it is 2.0 at row 3"):
        derive.fit("bernoulli", np.array([0, 1, 2, 1.0]))


def test_the_built_in_name_and_its_model_file_fit_alike(rng):
    """`fit gaussian` is the model file's fit: the same numbers whichever is named."""
    from derive.derivations import MODEL_FILES
    x = rng.gamma(2.0, 1.5, size=60)
    for name in ("gaussian", "bernoulli"):
        sample = x if name == "gaussian" else (x > 2.5).astype(float)
        by_name, by_file = derive.fit(name, sample), derive.fit(str(MODEL_FILES / f"{name}.toml"), sample)
        np.testing.assert_array_equal(by_name.coef, by_file.coef)
        np.testing.assert_array_equal(by_name.std_errors, by_file.std_errors)


def test_mvn(rng):
    X = rng.multivariate_normal([1, -2, 0.5], [[2, 0.5, 0], [0.5, 1, 0.3], [0, 0.3, 0.5]], size=300)
    f = derive.fit("mvn", X, names=["a", "b", "c"])
    Sigma = np.cov(X.T, ddof=0)
    np.testing.assert_allclose(f.coef, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(f.covariance, Sigma, rtol=1e-12)
    np.testing.assert_allclose(f.std_errors, np.sqrt(np.diag(Sigma) / 300), rtol=1e-12)
    assert f.loglike == pytest.approx(stats.multivariate_normal(X.mean(axis=0), Sigma).logpdf(X).sum(), rel=1e-12)
    assert f.names == ["mu[a]", "mu[b]", "mu[c]"]


def test_iid_models_through_the_cli(capsys):
    assert main(["fit", "mvn", str(DATASETS / "Longley.csv"), "--features", "x1,x2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["coefficients"]) == ["mu[x1]", "mu[x2]"] and len(out["covariance"]) == 2
    assert main(["fit", "gaussian", str(DATASETS / "Longley.csv"), "--target", "y", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    y = np.loadtxt(DATASETS / "Longley.csv", delimiter=",", skiprows=1, usecols=0)
    assert out["coefficients"] == pytest.approx({"mu": y.mean(), "sigma2": y.var()}, rel=1e-13)
    assert out["std_errors"] == pytest.approx({"mu": y.std() / 4, "sigma2": y.var() * np.sqrt(2 / 16)}, rel=1e-12)
