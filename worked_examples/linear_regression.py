"""Linear regression: OLS and ridge, derived, then fitted on the Longley data against NIST's certified values.

Run it with

    python worked_examples/linear_regression.py [--out DIR]

What it shows, top to bottom:
1. The OLS derivation, every step named and verified: loss, gradient, normal equations, Hessian
   (positive semidefinite, so the loss is convex), closed-form solution.
2. The ridge derivation: the penalty λ‖β‖² adds 2λI to the Hessian, and the same estimate is the MAP
   estimate under a Gaussian prior on β.
3. The Longley data (NIST StRD, "higher difficulty": the columns are nearly collinear, XᵀX has a
   condition number around 10¹⁹ in the original units). derive.fit with method="exact" reproduces all
   seven certified coefficients to the 15 digits NIST gives (log relative error, LRE, ≥ 14); numpy's
   lstsq, and above all the textbook formula (XᵀX)⁻¹Xᵀy evaluated with an explicit inverse, lose digits.
4. A ridge path: the coefficients of the standardised columns as λ grows from 0 (OLS) to large
   (everything shrunk to 0).
5. The least-squares estimate is unbiased with covariance σ²(XᵀX)⁻¹ (derive show ols-moments): checked by
   simulating new targets from the Longley fit; derive.fit's standard errors are the square roots of its
   diagonal with σ̂² in place of σ².
6. Basis functions and the bias–variance trade-off (derive show bias-variance): NIST's certified degree-10
   polynomial for the Filip data is taken as the truth f and its certified residual SD as σ; fitting
   Chebyshev polynomials of degree 0…20 in x, the derived bias² falls, the variance grows like σ²·d/n
   (d = degree + 1, the trace of the hat matrix), and the expected test error is smallest at degree 10, the
   truth's own: below it bias dominates, above it only variance is added.
7. Bayesian linear regression (derive show bayes-linear): on the standardised Longley data, the posterior
   N(m, S) with a prior β ~ N(0, τ²I); its mean is the ridge fit with λ = σ²/τ².
Plots: `ridge_path.png` and `bias_variance.png`.

Data: the Longley dataset shipped with derive (derive/datasets/data/Longley.csv, with NIST's certified values).
"""
import csv
import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import DATASETS, FIGURES, columns, heading, output_folder, print_steps, save_figure, show, standardised

import derive
import derive.datasets
from derive.core.numeval import evaluate
from derive.expr.printing import unicode


def load_longley():
    """(X with an intercept column first, y, column names) from Longley.csv."""
    with open(DATASETS / "Longley.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    features = ["x1", "x2", "x3", "x4", "x5", "x6"]
    y = np.array([float(row["y"]) for row in rows])
    X = np.array([[1.0] + [float(row[name]) for name in features] for row in rows])
    return X, y, ["intercept"] + features


def log_relative_error(estimate, certified: str) -> float:
    """LRE = −log10(|estimate − certified| / |certified|): the number of correct significant digits.

    The certified value is a decimal string; it is compared exactly (as a fraction), never rounded to a
    float first. NIST gives 15 significant digits, so the LRE is capped at 15."""
    certified = Fraction(Decimal(certified))
    relative_error = abs(Fraction(float(estimate)) - certified) / abs(certified)
    if relative_error == 0:
        return 15.0
    return min(15.0, -math.log10(relative_error))


def main(output_dir=FIGURES) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------------------------
    heading("1. Ordinary least squares, derived")
    ols = derive.derivation("ols")
    print(ols.to_text())

    # ------------------------------------------------------------------------------------------------
    heading("2. Ridge regression, derived")
    ridge = derive.derivation("ridge")
    print_steps(ridge)
    for quantity, expression in ridge.results.items():
        print(f"{quantity:>9}: {unicode(expression)}")

    # ------------------------------------------------------------------------------------------------
    heading("3. Longley: derive.fit against NIST's certified values")
    X, y, names = load_longley()
    reference = json.loads((DATASETS / "Longley.json").read_text())
    certified = [reference["certified"][f"B{j}"] for j in range(7)]
    certified_se = [reference["certified_std_errors"][f"B{j}"] for j in range(7)]
    # The condition number of XᵀX is the square of that of X: the normal equations in floating point
    # lose twice as many digits as a method that works on X itself.
    print(f"{X.shape[0]} observations, {X.shape[1]} coefficients; condition number of X: {np.linalg.cond(X):.1e}, "
          f"of XᵀX: {np.linalg.cond(X) ** 2:.1e}")

    # method="exact": the normal equations solved in rational arithmetic on the decimal data.
    fit = derive.fit("ols", X, y, method="exact", names=names)
    lre = [log_relative_error(b, c) for b, c in zip(fit.coef, certified)]
    lre_se = [log_relative_error(s, c) for s, c in zip(fit.std_errors, certified_se)]

    # Two floating-point alternatives, for comparison.
    lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
    # The derived closed form (XᵀX)⁻¹Xᵀy evaluated literally, with an explicit inverse.
    explicit_inverse = evaluate(ols.results["solution"], {"X": X, "y": y.reshape(-1, 1), "n": len(y), "d": 7}).ravel()
    lre_lstsq = [log_relative_error(b, c) for b, c in zip(lstsq, certified)]
    lre_inverse = [log_relative_error(b, c) for b, c in zip(explicit_inverse, certified)]

    print(f"{'':>10} {'certified (NIST)':>22} {'derive.fit exact':>22} {'LRE':>5} {'lstsq LRE':>10} "
          f"{'inv() LRE':>10} {'std. error LRE':>15}")
    for j, name in enumerate(names):
        print(f"{name:>10} {float(certified[j]):>22.15g} {fit.coef[j]:>22.15g} {lre[j]:5.1f} {lre_lstsq[j]:10.1f} "
              f"{lre_inverse[j]:10.1f} {lre_se[j]:15.1f}")
    print(f"smallest LRE: derive.fit exact {min(lre):.1f}, numpy lstsq {min(lre_lstsq):.1f}, "
          f"explicit inverse {min(lre_inverse):.1f} (digits)")
    # NIST rounds its values to 15 significant digits, so an LRE between 14 and 15 can still be a match
    # to the last digit: round the estimates to 15 digits and compare the decimal strings.
    matches = sum(f"{Decimal(float(b)):.14e}" == f"{Decimal(c):.14e}" for b, c in zip(fit.coef, certified))
    print(f"coefficients equal to the certified value when rounded to 15 significant digits: {matches} of 7")
    print(f"residual SD {fit.residual_sd:.15g} (certified {reference['residual_sd']}), "
          f"R² {fit.r_squared:.15g} (certified {reference['r_squared']})")

    # ------------------------------------------------------------------------------------------------
    heading("4. A ridge path on the standardised columns")
    # Ridge penalises every coefficient equally, so the columns should be on the same scale: standardise
    # them (mean 0, standard deviation 1). Centring X and y also removes the intercept, which should not
    # be shrunk.
    features = X[:, 1:]
    Z = (features - features.mean(axis=0)) / features.std(axis=0)
    y_centred = y - y.mean()
    lambdas = np.logspace(-4, 4, 50)
    path = np.array([derive.fit("ridge", Z, y_centred, lam=lam).coef for lam in lambdas])
    # λ = 0 is OLS: the slopes in standard-deviation units, coefficient × standard deviation of its column.
    at_zero = derive.fit("ridge", Z, y_centred, lam=0.0).coef
    ols_standardised = fit.coef[1:] * features.std(axis=0)
    print(f"λ = 0:    {np.array2string(at_zero, precision=2)}")
    print(f"OLS × sd: {np.array2string(ols_standardised, precision=2)}")
    # One point of the path checked against the derived formula (XᵀX + λI)⁻¹Xᵀy.
    lam = lambdas[25]
    formula = evaluate(ridge.results["solution"], {"X": Z, "y": y_centred.reshape(-1, 1), "lambda": lam,
                                                   "n": len(y), "d": Z.shape[1]}).ravel()
    formula_difference = float(np.max(np.abs(formula - path[25]) / np.abs(path[25])))
    print(f"at λ = {lam:.3g}: derive.fit and the derived formula agree to {formula_difference:.1e} (relative)")
    print(f"at λ = {lambdas[-1]:g}: {np.array2string(path[-1], precision=2)}: shrunk towards 0")

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for j, name in enumerate(names[1:]):
        axis.semilogx(lambdas, path[:, j], label=name)
    axis.axhline(0, color="k", linewidth=0.5)
    axis.set_xlabel("λ (log scale)")
    axis.set_ylabel("coefficient of the standardised column")
    axis.set_title("Ridge path, Longley data")
    axis.legend(ncol=2)
    plot = save_figure(figure, output_dir, "ridge_path.png")
    moments = sampling_distribution(X, y, fit)
    trade_off = bias_variance_over_degree(output_dir)
    bayes = bayesian_regression(X, y)

    return {**moments, **trade_off, **bayes,
        "names": names, "coef": fit.coef, "std_errors": fit.std_errors, "method": fit.method,
        "lre": lre, "digits_matching": matches, "lre_std_errors": lre_se, "lre_lstsq": lre_lstsq,
        "lre_explicit_inverse": lre_inverse,
        "residual_sd": fit.residual_sd, "r_squared": fit.r_squared,
        "ridge_lambdas": lambdas, "ridge_path": path, "ridge_at_zero": at_zero,
        "ols_standardised": ols_standardised, "ridge_formula_difference": formula_difference,
        "plots": [plot, trade_off["bias_variance_plot"]],
    }


def sampling_distribution(X, y, fit) -> dict:
    heading("5. The sampling distribution of β̂")
    moments = derive.derivation("ols-moments")
    show(moments)
    # Standardised columns, so that the explicit inverse in the derived formula is harmless here.
    Z = np.column_stack([np.ones(len(y)), standardised(X[:, 1:])])
    beta_true = np.linalg.lstsq(Z, y, rcond=None)[0]
    residuals = y - Z @ beta_true
    sigma2 = float(residuals @ residuals / (len(y) - Z.shape[1]))
    rng = np.random.default_rng(1947)
    simulated = Z @ beta_true + rng.normal(0, np.sqrt(sigma2), (50_000, len(y)))
    estimates = np.linalg.lstsq(Z, simulated.T, rcond=None)[0].T
    covariance = evaluate(moments.results["covariance"], {"X": Z, "sigma^2": sigma2, "n": len(y), "d": Z.shape[1]})
    bias = float(np.max(np.abs(estimates.mean(axis=0) - beta_true) / np.sqrt(np.diag(covariance))))
    covariance_error = float(np.max(np.abs(np.cov(estimates, rowvar=False) - covariance)) / np.max(np.abs(covariance)))
    standard_errors = derive.fit("ols", Z, y).std_errors
    print(f"50000 simulated Longley years from the fit: the mean of β̂ is within {bias:.3f} standard errors of β; "
          f"the sample covariance matches σ²(XᵀX)⁻¹ to {100 * covariance_error:.1f}%")
    print(f"derive.fit's standard errors are √diag(σ̂²(XᵀX)⁻¹): "
          f"{np.max(np.abs(standard_errors - np.sqrt(np.diag(covariance)))):.1e} apart")
    return {"simulated_bias_in_se": bias, "simulated_covariance_error": covariance_error,
            "std_errors_vs_derived": float(np.max(np.abs(standard_errors - np.sqrt(np.diag(covariance)))))}


def bias_variance_over_degree(output_dir) -> dict:
    heading("6. Basis functions: bias, variance and the degree of the polynomial")
    decomposition = derive.derivation("bias-variance")
    show(decomposition)
    filip = derive.datasets.load("filip")
    x = columns("filip", ["x"]).ravel()
    certified = [float(v) for v in filip.reference["certified"].values()]
    truth = np.polyval(certified[::-1], x)                  # NIST's certified polynomial, taken as f
    sigma2 = float(filip.reference["residual_sd"]) ** 2
    t = (2 * x - x.min() - x.max()) / (x.max() - x.min())  # x mapped onto [−1, 1], where Chebyshev is stable
    degrees = np.arange(0, 21)
    bias2, variance, error = [], [], []
    for degree in degrees:
        X = np.polynomial.chebyshev.chebvander(t, degree)
        env = {"X": X, "f": truth.reshape(-1, 1), "sigma^2": sigma2, "n": len(x), "d": degree + 1}
        at_points = []
        for k in range(len(x)):                            # the error at each x₀ of the design, then averaged
            point = {**env, "x_0": X[[k]].T, "f_0": truth[k]}
            at_points.append([evaluate(decomposition.results[q], point).item() for q in ("bias", "variance",
                                                                                      "expected_error")])
        b, v, e = np.mean(np.array(at_points) ** [2, 1, 1], axis=0)   # the bias squared, then averaged
        bias2.append(b)
        variance.append(v)
        error.append(e)
    bias2, variance, error = map(np.array, (bias2, variance, error))
    best = int(degrees[np.argmin(error)])
    print(f"σ = {np.sqrt(sigma2):.3e} (NIST's certified residual SD), n = {len(x)}")
    for degree in (1, 4, 8, best, 20):
        k = int(degree)
        print(f"  degree {k:2d}: bias² {bias2[k]:.3e}, variance {variance[k]:.3e} (σ²d/n = "
              f"{sigma2 * (k + 1) / len(x):.3e}), expected error {error[k]:.3e}")
    print(f"the expected test error is smallest at degree {best}")
    print("What to notice: bias² falls to rounding at degree 10, the degree of the truth; averaged over the "
          "design points the variance is exactly σ²·tr(H)/n = σ²d/n (derive show projection: tr H = d), so each "
          "extra basis function costs σ²/n whether it helps or not.")
    # One degree checked by simulation: fit noisy copies of the truth, predict at the design points.
    X4 = np.polynomial.chebyshev.chebvander(t, 4)
    rng = np.random.default_rng(82)
    noisy = truth + rng.normal(0, np.sqrt(sigma2), (20_000, len(x)))
    predictions = X4 @ np.linalg.lstsq(X4, noisy.T, rcond=None)[0]
    new_targets = truth[:, None] + rng.normal(0, np.sqrt(sigma2), predictions.shape)
    simulated_error = float(np.mean((new_targets - predictions) ** 2))
    print(f"degree 4 by simulation (20000 data sets): expected test error {simulated_error:.4e}, derived {error[4]:.4e}")

    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.semilogy(degrees, bias2, "o-", label="bias² (derived)")
    axis.semilogy(degrees, variance, "s-", label="variance (derived)")
    axis.semilogy(degrees, error, "k^-", label="expected test error σ² + bias² + variance")
    axis.axhline(sigma2, color="grey", linestyle="--", label="σ² (irreducible)")
    axis.axvline(best, color="grey", linestyle=":")
    axis.set_xlabel("degree of the Chebyshev polynomial fitted")
    axis.set_ylabel("averaged over the design points (log scale)")
    axis.set_title("Filip: the bias–variance trade-off")
    axis.legend()
    plot = save_figure(figure, output_dir, "bias_variance.png")
    return {"degrees": degrees, "bias2": bias2, "variance": variance, "expected_error": error, "best_degree": best,
            "noise_variance": sigma2, "simulated_error_degree_4": simulated_error, "bias_variance_plot": plot}


def bayesian_regression(X, y) -> dict:
    heading("7. Bayesian linear regression")
    bayes = derive.derivation("bayes-linear")
    show(bayes)
    Z, target = standardised(X[:, 1:]), (y - y.mean()) / y.std()
    n, d = Z.shape
    ols = np.linalg.lstsq(Z, target, rcond=None)[0]
    sigma2 = float(np.sum((target - Z @ ols) ** 2) / (n - d))   # the noise variance, estimated and then fixed
    tau2 = 0.25                                                  # prior: standardised effects of about ±0.5
    env = {"X": Z, "y": target.reshape(-1, 1), "sigma^2": sigma2, "tau^2": tau2, "n": n, "d": d}
    mean = evaluate(bayes.results["posterior_mean"], env).ravel()
    covariance = evaluate(bayes.results["posterior_covariance"], env)
    ridge = derive.fit("ridge", Z, target, lam=sigma2 / tau2).coef
    print(f"σ² = {sigma2:.4f} (from the OLS residuals), τ² = {tau2}: λ = σ²/τ² = {sigma2 / tau2:.4f}")
    print(f"posterior mean {np.array2string(mean, precision=3)}")
    print(f"ridge fit      {np.array2string(ridge, precision=3)} (max difference {np.max(np.abs(mean - ridge)):.1e})")
    print(f"OLS            {np.array2string(ols, precision=3)}")
    print(f"posterior sd   {np.array2string(np.sqrt(np.diag(covariance)), precision=3)}; OLS standard errors "
          f"{np.array2string(np.sqrt(sigma2 * np.diag(np.linalg.inv(Z.T @ Z))), precision=3)}")
    print("What to notice: the prior tames the collinear columns: their OLS estimates are large with large "
          "standard errors, the posterior pulls them towards 0 with far smaller uncertainty.")
    return {"posterior_mean": mean, "posterior_covariance": covariance, "ridge_map": ridge, "bayes_ols": ols,
            "bayes_sigma2": sigma2, "bayes_tau2": tau2}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
