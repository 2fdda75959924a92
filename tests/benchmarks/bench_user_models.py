"""Fits of the user model files (tests/fixtures/models/) against the reference packages, on the same data:
the largest absolute and relative differences of the estimates, standard errors and log-likelihood, and the
time of each fit against the reference's, both measured in this process.

    probit            statsmodels Probit on Spector, on 5000 rows with |xᵢᵀβ| up to 40, and on 10⁵ × 10
    gaussian_linear   statsmodels OLS on Longley (β, σ̂² = RSS/n; the standard errors of the MLE) and NIST
    wls               statsmodels WLS, 200 rows
    exponential_rate  scipy.stats.expon.fit (rate = 1/scale)
    poisson_offset    statsmodels GLM Poisson with an offset on randhie (20 190 rows)
    gamma_sample      scipy.stats.gamma.fit(floc=0), shape and rate
    beta_sample       scipy.stats.beta.fit(floc=0, fscale=1)
    penalised_logistic  scikit-learn LogisticRegression(C = 1/(2λ), no separate intercept)

Run: python tests/benchmarks/bench_user_models.py. Not collected by pytest (file name bench_*.py).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import scipy.stats
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

import derive

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def timed(f, *args, repeats=5, **kwargs):
    """f's value and its best time of `repeats` runs (the machine may be busy)."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        value = f(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return value, best


def differences(ours, reference):
    ours, reference = np.atleast_1d(np.asarray(ours, float)), np.atleast_1d(np.asarray(reference, float))
    absolute = np.abs(ours - reference)
    return absolute.max(), (absolute / np.maximum(np.abs(reference), 1e-300)).max()


def columns(name, *keys):
    data = derive.datasets.load(name).data()
    return [data[k] for k in keys]


def cases():
    grade, gpa, tuce, psi = columns("spector", "GRADE", "GPA", "TUCE", "PSI")
    X = np.column_stack([np.ones(len(grade)), gpa, tuce, psi])
    yield "probit (spector)", "probit", (X, grade), {}, lambda: _statsmodels(sm.Probit(grade, X).fit(
        method="newton", tol=1e-14, disp=False))

    rng = np.random.default_rng(5)
    x = rng.normal(size=5000) * 4
    Xl = np.column_stack([np.ones(len(x)), x])
    yl = (rng.uniform(size=len(x)) < scipy.stats.norm.cdf(0.3 + 2.5 * x)).astype(float)
    yield "probit (|xβ| ≤ 40)", "probit", (Xl, yl), {}, lambda: _statsmodels(sm.Probit(yl, Xl).fit(
        method="newton", tol=1e-14, disp=False))

    rng = np.random.default_rng(6)
    Xm = np.column_stack([np.ones(100_000), rng.normal(size=(100_000, 9))])
    ym = (rng.uniform(size=len(Xm)) < scipy.stats.norm.cdf(Xm @ np.linspace(-1.0, 1.0, 10))).astype(float)
    yield "probit (10⁵ × 10)", "probit", (Xm, ym), {}, lambda: _statsmodels(sm.Probit(ym, Xm).fit(
        method="newton", tol=1e-14, disp=False))

    longley = columns("longley", "y", *[f"x{j}" for j in range(1, 7)])
    y, Xo = longley[0], np.column_stack([np.ones(16)] + longley[1:])

    def gaussian_linear_reference():
        ols = sm.OLS(y, Xo).fit()
        n = len(y)
        s2 = ols.ssr / n
        return (np.append(ols.params, s2), np.append(ols.bse * math.sqrt(ols.df_resid / n), s2 * math.sqrt(2 / n)),
                ols.llf)
    yield "gaussian_linear (longley)", "gaussian_linear", (Xo, y), {}, gaussian_linear_reference

    rng = np.random.default_rng(3)
    Xw = np.column_stack([np.ones(200), rng.normal(size=200), rng.uniform(0, 4, size=200)])
    w = rng.uniform(0.2, 3.0, size=200)
    yw = Xw @ [1.0, -2.0, 0.5] + rng.normal(size=200) / np.sqrt(w)
    yield "wls", "wls", (Xw, yw), {"weights": w}, lambda: _statsmodels(sm.WLS(yw, Xw, weights=w).fit(), llf=False)

    t = np.random.default_rng(4).exponential(scale=2.5, size=500)

    def exponential_reference():
        _, scale = scipy.stats.expon.fit(t, floc=0, method="MLE")
        return 1 / scale, (1 / scale) / math.sqrt(len(t)), scipy.stats.expon.logpdf(t, scale=scale).sum()
    yield "exponential_rate", "exponential_rate", (t,), {}, exponential_reference

    mdvis, *rest, physlm = columns("randhie", "mdvis", "lncoins", "idp", "lpi", "fmde", "physlm")
    Xp = np.column_stack([np.ones(len(mdvis))] + rest)
    yield "poisson_offset (randhie)", "poisson_offset", (Xp, mdvis), {"offset": physlm}, lambda: _statsmodels(
        sm.GLM(mdvis, Xp, family=sm.families.Poisson(), offset=physlm).fit(tol=1e-13))

    xg = np.random.default_rng(11).gamma(2.5, 1 / 1.7, size=400)

    def gamma_reference():
        shape, _, scale = scipy.stats.gamma.fit(xg, floc=0, method="MLE")
        return (shape, 1 / scale), None, scipy.stats.gamma.logpdf(xg, shape, scale=scale).sum()
    yield "gamma_sample", "gamma_sample", (xg,), {}, gamma_reference

    xb = np.random.default_rng(12).beta(2.0, 5.0, size=300)

    def beta_reference():
        a, b, _, _ = scipy.stats.beta.fit(xb, floc=0, fscale=1, method="MLE")
        return (a, b), None, scipy.stats.beta.logpdf(xb, a, b).sum()
    yield "beta_sample", "beta_sample", (xb,), {}, beta_reference

    yield "penalised_logistic (λ = 0.5)", "penalised_logistic", (X, grade), {}, lambda: (
        LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, grade).coef_.ravel(),
        None, None)


def _statsmodels(result, llf=True):
    return result.params, result.bse, result.llf if llf else None


def main():
    header = f"{'model file (data)':<30}{'coef abs':>10}{'coef rel':>10}{'SE rel':>10}{'loglike rel':>12}" \
             f"{'time ratio':>12}"
    print(header)
    print("-" * len(header))
    for label, name, data, options, reference in cases():
        model = derive.Model.from_toml(MODELS / f"{name}.toml")   # read once, as a script would
        derive.fit(model, *data, **options)   # plans and generates the code once; timed below: the fit itself
        fitted, ours_seconds = timed(derive.fit, model, *data, **options)
        (coef, errors, loglike), reference_seconds = timed(reference)
        coef_abs, coef_rel = differences(fitted.coef, coef)
        se_rel = differences(fitted.std_errors, errors)[1] if errors is not None else float("nan")
        ll_rel = differences(fitted.loglike, loglike)[1] if loglike is not None else float("nan")
        print(f"{label:<30}{coef_abs:>10.1e}{coef_rel:>10.1e}{se_rel:>10.1e}{ll_rel:>12.1e}"
              f"{ours_seconds / reference_seconds:>12.2f}")
    print("time ratio: derive's fit (its derivation planned and its code generated by an earlier call) / the "
          "reference's fit, best of 5 each")


if __name__ == "__main__":
    main()
