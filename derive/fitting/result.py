"""The record of a fitted model, printed as a table for the terminal or as the JSON of `derive fit --json`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FitResult:
    """A fitted model. `coef` and `std_errors` are in the order of X's columns (`names`)."""
    model: str
    method: str
    names: list[str]
    coef: np.ndarray
    std_errors: np.ndarray | None
    converged: bool
    iterations: int | None
    loss: float
    residual_sd: float | None = None
    r_squared: float | None = None
    loglike: float | None = None
    deviance: float | None = None
    condition_number: float | None = None
    lam: float | None = None
    warnings: list[str] = field(default_factory=list)
    history: list[float] = field(default_factory=list)  # the loss at each iteration of an iterative method

    def summary(self) -> str:
        """A table for the terminal: coefficients, standard errors and the fit's statistics."""
        width = max(len(n) for n in self.names + ["coefficient"])
        lines = [f"{self.model} fit by {self.method}" + (f" (λ = {self.lam:g})" if self.lam is not None else ""),
                 f"{'':<{width}}  {'estimate':>22}  {'std. error':>12}"]
        errors = self.std_errors if self.std_errors is not None else [None] * len(self.names)
        for name, value, error in zip(self.names, self.coef, errors):
            lines.append(f"{name:<{width}}  {value:>22.15g}  " + (f"{error:>12.6g}" if error is not None else f"{'—':>12}"))
        facts = [("loss", self.loss), ("residual SD", self.residual_sd), ("R²", self.r_squared),
                 ("log-likelihood", self.loglike), ("deviance", self.deviance),
                 ("condition number", self.condition_number)]
        lines += [f"{label}: {value:.10g}" for label, value in facts if value is not None]
        if self.iterations is not None:
            lines.append(f"{'converged' if self.converged else 'NOT converged'} after {self.iterations} iterations")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The JSON of `derive fit --json`: model, method, coefficients, std_errors, converged, iterations, loss,
        then the extra statistics."""
        def named(values):
            return None if values is None else {k: float(v) for k, v in zip(self.names, values)}
        return {
            "model": self.model, "method": self.method,
            "coefficients": named(self.coef), "std_errors": named(self.std_errors),
            "converged": self.converged, "iterations": self.iterations, "loss": float(self.loss),
            "residual_sd": self.residual_sd, "r_squared": self.r_squared, "loglike": self.loglike,
            "deviance": self.deviance, "condition_number": self.condition_number, "lam": self.lam,
            "warnings": list(self.warnings),
        }
