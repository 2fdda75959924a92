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
    x = rng.normal(3, 2, size=400)
    f = derive.fit("gaussian", x)
    np.testing.assert_allclose(f.coef, [x.mean(), x.var()], rtol=1e-13)
    np.testing.assert_allclose(f.std_errors, [x.std() / np.sqrt(400), x.var() * np.sqrt(2 / 400)], rtol=1e-12)
    assert f.loglike == pytest.approx(stats.norm.logpdf(x, x.mean(), x.std()).sum(), rel=1e-12)
    assert f.names == ["mu", "sigma^2"]


def test_bernoulli(rng):
    x = (rng.random(250) < 0.3).astype(float)
    f = derive.fit("bernoulli", x)
    p = x.mean()
    np.testing.assert_allclose(f.coef, [p], rtol=1e-15)
    np.testing.assert_allclose(f.std_errors, [np.sqrt(p * (1 - p) / 250)], rtol=1e-12)
    assert f.loglike == pytest.approx(stats.bernoulli.logpmf(x, p).sum(), rel=1e-12)
    with pytest.raises(derive.DataError, match="on the boundary"):
        derive.fit("bernoulli", np.ones(5))
    with pytest.raises(derive.DataError, match=r"bernoulli needs x in \{0, 1\}; x = 2.0 at row 3"):
        derive.fit("bernoulli", np.array([0, 1, 2, 1.0]))


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
    assert main(["fit", "gaussian", str(DATASETS / "Longley.csv"), "--target", "y"]) == 0
    assert "sigma^2" in capsys.readouterr().out
