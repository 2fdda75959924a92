r"""Logistic regression: derived, fitted by Newton/IRLS on the Spector data, checked against Stata.

Run it with

    python worked_examples/logistic_regression.py [--out DIR]

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
5. Reading the fit: xᵀβ̂ is the log-odds of improving, so exp(β̂_PSI) is the odds ratio of the new method,
   and σ(xᵀβ̂) the predicted probability for a given student.
6. Regularisation as a prior: β ~ N(0, τ²I) on the slopes makes the loss ℓ(β) + ‖β‖²/(2τ²) (the MAP
   estimate, as in derive show bayes-linear); Newton with the derived gradient and Hessian plus the
   prior's terms (the tests compare it with scikit-learn's L2-penalised LogisticRegression, C = τ²).
Plots: `logistic_convergence.png` (the loss minus its minimum per iteration, Newton vs gradient descent)
and `decision_boundary.png` (the students, and the line σ(xᵀβ̂) = ½ with and without PSI).

Data: the Spector dataset shipped with derive (derive/datasets/data/spector.csv, with Stata's logit fit).
"""
import csv
import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import DATASETS, FIGURES, heading, output_folder, save_figure

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


def main(output_dir=FIGURES) -> dict:
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
    reading = reading_the_fit(X, y, fit.coef, names, output_dir)
    prior = regularised_fit(X, y, names)

    return {**reading, **prior,
        "names": names, "coef": fit.coef, "std_errors": fit.std_errors, "converged": fit.converged,
        "iterations": fit.iterations, "loglike": fit.loglike,
        "stata_coef": stata_coef, "stata_std_errors": stata_se,
        "coef_relative_error": coef_error, "std_error_relative_error": se_error,
        "newton_loop_coef": beta, "newton_loop_relative_error": loop_error, "newton_losses": newton_losses,
        "gd_iterations": gd.iterations, "gd_converged": gd.converged, "gd_coef": gd.coef,
        "check_right": right.correct, "check_wrong": wrong.correct, "wrong_diagnosis": wrong.diagnosis,
        "plots": [plot, reading["boundary_plot"]],
    }


def probability(z):
    """σ(z) without overflow for large |z|."""
    return np.exp(-np.logaddexp(0, -z))


def reading_the_fit(X, y, coef, names, output_dir) -> dict:
    heading("5. Reading the coefficients: log-odds, odds ratios, predictions")
    gpa, tuce, psi, const = coef
    odds_ratio = float(np.exp(psi))
    print(f"xᵀβ̂ = log(p/(1 − p)): one unit of GPA adds {gpa:.3f} to the log-odds; PSI adds {psi:.3f}, so it "
          f"multiplies the odds of improving by exp({psi:.3f}) = {odds_ratio:.2f}")
    student = np.array([3.0, 20.0, 0.0, 1.0])
    with_psi = student.copy()
    with_psi[2] = 1.0
    p_without, p_with = float(probability(student @ coef)), float(probability(with_psi @ coef))
    print(f"a student with GPA 3.0 and TUCE 20: P(improve) = {p_without:.3f} taught the old way, {p_with:.3f} with "
          f"PSI (odds {p_without / (1 - p_without):.3f} → {p_with / (1 - p_with):.3f}, × {odds_ratio:.2f})")
    print("What to notice: the odds ratio is the same for every student; the change in probability is not "
          "(it is largest where p is near ½, where σ is steepest).")

    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for taught, marker in ((0, "o"), (1, "^")):
        rows = X[:, 2] == taught
        axis.scatter(X[rows, 0], X[rows, 1], c=np.where(y[rows] == 1, "tab:green", "tab:red"), marker=marker,
                     edgecolor="k", label=f"PSI = {taught} (green: improved)")
    tuce_grid = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 50)
    for taught, style in ((0, "-"), (1, "--")):
        # σ(xᵀβ̂) = ½ ⇔ xᵀβ̂ = 0 ⇔ GPA = −(const + TUCE·β_TUCE + PSI·β_PSI)/β_GPA
        boundary = -(const + tuce * tuce_grid + psi * taught) / gpa
        axis.plot(boundary, tuce_grid, "k" + style, label=f"P(improve) = ½, PSI = {taught}")
    axis.set_xlim(X[:, 0].min() - 0.2, X[:, 0].max() + 0.2)
    axis.set_xlabel("GPA")
    axis.set_ylabel("TUCE score")
    axis.set_title("Spector: the decision boundary xᵀβ̂ = 0")
    axis.legend(fontsize=7, loc="lower left")
    boundary_plot = save_figure(figure, output_dir, "decision_boundary.png")
    return {"odds_ratio": odds_ratio, "p_without_psi": p_without, "p_with_psi": p_with, "boundary_plot": boundary_plot}


def regularised_fit(X, y, names) -> dict:
    heading("6. Regularisation: a Gaussian prior on the slopes")
    gradient, hessian = derive.lambdify("logistic", "gradient"), derive.lambdify("logistic", "hessian")
    tau2 = 1.0
    penalised = np.array([1.0, 1.0, 1.0, 0.0])      # the prior is on the slopes, not on the intercept
    beta = np.zeros(X.shape[1])
    for _ in range(30):
        g = gradient(beta, X, y) + penalised * beta / tau2
        if np.linalg.norm(g) < 1e-12:
            break
        beta = beta - np.linalg.solve(hessian(beta, X, y) + np.diag(penalised) / tau2, g)
    penalised_gradient = float(np.linalg.norm(gradient(beta, X, y) + penalised * beta / tau2))
    unpenalised = derive.fit("logistic", X, y).coef
    def shown(values):
        return ", ".join(f"{name} {v:.4f}" for name, v in zip(names, values))

    print(f"prior τ² = {tau2:g}, MAP by Newton: {shown(beta)}")
    print(f"(the gradient of the penalised loss there: {penalised_gradient:.1e})")
    print(f"{'without the prior:':<30}{shown(unpenalised)}")
    print("What to notice: the prior shrinks the two large slopes, GPA and PSI, by more than half; TUCE's grows a "
          "little, taking over part of what GPA explained. With 32 students the prior matters.")
    return {"map_coef": beta, "map_tau2": tau2, "map_gradient_norm": penalised_gradient,
            "unpenalised_coef": unpenalised}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
