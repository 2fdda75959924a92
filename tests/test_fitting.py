"""Fitting accuracy against certified and published results, cross-checks, and bad data."""
import json
import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from conftest import DATASETS

from derive.errors import DataError, NotSupported
from derive.fitting.data import design, read_csv
from derive.fitting.dispatch import FitResult, fit


def lre(estimate: float, certified: str) -> float:
    """Log relative error against a certified decimal string, compared exactly (never through float)."""
    c, e = Fraction(Decimal(certified)), Fraction(float(estimate))
    if e == c:
        return math.inf
    if c == 0:
        return -math.log10(abs(float(e)))
    return -math.log10(float(abs(e - c) / abs(c)))


# ----------------------------------------------------------------------------------------------------
# NIST StRD linear least squares.

NIST = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
        "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]
DEGREE = {"Pontius": 2, "Filip": 10, **{f"Wampler{i}": 5 for i in range(1, 6)}}


def nist_design(name):
    """The NIST model's design, polynomial columns x^k built exactly from the decimal text."""
    certified = json.loads((DATASETS / f"{name}.json").read_text())
    table = read_csv(DATASETS / f"{name}.csv")
    if name == "Longley":
        d = design(table, "y")
        return d.X, d.y, d.exact_data, certified
    x = [Fraction(v) for v in table.numbers("x")]
    y = [Fraction(v) for v in table.numbers("y")]
    powers = range(0 if certified["intercept"] else 1, DEGREE.get(name, 1) + 1)
    rows = [[v ** k for k in powers] for v in x]
    X = np.array([[float(v) for v in row] for row in rows])
    return X, np.array([float(v) for v in y]), (rows, y), certified


def nist_lres(f: FitResult, certified):
    keys = list(certified["certified"])
    return {
        "coefficients": min(lre(v, certified["certified"][k]) for v, k in zip(f.coef, keys)),
        "std_errors": min(lre(v, certified["certified_std_errors"][k]) for v, k in zip(f.std_errors, keys)),
        "residual_sd": lre(f.residual_sd, certified["residual_sd"]),
        "r_squared": lre(f.r_squared, certified["r_squared"]),
    }


@pytest.mark.parametrize("method", ["exact", "auto"])
@pytest.mark.parametrize("name", NIST)
def test_nist_exact_to_the_last_digit(name, method):
    X, y, exact, certified = nist_design(name)
    f = fit("ols", X, y, method, exact_data=exact)
    assert f.method == "exact"
    for what, value in nist_lres(f, certified).items():
        assert value >= 14, (what, value)


# Filip is left out: x^10 of the float x is not the decimal x^10, so its design is not the certified one.
@pytest.mark.parametrize("name", [name for name in NIST if name != "Filip"])
def test_nist_exact_from_floats(name):
    # Without the decimal text, the shortest decimal of each float is what was typed: still exact.
    X, y, _, certified = nist_design(name)
    f = fit("ols", X, y, "exact")
    assert nist_lres(f, certified)["coefficients"] >= 14


@pytest.mark.parametrize("name", NIST)
def test_nist_qr(name):
    X, y, _, certified = nist_design(name)
    f = fit("ols", X, y, "qr")
    assert f.method == "qr"
    for what, value in nist_lres(f, certified).items():
        assert value >= 7, (what, value)


def test_ill_conditioning_is_reported():
    X, y, _, _ = nist_design("Filip")
    f = fit("ols", X, y, "qr")
    assert f.condition_number > 1e8
    assert any("ill-conditioned" in w for w in f.warnings)


def test_cholesky_falls_back_to_qr_when_ill_conditioned():
    X, y, _, certified = nist_design("Longley")
    f = fit("ols", X, y, "cholesky")
    assert f.method == "qr" and "too ill-conditioned" in f.warnings[0]
    assert nist_lres(f, certified)["coefficients"] >= 7


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_cholesky_residual_sum_of_squares_matches_statsmodels(offset):
    """From the Gram sums when they do not cancel (offset 0), from the residuals when y's mean dwarfs its
    spread (offset 1e6: yᵀy/RSS ≈ 1e12) and the sums would lose digits."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(3000), rng.standard_normal((3000, 4))])
    y = offset + X @ rng.standard_normal(5) + rng.standard_normal(3000)
    ours, theirs = fit("ols", X, y, "cholesky"), sm.OLS(y, X).fit()
    assert ours.method == "cholesky"
    assert ours.loss == pytest.approx(theirs.ssr, rel=1e-12)
    np.testing.assert_allclose(ours.std_errors, theirs.bse, rtol=1e-10)


def test_to_dict_is_the_fit_json():
    X, y, exact, _ = nist_design("Norris")
    d = fit("ols", X, y, names=["intercept", "x"], exact_data=exact).to_dict()
    assert list(d)[:9] == ["model", "method", "coefficients", "std_errors", "converged", "iterations", "loss",
                           "p_values", "conf_int"]
    assert list(d["coefficients"]) == ["intercept", "x"]
    assert d["model"] == "ols" and d["method"] == "exact" and d["converged"] is True and d["iterations"] is None
    json.dumps(d, allow_nan=False)


# ----------------------------------------------------------------------------------------------------
# Logistic and Poisson regression against Stata and R.

def reference(name):
    return json.loads((DATASETS / name).read_text())


def by_name(f: FitResult, values: dict):
    return {name: float(values["const" if name == "intercept" else name]) for name in f.names}


@pytest.mark.parametrize("method", ["newton", "gd"])
def test_spector_logit(method):
    ref = reference("spector_logit.json")
    d = design(read_csv(DATASETS / "spector.csv"), "GRADE", ["GPA", "TUCE", "PSI"])
    X = d.X.copy()
    X[:, 1] = X[:, 1].astype(np.float32)  # Stata held GPA in single precision (datasets README)
    f = fit("logistic", X, d.y, method, names=d.names, tol=1e-10 if method == "gd" else None, progress=False)
    assert f.converged
    params, bse = by_name(f, ref["params"]), by_name(f, ref["bse"])
    np.testing.assert_allclose(f.coef, [params[k] for k in f.names], rtol=1e-6)
    np.testing.assert_allclose(f.std_errors, [bse[k] for k in f.names], rtol=1e-4)
    assert f.loglike == pytest.approx(float(ref["llf"]), rel=1e-9)
    assert f.history[-1] == pytest.approx(f.loss) and len(f.history) >= 2


def test_spector_logit_in_double_precision():
    ref = reference("spector_logit.json")
    d = design(read_csv(DATASETS / "spector.csv"), "GRADE", ["GPA", "TUCE", "PSI"])
    f = fit("logistic", d.X, d.y, names=d.names)
    params = by_name(f, ref["params"])
    np.testing.assert_allclose(f.coef, [params[k] for k in f.names], rtol=1e-6)
    assert f.method == "newton" and f.iterations <= 10


def test_cpunish_poisson():
    ref = reference("cpunish_poisson.json")
    table = read_csv(DATASETS / "cpunish.csv")
    columns = ["INCOME", "PERPOVERTY", "PERBLACK", "VC100k96", "SOUTH", "DEGREE"]
    d = design(table, "EXECUTIONS", columns)
    X = d.X.copy()
    X[:, 4] = np.log(X[:, 4])
    names = ["intercept", "INCOME", "PERPOVERTY", "PERBLACK", "LN_VC100k96", "SOUTH", "DEGREE"]
    f = fit("poisson", X, d.y, names=names)
    assert f.converged
    assert f.deviance == pytest.approx(float(ref["deviance"]), rel=1e-9)
    assert f.loglike == pytest.approx(float(ref["llf"]), rel=1e-9)
    params, bse = by_name(f, ref["params"]), by_name(f, ref["bse"])
    np.testing.assert_allclose(f.coef, [params[k] for k in names], rtol=5e-7)  # R printed 7 digits
    # R's glm takes the covariance from the weights of its last IRLS iteration, one step before the
    # optimum (its convergence test is on the deviance, at 1e-8): its standard errors are ~1e-5 off.
    np.testing.assert_allclose(f.std_errors, [bse[k] for k in names], rtol=2e-5)


def test_randhie_poisson():
    ref = reference("randhie_poisson.json")
    d = design(read_csv(DATASETS / "randhie.csv"), "mdvis")
    X = np.hstack([d.X[:, :1], d.X[:, 1:].astype(np.float32)])  # Stata held the regressors as float32
    f = fit("poisson", X, d.y, names=d.names)
    params, bse = by_name(f, ref["params"]), by_name(f, ref["bse"])
    np.testing.assert_allclose(f.coef, [params[k] for k in f.names], rtol=1e-6)
    np.testing.assert_allclose(f.std_errors, [bse[k] for k in f.names], rtol=1e-6)
    assert f.loglike == pytest.approx(float(ref["llf"]), rel=1e-9)


def shipped_glm(name):
    """(model, X, y, names) of a shipped GLM dataset: cpunish and randhie (Poisson), spector (logistic)."""
    if name == "spector":
        d = design(read_csv(DATASETS / "spector.csv"), "GRADE", ["GPA", "TUCE", "PSI"])
        return "logistic", d.X, d.y, d.names
    if name == "cpunish":
        d = design(read_csv(DATASETS / "cpunish.csv"), "EXECUTIONS",
                   ["INCOME", "PERPOVERTY", "PERBLACK", "VC100k96", "SOUTH", "DEGREE"])
        X = d.X.copy()
        X[:, 4] = np.log(X[:, 4])
        return "poisson", X, d.y, d.names
    d = design(read_csv(DATASETS / "randhie.csv"), "mdvis")
    return "poisson", d.X, d.y, d.names


@pytest.mark.parametrize("name", ["cpunish", "randhie", "spector"])
def test_gradient_descent_converges_to_statsmodels_glm(name):
    """Gradient descent with its default tolerance, in the coordinates where the columns are orthonormal:
    the step from the bound XᵀX/4 on the logistic Hessian; for Poisson, Barzilai–Borwein trial steps
    with backtracking on the loss (and, once loss differences drown in rounding, on the gradient).
    cpunish's Hessian has condition number 1e4: doubling steps on the centred and scaled columns took
    1e5 iterations (90 s on randhie) without reaching a relative gradient of 1e-9."""
    import statsmodels.api as sm
    model, X, y, names = shipped_glm(name)
    family = sm.families.Poisson() if model == "poisson" else sm.families.Binomial()
    reference = sm.GLM(y, X, family=family).fit(tol=1e-14)
    f = fit(model, X, y, "gd", names=names, progress=False)
    assert f.converged and f.iterations < 200
    np.testing.assert_allclose(f.coef, reference.params, rtol=1e-8)
    np.testing.assert_allclose(f.std_errors, reference.bse, rtol=1e-8)
    assert f.loglike == pytest.approx(reference.llf, rel=1e-12)


# ----------------------------------------------------------------------------------------------------
# Cross-checks on random data.

@pytest.fixture
def regression():
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(300), rng.standard_normal((300, 4)) * [1, 10, 0.1, 3]])
    y = X @ [1.0, -2.0, 0.5, 3.0, 0.0] + rng.standard_normal(300)
    return X, y


@pytest.mark.parametrize("method", ["exact", "qr", "cholesky"])
def test_ols_matches_statsmodels(regression, method):
    sm = pytest.importorskip("statsmodels.api")
    X, y = regression
    f = fit("ols", X, y, method)
    ref = sm.OLS(y, X).fit()
    np.testing.assert_allclose(f.coef, ref.params, rtol=1e-10)
    np.testing.assert_allclose(f.std_errors, ref.bse, rtol=1e-9)
    assert f.r_squared == pytest.approx(ref.rsquared, rel=1e-10)
    assert f.loss == pytest.approx(ref.ssr, rel=1e-10)
    assert f.residual_sd == pytest.approx(math.sqrt(ref.scale), rel=1e-10)


def test_tall_qr_matches_lstsq(monkeypatch):
    import derive.fitting.least_squares
    monkeypatch.setattr(derive.fitting.least_squares, "TALL_CELLS", 1000)  # take the one-pass path on small data
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(2000), rng.standard_normal((2000, 5)) + 50])
    y = X @ rng.standard_normal(6) + rng.standard_normal(2000)
    f = fit("ols", X, y, "qr")
    np.testing.assert_allclose(f.coef, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert not f.warnings


@pytest.mark.parametrize("method", ["exact", "qr", "cholesky"])
def test_ridge_matches_scikit_learn(regression, method):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = regression
    f = fit("ridge", X, y, method, lam=2.5)
    ref = linear_model.Ridge(alpha=2.5, fit_intercept=False, solver="cholesky", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(f.coef, ref.coef_, rtol=1e-9)
    assert f.std_errors is None
    assert f.loss == pytest.approx(np.sum((y - X @ f.coef) ** 2) + 2.5 * f.coef @ f.coef, rel=1e-12)


def test_logistic_matches_statsmodels_and_scikit_learn():
    sm = pytest.importorskip("statsmodels.api")
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(500), rng.standard_normal((500, 3))])
    y = (rng.random(500) < 1 / (1 + np.exp(-X @ [0.3, 1.0, -0.5, 0.2]))).astype(float)
    f = fit("logistic", X, y)
    ref = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(f.coef, ref.params, rtol=1e-8)
    np.testing.assert_allclose(f.std_errors, ref.bse, rtol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sk = linear_model.LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky",
                                             tol=1e-12, max_iter=100).fit(X, y)
    np.testing.assert_allclose(f.coef, sk.coef_[0], rtol=1e-7)


def test_poisson_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(400), rng.standard_normal((400, 3))])
    y = rng.poisson(np.exp(X @ [0.5, 0.3, -0.2, 0.1])).astype(float)
    f = fit("poisson", X, y)
    ref = sm.Poisson(y, X).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(f.coef, ref.params, rtol=1e-8)
    np.testing.assert_allclose(f.std_errors, ref.bse, rtol=1e-7)
    assert f.loglike == pytest.approx(ref.llf, rel=1e-12)
    g = fit("poisson", X, y, "gd", tol=1e-9)
    np.testing.assert_allclose(g.coef, f.coef, rtol=1e-6)


# ----------------------------------------------------------------------------------------------------
# Bad data.

def test_collinear_columns_are_named():
    rng = np.random.default_rng(6)
    x1, x2 = rng.standard_normal(30), rng.standard_normal(30)
    X = np.column_stack([np.ones(30), x1, x2, 2 * x1 - x2])
    names = ["intercept", "x1", "x2", "x3"]
    for method in ("exact", "qr", "cholesky"):
        with pytest.raises(DataError, match="x3 is a linear combination of x1, x2"):
            fit("ols", X, rng.standard_normal(30), method, names=names)
    y = (rng.random(30) < 0.5).astype(float)
    with pytest.raises(DataError, match="x3 is a linear combination of x1, x2"):
        fit("logistic", X, y, names=names)


def test_exactly_collinear_decimals_are_named_by_exact_elimination():
    X = np.array([[1, 1, 2, 0], [1, 2, 1, 3], [1, 3, 5, 1], [1, 4, 3, 5], [1, 5, 8, 2.0]])
    X[:, 3] = 2 * X[:, 1] - X[:, 2]
    with pytest.raises(DataError, match="x4 is a linear combination of x2, x3"):
        fit("ols", X, np.arange(5.0), "exact")


def test_constant_column_besides_the_intercept():
    X = np.column_stack([np.ones(5), np.arange(5.0), np.full(5, 3.0)])
    with pytest.raises(DataError, match="x3 is constant, like the intercept"):
        fit("ols", X, np.arange(5.0) ** 2, "qr")


def test_perfect_separation_names_the_direction():
    x = np.array([-3.0, -2.0, -1.5, -1.0, 1.0, 1.5, 2.0, 3.0])
    X = np.column_stack([np.ones(8), x, np.sin(np.arange(8))])
    y = (x > 0).astype(float)
    with pytest.raises(DataError, match=r"perfectly separated: .*·x .*> 0 exactly when y = 1"):
        fit("logistic", X, y, names=["intercept", "x", "z"])
    with pytest.raises(DataError, match="separated"):
        fit("logistic", X, y, "gd", names=["intercept", "x", "z"])


def test_quasi_complete_separation():
    x = np.array([-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 3.0])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1.0])
    with pytest.raises(DataError, match=r"quasi-completely separated: 1·x > 0 almost exactly when y = 1"):
        fit("logistic", np.column_stack([np.ones(8), x]), y, names=["intercept", "x"])


def test_quasi_separation_names_the_separating_direction_among_several_flat_ones():
    # With cos(x) as well, the Hessian is flat in two directions; only x separates the classes.
    x = np.array([-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 3.0])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1.0])
    with pytest.raises(DataError, match=r"quasi-completely separated: 1·x > 0 almost exactly when y = 1"):
        fit("logistic", np.column_stack([np.ones(8), x, np.cos(x)]), y, names=["intercept", "x", "cos x"])


@pytest.mark.parametrize("model, y, message", [
    ("logistic", [0, 1, 2, 1], r"y in \{0, 1\}; y = 2.0 at row 3"),
    ("logistic", [1, 1, 1, 1], "every y is 1"),
    ("poisson", [0, 1, -2, 1], "counts .* y = -2.0 at row 3"),
    ("poisson", [0, 1.5, 2, 1], "counts .* y = 1.5 at row 2"),
])
def test_bad_targets(model, y, message):
    X = np.column_stack([np.ones(4), [0.1, 0.5, 0.2, 0.9]])
    with pytest.raises(DataError, match=message):
        fit(model, X, np.array(y, dtype=float))


@pytest.mark.parametrize("model, method, lam", [
    ("ols", "exact", None), ("ols", "qr", None), ("ols", "cholesky", None), ("ridge", "cholesky", 1.0),
    ("logistic", "newton", None),
])
@pytest.mark.parametrize("where, bad, message", [
    ("X", np.nan, "X has a NaN value at row 3, column 'x2'"),
    ("X", -np.inf, "X has an infinite value at row 3, column 'x2'"),
    ("y", np.nan, "y has a NaN value at row 3$"),
    ("y", np.inf, "y has an infinite value at row 3$"),
])
def test_a_value_that_is_not_finite_is_named_by_every_method(model, method, lam, where, bad, message):
    # cholesky sees it in XᵀX (its one pass over X), the others look at the values: the same message
    X = np.column_stack([np.ones(6), [0.1, 0.5, 0.2, 0.9, 0.4, 0.3]])
    y = np.array([0, 1, 0, 1, 1, 0.0])
    (X[:, 1] if where == "X" else y)[2] = bad
    with pytest.raises(DataError, match=message):
        fit(model, X, y, method, lam=lam)


def test_values_whose_squares_overflow_are_not_mistaken_for_infinite_ones():
    X = np.column_stack([np.ones(50), np.linspace(-1, 1, 50) * 1e300])  # XᵀX overflows; X is finite
    y = 3.0 + 2e-300 * X[:, 1]
    f = fit("ols", X, y + np.sin(np.arange(50)) * 1e-3, "cholesky")
    reference = np.linalg.lstsq(X / [1, 1e300], y + np.sin(np.arange(50)) * 1e-3, rcond=None)[0] / [1, 1e300]
    np.testing.assert_allclose(f.coef, reference, rtol=1e-10)


def test_bad_inputs():
    X = np.column_stack([np.ones(4), [0.1, np.nan, 0.2, 0.9]])
    with pytest.raises(DataError, match="NaN value at row 2, column 'x2'"):
        fit("ols", X, np.arange(4.0))
    with pytest.raises(DataError, match="3 rows are fewer than the 4 parameters"):
        fit("ols", np.ones((3, 4)), np.arange(3.0))
    with pytest.raises(NotSupported, match="method 'newton' does not apply to ols"):
        fit("ols", np.ones((3, 1)), np.arange(3.0), "newton")
    with pytest.raises(NotSupported, match="cannot fit 'pca'"):
        fit("pca", np.ones((3, 1)), np.arange(3.0))
    with pytest.raises(DataError, match="ridge needs its penalty"):
        fit("ridge", np.ones((3, 1)), np.arange(3.0))


def test_progress_is_written_to_stderr_for_long_fits(capsys, monkeypatch):
    import derive.fitting.progress
    clock = iter(np.arange(0.0, 1000.0, 0.7))
    monkeypatch.setattr(derive.fitting.progress.time, "monotonic", lambda: next(clock))
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(50), rng.standard_normal(50)])
    y = (rng.random(50) < 0.5).astype(float)
    fit("logistic", X, y, "gd", progress=True, max_iter=20, tol=1e-300)
    err = capsys.readouterr().err
    assert "iteration" in err and err.endswith("\n")
    fit("logistic", X, y, "gd", progress=False, max_iter=20, tol=1e-300)
    assert capsys.readouterr().err == ""


def test_nist_filip_through_a_formula():
    from derive.fitting.data import load
    certified = json.loads((DATASETS / "Filip.json").read_text())
    d = load(DATASETS / "Filip.csv", formula="y ~ " + " + ".join(["x"] + [f"x^{k}" for k in range(2, 11)]))
    f = fit("ols", d.X, d.y, names=d.names, exact_data=d.exact_data)
    assert f.method == "exact"
    assert min(nist_lres(f, certified).values()) >= 14


@pytest.mark.parametrize("model", ["ols", "logistic"])
def test_plot(tmp_path, model):
    pytest.importorskip("matplotlib")
    from derive.fitting.plot import plot
    rng = np.random.default_rng(9)
    X = np.column_stack([np.ones(40), rng.standard_normal(40)])
    y = X @ [0.5, 1.0] + rng.standard_normal(40)
    if model == "logistic":
        y = (y > 0.5).astype(float)
    f = fit(model, X, y, names=["intercept", "x"])
    path = tmp_path / "fit.png"
    plot(f, X, y, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_printed_separating_direction_separates_breast_cancer():
    """Each term of the printed direction, as printed, is kept or dropped by its contribution on its
    column's scale: the direction read back from the message separates all 569 rows."""
    import re

    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer()
    names = ["intercept"] + [n.replace(" ", "_") for n in data.feature_names]
    X = np.column_stack([np.ones(len(data.target)), data.data])
    y = data.target.astype(float)
    with pytest.raises(DataError, match="perfectly separated") as error:
        fit("logistic", X, y, names=names)
    printed = str(error.value).split(": ", 1)[1].split(" > 0")[0]
    w = dict.fromkeys(names, 0.0)
    for sign, value, name in re.findall(r"(−|\+)?\s*([0-9.e+-]+)·(\w+)", printed):
        w[name] = -float(value) if sign == "−" else float(value)
    margin = (X @ np.array([w[n] for n in names])) * np.where(y == 1, 1, -1)
    assert np.all(margin > 0)


def test_poisson_counts_near_5e10_give_the_log_likelihood_to_full_precision():
    """No table of log-factorials up to the largest count (that once tried to allocate 373 GiB), and no
    cancellation: Σ yᵢ log μᵢ − μᵢ and Σ log yᵢ! are both about 1e14 here; the log-likelihood, about −2700,
    agrees with a 50-digit evaluation (mpmath) to 11 digits (statsmodels: 7; what is left is the rounding
    of Xβ itself, which exp amplifies)."""
    import mpmath
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = rng.poisson(5e10 * np.exp(0.01 * x)).astype(float)
    X = np.column_stack([np.ones(200), x])
    f = fit("poisson", X, y)
    with mpmath.workdps(50):
        mu = [mpmath.exp(mpmath.mpf(float(f.coef[0])) + mpmath.mpf(float(f.coef[1])) * mpmath.mpf(float(v)))
              for v in x]
        counts = [mpmath.mpf(float(v)) for v in y]
        loglike = sum(c * mpmath.log(m) - m - mpmath.loggamma(c + 1) for c, m in zip(counts, mu))
        deviance = 2 * sum(c * mpmath.log(c / m) - (c - m) for c, m in zip(counts, mu))
    assert f.loglike == pytest.approx(float(loglike), rel=1e-11)
    assert f.deviance == pytest.approx(float(deviance), rel=1e-10)


@pytest.mark.parametrize("model", ["logistic", "poisson"])
def test_glm_columns_near_the_limits_of_double_precision(model):
    """Columns near 1e-170 or 1e300 are fitted scaled by powers of two: the same fit, in their units."""
    x = np.array([1, 2, 3.5, 5, 1, 4, 2.5, 3])
    y = np.array([0, 1, 0, 1, 0, 1, 1, 0.0])
    plain = fit(model, np.column_stack([np.ones(8), x]), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape
        for scale in (1e-170, 1e300):
            f = fit(model, np.column_stack([np.ones(8), x * scale]), y)
            np.testing.assert_allclose(f.coef * [1, scale], plain.coef, rtol=1e-12)
            np.testing.assert_allclose(f.std_errors * [1, scale], plain.std_errors, rtol=1e-12)


def test_separating_direction_of_rescaled_columns_is_in_their_units():
    x = np.array([-3.0, -2.0, -1.5, -1.0, 1.0, 1.5, 2.0, 3.0]) * 1e300
    y = (x > 0).astype(float)
    with pytest.raises(DataError, match=r"perfectly separated: 1·x > 0 exactly when y = 1"):
        fit("logistic", np.column_stack([np.ones(8), x]), y, names=["intercept", "x"])


def test_generated_fit_code_is_kept_in_the_user_cache_and_a_corrupt_entry_is_rebuilt(tmp_path, monkeypatch):
    from derive.fitting import codegen
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    build = codegen.lambdify_results.__wrapped__  # past the in-process cache, as a new run would be
    rng = np.random.default_rng(3)
    X, y, beta = rng.normal(size=(50, 3)), (rng.random(50) < 0.5).astype(float), rng.normal(size=3)
    eta = X @ beta  # hand-written references: loss Σ softplus(η) − yᵀη, gradient Xᵀ(σ(η) − y)
    p = 1 / (1 + np.exp(-eta))
    reference = (np.sum(np.logaddexp(0, eta)) - y @ eta, X.T @ (p - y), (X.T * (p * (1 - p))) @ X)
    fresh = build("logistic", ("loss", "gradient", "hessian"))
    [entry] = tmp_path.glob("fitted-code-*")

    def no_derivation(model):
        raise AssertionError("the cached code should not need the derivation")
    with monkeypatch.context() as patched:
        patched.setattr(codegen, "derived_results", no_derivation)
        cached = build("logistic", ("loss", "gradient", "hessian"))
    entry.write_bytes(b'["def broken(:", null]')
    rebuilt = build("logistic", ("loss", "gradient", "hessian"))
    for function in (fresh, cached, rebuilt):
        for value, expected in zip(function(beta, X, y), reference):
            np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert cached.source == fresh.source == rebuilt.source and entry.read_bytes() != b'["def broken(:", null]'
