"""The worked examples (worked_examples/*.py, one per chapter) run and show what they claim.

Each script is imported by path and its `main(output_dir)` called once per module (module-scoped
fixtures: some take a few seconds); the tests assert the numbers it returns. One script also runs as a
subprocess, the way a student runs it.
"""
import importlib.util
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from derive.datasets import load

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "worked_examples"
DATASETS = REPO / "derive" / "datasets" / "data"
CHAPTERS = ["linear_algebra", "multivariable_calculus", "probability", "optimisation", "linear_regression",
            "logistic_regression"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example(name):
    """Import worked_examples/<name>.py as a module (the folder is not a package; its scripts import
    their shared helpers from worked_examples/course.py, as they do when run from the command line)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"worked_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """Run a chapter's main(output_dir) at most once for this module: chapter name -> (result, output folder)."""
    ran = {}

    def run(name):
        if name not in ran:
            output = tmp_path_factory.mktemp(name)
            ran[name] = load_example(name).main(output), output
        return ran[name]
    return run


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_writes_its_plots_into_the_output_folder(examples, chapter):
    result, output = examples(chapter)
    assert result["plots"], "the example writes at least one plot"
    for plot in map(Path, result["plots"]):
        assert plot.parent == Path(output), f"{plot} is not in the output folder {output}"
        data = plot.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE), f"{plot} is not a PNG image"


def test_figures_go_to_a_git_ignored_folder_by_default():
    course = load_example("course")
    assert course.FIGURES == EXAMPLES / "figures"
    assert course.output_folder("x", []) == EXAMPLES / "figures"
    assert course.output_folder("x", ["--out", "elsewhere"]) == Path("elsewhere")
    assert "worked_examples/figures/" in (REPO / ".gitignore").read_text().splitlines()
    for name in CHAPTERS:
        assert "output_folder(" in (EXAMPLES / f"{name}.py").read_text(), name


def test_every_chapter_has_an_example_with_main():
    for name in CHAPTERS:
        source = (EXAMPLES / f"{name}.py").read_text()
        assert "def main(output_dir" in source and '__name__ == "__main__"' in source, name
        assert 'matplotlib.use("Agg")' in source, name
    assert (EXAMPLES / "README.md").is_file()


# ---------------------------------------------------------------------------------------------------
# linear_algebra.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_algebra(examples):
    return examples("linear_algebra")


def test_normal_equations_solved_as_a_linear_system(linear_algebra):
    result, _ = linear_algebra
    np.testing.assert_allclose(result["beta_solve"], result["beta_lstsq"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result["beta_formula"], result["beta_lstsq"], rtol=1e-10)
    assert result["gradient_at_solution"] < 1e-10


def test_hat_matrix_is_a_projection(linear_algebra):
    result, _ = linear_algebra
    assert result["hat_symmetry_error"] < 1e-12
    assert result["hat_idempotence_error"] < 1e-12
    assert result["hat_trace"] == pytest.approx(3, abs=1e-12)


def test_gram_matrix_is_positive_semidefinite(linear_algebra):
    result, _ = linear_algebra
    assert np.all(result["eigenvalues"] > 0)
    assert result["rank_full"] == 3


def test_duplicated_column_makes_the_fit_fail_and_ridge_solve(linear_algebra):
    result, _ = linear_algebra
    assert result["rank_duplicated"] == 3
    assert abs(result["eigenvalues_duplicated"][0]) < 1e-10 * result["eigenvalues_duplicated"][-1]
    message = result["collinear_message"]
    assert message is not None and "collinear" in message
    assert "x1 copy" in message and "x1" in message.replace("x1 copy", "")
    ridge = result["ridge_coef"]
    assert np.all(np.isfinite(ridge))
    assert ridge[1] == pytest.approx(ridge[3], rel=1e-10)          # the two copies share equally
    np.testing.assert_allclose(ridge, result["ridge_formula"], rtol=1e-10)
    # The minimum-norm least-squares solution also splits evenly.
    assert result["beta_min_norm"][1] == pytest.approx(result["beta_min_norm"][3], rel=1e-8)


def test_hat_matrix_on_longley(linear_algebra):
    result, _ = linear_algebra
    assert result["longley_hat_symmetry"] < 1e-12 and result["longley_hat_idempotence"] < 1e-12
    assert result["longley_hat_trace"] == pytest.approx(7, abs=1e-10)
    assert result["longley_orthogonality"] < 1e-12


def test_pca_on_longley_is_numpys_and_sklearns_top_eigenvector(linear_algebra):
    from sklearn.decomposition import PCA
    result, _ = linear_algebra
    data = load("longley").data()
    Z = np.column_stack([data[c] for c in ["x1", "x2", "x3", "x4", "x5", "x6"]])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    pca = PCA().fit(Z)
    assert abs(pca.components_[0] @ result["pca_vector"]) == pytest.approx(1, abs=1e-10)
    # sklearn's explained variance uses n − 1; the chapter's S divides by n
    assert result["pca_top_eigenvalue"] == pytest.approx(pca.explained_variance_[0] * 15 / 16, rel=1e-10)
    assert result["pca_stationarity"] < 1e-12
    assert result["pca_objective"] == pytest.approx(result["pca_top_eigenvalue"], rel=1e-12)
    assert result["pca_share"] == pytest.approx(pca.explained_variance_ratio_[0], rel=1e-10)
    assert result["pca_share"] > 0.7                           # "explains most of the variance"
    assert result["pca_pair_eigenvalues"][0] < 0.01 * result["pca_pair_eigenvalues"][1]


def test_normal_equations_square_the_condition_number(linear_algebra):
    result, _ = linear_algebra
    data = load("longley").data()
    X = np.column_stack([np.ones(16)] + [data[c] for c in ["x1", "x2", "x3", "x4", "x5", "x6"]])
    assert result["kappa"] == pytest.approx(np.linalg.cond(X), rel=1e-6)
    assert 1e9 < result["kappa"] < 1e10                         # "κ(X) ≈ 5·10⁹"
    assert np.log(result["kappa_gram"]) / np.log(result["kappa"]) == pytest.approx(2, abs=0.01)
    assert result["digits_svd"] > result["digits_normal"] + 2


def test_minimum_norm_solution_is_pinv(linear_algebra):
    result, _ = linear_algebra
    assert result["min_norm_vs_pinv"] < 1e-9 and result["min_norm_residual"] < 1e-9
    assert result["min_norm_length"] < result["other_solution_length"]


# ---------------------------------------------------------------------------------------------------
# multivariable_calculus.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def calculus(examples):
    return examples("multivariable_calculus")


def test_derived_gradients_match_finite_differences(calculus):
    result, _ = calculus
    assert result["gradient_error"] < 1e-8
    assert result["logistic_gradient_error"] < 1e-8


def test_jacobian_hessian_and_chain_rule_results(calculus):
    result, _ = calculus
    assert str(result["polar_jacobian_determinant"]) == "r"
    assert result["quadratic_gradient"] == "(A + Aᵀ)x"
    assert result["quadratic_hessian"] == "A + Aᵀ"
    assert result["sigmoid_derivative"] in ("(1 − σ(z))·σ(z)", "σ(z)·(1 − σ(z))")


def test_taylor_error_is_third_order(calculus):
    result, _ = calculus
    # Halving h divides the error of the second-order expansion by 2³ = 8 (and the first-order one by 4),
    # more exactly as h gets smaller.
    second = result["taylor_second_order_ratios"]
    first = result["taylor_first_order_ratios"]
    assert np.all(np.abs(second[1:] - 8) < 0.25)
    assert abs(second[-1] - 8) < 0.05
    assert np.all(np.abs(first[1:] - 4) < 0.1)
    assert np.all(np.diff(result["taylor_second_order_errors"]) < 0)


def test_lagrange_multiplier_on_the_health_ratings(calculus):
    result, _ = calculus
    data = load("randhie").data()
    shares = np.array([np.mean(1 - data["hlthg"] - data["hlthf"] - data["hlthp"]), np.mean(data["hlthg"]),
                       np.mean(data["hlthf"]), np.mean(data["hlthp"])])
    np.testing.assert_allclose(result["health_p_hat"], shares, rtol=1e-12)
    assert result["health_multiplier"] == 20190
    assert result["health_stationarity"] < 1e-9
    assert result["student_correct"] is True and result["flipped_correct"] is False


def test_kkt_conditions_give_the_hard_margin_svm(calculus):
    from sklearn.svm import SVC
    result, _ = calculus
    X, y = result["svm_features"], result["svm_labels"]
    reference = SVC(kernel="linear", C=1e12, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(result["svm_w"], reference.coef_.ravel(), rtol=1e-5)
    assert result["svm_b"] == pytest.approx(reference.intercept_[0], rel=1e-5)
    assert sorted(result["svm_support"]) == sorted(reference.support_.tolist())
    assert result["svm_primal"] == pytest.approx(result["svm_dual"], rel=1e-10)      # no duality gap
    assert result["svm_slackness"] < 1e-8
    assert np.all(result["svm_alpha"] >= 0) and np.all(y * (X @ result["svm_w"] + result["svm_b"]) >= 1 - 1e-9)


# ---------------------------------------------------------------------------------------------------
# probability.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def probability(examples):
    return examples("probability")


def test_gaussian_mle_is_mean_and_biased_variance(probability):
    result, _ = probability
    x = result["gaussian_sample"]
    assert result["gaussian_mu_hat"] == pytest.approx(np.mean(x), rel=1e-13)
    assert result["gaussian_var_hat"] == pytest.approx(np.var(x, ddof=0), rel=1e-12)
    assert result["gaussian_var_hat"] != pytest.approx(np.var(x, ddof=1), rel=1e-6)
    assert np.max(np.abs(result["gaussian_gradient_at_mle"])) < 1e-9
    n, var = len(x), result["gaussian_var_hat"]
    np.testing.assert_allclose(result["gaussian_hessian_at_mle"], np.diag([n / var, n / (2 * var ** 2)]),
                               rtol=1e-10, atol=1e-9)
    # the textbook's asymptotic covariance of (μ̂, σ̂²): diag(σ̂²/n, 2σ̂⁴/n)
    np.testing.assert_allclose(result["gaussian_covariance"], np.diag([var / n, 2 * var ** 2 / n]), rtol=1e-12)


def test_bernoulli_mle_is_the_fraction_of_ones(probability):
    result, _ = probability
    x = result["bernoulli_sample"]
    p = result["bernoulli_p_hat"]
    assert p == pytest.approx(np.mean(x), rel=1e-14)
    assert result["bernoulli_second_derivative"] == pytest.approx(len(x) / (p * (1 - p)), rel=1e-12)


def test_mvn_mle_is_the_biased_covariance(probability):
    result, _ = probability
    X = result["mvn_sample"]
    np.testing.assert_allclose(result["mvn_mu_hat"], X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(result["mvn_sigma_hat"], np.cov(X.T, bias=True), rtol=1e-12, atol=1e-14)


def test_sigma2_bias_by_simulation(probability):
    result, _ = probability
    n = result["bias_sizes"]
    np.testing.assert_allclose(result["bias_derived"], (n - 1) / n * result["bias_sigma2"], rtol=1e-12)
    assert np.all(np.abs(result["bias_z"]) < 4)                 # the simulation sits on (n − 1)σ²/n
    assert result["bias_averages"][0] == pytest.approx(result["bias_sigma2"] / 2, rel=0.03)   # "half at n = 2"


def test_random_vector_moments(probability):
    result, _ = probability
    np.testing.assert_allclose(result["second_moment"], result["second_moment_simulated"], rtol=0.01)
    assert result["projection_variance"] == pytest.approx(result["projection_variance_simulated"], rel=0.02)


def test_beta_bernoulli_on_spector(probability):
    result, _ = probability
    assert (result["improved"], result["students"]) == (11, 32)
    posterior = result["beta_posterior"]
    assert (posterior["posterior_a"], posterior["posterior_b"]) == (13, 23)
    assert posterior["posterior_mean"] == pytest.approx(13 / 36, rel=1e-12)
    assert posterior["posterior_mean"] == pytest.approx(result["beta_integrated_mean"], rel=1e-8)
    assert posterior["map"] == pytest.approx(12 / 34, rel=1e-12)
    assert abs(posterior["map"] - result["beta_grid_mode"]) < 1e-5
    # the posterior mean of μ lies between the prior mean and the sample mean
    assert result["gaussian_prior_mean"] < result["gaussian_posterior_mean"] < result["gpa_mean"]


# ---------------------------------------------------------------------------------------------------
# optimisation.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def optimisation(examples):
    return examples("optimisation")


def test_gradient_descent_converges_below_two_over_L(optimisation):
    result, _ = optimisation
    for label in ("1/L", "1.9/L"):
        run = result["gd"][label]
        assert run["step_size"] < 2 / result["lipschitz"]
        assert run["converged"], label
        assert run["relative_error"] < 1e-9, label
        assert run["contraction"] < 1
        # On a quadratic, L(β − ηg) = L(β) − η(1 − ηλ/2)‖g‖²-ish terms: every step below 2/L decreases the
        # loss (checked where the decrease is far above rounding).
        assert np.all(np.diff(run["losses"][:100]) < 0), label


def test_gradient_descent_diverges_above_two_over_L(optimisation):
    result, _ = optimisation
    run = result["gd"]["2.1/L"]
    assert run["step_size"] > 2 / result["lipschitz"]
    assert not run["converged"]
    assert run["contraction"] > 1
    assert run["losses"][-1] > 1e6 * run["losses"][0]


def test_step_size_bound_comes_from_the_hessian(optimisation):
    result, _ = optimisation
    assert result["lipschitz"] == pytest.approx(result["hessian_eigenvalues"].max())
    assert result["smallest_eigenvalue"] > 0


def test_newton_converges_in_one_step_on_a_quadratic(optimisation):
    result, _ = optimisation
    assert np.linalg.norm(result["newton_start"] - result["beta_best"]) > 1   # it starts far away
    assert result["newton_relative_error"] < 1e-10
    assert result["newton_gradient_norm"] < 1e-8
    assert result["newton_losses"][1] == pytest.approx(result["loss_best"], rel=1e-12)


def test_rate_of_gradient_descent_from_the_eigenvalues(optimisation):
    result, _ = optimisation
    assert result["measured_rate"] == pytest.approx(result["predicted_rate"], rel=1e-4)


def test_descent_lemma_holds_along_gradient_descent(optimisation):
    result, _ = optimisation
    assert result["descent_slack_min"] >= 0


def test_newton_digits_double_on_the_spector_fit(optimisation):
    result, _ = optimisation
    digits = result["newton_digits"]
    growing = [d for d in digits if d < 13]
    assert len(growing) >= 4
    for before, after in zip(growing[1:], growing[2:]):
        assert 1.6 < after / before < 2.6                  # each step about doubles the digits
    assert max(digits) > 13
    ratios = result["newton_ratios"]
    assert max(ratios) / min(ratios) < 1.5                  # e_{k+1}/e_k² roughly constant


def test_sgd_gradients_average_to_the_full_gradient(optimisation):
    result, _ = optimisation
    assert result["sgd_unbiased_error"] < 1e-10
    paths = result["contour_paths"]
    newton = paths["Newton"]
    assert np.linalg.norm(newton[-1] - newton[-2]) < 1e-10
    gd = paths["gradient descent, η = 1/L"]
    assert np.linalg.norm(gd[-1] - newton[-1]) > 1e-2        # gradient descent is still far after 200 steps


# ---------------------------------------------------------------------------------------------------
# linear_regression.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_regression(examples):
    return examples("linear_regression")


def log_relative_error(estimate, certified):
    error = abs(Fraction(float(estimate)) - Fraction(Decimal(certified))) / abs(Fraction(Decimal(certified)))
    return 15.0 if error == 0 else min(15.0, -float(np.log10(float(error))))


def test_longley_matches_nist_certified_values(linear_regression):
    result, _ = linear_regression
    certified = json.loads((DATASETS / "Longley.json").read_text())["certified"]
    assert result["method"] == "exact"
    for j, estimate in enumerate(result["coef"]):
        # Independently of the script's own LRE (computed here again from the JSON).
        assert log_relative_error(estimate, certified[f"B{j}"]) >= 14, (j, estimate, certified[f"B{j}"])
    assert min(result["lre"]) >= 14
    assert result["digits_matching"] == 7
    assert min(result["lre_std_errors"]) >= 12
    # The script's point about floating point: the explicit inverse loses digits, lstsq fewer.
    assert min(result["lre_explicit_inverse"]) < min(result["lre_lstsq"]) < min(result["lre"])


def test_ridge_path(linear_regression):
    result, _ = linear_regression
    path = result["ridge_path"]
    assert path.shape == (len(result["ridge_lambdas"]), 6)
    np.testing.assert_allclose(result["ridge_at_zero"], result["ols_standardised"], rtol=1e-8)
    assert result["ridge_formula_difference"] < 1e-8
    norms = np.linalg.norm(path, axis=1)
    assert np.all(np.diff(norms) < 0)          # ‖β(λ)‖ shrinks as λ grows
    assert norms[-1] < 0.01 * norms[0]


def test_sampling_distribution_of_beta_hat(linear_regression):
    result, _ = linear_regression
    assert result["simulated_bias_in_se"] < 0.05
    assert result["simulated_covariance_error"] < 0.03
    assert result["std_errors_vs_derived"] < 1e-8


def test_bias_variance_over_polynomial_degree(linear_regression):
    result, _ = linear_regression
    d = result["degrees"] + 1
    np.testing.assert_allclose(result["variance"], result["noise_variance"] * d / 82, rtol=1e-6)   # σ²·tr(H)/n
    np.testing.assert_allclose(result["expected_error"],
                               result["noise_variance"] + result["bias2"] + result["variance"], rtol=1e-10)
    assert result["best_degree"] == 10
    assert result["bias2"][10] < 1e-12 * result["bias2"][0]
    assert np.all(np.diff(result["variance"]) > 0)
    assert result["expected_error"][20] > result["expected_error"][10]
    assert result["simulated_error_degree_4"] == pytest.approx(result["expected_error"][4], rel=0.01)


def test_bayesian_regression_mean_is_ridge(linear_regression):
    from sklearn.linear_model import Ridge
    result, _ = linear_regression
    np.testing.assert_allclose(result["posterior_mean"], result["ridge_map"], atol=1e-10)
    data = load("longley").data()
    Z = np.column_stack([data[c] for c in ["x1", "x2", "x3", "x4", "x5", "x6"]])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    y = (data["y"] - data["y"].mean()) / data["y"].std()
    ridge = Ridge(alpha=result["bayes_sigma2"] / result["bayes_tau2"], fit_intercept=False, solver="svd").fit(Z, y)
    np.testing.assert_allclose(result["posterior_mean"], ridge.coef_, atol=1e-10)
    ols_variance = result["bayes_sigma2"] * np.diag(np.linalg.inv(Z.T @ Z))
    assert np.all(np.diag(result["posterior_covariance"]) < ols_variance)   # the prior narrows every coefficient


def test_linear_regression_runs_as_a_script(tmp_path):
    output = tmp_path / "plots"
    completed = subprocess.run([sys.executable, str(EXAMPLES / "linear_regression.py"), "--out", str(output)],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path,
                               env={**os.environ, "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"})
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "-3482258.63459582" in completed.stdout
    assert (output / "ridge_path.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not list(tmp_path.glob("*.png"))   # plots go to the given folder, not the working directory


# ---------------------------------------------------------------------------------------------------
# logistic_regression.py
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logistic_regression(examples):
    return examples("logistic_regression")


def test_spector_matches_stata(logistic_regression):
    result, _ = logistic_regression
    stata = json.loads((DATASETS / "spector_logit.json").read_text())
    names = result["names"]
    expected = np.array([float(stata["params"][name]) for name in names])
    expected_se = np.array([float(stata["bse"][name]) for name in names])
    np.testing.assert_allclose(result["coef"], expected, rtol=1e-6)
    np.testing.assert_allclose(result["std_errors"], expected_se, rtol=1e-6)
    np.testing.assert_allclose(result["newton_loop_coef"], expected, rtol=1e-6)
    assert result["loglike"] == pytest.approx(float(stata["llf"]), rel=1e-6)
    assert result["converged"] and result["iterations"] <= 10


def test_newton_beats_gradient_descent(logistic_regression):
    result, _ = logistic_regression
    losses = np.array(result["newton_losses"])
    assert np.all(np.diff(losses) <= 1e-12)             # Newton decreases the loss at every step here
    assert len(losses) - 1 <= 10
    assert result["gd_converged"]
    assert result["gd_iterations"] > 2 * (len(losses) - 1)
    np.testing.assert_allclose(result["gd_coef"], result["coef"], rtol=1e-4)


def test_hand_derived_gradient_is_checked(logistic_regression):
    result, _ = logistic_regression
    assert result["check_right"] is True
    assert result["check_wrong"] is False
    assert "sign" in result["wrong_diagnosis"]


def test_reading_the_logistic_fit(logistic_regression):
    result, _ = logistic_regression
    psi = result["coef"][result["names"].index("PSI")]
    assert result["odds_ratio"] == pytest.approx(np.exp(psi))
    odds = [p / (1 - p) for p in (result["p_without_psi"], result["p_with_psi"])]
    assert odds[1] / odds[0] == pytest.approx(result["odds_ratio"], rel=1e-10)


def test_regularised_logistic_matches_sklearn(logistic_regression):
    from sklearn.linear_model import LogisticRegression
    result, _ = logistic_regression
    data = load("spector").data()
    X = np.column_stack([data["GPA"], data["TUCE"], data["PSI"]])
    reference = LogisticRegression(C=result["map_tau2"], tol=1e-12, max_iter=10_000).fit(X, data["GRADE"])
    expected = np.append(reference.coef_.ravel(), reference.intercept_)   # the chapter's order: slopes, const
    np.testing.assert_allclose(result["map_coef"], expected, rtol=1e-6, atol=1e-7)
    assert result["map_gradient_norm"] < 1e-10
    slopes = [0, 2]   # GPA and PSI, the large slopes, shrink
    assert np.all(np.abs(result["map_coef"][slopes]) < np.abs(result["unpenalised_coef"][slopes]))

