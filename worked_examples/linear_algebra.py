"""Linear algebra: least squares as a linear system.

Run it with

    python worked_examples/linear_algebra.py [--out DIR]

What it shows, top to bottom:
1. The normal equations XᵀXβ = Xᵀy, taken from derive's verified OLS derivation, are an ordinary
   linear system Aβ = b. We evaluate A and b on a small data set and solve the system with
   numpy.linalg.solve, and compare with numpy.linalg.lstsq, which solves the least-squares problem
   directly from X (by an orthogonal factorisation, without forming XᵀX).
2. The hat matrix H = X(XᵀX)⁻¹Xᵀ maps y to the fitted values ŷ = Hy. It is an orthogonal projection:
   symmetric (Hᵀ = H) and idempotent (H² = H: projecting twice changes nothing), with trace d.
3. XᵀX is positive semidefinite: vᵀXᵀXv = ‖Xv‖² ≥ 0, so its eigenvalues are ≥ 0.
4. Rank deficiency: a duplicated column makes XᵀX singular (an eigenvalue 0), the coefficients are no
   longer determined by the data, derive.fit refuses with an error naming the columns, and ridge
   regression (XᵀX + λI is invertible for λ > 0) still has a unique solution.
5. The hat matrix, derived (derive show projection) and checked on the Longley data.
6. Principal components of the six Longley predictors: derive's Lagrangian derivation (max vᵀSv subject
   to vᵀv = 1 gives Sv = λv) and the top eigenvector of the correlation matrix, which satisfies the derived
   stationarity condition and explains most of the variance: the predictors move together.
7. Conditioning: Longley's X (with its intercept) has condition number κ(X) ≈ 5·10⁹; the normal equations
   square it (κ(XᵀX) ≈ 2·10¹⁹, beyond 1/ε), and solving them keeps fewer correct digits than the SVD route
   β̂ = VΣ⁻¹Uᵀy (derive show svd-least-squares), compared with NIST's certified values.
8. An underdetermined system: the minimum-norm solution Xᵀ(XXᵀ)⁻¹y (derive show min-norm) is numpy's pinv.
Plots: `linear_algebra_eigenvalues.png` (the eigenvalues of XᵀX with and without the duplicated column) and
`pca_directions.png` (the principal directions over the scatter of two Longley predictors).
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import FIGURES, columns, heading, output_folder, save_figure, show, standardised

import derive
from derive.core.numeval import evaluate
from derive.datasets import load
from derive.expr.printing import unicode


def make_data(n=20, seed=0):
    """A small regression data set: an intercept column and two random features."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    beta_true = np.array([1.0, 2.0, -0.5])
    y = X @ beta_true + 0.3 * rng.normal(size=n)
    return X, y


LONGLEY = ["x1", "x2", "x3", "x4", "x5", "x6"]   # GNP deflator, GNP, unemployed, armed forces, population, year
LONGLEY_NAMES = ["GNP deflator", "GNP", "unemployed", "armed forces", "population", "year"]


def main(output_dir=FIGURES) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    X, y = make_data()
    n, d = X.shape

    # ------------------------------------------------------------------------------------------------
    heading("1. The normal equations are a linear system")
    ols = derive.derivation("ols")
    # The step named "normal equations" holds the equation XᵀXβ = Xᵀy as a SymPy Eq(lhs, rhs).
    normal_step = next(step for step in ols.steps if step.rule == "normal equations")
    print(f"derive's step {ols.steps.index(normal_step) + 1}, '{normal_step.rule}' "
          f"(verified: {normal_step.verified}):  {unicode(normal_step.after)}")

    # To evaluate a derived expression we give every symbol a value: matrices as 2-d arrays
    # (vectors as n×1 columns) and the sizes n and d as integers.
    env = {"X": X, "y": y.reshape(-1, 1), "n": n, "d": d}

    # The left-hand side is linear in β: it is Aβ with A = XᵀX. Column j of A is A·eⱼ (eⱼ the j-th unit
    # vector), so evaluating the left-hand side with β = I (all unit vectors side by side) gives A itself.
    A = evaluate(normal_step.after.lhs, {**env, "beta": np.eye(d)})
    b = evaluate(normal_step.after.rhs, env)
    print(f"A = XᵀX is {A.shape[0]}×{A.shape[1]}, b = Xᵀy is {b.shape[0]}×{b.shape[1]}")

    beta_solve = np.linalg.solve(A, b).ravel()                # Gaussian elimination on Aβ = b
    beta_lstsq = np.linalg.lstsq(X, y, rcond=None)[0]        # least squares straight from X (SVD)
    # The derived closed form (XᵀX)⁻¹Xᵀy, evaluated literally (with an explicit inverse: fine for this
    # small, well-conditioned X; derive.fit never fits this way, see linear_regression.py).
    beta_formula = evaluate(ols.results["solution"], env).ravel()
    solve_vs_lstsq = float(np.max(np.abs(beta_solve - beta_lstsq)))
    formula_vs_lstsq = float(np.max(np.abs(beta_formula - beta_lstsq)))
    print(f"solve(A, b)           = {np.array2string(beta_solve, precision=10)}")
    print(f"lstsq(X, y)           = {np.array2string(beta_lstsq, precision=10)}")
    print(f"(XᵀX)⁻¹Xᵀy (derived)  = {np.array2string(beta_formula, precision=10)}")
    print(f"largest difference solve vs lstsq: {solve_vs_lstsq:.2e}, formula vs lstsq: {formula_vs_lstsq:.2e}")
    # At the solution the gradient 2XᵀXβ − 2Xᵀy (also derived) is zero.
    gradient_at_solution = evaluate(ols.results["gradient"], {**env, "beta": beta_solve.reshape(-1, 1)})
    print(f"derived gradient {unicode(ols.results['gradient'])} at the solution: "
          f"largest entry {np.max(np.abs(gradient_at_solution)):.2e}")

    # ------------------------------------------------------------------------------------------------
    heading("2. The hat matrix H = X(XᵀX)⁻¹Xᵀ is a projection")
    # NOTE: solve, not inv: (XᵀX)⁻¹Xᵀ is the solution Z of (XᵀX) Z = Xᵀ.
    H = X @ np.linalg.solve(X.T @ X, X.T)
    symmetry_error = float(np.max(np.abs(H - H.T)))
    idempotence_error = float(np.max(np.abs(H @ H - H)))
    fitted_error = float(np.max(np.abs(H @ y - X @ beta_solve)))
    trace = float(np.trace(H))
    print(f"H is {n}×{n}")
    print(f"max |H − Hᵀ|  = {symmetry_error:.2e}   (symmetric)")
    print(f"max |H² − H|  = {idempotence_error:.2e}   (idempotent: projecting twice = projecting once)")
    print(f"max |Hy − Xβ̂| = {fitted_error:.2e}   (H puts the hat on y: ŷ = Hy)")
    print(f"trace(H)      = {trace:.12f}   (= d = {d}, the dimension of the space it projects onto)")
    # Why H² = H, on paper: H² = X(XᵀX)⁻¹(XᵀX)(XᵀX)⁻¹Xᵀ = X(XᵀX)⁻¹Xᵀ = H.

    # ------------------------------------------------------------------------------------------------
    heading("3. XᵀX is positive semidefinite")
    psd_step = next(step for step in ols.steps if step.rule == "positive semidefinite")
    print(f"derive: {psd_step.explanation}")
    eigenvalues = np.linalg.eigvalsh(A)   # eigvalsh: for symmetric matrices, real eigenvalues, ascending
    print(f"eigenvalues of XᵀX: {np.array2string(eigenvalues, precision=6)}")
    condition_number = float(eigenvalues[-1] / eigenvalues[0])
    print(f"all > 0, so XᵀX is positive definite here (X has full column rank); "
          f"condition number λmax/λmin = {condition_number:.3g}")
    rng = np.random.default_rng(1)
    v = rng.normal(size=d)
    print(f"for a random v: vᵀXᵀXv = {v @ A @ v:.10f} and ‖Xv‖² = {np.sum((X @ v) ** 2):.10f}")

    # ------------------------------------------------------------------------------------------------
    heading("4. Rank deficiency: a duplicated column")
    names = ["intercept", "x1", "x2", "x1 copy"]
    X_dup = np.column_stack([X, X[:, 1]])
    A_dup = X_dup.T @ X_dup
    eigenvalues_dup = np.linalg.eigvalsh(A_dup)
    rank_full = int(np.linalg.matrix_rank(X))
    rank_dup = int(np.linalg.matrix_rank(X_dup))
    print(f"columns {names}: rank {rank_dup} < {X_dup.shape[1]} columns")
    print(f"eigenvalues of XᵀX: {np.array2string(eigenvalues_dup, precision=6)}  (one is 0 up to rounding)")
    # With a zero eigenvalue there is a direction v with X v = 0: here v = (0, 1, 0, −1). Adding any
    # multiple of v to a solution changes no fitted value, so the data cannot tell the solutions apart.
    null_direction = np.array([0.0, 1.0, 0.0, -1.0])
    print(f"X·(0, 1, 0, −1) = 0 up to {np.max(np.abs(X_dup @ null_direction)):.1e}: "
          "β and β + t·(0, 1, 0, −1) fit equally well for every t")
    # lstsq still returns something: of all the solutions, the one with the smallest norm, which splits
    # the x1 coefficient evenly between the two copies.
    beta_min_norm = np.linalg.lstsq(X_dup, y, rcond=None)[0]
    print(f"lstsq picks the minimum-norm solution: {np.array2string(beta_min_norm, precision=6)}")

    # derive.fit refuses: the coefficients are not identifiable, and it says which columns are to blame.
    try:
        derive.fit("ols", X_dup, y, names=names)
        collinear_message = None
    except derive.DataError as error:
        collinear_message = str(error)
    print(f"derive.fit('ols', ...) raises DataError: {collinear_message}")

    # Ridge adds λI: vᵀ(XᵀX + λI)v = ‖Xv‖² + λ‖v‖² > 0, so the system has exactly one solution.
    lam = 1.0
    ridge_eigenvalues = np.linalg.eigvalsh(A_dup + lam * np.eye(4))
    print(f"eigenvalues of XᵀX + λI (λ = {lam:g}): {np.array2string(ridge_eigenvalues, precision=6)}")
    ridge = derive.fit("ridge", X_dup, y, lam=lam, names=names)
    ridge_solution = derive.derivation("ridge").results["solution"]   # (XᵀX + λI)⁻¹Xᵀy
    ridge_formula = evaluate(ridge_solution, {"X": X_dup, "y": y.reshape(-1, 1), "lambda": lam,
                                              "n": n, "d": 4}).ravel()
    print(f"derive.fit('ridge', λ = {lam:g}): {np.array2string(ridge.coef, precision=6)}")
    print(f"derived {unicode(ridge_solution)}: {np.array2string(ridge_formula, precision=6)}")
    print("the two copies of x1 share the coefficient equally: the penalty λ‖β‖² prefers equal shares")

    # ------------------------------------------------------------------------------------------------
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.semilogy(range(1, d + 1), eigenvalues, "o-", label="X (full column rank)")
    axis.semilogy(range(1, 5), np.maximum(np.abs(eigenvalues_dup), 1e-18), "s--", label="X with a duplicated column")
    axis.semilogy(range(1, 5), ridge_eigenvalues, "^:", label=f"duplicated column, XᵀX + λI (λ = {lam:g})")
    axis.set_xticks(range(1, 5))
    axis.set_xlabel("eigenvalue number (ascending)")
    axis.set_ylabel("eigenvalue of XᵀX (log scale)")
    axis.set_title("Eigenvalues of XᵀX")
    axis.legend()
    plot = save_figure(figure, output_dir, "linear_algebra_eigenvalues.png")

    projection = hat_matrix_on_longley()
    pca = principal_components(output_dir)
    conditioning = conditioning_on_longley()
    minimum_norm = minimum_norm_solution()
    return {**projection, **pca, **conditioning, **minimum_norm,
        "plots": [plot, pca["pca_plot"]],
        "beta_solve": beta_solve, "beta_lstsq": beta_lstsq, "beta_formula": beta_formula,
        "solve_vs_lstsq": solve_vs_lstsq, "formula_vs_lstsq": formula_vs_lstsq,
        "gradient_at_solution": float(np.max(np.abs(gradient_at_solution))),
        "hat_symmetry_error": symmetry_error, "hat_idempotence_error": idempotence_error,
        "hat_trace": trace, "eigenvalues": eigenvalues, "condition_number": condition_number,
        "rank_full": rank_full, "rank_duplicated": rank_dup, "eigenvalues_duplicated": eigenvalues_dup,
        "beta_min_norm": beta_min_norm, "collinear_message": collinear_message,
        "ridge_coef": ridge.coef, "ridge_formula": ridge_formula,
    }


def hat_matrix_on_longley() -> dict:
    heading("5. The hat matrix, derived")
    projection = derive.derivation("projection")
    show(projection)
    X = np.column_stack([np.ones(16), standardised(columns("longley", LONGLEY))])
    y = columns("longley", ["y"])
    env = {"X": X, "y": y, "n": X.shape[0], "d": X.shape[1]}
    H = evaluate(projection.results["hat_matrix"], env)
    residuals = evaluate(projection.results["residuals"], env)
    orthogonality = float(np.max(np.abs(X.T @ residuals)) / np.max(np.abs(X.T @ y)))
    print(f"On Longley (intercept and the six standardised predictors, n = 16, d = 7): "
          f"max |H − Hᵀ| = {np.max(np.abs(H - H.T)):.1e}, max |H² − H| = {np.max(np.abs(H @ H - H)):.1e}, "
          f"tr H = {np.trace(H):.10f}, |Xᵀe| relative to |Xᵀy|: {orthogonality:.1e}")
    return {"longley_hat_symmetry": float(np.max(np.abs(H - H.T))), "longley_hat_trace": float(np.trace(H)),
            "longley_hat_idempotence": float(np.max(np.abs(H @ H - H))), "longley_orthogonality": orthogonality}


def principal_components(output_dir) -> dict:
    heading("6. Principal components: a Lagrange multiplier gives an eigenvector")
    pca = derive.derivation("pca")
    show(pca)
    Z = standardised(columns("longley", LONGLEY))
    S = Z.T @ Z / len(Z)                                   # the correlation matrix of the six predictors
    eigenvalues, eigenvectors = np.linalg.eigh(S)          # ascending; eigh: symmetric, orthonormal vectors
    top, v = eigenvalues[-1], eigenvectors[:, [-1]]
    env = {"S": S, "v": v, "lambda": top, "d": 6}
    stationarity = float(np.max(np.abs(evaluate(pca.results["stationarity"], env))))
    variance_along_v = float(evaluate(pca.results["objective"], env).item())
    share = float(top / eigenvalues.sum())
    print(f"top eigenvalue λ₁ = {top:.6f}: the derived ∇_v 𝓛 = {unicode(pca.results['stationarity'])} "
          f"at numpy's eigenvector is {stationarity:.1e}; vᵀSv = {variance_along_v:.6f} = λ₁")
    print(f"the first component explains {100 * share:.1f}% of the variance of the six standardised predictors;")
    print("its loadings: " + ", ".join(f"{name} {w:+.3f}" for name, w in zip(LONGLEY_NAMES, v.ravel())))
    print("What to notice: every predictor except 'unemployed' and 'armed forces' loads almost equally: GNP, "
          "prices, population and the year grow together, which is why Longley is so ill-conditioned.")

    # The figure: two of the predictors, with the principal directions of their own 2×2 covariance.
    pair = Z[:, [1, 4]]                                    # GNP and population
    values2, vectors2 = np.linalg.eigh(pair.T @ pair / len(pair))
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.scatter(pair[:, 0], pair[:, 1], color="tab:blue", label="Longley years (standardised)")
    for value, vector, style in zip(values2[::-1], vectors2.T[::-1], ["tab:red", "tab:orange"]):
        end = 2 * np.sqrt(value) * vector          # ±2 standard deviations along the direction
        axis.plot([-end[0], end[0]], [-end[1], end[1]], color=style, lw=3, label=f"eigenvector, λ = {value:.3f}")
    axis.set_aspect("equal")
    axis.set_xlabel("GNP (standardised)")
    axis.set_ylabel("population (standardised)")
    axis.set_title("Principal directions: Sv = λv, drawn ±2√λ long")
    axis.legend(loc="upper left", fontsize=8)
    plot = save_figure(figure, output_dir, "pca_directions.png")
    return {"pca_top_eigenvalue": float(top), "pca_vector": v.ravel(), "pca_stationarity": stationarity,
            "pca_objective": variance_along_v, "pca_share": share, "pca_pair_eigenvalues": values2,
            "pca_plot": plot}


def conditioning_on_longley() -> dict:
    heading("7. Conditioning: the normal equations square κ")
    svd = derive.derivation("svd-least-squares")
    show(svd)
    X = np.column_stack([np.ones(16), columns("longley", LONGLEY)])
    y = columns("longley", ["y"])
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    beta_svd = evaluate(svd.results["solution"], {"U": U, "s": s.reshape(-1, 1), "V": Vt.T, "y": y,
                                                  "n": 16, "d": 7}).ravel()
    beta_normal = np.linalg.solve(X.T @ X, X.T @ y).ravel()   # the normal equations, formed and solved
    certified = np.array([float(v) for v in load("longley").reference["certified"].values()])
    kappa, kappa_gram = float(np.linalg.cond(X)), float(np.linalg.cond(X.T @ X))
    digits_svd = float(np.min(-np.log10(np.abs(beta_svd - certified) / np.abs(certified))))
    digits_normal = float(np.min(-np.log10(np.abs(beta_normal - certified) / np.abs(certified))))
    print(f"κ(X) = {kappa:.3e}, κ(XᵀX) = {kappa_gram:.3e} = κ(X)^{np.log(kappa_gram) / np.log(kappa):.3f}")
    print(f"correct digits of the worst coefficient against NIST: SVD route {digits_svd:.1f}, "
          f"normal equations {digits_normal:.1f}")
    print("What to notice: the error bound of a backward-stable solve grows like κ(X)·ε, that of the normal "
          "equations like κ(X)²·ε = κ(XᵀX)·ε, which is above 1 here: they promise no digit at all, and keep fewer.")
    return {"kappa": kappa, "kappa_gram": kappa_gram, "digits_svd": digits_svd, "digits_normal": digits_normal}


def minimum_norm_solution() -> dict:
    heading("8. More unknowns than equations: the minimum-norm solution")
    minimum_norm = derive.derivation("min-norm")
    show(minimum_norm)
    # Three Longley years, seven unknowns (intercept and six predictors, standardised): infinitely many fits.
    X = np.column_stack([np.ones(16), standardised(columns("longley", LONGLEY))])[:3]
    y = columns("longley", ["y"])[:3]
    w = evaluate(minimum_norm.results["solution"], {"X": X, "y": y, "n": 3, "d": 7}).ravel()
    pinv = (np.linalg.pinv(X) @ y).ravel()
    null = np.linalg.svd(X)[2][-1] * np.linalg.norm(w)   # a direction with Xz = 0, as long as w
    print(f"Xᵀ(XXᵀ)⁻¹y = {np.array2string(w, precision=2)}; numpy pinv agrees to {np.max(np.abs(w - pinv)):.1e}")
    print(f"w + z with Xz = 0 fits as well (|X(w + z) − y| = {np.max(np.abs(X @ (w + null) - y.ravel())):.1e}) "
          f"but is longer: ‖w‖ = {np.linalg.norm(w):.2f} < ‖w + z‖ = {np.linalg.norm(w + null):.2f}")
    return {"min_norm_vs_pinv": float(np.max(np.abs(w - pinv))), "min_norm_residual": float(np.max(np.abs(X @ w - y.ravel()))),
            "min_norm_length": float(np.linalg.norm(w)), "other_solution_length": float(np.linalg.norm(w + null))}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
