r"""Logistic regression: derived, fitted by Newton/IRLS on the Spector data, checked against Stata.

Run it with

    python worked_examples/logistic_regression.py [OUTPUT_FOLDER]

What it shows, top to bottom:
1. The derivation, rule by rule: from the Bernoulli likelihood to the loss 𝟏ᵀsoftplus(Xβ) − yᵀXβ,
   σ′ = σ(1 − σ), the gradient Xᵀ(σ(Xβ) − y), the Hessian XᵀSX with S = diag(σᵢ(1 − σᵢ)), and the
   Newton update, which is a weighted least-squares problem (IRLS).
2. Newton's method written out in a few lines with the derived update (derive.lambdify), on the
   Spector & Mazzeo data (does a new teaching method, PSI, improve grades?), and the same fit by
   derive.fit. Both agree with the published Stata estimates and standard errors to 1e-6 (relative).
3. Gradient descent on the same loss needs many more iterations: Newton converges quadratically
   (the number of correct digits doubles at each step), gradient descent linearly.
4. Checking a hand-derived gradient: derive.check says Xᵀ(σ(Xβ) − y) is right, and explains what is
   wrong with Xᵀ(y − σ(Xβ)), the gradient with its sign flipped.
It writes one plot, `logistic_convergence.png`: the loss minus its minimum per iteration, Newton vs
gradient descent.

Data: the Spector dataset shipped with derive (derive/datasets/data/spector.csv, with Stata's logit fit).
"""
import csv
import json
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import DATASETS, heading, save_figure

import derive
from derive.expr.printing import unicode


def load_spector():
    """(X, y, names): the columns in Stata's order GPA, TUCE, PSI and a constant; y = GRADE (0 or 1)."""
    with open(DATASETS / "spector.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    names = ["GPA", "TUCE", "PSI", "const"]
    X = np.array([[float(row["GPA"]), float(row["TUCE"]), float(row["PSI"]), 1.0] for row in rows])
    y = np.array([float(row["GRADE"]) for row in rows])
    return X, y, names


def main(output_dir=".") -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------------------------
    heading("1. The derivation, rule by rule")
    logistic = derive.derivation("logistic")
    for number, step in enumerate(logistic.steps, start=1):
        print(f"{number:3}. {step.rule}" + ("" if step.verified else "  (not verified!)"))
    print()
    for quantity, expression in logistic.results.items():
        print(f"{quantity:>9}: {unicode(expression)}")

    # ------------------------------------------------------------------------------------------------
    heading("2. Newton's method (IRLS) on the Spector data")
    X, y, names = load_spector()
    print(f"{len(y)} students; columns {names}; {int(y.sum())} improved their grade")

    # The derived quantities as numpy functions f(beta, X, y).
    loss = derive.lambdify("logistic", "loss")
    newton_update = derive.lambdify("logistic", "update")   # β − (XᵀSX)⁻¹Xᵀ(σ(Xβ) − y), solved, not inverted
    gradient = derive.lambdify("logistic", "gradient")

    beta = np.zeros(len(names))
    newton_losses = [loss(beta, X, y)]
    for iteration in range(1, 51):
        new_beta = newton_update(beta, X, y)
        change = np.max(np.abs(new_beta - beta))
        beta = new_beta
        newton_losses.append(loss(beta, X, y))
        print(f"  iteration {iteration}: loss {newton_losses[-1]:.15f}, largest change in β {change:.1e}")
        if change < 1e-10:
            break
    print(f"gradient at the estimate: {np.array2string(gradient(beta, X, y), precision=2)}")

    # derive.fit does the same, with safeguards (step halving, a convergence test, a check for separated
    # classes) and standard errors from the derived Hessian.
    fit = derive.fit("logistic", X, y, method="newton", names=names)
    print(f"\nderive.fit: {fit.method}, converged {fit.converged} after {fit.iterations} iterations")

    stata = json.loads((DATASETS / "spector_logit.json").read_text())
    stata_coef = np.array([float(stata["params"][name]) for name in names])
    stata_se = np.array([float(stata["bse"][name]) for name in names])
    coef_error = np.abs(fit.coef - stata_coef) / np.abs(stata_coef)
    se_error = np.abs(fit.std_errors - stata_se) / np.abs(stata_se)
    loop_error = np.abs(beta - stata_coef) / np.abs(stata_coef)
    print(f"{'':>6} {'Stata':>16} {'derive.fit':>16} {'rel. diff':>10} "
          f"{'Stata s.e.':>12} {'derive s.e.':>12} {'rel. diff':>10}")
    for j, name in enumerate(names):
        print(f"{name:>6} {stata_coef[j]:16.10f} {fit.coef[j]:16.10f} {coef_error[j]:10.1e} "
              f"{stata_se[j]:12.8f} {fit.std_errors[j]:12.8f} {se_error[j]:10.1e}")
    print(f"log-likelihood {fit.loglike:.12f} (Stata {stata['llf']})")
    # NOTE: the differences of ~1e-7 are Stata's: it held GPA in single precision (see the datasets README).
    print("(the ~1e-7 differences come from Stata storing GPA in single precision)")

    # ------------------------------------------------------------------------------------------------
    heading("3. Gradient descent on the same loss")
    # derive.fit's gradient descent works on the centred and scaled columns (where the curvature is more
    # even across directions) with the safe step 1/L, L = ‖X‖₂²/4 bounding the Hessian XᵀSX (σ(1 − σ) ≤ ¼).
    gd = derive.fit("logistic", X, y, method="gd", names=names)
    print(f"gradient descent: converged {gd.converged} after {gd.iterations} iterations "
          f"(Newton: {len(newton_losses) - 1})")
    print(f"largest relative difference from the Newton estimate: "
          f"{np.max(np.abs(gd.coef - fit.coef) / np.abs(fit.coef)):.1e}")

    best = min(min(newton_losses), min(gd.history))
    floor = 1e-16 * best   # rounding: the loss cannot be resolved more finely than this
    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.semilogy(np.maximum(np.array(newton_losses) - best, floor), "o-", label="Newton / IRLS")
    axis.semilogy(np.maximum(np.array(gd.history) - best, floor),
                  label="gradient descent (standardised columns, step 1/L)")
    axis.set_xlabel("iteration")
    axis.set_ylabel("loss − its minimum (log scale)")
    axis.set_title("Logistic regression on the Spector data")
    axis.legend()
    plot = save_figure(figure, output_dir, "logistic_convergence.png")

    # ------------------------------------------------------------------------------------------------
    heading("4. Checking a hand-derived gradient")
    right_answer = r"X^T(\sigma(X\beta) - y)"
    wrong_answer = r"X^T(y - \sigma(X\beta))"
    right = derive.check("logistic", "gradient", right_answer)
    wrong = derive.check("logistic", "gradient", wrong_answer)
    print(f"{right_answer}: correct = {right.correct}")
    print(f"{wrong_answer}: correct = {wrong.correct}")
    print(textwrap.fill(f"diagnosis: {wrong.diagnosis}", width=100, subsequent_indent="  "))

    return {
        "names": names, "coef": fit.coef, "std_errors": fit.std_errors, "converged": fit.converged,
        "iterations": fit.iterations, "loglike": fit.loglike,
        "stata_coef": stata_coef, "stata_std_errors": stata_se,
        "coef_relative_error": coef_error, "std_error_relative_error": se_error,
        "newton_loop_coef": beta, "newton_loop_relative_error": loop_error, "newton_losses": newton_losses,
        "gd_iterations": gd.iterations, "gd_converged": gd.converged, "gd_coef": gd.coef,
        "check_right": right.correct, "check_wrong": wrong.correct, "wrong_diagnosis": wrong.diagnosis,
        "plots": [plot],
    }


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
