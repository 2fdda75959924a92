"""The moves every likelihood derivation shares: independent observations multiply, and logs turn the
product into a sum."""
import sympy as sp

from derive.core.steps import Derivation

INDEPENDENT = "The likelihood of independent observations is the product of their probabilities."


def log_likelihood_of_independent(D: Derivation, probability, index, count, likelihood, log_likelihood,
                                  why: str = INDEPENDENT) -> sp.Sum:
    """Record L = Πᵢ p(·ᵢ) and log L = Σᵢ log p(·ᵢ) (labels `likelihood`, `log_likelihood`); returns the sum."""
    product = sp.Product(probability, (index, 1, count))
    D.step("independent observations", why, product, product, lhs=likelihood)
    logs = sp.Sum(sp.log(probability), (index, 1, count))
    D.step("the log of a product is the sum of logs", "log is increasing, so L and log L have the same "
           "maximiser; log Πᵢ aᵢ = Σᵢ log aᵢ.", sp.log(product), logs, lhs=log_likelihood)
    return logs
