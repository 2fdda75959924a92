"""Fit results as statsmodels users expect (DESIGN §10): tests, intervals, likelihoods, predictions and
names, compared with statsmodels on the shipped datasets."""
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from conftest import DATASETS

import derive
from derive.cli import main
from derive.datasets import load
from derive.fitting.distributions import t_quantile, t_two_sided


def frame(name):
    return pd.read_csv(load(name).path)


def assert_statistics_match(ours, reference, rtol=1e-8):
    np.testing.assert_allclose(ours.coef, reference.params, rtol=rtol)
    np.testing.assert_allclose(ours.std_errors, reference.bse, rtol=rtol)
    np.testing.assert_allclose(ours.tvalues, reference.tvalues, rtol=rtol)
    np.testing.assert_allclose(ours.pvalues, reference.pvalues, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(ours.conf_int(), reference.conf_int(), rtol=rtol)
    np.testing.assert_allclose(ours.conf_int(0.1), reference.conf_int(0.1), rtol=rtol)
    assert ours.loglike == pytest.approx(reference.llf, rel=rtol)
    assert ours.aic == pytest.approx(reference.aic, rel=rtol)
    assert ours.bic == pytest.approx(reference.bic, rel=rtol)
    assert ours.df_resid == reference.df_resid and ours.nobs == reference.nobs


def test_ols_on_longley_matches_statsmodels():
    data = frame("longley")
    X = sm.add_constant(data.drop(columns="y"))
    ours, reference = derive.fit("ols", X, data["y"]), sm.OLS(data["y"], X).fit()
    assert ours.names == ["const", "x1", "x2", "x3", "x4", "x5", "x6"]  # a DataFrame's names are kept
    assert_statistics_match(ours, reference)
    assert ours.r_squared == pytest.approx(reference.rsquared, rel=1e-12)
    np.testing.assert_allclose(ours.predict(X.iloc[:5]), reference.predict(X.iloc[:5]), rtol=1e-10)


def test_logistic_on_spector_matches_statsmodels():
    data = frame("spector")
    X = sm.add_constant(data[["GPA", "TUCE", "PSI"]])
    ours, reference = derive.fit("logistic", X, data["GRADE"]), sm.Logit(data["GRADE"], X).fit(disp=0, tol=1e-12)
    assert_statistics_match(ours, reference, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-8)


def test_poisson_on_randhie_matches_statsmodels():
    data = frame("randhie")
    X = sm.add_constant(data.drop(columns="mdvis"))
    ours = derive.fit("poisson", X, data["mdvis"])
    reference = sm.Poisson(data["mdvis"], X).fit(disp=0, method="newton", tol=1e-12)
    assert_statistics_match(ours, reference, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X.iloc[:10]), reference.predict(X.iloc[:10]), rtol=1e-8)


def test_formula_in_python_like_statsmodels():
    data = frame("longley")
    ours = derive.fit("ols", data=data, formula="y ~ x1*x2 + I(x3^2) + x4")
    reference = smf.ols("y ~ x1*x2 + I(x3**2) + x4", data).fit()
    assert ours.names == ["intercept", "x1", "x2", "x1:x2", "I(x3^2)", "x4"]
    np.testing.assert_allclose(ours.coef, reference.params, rtol=1e-8)
    np.testing.assert_allclose(ours.pvalues, reference.pvalues, rtol=1e-7)


def test_categorical_terms_like_statsmodels():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": rng.choice(["north", "south", "west"], 60), "x": rng.normal(size=60)})
    data["y"] = 1 + 2 * data["x"] + (data["g"] == "south") - 0.5 * (data["g"] == "west") + rng.normal(size=60)
    ours = derive.fit("ols", data=data, formula="y ~ C(g)*x")
    reference = smf.ols("y ~ C(g)*x", data).fit()
    assert ours.names == [n.replace("Intercept", "intercept") for n in reference.model.exog_names]
    assert_statistics_match(ours, reference)


@pytest.mark.parametrize("df", [1, 3, 9, 40, 1000])
def test_t_distribution_against_scipy(df):
    from scipy import stats
    for t in (0.05, 1.0, 2.5, 8.0, 40.0):
        assert t_two_sided(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-10)
    for p in (0.6, 0.95, 0.975, 0.9995):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10)


def test_summary_and_html_show_the_table():
    data = frame("longley")
    f = derive.fit("ols", sm.add_constant(data.drop(columns="y")), data["y"])
    text = f.summary()
    for word in ("estimate", "std. error", "P>|t|", "[0.025", "0.975]", "const", "AIC", "R²",
                 "condition number (design"):
        assert word in text
    assert "<table>" in f._repr_html_() and "P&gt;|t|" in f._repr_html_()


def test_fit_json_has_p_values_and_intervals(capsys):
    assert main(["fit", "logistic", str(DATASETS / "spector.csv"), "--target", "GRADE", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    data = frame("spector")
    X = sm.add_constant(data[["GPA", "TUCE", "PSI"]])
    reference = sm.Logit(data["GRADE"], X).fit(disp=0, tol=1e-12)
    assert list(out["p_values"]) == ["intercept", "GPA", "TUCE", "PSI"]
    np.testing.assert_allclose(list(out["p_values"].values()), reference.pvalues, rtol=1e-7)
    np.testing.assert_allclose(list(out["conf_int"].values()), reference.conf_int(), rtol=1e-7)


def test_weighted_least_squares_matches_statsmodels_wls(tmp_path, capsys):
    data = frame("longley")
    weights = 1 + (np.arange(len(data)) % 4)
    X = sm.add_constant(data.drop(columns="y"))
    reference = sm.WLS(data["y"], X, weights=weights).fit()
    ours = derive.fit("ols", X, data["y"], weights=weights)
    assert_statistics_match(ours, reference, rtol=1e-8)
    assert ours.r_squared == pytest.approx(reference.rsquared, rel=1e-10)
    path = tmp_path / "weighted.csv"
    data.assign(w=weights).to_csv(path, index=False)
    assert main(["fit", "ols", str(path), "--target", "y", "--weights", "w", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["coefficients"]) == ["intercept", "x1", "x2", "x3", "x4", "x5", "x6"]  # w is no feature
    np.testing.assert_allclose(list(out["coefficients"].values()), reference.params, rtol=1e-8)
    with pytest.raises(derive.DataError, match="the weights must be finite and ≥ 0; -1.0 is not at row 2"):
        derive.fit("ols", X, data["y"], weights=[1, -1] + [1] * 14)


def test_poisson_with_exposure_and_offset_matches_statsmodels(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 400
    data = pd.DataFrame({"x": rng.normal(size=n), "t": rng.uniform(0.5, 20, n), "o": rng.normal(0, 0.3, n)})
    data["count"] = rng.poisson(data["t"] * np.exp(0.2 + 0.7 * data["x"] + data["o"]))
    X = sm.add_constant(data[["x"]])
    reference = sm.Poisson(data["count"], X, exposure=data["t"], offset=data["o"]).fit(disp=0, tol=1e-12)
    ours = derive.fit("poisson", X, data["count"], exposure=data["t"], offset=data["o"])
    assert_statistics_match(ours, reference)
    np.testing.assert_allclose(ours.predict(X, offset=data["o"], exposure=data["t"]),
                               reference.predict(X, offset=data["o"], exposure=data["t"]), rtol=1e-8)
    path = tmp_path / "counts.csv"
    data.to_csv(path, index=False)
    assert main(["fit", "poisson", str(path), "--target", "count", "--features", "x", "--exposure", "t",
                 "--offset", "o", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(list(out["coefficients"].values()), reference.params, rtol=1e-8)
    assert out["loglike"] == pytest.approx(reference.llf, rel=1e-10)
    with pytest.raises(derive.DataError, match="exposure must be finite and > 0"):
        derive.fit("poisson", X, data["count"], exposure=-data["t"])
