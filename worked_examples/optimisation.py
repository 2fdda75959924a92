"""Optimisation: gradient descent and Newton's method on the least-squares loss.

Run it with

    python worked_examples/optimisation.py [--out DIR]

What it shows, top to bottom:
1. derive's OLS loss L(β) = ‖y − Xβ‖², its gradient 2XᵀXβ − 2Xᵀy and Hessian 2XᵀX, turned into
   numpy functions with derive.lambdify.
2. Gradient descent β ← β − η∇L(β). L is a quadratic with constant Hessian H, so the error β − β̂ is
   multiplied by I − ηH at each step: along the eigenvector of H with eigenvalue λ it shrinks by the
   factor |1 − ηλ|. With L_max the largest eigenvalue (the Lipschitz constant of the gradient),
   η = 1/L_max converges, anything below 2/L_max converges, and above 2/L_max the error along the top
   eigenvector grows: gradient descent diverges.
3. Newton's method β ← β − H⁻¹∇L(β) uses the curvature too; on a quadratic it lands on the minimum in
   exactly one step, from anywhere.
4. The rate, derived (derive show gd-quadratic): the error is multiplied by I − ηA each step, so with
   η = 1/L it shrinks by 1 − λmin/L per step in the end, which is what section 2's run measures.
5. The descent lemma, derived (derive show descent-lemma): with step 1/L, f decreases by at least
   ‖∇f‖²/(2L). Checked at every step of gradient descent on a loss that is not quadratic: the logistic loss
   of the Spector data, whose Hessian XᵀSX is bounded by XᵀX/4, so L = λmax(XᵀX)/4.
6. Newton's quadratic convergence on the same real fit: the error is squared each step, so the number
   of correct digits doubles (1, 2, 4, 8, 16) until rounding stops it.
7. SGD: one student's gradient is an unbiased estimate of the full gradient (derive show sgd-unbiased);
   their average is the full gradient, and SGD with decreasing steps wanders towards the minimum.
Plots: `optimisation_convergence.png` (L(β) − L(β̂) against the iteration, log scale) and
`gd_newton_contours.png` (gradient descent, Newton and SGD iterates on the contours of the logistic loss).
"""

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import FIGURES, columns, heading, output_folder, save_figure, show

import derive
from derive.expr.printing import unicode


def make_data(n=50, seed=3):
    """An intercept and two correlated features: a mildly ill-conditioned least-squares problem."""
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=n)
    z2 = 0.8 * z1 + 0.6 * rng.normal(size=n)
    X = np.column_stack([np.ones(n), z1, z2])
    y = X @ np.array([0.5, 1.0, -2.0]) + 0.5 * rng.normal(size=n)
    return X, y


def gradient_descent(gradient, loss, beta_start, X, y, step_size, max_iterations=3000, tolerance=1e-12):
    """β ← β − η∇L(β) until the gradient is tiny (converged), the loss blows up (diverged) or we give up.

    Returns (β, the loss at every iteration, converged?)."""
    beta = beta_start.copy()
    losses = [loss(beta, X, y)]
    start_gradient_norm = np.linalg.norm(gradient(beta, X, y))
    for _ in range(max_iterations):
        g = gradient(beta, X, y)
        if np.linalg.norm(g) <= tolerance * start_gradient_norm:
            return beta, losses, True
        beta = beta - step_size * g
        losses.append(loss(beta, X, y))
        if not np.isfinite(losses[-1]) or losses[-1] > 1e12 * losses[0]:
            break  # diverging: no point going on
    return beta, losses, False


def main(output_dir=FIGURES) -> dict:
    X, y = make_data()
    d = X.shape[1]

    # ------------------------------------------------------------------------------------------------
    heading("1. The derived loss, gradient and Hessian as numpy functions")
    ols = derive.derivation("ols")
    for quantity in ("loss", "gradient", "hessian"):
        print(f"{quantity:>8}: {unicode(ols.results[quantity])}")
    # Each is a function g(beta, X, y) of numpy arrays (β and y as 1-d arrays).
    loss = derive.lambdify("ols", "loss")
    gradient = derive.lambdify("ols", "gradient")
    hessian = derive.lambdify("ols", "hessian")

    beta_start = np.zeros(d)
    beta_best = np.linalg.lstsq(X, y, rcond=None)[0]   # the minimiser, for measuring the error
    loss_best = loss(beta_best, X, y)
    print(f"minimiser β̂ = {beta_best} (from lstsq), L(β̂) = {loss_best:.6f}")

    # ------------------------------------------------------------------------------------------------
    heading("2. Gradient descent and the step-size bound")
    H = hessian(beta_start, X, y)          # constant: the loss is a quadratic
    eigenvalues = np.linalg.eigvalsh(H)    # ascending
    L_max, L_min = eigenvalues[-1], eigenvalues[0]
    print(f"eigenvalues of the Hessian 2XᵀX: {np.array2string(eigenvalues, precision=4)}")
    print(f"L = largest eigenvalue = {L_max:.4f}: the gradient is L-Lipschitz, ‖∇L(a) − ∇L(b)‖ ≤ L‖a − b‖")
    print(f"condition number L/λmin = {L_max / L_min:.1f}: at η = 1/L the slowest direction shrinks by "
          f"1 − λmin/L = {1 - L_min / L_max:.4f} per step")

    runs = {}
    for label, factor in (("1/L", 1.0), ("1.9/L", 1.9), ("2.1/L", 2.1)):
        step_size = factor / L_max
        beta, losses, converged = gradient_descent(gradient, loss, beta_start, X, y, step_size)
        error = np.linalg.norm(beta - beta_best) / np.linalg.norm(beta_best)
        worst_factor = np.max(np.abs(1 - step_size * eigenvalues))   # how the error changes per step
        runs[label] = {"step_size": step_size, "converged": converged, "iterations": len(losses) - 1,
                       "relative_error": error, "losses": np.array(losses), "contraction": worst_factor}
        outcome = "converged" if converged else "DIVERGED"
        print(f"η = {label:>5} = {step_size:.3e}: max |1 − ηλ| = {worst_factor:.3f};  {outcome} after "
              f"{len(losses) - 1} iterations, ‖β − β̂‖/‖β̂‖ = {error:.2e}")

    # ------------------------------------------------------------------------------------------------
    heading("3. Newton's method: one step on a quadratic")
    # Newton: solve H·step = ∇L(β) (a linear system, never an inverse) and move by −step.
    far_away = np.array([10.0, -7.0, 3.0])
    newton_step = np.linalg.solve(hessian(far_away, X, y), gradient(far_away, X, y))
    beta_newton = far_away - newton_step
    newton_error = np.linalg.norm(beta_newton - beta_best) / np.linalg.norm(beta_best)
    newton_gradient = np.linalg.norm(gradient(beta_newton, X, y))
    print(f"from β₀ = {far_away}: one Newton step gives {beta_newton}")
    print(f"‖β₁ − β̂‖/‖β̂‖ = {newton_error:.1e}, ‖∇L(β₁)‖ = {newton_gradient:.1e}")
    print("why: ∇L(β) = H(β − β̂) exactly for a quadratic, so β − H⁻¹∇L(β) = β̂")
    # From the same start as gradient descent, for the plot.
    beta_newton_from_start = beta_start - np.linalg.solve(hessian(beta_start, X, y), gradient(beta_start, X, y))
    newton_losses = np.array([loss(beta_start, X, y), loss(beta_newton_from_start, X, y)])

    # ------------------------------------------------------------------------------------------------
    figure, axis = plt.subplots(figsize=(7, 4.5))
    floor = 1e-16 * loss_best   # rounding: L(β) − L(β̂) cannot be resolved below this
    for label, run in runs.items():
        gap = np.maximum(run["losses"] - loss_best, floor)
        axis.semilogy(gap, label=f"gradient descent, η = {label}")
    axis.semilogy([0, 1], np.maximum(newton_losses - loss_best, floor), "ko-", label="Newton")
    axis.set_xlim(0, 300)
    axis.set_ylim(floor / 10, 1e8)
    axis.set_xlabel("iteration")
    axis.set_ylabel(r"$L(\beta) - L(\hat\beta)$  (log scale)")
    axis.set_title("Least squares: gradient descent vs Newton")
    axis.legend()
    plot = save_figure(figure, output_dir, "optimisation_convergence.png")
    rate = rate_from_eigenvalues(runs["1/L"], beta_best, eigenvalues)
    logistic = logistic_descent_and_newton(output_dir)

    return {**rate, **logistic,
        "lipschitz": L_max, "smallest_eigenvalue": L_min, "hessian_eigenvalues": eigenvalues,
        "gd": runs, "beta_best": beta_best, "loss_best": loss_best,
        "newton_start": far_away, "newton_beta": beta_newton, "newton_relative_error": newton_error,
        "newton_gradient_norm": newton_gradient, "newton_losses": newton_losses,
        "plots": [plot, logistic["contour_plot"]],
    }


def rate_from_eigenvalues(run, beta_best, eigenvalues) -> dict:
    heading("4. The rate of gradient descent, from the eigenvalues")
    show(derive.derivation("gd-quadratic"))
    # L(β) − L(β̂) = (β − β̂)ᵀ(XᵀX)(β − β̂) for least squares; late in the run it shrinks by (1 − λmin/L)²
    # per step (the loss is quadratic in the error).
    gaps = run["losses"] - run["losses"][-1]
    late = gaps[len(gaps) // 2: len(gaps) // 2 + 20]
    measured = float(np.sqrt(np.exp(np.mean(np.diff(np.log(late))))))
    predicted = float(1 - eigenvalues[0] / eigenvalues[-1])
    print(f"measured error factor per step (η = 1/L, mid-run): {measured:.6f}; derived 1 − λmin/L: {predicted:.6f}")
    return {"measured_rate": measured, "predicted_rate": predicted}


def spector_logistic():
    """The Spector data: an intercept, GPA, TUCE and PSI, and whether the grade improved."""
    features = columns("spector", ["GPA", "TUCE", "PSI"])
    return np.column_stack([np.ones(len(features)), features]), columns("spector", ["GRADE"]).ravel()


def logistic_descent_and_newton(output_dir) -> dict:
    heading("5. The descent lemma, on the logistic loss")
    show(derive.derivation("descent-lemma"))
    loss, gradient, hessian = (derive.lambdify("logistic", q) for q in ("loss", "gradient", "hessian"))
    X, y = spector_logistic()
    L = float(np.linalg.eigvalsh(X.T @ X)[-1] / 4)      # σ′ ≤ 1/4, so XᵀSX ⪯ XᵀX/4
    beta = np.zeros(X.shape[1])
    slacks = []
    for _ in range(2000):
        g = gradient(beta, X, y)
        new = beta - g / L
        slacks.append(loss(beta, X, y) - g @ g / (2 * L) - loss(new, X, y))   # ≥ 0 by the lemma
        beta = new
    slacks = np.array(slacks)
    print(f"L = λmax(XᵀX)/4 = {L:.2f}; over 2000 steps of size 1/L the guaranteed decrease ‖∇f‖²/(2L) was "
          f"always achieved: smallest slack {slacks.min():.2e} (≥ 0)")
    print(f"but gradient descent is slow here: after 2000 steps ‖∇f‖ = {np.linalg.norm(gradient(beta, X, y)):.2e}")

    heading("6. Newton's method: the digits double")
    reference = derive.fit("logistic", X, y).coef
    beta = np.zeros(X.shape[1])
    errors = []
    for _ in range(7):
        beta = beta - np.linalg.solve(hessian(beta, X, y), gradient(beta, X, y))   # a solve, never an inverse
        errors.append(float(np.max(np.abs(beta - reference) / np.abs(reference))))
    digits = [-np.log10(max(e, 1e-17)) for e in errors]
    print("correct digits of the coefficients after each Newton step: " + ", ".join(f"{k:.1f}" for k in digits))
    ratios = [errors[k + 1] / errors[k] ** 2 for k in range(len(errors) - 1) if errors[k + 1] > 1e-14]
    print("e_{k+1}/e_k² = " + ", ".join(f"{r:.2f}" for r in ratios) + ": roughly constant, the mark of "
          "quadratic convergence")
    print("What to notice: each step roughly doubles the number of correct digits until the 16 of double "
          "precision; gradient descent above gains a fixed number of digits per thousand steps.")

    heading("7. Stochastic gradients are unbiased")
    show(derive.derivation("sgd-unbiased"))
    at = np.array([-5.0, 1.0, 0.0, 1.0])
    per_student = [gradient(at, X[[i]], y[[i]]) for i in range(len(y))]
    unbiased = float(np.max(np.abs(np.mean(per_student, axis=0) * len(y) - gradient(at, X, y))))
    print(f"the average of the 32 one-student gradients, times n, equals the full gradient to {unbiased:.1e}")

    # The figure: two parameters (intercept and GPA), where the loss has contours to draw. GPA is not
    # centred, so the valley is long and narrow: the picture of an ill-conditioned Hessian.
    X2 = X[:, :2]
    L2 = float(np.linalg.eigvalsh(X2.T @ X2)[-1] / 4)
    # NOTE: β = 0, the usual start. Plain Newton converges only near the minimum: from (−2, −1) its third
    # step is at 5000 and σ saturates. derive.fit guards its Newton steps; this sketch does not.
    start = np.array([0.0, 0.0])
    paths = {"SGD, step n∇ℓᵢ/(L(1 + k/50))": [start], "gradient descent, η = 1/L": [start], "Newton": [start]}
    for _ in range(200):
        b = paths["gradient descent, η = 1/L"][-1]
        paths["gradient descent, η = 1/L"].append(b - gradient(b, X2, y) / L2)
    for _ in range(6):
        b = paths["Newton"][-1]
        paths["Newton"].append(b - np.linalg.solve(hessian(b, X2, y), gradient(b, X2, y)))
    rng = np.random.default_rng(0)
    for k in range(200):
        b, i = paths["SGD, step n∇ℓᵢ/(L(1 + k/50))"][-1], rng.integers(len(y))
        # n∇ℓᵢ estimates the full gradient without bias (section 7); the step shrinks so the noise averages out
        paths["SGD, step n∇ℓᵢ/(L(1 + k/50))"].append(b - len(y) * gradient(b, X2[[i]], y[[i]]) / (L2 * (1 + k / 50)))
    corners = np.vstack([np.array(p) for p in paths.values()])
    low, high = corners.min(axis=0), corners.max(axis=0)
    margin = 0.15 * (high - low)
    grid0, grid1 = np.meshgrid(np.linspace(low[0] - margin[0], high[0] + margin[0], 120),
                               np.linspace(low[1] - margin[1], high[1] + margin[1], 120))
    surface = np.array([[loss(np.array([u, v]), X2, y) for u, v in zip(r0, r1)] for r0, r1 in zip(grid0, grid1)])
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    axis.contour(grid0, grid1, surface, levels=np.quantile(surface, np.linspace(0.01, 0.9, 18)), cmap="Greys")
    for (label, path), style in zip(paths.items(), [".-", "o-", "s-"]):
        path = np.array(path)
        axis.plot(path[:, 0], path[:, 1], style, markersize=4, lw=1, label=f"{label} ({len(path) - 1} steps)")
    axis.set_xlabel("intercept")
    axis.set_ylabel("coefficient of GPA")
    axis.set_title("Spector logistic loss: iterates from β = 0")
    axis.legend(fontsize=8)
    contour_plot = save_figure(figure, output_dir, "gd_newton_contours.png")
    return {"descent_slack_min": float(slacks.min()), "smoothness": L, "newton_errors": errors,
            "newton_digits": digits, "newton_ratios": ratios, "sgd_unbiased_error": unbiased,
            "contour_paths": {k: np.array(v) for k, v in paths.items()}, "contour_plot": contour_plot}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
