"""Multivariable calculus: gradients, Jacobians, Hessians, the chain rule and Taylor's theorem.

Run it with

    python worked_examples/multivariable_calculus.py [--out DIR]

What it shows, top to bottom:
1. The gradient and Hessian of f(x, y) = eˣcos(y) + x²y with derive.diff, step by step, checked
   against finite differences; the Hessian is symmetric (the mixed partials agree).
2. The Jacobian of the polar-coordinate map (r, θ) ↦ (r cos θ, r sin θ); its determinant is r.
3. The same ideas for vectors: ∇(xᵀAx) = (A + Aᵀ)x and ∇²(xᵀAx) = A + Aᵀ, by differentials.
4. The chain rule through the sigmoid σ(z) = 1/(1 + e⁻ᶻ): σ′ = σ(1 − σ), and the gradient of the
   logistic loss of one observation, ℓ(w, b) = −[y log σ(wx + b) + (1 − y) log(1 − σ(wx + b))], is
   ((σ − y)x, σ − y).
5. The second-order Taylor expansion f(a + hv) ≈ f(a) + h∇f(a)ᵀv + ½h²vᵀ∇²f(a)v, checked
   numerically: its error is O(h³), so halving h divides the error by about 2³ = 8 (the first-order
   expansion's error is O(h²): divided by 4).
6. Constrained optimisation with a Lagrange multiplier (derive show categorical): the RAND health
   insurance experiment's 20190 self-ratings of health (excellent, good, fair, poor) as categorical counts
   c; maximising the likelihood subject to Σp = 1 gives p̂ = c/n, the observed shares, and the multiplier
   λ̂ = n. derive check accepts a student's stationarity condition and rejects one with the sign flipped.
7. Inequality constraints and the KKT conditions (derive show svm-dual): the 17 US states of the capital
   punishment data (cpunish) are separated into South and not by two columns, the poverty and Black
   population percentages. The maximum-margin line solves min ½‖w‖² subject to yᵢ(xᵢᵀw + b) ≥ 1; its KKT
   conditions are solved here directly: guess which constraints are tight (the support vectors), solve
   the linear equations that stationarity and tightness give, and keep the guess whose multipliers are
   ≥ 0 and whose other points are outside the margin. derive's dual gives the same optimum.
Plots: `taylor_error.png` (the errors of both expansions against h, on log-log axes),
`lagrange_simplex.png` (the log-likelihood on the constraint Σp = 1, across the poor/fair shares) and
`svm_margin.png` (the states, the maximum-margin line and its support vectors).
"""
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from course import FIGURES, columns, heading, output_folder, print_steps, save_figure, show

import derive
from derive.core.numeval import evaluate
from derive.datasets import load
from derive.expr.printing import unicode


def central_difference_gradient(f, point, h=1e-6):
    """∂f/∂xⱼ ≈ (f(p + h eⱼ) − f(p − h eⱼ)) / 2h for each j: an independent check of a derived gradient."""
    point = np.asarray(point, dtype=float)
    gradient = np.zeros(len(point))
    for j in range(len(point)):
        step = np.zeros(len(point))
        step[j] = h
        gradient[j] = (f(point + step) - f(point - step)) / (2 * h)
    return gradient


def main(output_dir=FIGURES) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results = {}

    # ------------------------------------------------------------------------------------------------
    heading("1. Gradient and Hessian of f(x, y) = eˣcos(y) + x²y")
    # derive.diff reads text (plain or LaTeX); a SymPy expression works too. Several variables, given
    # as "x, y", give the gradient (order=1) and also the Hessian (order=2).
    x, y = sp.symbols("x y")
    f = sp.exp(x) * sp.cos(y) + x**2 * y
    first = derive.diff(f, wrt="x, y")
    print_steps(first)
    second = derive.diff(f, wrt="x, y", order=2)
    gradient = second.results["gradient"]
    hessian = second.results["hessian"]
    print(f"\n∇f  = {unicode(gradient)}")
    print(f"∇²f = {unicode(hessian)}")
    print(f"the Hessian is symmetric (∂²f/∂x∂y = ∂²f/∂y∂x): {sp.simplify(hessian - hessian.T) == sp.zeros(2, 2)}")

    # Check the derived gradient against finite differences at a point.
    a = np.array([0.3, 0.7])
    at_a = {"x": a[0], "y": a[1]}

    def f_numeric(p):
        return evaluate(f, {"x": p[0], "y": p[1]})

    gradient_at_a = evaluate(gradient, at_a).ravel()
    numeric_gradient = central_difference_gradient(f_numeric, a)
    results["gradient_error"] = float(np.max(np.abs(gradient_at_a - numeric_gradient)))
    print(f"at (x, y) = (0.3, 0.7): derived ∇f = {gradient_at_a}, finite differences {numeric_gradient}")
    print(f"largest difference: {results['gradient_error']:.1e} (finite differences are accurate to about 1e-9)")

    # ------------------------------------------------------------------------------------------------
    heading("2. The Jacobian of polar coordinates (r, θ) ↦ (r cos θ, r sin θ)")
    polar = derive.diff(["r*cos(theta)", "r*sin(theta)"], wrt="r, theta")
    print_steps(polar)
    jacobian = polar.results["jacobian"]
    determinant = sp.simplify(jacobian.det())
    print(f"\nJ = {unicode(jacobian)},  det J = {unicode(determinant)}")
    print("(this is why an area element in polar coordinates is dx dy = r dr dθ)")
    results["polar_jacobian_determinant"] = determinant

    # ------------------------------------------------------------------------------------------------
    heading("3. Vectors: the gradient and Hessian of the quadratic form xᵀAx")
    quadratic = derive.diff("x'*A*x", wrt="x", shapes={"x": ("n", 1), "A": ("n", "n")}, order=2)
    print_steps(quadratic)
    results["quadratic_gradient"] = unicode(quadratic.results["gradient"])
    results["quadratic_hessian"] = unicode(quadratic.results["hessian"])
    print(f"\n∇(xᵀAx) = {results['quadratic_gradient']},  ∇²(xᵀAx) = {results['quadratic_hessian']}")
    print("(for a symmetric A: 2Ax and 2A, the vector versions of d(ax²)/dx = 2ax and d²(ax²)/dx² = 2a)")

    # ------------------------------------------------------------------------------------------------
    heading("4. The chain rule through the sigmoid")
    sigmoid_derivative = derive.diff("sigma(z)", wrt="z")
    print_steps(sigmoid_derivative)
    results["sigmoid_derivative"] = unicode(sigmoid_derivative.result)
    print(f"σ′(z) = {results['sigmoid_derivative']}")

    # One observation (x, y) of logistic regression with weight w and bias b.
    loss_text = "-(y*log(sigma(w*x + b)) + (1 - y)*log(1 - sigma(w*x + b)))"
    logistic = derive.diff(loss_text, wrt="w, b")
    print()
    print_steps(logistic)
    results["logistic_gradient"] = unicode(logistic.result)
    print(f"\n∇ℓ(w, b) = {results['logistic_gradient']}: the error σ − y times the input (and times 1 for b)")

    # Check it numerically at one observation and one (w, b).
    data = {"x": 1.5, "y": 1.0}

    def loss_numeric(p):
        w, b = p
        s = 1 / (1 + np.exp(-(w * data["x"] + b)))
        return -(data["y"] * np.log(s) + (1 - data["y"]) * np.log(1 - s))

    point = np.array([0.4, -0.2])
    derived = evaluate(logistic.result, {**data, "w": point[0], "b": point[1]}).ravel()
    numeric = central_difference_gradient(loss_numeric, point)
    results["logistic_gradient_error"] = float(np.max(np.abs(derived - numeric)))
    print(f"at w = 0.4, b = −0.2, x = 1.5, y = 1: derived {derived}, finite differences {numeric}")

    # ------------------------------------------------------------------------------------------------
    heading("5. Second-order Taylor expansion: the error is O(h³)")
    # Expand f around a in the direction v (a unit vector), using the derived ∇f(a) and ∇²f(a).
    v = np.array([1.0, -0.5]) / np.linalg.norm([1.0, -0.5])
    f_a = f_numeric(a)
    g_a = gradient_at_a
    H_a = evaluate(hessian, at_a)
    steps = 0.2 / 2.0 ** np.arange(7)          # h = 0.2, 0.1, 0.05, ...
    first_order_errors, second_order_errors = [], []
    for h in steps:
        exact = f_numeric(a + h * v)
        first_order = f_a + h * g_a @ v
        second_order = first_order + 0.5 * h**2 * v @ H_a @ v
        first_order_errors.append(abs(exact - first_order))
        second_order_errors.append(abs(exact - second_order))
    first_order_errors = np.array(first_order_errors)
    second_order_errors = np.array(second_order_errors)
    # Halving h: the error ratio tends to 2^p for an O(h^p) error.
    second_order_ratios = second_order_errors[:-1] / second_order_errors[1:]
    first_order_ratios = first_order_errors[:-1] / first_order_errors[1:]
    print(f"{'h':>10} {'1st-order error':>16} {'ratio':>6} {'2nd-order error':>16} {'ratio':>6}")
    for k, h in enumerate(steps):
        ratio_1 = f"{first_order_ratios[k - 1]:6.2f}" if k else " " * 6
        ratio_2 = f"{second_order_ratios[k - 1]:6.2f}" if k else " " * 6
        print(f"{h:10.5f} {first_order_errors[k]:16.3e} {ratio_1} {second_order_errors[k]:16.3e} {ratio_2}")
    print("halving h divides the second-order error by ≈ 8 = 2³ (error O(h³)) and the first-order one by ≈ 4")
    results.update(taylor_steps=steps, taylor_first_order_errors=first_order_errors,
                   taylor_second_order_errors=second_order_errors,
                   taylor_first_order_ratios=first_order_ratios, taylor_second_order_ratios=second_order_ratios)

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.loglog(steps, first_order_errors, "o-", label="first order: f(a) + h∇fᵀv")
    axis.loglog(steps, second_order_errors, "s-", label="second order: + ½h²vᵀ∇²f v")
    axis.loglog(steps, first_order_errors[0] * (steps / steps[0]) ** 2, "k:", label="slope 2 (h²)")
    axis.loglog(steps, second_order_errors[0] * (steps / steps[0]) ** 3, "k--", label="slope 3 (h³)")
    axis.set_xlabel("step h")
    axis.set_ylabel("|f(a + hv) − expansion|")
    axis.set_title("Taylor expansion of eˣcos(y) + x²y")
    axis.legend()
    plot = save_figure(figure, output_dir, "taylor_error.png")
    lagrange = lagrange_multiplier(output_dir)
    kkt = maximum_margin(output_dir)
    results.update(lagrange, **kkt)
    results["plots"] = [plot, lagrange["simplex_plot"], kkt["margin_plot"]]
    return results


HEALTH = ["excellent", "good", "fair", "poor"]


def lagrange_multiplier(output_dir) -> dict:
    heading("6. A Lagrange multiplier: the categorical maximum likelihood")
    categorical = derive.derivation("categorical")
    show(categorical)
    good, fair, poor = columns("randhie", ["hlthg", "hlthf", "hlthp"]).T
    counts = np.array([np.sum(1 - good - fair - poor), good.sum(), fair.sum(), poor.sum()])
    env = {"c": counts.reshape(-1, 1), "K": 4}
    p_hat = evaluate(categorical.results["solution"], env).ravel()
    multiplier = float(evaluate(categorical.results["multiplier"], env))
    gradient = evaluate(categorical.results["stationarity"], {**env, "p": p_hat.reshape(-1, 1), "lambda": multiplier})
    print("counts: " + ", ".join(f"{name} {int(c)}" for name, c in zip(HEALTH, counts)) + f" (n = {int(counts.sum())})")
    print("p̂ = c/n: " + ", ".join(f"{name} {p:.4f}" for name, p in zip(HEALTH, p_hat)) + f"; λ̂ = {multiplier:g} = n")
    print(f"the derived ∇_p 𝓛 at (p̂, λ̂): largest entry {np.max(np.abs(gradient)):.1e}")
    student = derive.check("categorical", "stationarity", r"\lambda 1 - c ./ p")
    flipped = derive.check("categorical", "stationarity", r"c ./ p + \lambda 1")
    print(f"a student's ∇_p 𝓛 = λ𝟏 − c ⊘ p: correct = {student.correct}")
    print(f"with the sign of c ⊘ p flipped: correct = {flipped.correct} ({flipped.diagnosis})")
    print("What to notice: without the constraint, −cᵀlog p has no minimum (make every pₖ larger); the "
          "multiplier is the price of Σp = 1, and it equals the number of observations.")

    # The figure: the log-likelihood along the constraint, varying the fair and poor shares with the others
    # in their observed ratio, so that every point shown is a probability vector.
    fair_share = np.linspace(0.05, 0.25, 200)
    poor_share = np.linspace(0.002, 0.06, 200)
    F, P = np.meshgrid(fair_share, poor_share)
    rest = 1 - F - P
    ratio = counts[0] / (counts[0] + counts[1])
    log_likelihood = counts[0] * np.log(rest * ratio) + counts[1] * np.log(rest * (1 - ratio)) \
        + counts[2] * np.log(F) + counts[3] * np.log(P)
    figure, axis = plt.subplots(figsize=(6, 4.5))
    levels = log_likelihood.max() - np.array([800, 400, 200, 100, 50, 20, 5])
    contour = axis.contour(F, P, log_likelihood, levels=levels, cmap="viridis")
    axis.clabel(contour, fmt=lambda v: f"{v - log_likelihood.max():.0f}", fontsize=7)
    axis.plot(p_hat[2], p_hat[3], "r*", markersize=14, label="p̂ = c/n (derived)")
    axis.set_xlabel("share rating their health fair")
    axis.set_ylabel("share rating their health poor")
    axis.set_title("Log-likelihood on Σp = 1, relative to its maximum")
    axis.legend()
    simplex_plot = save_figure(figure, output_dir, "lagrange_simplex.png")
    return {"health_counts": counts, "health_p_hat": p_hat, "health_multiplier": multiplier,
            "health_stationarity": float(np.max(np.abs(gradient))), "student_correct": student.correct,
            "flipped_correct": flipped.correct, "simplex_plot": simplex_plot}


def kkt_point(X, y, support):
    """(α, b) from the KKT equations when exactly the points in `support` are on the margin: stationarity
    w = Σᵢ αᵢyᵢxᵢ and Σᵢ αᵢyᵢ = 0, tightness yᵢ(xᵢᵀw + b) = 1 on the support; None if singular."""
    k = len(support)
    Xs, ys = X[support], y[support]
    system = np.zeros((k + 1, k + 1))
    system[:k, :k] = (ys[:, None] * Xs) @ (ys[:, None] * Xs).T   # yᵢ xᵢᵀ Σⱼ αⱼyⱼxⱼ
    system[:k, k] = ys                                            # + yᵢ b
    system[k, :k] = ys                                            # Σ αⱼyⱼ = 0
    right = np.append(np.ones(k), 0.0)
    if abs(np.linalg.det(system)) < 1e-12:
        return None
    solution = np.linalg.solve(system, right)
    alpha = np.zeros(len(y))
    alpha[list(support)] = solution[:k]
    return alpha, solution[k]


def maximum_margin(output_dir) -> dict:
    heading("7. Inequality constraints: the KKT conditions and the maximum-margin line")
    svm = derive.derivation("svm-dual")
    show(svm)
    data = load("cpunish").text_columns()
    features = np.array([data["PERPOVERTY"], data["PERBLACK"]], dtype=float).T
    X = (features - features.mean(axis=0)) / features.std(axis=0)
    y = 2 * np.array(data["SOUTH"], dtype=float) - 1                # +1: a southern state
    for size in (2, 3):                                              # in the plane, 2 or 3 points hold the margin
        for support in itertools.combinations(range(len(y)), size):
            found = kkt_point(X, y, list(support))
            if found is None:
                continue
            alpha, b = found
            w = evaluate(svm.results["weights"], {"X": X, "y": y.reshape(-1, 1), "alpha": alpha.reshape(-1, 1),
                                                  "n": len(y), "d": 2}).ravel()
            margins = y * (X @ w + b)
            if np.all(alpha >= -1e-12) and np.all(margins >= 1 - 1e-9):   # dual and primal feasible: optimal
                break
        else:
            continue
        break
    env = {"X": X, "y": y.reshape(-1, 1), "alpha": alpha.reshape(-1, 1), "n": len(y), "d": 2}
    dual = float(evaluate(svm.results["dual"], env).item())
    primal = 0.5 * float(w @ w)
    slackness = float(np.max(np.abs(alpha * (margins - 1))))
    states = [data["STATE"][i] for i in support]
    print(f"support vectors: {', '.join(states)}; α on them: {np.array2string(alpha[list(support)], precision=4)}")
    print(f"w = Xᵀdiag(y)α = {np.array2string(w, precision=4)}, b = {b:.4f}; margin 2/‖w‖ = {2 / np.linalg.norm(w):.4f} "
          "(standardised units)")
    print(f"primal ½‖w‖² = {primal:.10f}, derived dual 𝟏ᵀα − ½αᵀDXXᵀDα = {dual:.10f}: no duality gap")
    print(f"complementary slackness max |αᵢ(yᵢ(xᵢᵀw + b) − 1)| = {slackness:.1e}; the other {len(y) - size} states "
          "have αᵢ = 0 and lie outside the margin")
    print("What to notice: only the three support vectors matter (moving any other state, without crossing "
          "the margin, leaves the line where it is); and the two groups are only just separable: the margin is "
          "a twentieth of a standard deviation wide.")

    figure, axis = plt.subplots(figsize=(6, 5))
    for label, colour in ((1, "tab:red"), (-1, "tab:blue")):
        rows = y == label
        axis.scatter(X[rows, 0], X[rows, 1], color=colour, label="South" if label == 1 else "not South")
    axis.scatter(X[list(support), 0], X[list(support), 1], s=200, facecolors="none", edgecolors="k",
                 label="support vectors (αᵢ > 0)")
    grid = np.linspace(X[:, 0].min() - 0.3, X[:, 0].max() + 0.3, 50)
    for level, style in ((0, "-"), (1, "--"), (-1, "--")):          # wᵀx + b = 0, ±1
        axis.plot(grid, (level - b - w[0] * grid) / w[1], "k" + style, lw=1)
    axis.set_ylim(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    axis.set_xlabel("percent in poverty (standardised)")
    axis.set_ylabel("percent Black (standardised)")
    axis.set_title("cpunish: the maximum-margin line wᵀx + b = 0")
    axis.legend(fontsize=8)
    margin_plot = save_figure(figure, output_dir, "svm_margin.png")
    return {"svm_features": X, "svm_labels": y, "svm_alpha": alpha, "svm_w": w, "svm_b": float(b),
            "svm_primal": primal, "svm_dual": dual, "svm_slackness": slackness, "svm_support": list(support),
            "margin_plot": margin_plot}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
