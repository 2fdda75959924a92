"""Probability: maximum-likelihood estimates, derived and checked on sampled data.

Run it with

    python worked_examples/probability.py [--out DIR]

What it shows, top to bottom:
1. Gaussian: derive's derivation of the MLE of (μ, σ²) for iid xᵢ ~ N(μ, σ²), step by step. On a
   sample, μ̂ = (1/n)Σxᵢ is numpy.mean and σ̂² = (1/n)Σ(xᵢ − μ̂)² is numpy.var with ddof=0 (not the
   unbiased ddof=1); the gradient is zero there and the Hessian is diag(n/σ̂², n/(2σ̂⁴)).
2. Bernoulli: p̂ = (1/n)Σxᵢ, the fraction of ones, and the second derivative n/(p̂(1 − p̂)) > 0 there.
3. Multivariate normal: μ̂ = (1/n)Xᵀ𝟏 is the column mean and Σ̂ = (1/n)Σ(xᵢ − μ̂)(xᵢ − μ̂)ᵀ is
   numpy.cov(..., bias=True) (numpy's default divides by n − 1).
4. The bias of σ̂², derived step by step (derive show sigma2-bias): E[σ̂²] = (n − 1)σ²/n, and by
   simulation: samples of the 16 Longley years' unemployment (standardised) are resampled as a population
   whose σ² is known, and the average σ̂² over many samples of size n sits on (n − 1)σ²/n, not on σ².
5. Expectations of a random vector (derive show random-vectors): E[xxᵀ] = Σ + μμᵀ and Var(aᵀx) = aᵀΣa, on
   the Spector students' (GPA, TUCE) scores resampled with replacement.
6. Bayes: the Beta prior is conjugate to the Bernoulli likelihood (derive show beta-bernoulli). Spector's
   32 students, 11 of whom improved their grade: the posterior Beta(a + 11, b + 21), its mean and mode
   against a numerical integration of likelihood × prior; and the posterior of a Gaussian mean
   (derive show bayes-gaussian), a weighted average of the sample mean and the prior mean.
Plots: `probability_mle.png` (the Gaussian sample with its fitted density, the Bernoulli log-likelihood),
`sigma2_bias.png` (the average σ̂² against n, with (n − 1)σ²/n) and `beta_posterior.png` (prior,
likelihood and posterior of Spector's improvement rate).
"""
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import FIGURES, columns, heading, output_folder, print_steps, save_figure, show, standardised

import derive
from derive.core.numeval import evaluate
from derive.expr.printing import unicode


def sample_values(x):
    """The values derive.core.numeval needs for a sample x of n numbers: the vector x (n×1) and its length.

    (The derivations also write the entries xᵢ inside sums Σ_{i=1..n}; numeval reads them from the same
    vector, counting from 1 as the sums do.)
    """
    column = np.asarray(x, dtype=float).reshape(-1, 1)
    return {"n": len(column), "x": column}


def main(output_dir=FIGURES) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    results = {}

    # ------------------------------------------------------------------------------------------------
    heading("1. Gaussian: the MLE of the mean and the variance")
    gaussian = derive.derivation("gaussian")
    print_steps(gaussian)
    x = rng.normal(loc=2.0, scale=1.5, size=200)
    values = sample_values(x)
    # The solution is the vector (μ̂, σ̂²) written with sums.
    mu_hat, var_hat = evaluate(gaussian.results["solution"], values).ravel()
    print(f"\nderived solution: {unicode(gaussian.results['solution'])}")
    print(f"on a sample of n = {len(x)} from N(2, 1.5²):")
    print(f"  μ̂  = {mu_hat:.15f}   numpy.mean       = {np.mean(x):.15f}")
    print(f"  σ̂² = {var_hat:.15f}   numpy.var(ddof=0) = {np.var(x, ddof=0):.15f}")
    print(f"  (numpy.var(ddof=1) = {np.var(x, ddof=1):.15f} is the unbiased estimate, larger by n/(n − 1))")
    # At the estimate the gradient of the loss (the negative log-likelihood) is zero, and the Hessian is
    # positive definite: a minimum of the loss, a maximum of the likelihood.
    at_mle = {**values, "mu": mu_hat, "sigma^2": var_hat}
    gradient_at_mle = evaluate(gaussian.results["gradient"], at_mle).ravel()
    hessian_at_mle = evaluate(gaussian.results["hessian"], at_mle)
    print(f"  gradient at (μ̂, σ̂²): {gradient_at_mle}")
    print(f"  Hessian at (μ̂, σ̂²):  diagonal {np.diag(hessian_at_mle)}, off-diagonal {hessian_at_mle[0, 1]:.1e}")
    # The derivation evaluates the Hessian at the estimates itself (Σᵢ(xᵢ − μ̂) = 0, Σᵢ(xᵢ − μ̂)² = nσ̂²) and
    # inverts it: the asymptotic covariance diag(σ̂²/n, 2σ̂⁴/n). Evaluate both with the hats' values.
    step = {s.rule: s for s in gaussian.steps}
    hats = {**values, "mu_hat": mu_hat, "sigma^2_hat": var_hat}
    print(f"  derive's {unicode(step['evaluate at the estimates'].after)} = "
          f"{np.diag(evaluate(step['evaluate at the estimates'].after, hats))} on the diagonal")
    covariance = evaluate(step["asymptotic covariance"].after, hats)
    print(f"  asymptotic covariance {unicode(step['asymptotic covariance'].after)}: standard errors "
          f"{np.sqrt(np.diag(covariance))}")
    results.update(gaussian_sample=x, gaussian_mu_hat=mu_hat, gaussian_var_hat=var_hat,
                   gaussian_gradient_at_mle=gradient_at_mle, gaussian_hessian_at_mle=hessian_at_mle,
                   gaussian_covariance=covariance)

    # ------------------------------------------------------------------------------------------------
    heading("2. Bernoulli: the MLE of p")
    bernoulli = derive.derivation("bernoulli")
    print_steps(bernoulli)
    coin = rng.binomial(1, 0.3, size=500).astype(float)
    values = sample_values(coin)
    p_hat = float(evaluate(bernoulli.results["solution"], values))
    second_derivative = float(evaluate(bernoulli.results["hessian"], {**values, "p": p_hat}))
    print(f"\non {len(coin)} flips of a coin with p = 0.3: p̂ = {p_hat:.15f}, numpy.mean = {np.mean(coin):.15f}")
    print(f"d²ℓ/dp² at p̂ = {second_derivative:.6f} = n/(p̂(1 − p̂)) = {len(coin) / (p_hat * (1 - p_hat)):.6f} > 0")
    results.update(bernoulli_sample=coin, bernoulli_p_hat=p_hat, bernoulli_second_derivative=second_derivative)

    # ------------------------------------------------------------------------------------------------
    heading("3. Multivariate normal: the MLE of μ and Σ")
    mvn = derive.derivation("mvn")
    # The full derivation is long (differentials of log det Σ and tr(Σ⁻¹A)); list its rules only.
    print(textwrap.fill("rules used: " + "; ".join(step.rule for step in mvn.steps), width=100))
    mu_formula, sigma_formula = mvn.results["solution"]
    print(f"μ̂ = {unicode(mu_formula)}")
    print(f"Σ̂ = {unicode(sigma_formula)}")
    mean = np.array([1.0, -1.0, 0.5])
    covariance = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    X = rng.multivariate_normal(mean, covariance, size=300)      # one observation per row
    values = {"X": X, "n": X.shape[0], "d": X.shape[1]}
    mvn_mu_hat = evaluate(mu_formula, values).ravel()
    mvn_sigma_hat = evaluate(sigma_formula, values)
    print(f"on n = {X.shape[0]} draws in d = {X.shape[1]} dimensions:")
    print(f"  μ̂ = {mvn_mu_hat},  numpy.mean(X, axis=0) = {X.mean(axis=0)}")
    print(f"  max |Σ̂ − numpy.cov(X.T, bias=True)| = {np.max(np.abs(mvn_sigma_hat - np.cov(X.T, bias=True))):.1e}")
    print(f"  max |Σ̂ − numpy.cov(X.T)|            = {np.max(np.abs(mvn_sigma_hat - np.cov(X.T))):.1e}"
          "  (numpy's default divides by n − 1)")
    results.update(mvn_sample=X, mvn_mu_hat=mvn_mu_hat, mvn_sigma_hat=mvn_sigma_hat)

    # ------------------------------------------------------------------------------------------------
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(x, bins=20, density=True, alpha=0.5, label="sample")
    grid = np.linspace(x.min() - 1, x.max() + 1, 200)
    density = np.exp(-(grid - mu_hat) ** 2 / (2 * var_hat)) / np.sqrt(2 * np.pi * var_hat)
    left.plot(grid, density, label=f"N(μ̂ = {mu_hat:.2f}, σ̂² = {var_hat:.2f})")
    left.set_title("Gaussian MLE")
    left.legend()
    p_grid = np.linspace(0.01, 0.99, 300)
    ones = coin.sum()
    log_likelihood = ones * np.log(p_grid) + (len(coin) - ones) * np.log(1 - p_grid)
    right.plot(p_grid, log_likelihood)
    right.axvline(p_hat, color="k", linestyle="--", label=f"p̂ = {p_hat:.3f}")
    right.set_ylim(log_likelihood.max() - 200, log_likelihood.max() + 20)
    right.set_xlabel("p")
    right.set_ylabel("log-likelihood")
    right.set_title("Bernoulli log-likelihood")
    right.legend()
    plot = save_figure(figure, output_dir, "probability_mle.png")
    bias = variance_bias(output_dir)
    moments = random_vector_moments()
    bayes = conjugate_posteriors(output_dir)
    results.update(bias, **moments, **bayes)
    results["plots"] = [plot, bias["bias_plot"], bayes["posterior_plot"]]
    return results


def variance_bias(output_dir) -> dict:
    heading("4. The maximum-likelihood variance is biased")
    derivation = derive.derivation("sigma2-bias")
    show(derivation)
    # A population whose variance we know exactly: the 16 standardised Longley unemployment figures,
    # sampled with replacement (so σ² is their variance, 1, and the draws are independent).
    population = standardised(columns("longley", ["x3"])).ravel()
    sigma2 = float(np.var(population))
    rng = np.random.default_rng(16)
    sizes = np.arange(2, 13)
    reps = 40_000
    averages, standard_errors, derived = [], [], []
    for n in sizes:
        samples = rng.choice(population, size=(reps, n))
        mle = samples.var(axis=1)                  # ddof=0: the maximum-likelihood σ̂²
        averages.append(mle.mean())
        standard_errors.append(mle.std() / np.sqrt(reps))
        derived.append(float(evaluate(derivation.results["expectation"], {"n": int(n), "sigma^2": sigma2})))
    averages, standard_errors, derived = map(np.array, (averages, standard_errors, derived))
    z_scores = (averages - derived) / standard_errors
    print(f"σ² = {sigma2:.6f}; over {reps} samples of each size n, the average σ̂² against (n − 1)σ²/n:")
    for n, average, expected, z in zip(sizes, averages, derived, z_scores):
        print(f"  n = {n:2d}: average σ̂² = {average:.4f}, (n − 1)σ²/n = {expected:.4f}  ({z:+.1f} standard errors)")
    print("What to notice: at n = 2 the maximum-likelihood estimate is half the variance on average; the "
          "factor (n − 1)/n, Bessel's correction, is what numpy.var(ddof=1) undoes.")
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.errorbar(sizes, averages, yerr=2 * standard_errors, fmt="o", label="simulation: average σ̂² (± 2 s.e.)")
    axis.plot(sizes, derived, "-", label="derived: (n − 1)σ²/n")
    axis.axhline(sigma2, color="k", linestyle="--", label="σ²")
    axis.set_xlabel("sample size n")
    axis.set_ylabel("E[σ̂²]")
    axis.set_title("The bias of the maximum-likelihood variance")
    axis.legend()
    plot = save_figure(figure, output_dir, "sigma2_bias.png")
    return {"bias_sizes": sizes, "bias_averages": averages, "bias_derived": derived, "bias_z": z_scores,
            "bias_sigma2": sigma2, "bias_plot": plot}


def random_vector_moments() -> dict:
    heading("5. Expectations of a random vector")
    derivation = derive.derivation("random-vectors")
    show(derivation)
    scores = columns("spector", ["GPA", "TUCE"])
    mu, Sigma = scores.mean(axis=0), np.cov(scores, rowvar=False, bias=True)   # the resampling population
    a = np.array([10.0, 1.0])                                    # a weighted score 10·GPA + TUCE
    values = {"mu": mu.reshape(-1, 1), "Sigma": Sigma, "a": a.reshape(-1, 1), "d": 2}
    second = evaluate(derivation.results["second_moment"], values)
    variance = float(evaluate(derivation.results["variance"], values).item())
    rng = np.random.default_rng(32)
    draws = scores[rng.integers(0, len(scores), 200_000)]
    simulated_second = draws.T @ draws / len(draws)
    simulated_variance = float(np.var(draws @ a))
    print(f"E[xxᵀ] = Σ + μμᵀ = {np.array2string(second, precision=3)}; by 200000 draws: "
          f"{np.array2string(simulated_second, precision=3)}")
    print(f"Var(10·GPA + TUCE) = aᵀΣa = {variance:.4f}; by simulation {simulated_variance:.4f}")
    return {"second_moment": second, "second_moment_simulated": simulated_second,
            "projection_variance": variance, "projection_variance_simulated": simulated_variance}


def beta_density(p, a, b):
    """The Beta(a, b) density p^(a−1)(1 − p)^(b−1)/B(a, b), with B(a, b) = Γ(a)Γ(b)/Γ(a + b) in logs."""
    log_normaliser = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return np.exp((a - 1) * np.log(p) + (b - 1) * np.log(1 - p) - log_normaliser)


def conjugate_posteriors(output_dir) -> dict:
    heading("6. Bayes: conjugate priors")
    derivation = derive.derivation("beta-bernoulli")
    show(derivation)
    improved = columns("spector", ["GRADE"]).ravel()
    a, b = 2.0, 2.0                                   # a mild prior: about 1 improvement in 2 students
    values = {"x": improved.reshape(-1, 1), "n": len(improved), "a": a, "b": b}
    posterior = {q: float(evaluate(derivation.results[q], values)) for q in
                 ("posterior_a", "posterior_b", "posterior_mean", "map")}
    # Independently: likelihood × prior on a fine grid, normalised numerically.
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    s, n = improved.sum(), len(improved)
    log_unnormalised = (s + a - 1) * np.log(grid) + (n - s + b - 1) * np.log(1 - grid)
    weights = np.exp(log_unnormalised - log_unnormalised.max())
    spacing = grid[1] - grid[0]               # a uniform grid, the density ~0 at both ends: sums integrate
    weights /= weights.sum() * spacing
    integrated_mean = float(np.sum(grid * weights) * spacing)
    grid_mode = float(grid[np.argmax(weights)])
    print(f"{int(s)} of {n} students improved; prior Beta({a:g}, {b:g}) → posterior "
          f"Beta({posterior['posterior_a']:g}, {posterior['posterior_b']:g})")
    print(f"posterior mean {posterior['posterior_mean']:.6f} (numerical integration {integrated_mean:.6f}), "
          f"mode {posterior['map']:.6f} (grid {grid_mode:.6f}); the MLE s/n = {s / n:.6f}")
    print("What to notice: the prior acts as a − 1 = 1 extra improvement and b − 1 = 1 extra non-improvement: "
          "the mode is (s + 1)/(n + 2), pulled from s/n towards 1/2.")

    gaussian = derive.derivation("bayes-gaussian")
    show(gaussian)
    gpa = columns("spector", ["GPA"]).ravel()
    prior_mean, prior_variance, noise_variance = 2.5, 0.25, float(np.var(gpa))
    env = {"x": gpa.reshape(-1, 1), "n": len(gpa), "mu_0": prior_mean, "tau^2": prior_variance,
           "sigma^2": noise_variance}
    gaussian_mean = float(evaluate(gaussian.results["posterior_mean"], env))
    gaussian_variance = float(evaluate(gaussian.results["posterior_variance"], env))
    print(f"GPA: sample mean {gpa.mean():.4f}, prior mean {prior_mean}; posterior mean {gaussian_mean:.4f}, "
          f"posterior variance {gaussian_variance:.5f} (the sampling variance σ²/n is {noise_variance / len(gpa):.5f})")

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(grid, beta_density(grid, a, b), label=f"prior Beta({a:g}, {b:g})")
    likelihood = np.exp(s * np.log(grid) + (n - s) * np.log(1 - grid))
    axis.plot(grid, likelihood / (likelihood.sum() * spacing), "--", label="likelihood (normalised)")
    axis.plot(grid, beta_density(grid, posterior["posterior_a"], posterior["posterior_b"]),
              label=f"posterior Beta({posterior['posterior_a']:g}, {posterior['posterior_b']:g})")
    axis.axvline(posterior["posterior_mean"], color="k", linestyle=":", label="posterior mean")
    axis.set_xlabel("p, the probability that a student improves")
    axis.set_ylabel("density")
    axis.set_title("Spector: Beta prior × Bernoulli likelihood")
    axis.legend()
    plot = save_figure(figure, output_dir, "beta_posterior.png")
    return {"beta_posterior": posterior, "beta_integrated_mean": integrated_mean, "beta_grid_mode": grid_mode,
            "improved": int(s), "students": n, "gaussian_posterior_mean": gaussian_mean,
            "gaussian_posterior_variance": gaussian_variance, "gpa_mean": float(gpa.mean()),
            "gaussian_prior_mean": prior_mean, "posterior_plot": plot}


if __name__ == "__main__":
    main(output_folder(__doc__.splitlines()[0]))
