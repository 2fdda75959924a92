"""Linear regression: OLS and ridge, derived, then fitted on the Longley data against NIST's certified values.

Run it with

    python worked_examples/linear_regression.py [OUTPUT_FOLDER]

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
It writes one plot, `ridge_path.png`.

Data: the Longley dataset shipped with derive (derive/datasets/data/Longley.csv, with NIST's certified values).
"""
import csv
import json
import math
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import DATASETS, heading, print_steps, save_figure

import derive
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


def main(output_dir=".") -> dict:
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

    return {
        "names": names, "coef": fit.coef, "std_errors": fit.std_errors, "method": fit.method,
        "lre": lre, "digits_matching": matches, "lre_std_errors": lre_se, "lre_lstsq": lre_lstsq,
        "lre_explicit_inverse": lre_inverse,
        "residual_sd": fit.residual_sd, "r_squared": fit.r_squared,
        "ridge_lambdas": lambdas, "ridge_path": path, "ridge_at_zero": at_zero,
        "ols_standardised": ols_standardised, "ridge_formula_difference": formula_difference,
        "plots": [plot],
    }


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
