"""Optimisation: gradient descent and Newton's method on the least-squares loss.

Run it with

    python worked_examples/optimisation.py [OUTPUT_FOLDER]

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
It writes one plot, `optimisation_convergence.png`: L(β) − L(β̂) against the iteration, on a log scale.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import heading, save_figure

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


def main(output_dir=".") -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
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

    return {
        "lipschitz": L_max, "smallest_eigenvalue": L_min, "hessian_eigenvalues": eigenvalues,
        "gd": runs, "beta_best": beta_best, "loss_best": loss_best,
        "newton_start": far_away, "newton_beta": beta_newton, "newton_relative_error": newton_error,
        "newton_gradient_norm": newton_gradient, "newton_losses": newton_losses, "plots": [plot],
    }


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
