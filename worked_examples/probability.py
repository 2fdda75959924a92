"""Probability: maximum-likelihood estimates, derived and checked on sampled data.

Run it with

    python worked_examples/probability.py [OUTPUT_FOLDER]

What it shows, top to bottom:
1. Gaussian: derive's derivation of the MLE of (μ, σ²) for iid xᵢ ~ N(μ, σ²), step by step. On a
   sample, μ̂ = (1/n)Σxᵢ is numpy.mean and σ̂² = (1/n)Σ(xᵢ − μ̂)² is numpy.var with ddof=0 (not the
   unbiased ddof=1); the gradient is zero there and the Hessian is diag(n/σ̂², n/(2σ̂⁴)).
2. Bernoulli: p̂ = (1/n)Σxᵢ, the fraction of ones, and the second derivative n/(p̂(1 − p̂)) > 0 there.
3. Multivariate normal: μ̂ = (1/n)Xᵀ𝟏 is the column mean and Σ̂ = (1/n)Σ(xᵢ − μ̂)(xᵢ − μ̂)ᵀ is
   numpy.cov(..., bias=True) (numpy's default divides by n − 1).
It writes one plot, `probability_mle.png`: the Gaussian sample with its fitted density, and the
Bernoulli log-likelihood with its maximum at p̂.
"""
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import heading, print_steps, save_figure

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


def main(output_dir=".") -> dict:
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
    n = len(x)
    print(f"  gradient at (μ̂, σ̂²): {gradient_at_mle}")
    print(f"  Hessian at (μ̂, σ̂²):  diagonal {np.diag(hessian_at_mle)}, off-diagonal {hessian_at_mle[0, 1]:.1e}")
    print(f"  (derive's step 15 says diag(n/σ̂², n/(2σ̂⁴)) = diag({n / var_hat:.10f}, {n / (2 * var_hat ** 2):.10f}))")
    results.update(gaussian_sample=x, gaussian_mu_hat=mu_hat, gaussian_var_hat=var_hat,
                   gaussian_gradient_at_mle=gradient_at_mle, gaussian_hessian_at_mle=hessian_at_mle)

    # The derivation ends with the same estimates in vector notation, μ̂ = (1/n)𝟏ᵀx; evaluate that too.
    vector_mean = next(step for step in gaussian.steps if step.rule == "Σᵢ xᵢ = 𝟏ᵀx").after
    results["gaussian_mu_hat_vector_form"] = evaluate(vector_mean, values)[0, 0]   # a 1×1 matrix
    print(f"  vector form {unicode(vector_mean)} = {results['gaussian_mu_hat_vector_form']:.15f}")

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
    results["plots"] = [plot]
    return results


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
