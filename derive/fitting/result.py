"""The record of a fitted model, with the statistics statsmodels users expect (DESIGN §10), printed as a
table for the terminal, as HTML in Jupyter, or as the JSON of `derive fit --json`.

Tests of a coefficient: t with the residual degrees of freedom for ols (its σ² is estimated), z (normal)
for the likelihood models, as statsmodels' OLS, Logit and Poisson do. AIC = −2ℓ + 2k and
BIC = −2ℓ + k·log n with k the number of coefficients.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

from derive.fitting.distributions import normal_quantile, normal_two_sided, t_quantile, t_two_sided

# What the fitted mean of each model is, from the linear predictor η = Xβ (for `predict`).
MEANS = {
    "ols": lambda eta: eta,
    "ridge": lambda eta: eta,
    "logistic": lambda eta: np.exp(-np.logaddexp(0, -eta)),  # σ(η) without overflow
    "poisson": np.exp,
}


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
    nobs: int | None = None
    notes: list[str] = field(default_factory=list)  # what the reader must know to read the numbers
    classes: list | None = None  # softmax: the classes, the last one the reference
    covariance: np.ndarray | None = None  # mvn: the MLE Σ̂
    loss_label: str | None = None  # what `loss` is, for a model file's fit ("loss (−log-likelihood)")

    @property
    def coef_matrix(self) -> np.ndarray | None:
        """softmax: W as the d×K matrix, a column per class, the reference (last) column 0."""
        if self.classes is None:
            return None
        K = len(self.classes)
        W = np.zeros((len(self.coef) // (K - 1), K))
        W[:, :-1] = self.coef.reshape(-1, K - 1)
        return W

    @property
    def df_resid(self) -> int | None:
        return None if self.nobs is None else self.nobs - len(self.coef)

    @property
    def statistic(self) -> str:
        """"t" when σ² was estimated (ols), "z" for the likelihood models."""
        return "t" if self.model in ("ols", "ridge") else "z"

    @property
    def tvalues(self) -> np.ndarray | None:
        if self.std_errors is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.coef / self.std_errors

    @property
    def pvalues(self) -> np.ndarray | None:
        """Two-sided p-values of the tests that each coefficient is 0."""
        if self.tvalues is None:
            return None
        if self.statistic == "t":
            return np.array([t_two_sided(t, self.df_resid) for t in self.tvalues])
        return np.array([normal_two_sided(t) for t in self.tvalues])

    def conf_int(self, alpha: float = 0.05) -> np.ndarray | None:
        """The (1 − alpha) confidence intervals, one row [low, high] per coefficient."""
        if self.std_errors is None:
            return None
        if not 0 < alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        q = (t_quantile(1 - alpha / 2, self.df_resid) if self.statistic == "t"
             else normal_quantile(1 - alpha / 2))
        return np.column_stack([self.coef - q * self.std_errors, self.coef + q * self.std_errors])

    @property
    def aic(self) -> float | None:
        return None if self.loglike is None else -2 * self.loglike + 2 * len(self.coef)

    @property
    def bic(self) -> float | None:
        if self.loglike is None or self.nobs is None:
            return None
        return -2 * self.loglike + math.log(self.nobs) * len(self.coef)

    def predict(self, X_new, offset=None, exposure=None) -> np.ndarray:
        """The fitted mean at new rows (with the design's columns, intercept included, in their order): Xβ
        for ols and ridge, the probability σ(Xβ) for logistic, the rate exp(Xβ + offset + log exposure)
        for poisson, the n×K class probabilities for softmax."""
        columns = getattr(X_new, "columns", None)
        if columns is not None and self.classes is None and [str(c) for c in columns] != self.names:
            X_new = X_new[self.names]  # a DataFrame: its columns by name
        W = self.coef_matrix if self.classes is not None else self.coef
        X_new = np.asarray(X_new, dtype=float)
        if X_new.ndim == 1:
            X_new = X_new[None, :] if len(W) > 1 else X_new[:, None]
        if X_new.shape[1] != len(W):
            raise ValueError(f"X_new has {X_new.shape[1]} columns; the fit has {len(W)}")
        eta = X_new @ W
        if self.classes is not None:  # the probability of each class: softmax of each row, stably
            return np.exp(eta - np.logaddexp.reduce(eta, axis=1, keepdims=True))
        if offset is not None:
            eta = eta + np.asarray(offset, dtype=float)
        if exposure is not None:
            eta = eta + np.log(np.asarray(exposure, dtype=float))
        return MEANS[self.model](eta)

    # -- printing

    def _statistics(self) -> list[tuple[str, float | int | None]]:
        return [("observations", self.nobs), ("residual df", self.df_resid), ("R²", self.r_squared),
                ("residual SD", self.residual_sd), ("log-likelihood", self.loglike), ("AIC", self.aic),
                ("BIC", self.bic), ("deviance", self.deviance), (self._loss_label(), self.loss),
                (self._condition_label(), self.condition_number)]

    def _loss_label(self) -> str:
        if self.loss_label:
            return self.loss_label
        if self.model == "ols":
            return "loss (residual sum of squares)"
        if self.model == "ridge":
            return "loss (RSS + λ‖β‖²)"
        if self.model == "poisson":
            return "loss (−log-likelihood without Σ log yᵢ!)"
        return "loss (−log-likelihood)"

    def _condition_label(self) -> str:
        if self.model in ("ols", "ridge"):
            return "condition number (design, centred and scaled)"
        return "condition number (Hessian, scaled to unit diagonal)"

    def _table(self):
        """The coefficient table's header and rows of cells (text)."""
        s = self.statistic
        header = ["", "estimate", "std. error", s, f"P>|{s}|", "[0.025", "0.975]"]
        rows = []
        errors, values, pvalues, intervals = self.std_errors, self.tvalues, self.pvalues, self.conf_int()
        for k, name in enumerate(self.names):
            row = [name, f"{self.coef[k]:.10g}"]
            if errors is None:
                row += ["—"] * 5
            else:
                row += [f"{errors[k]:.6g}", f"{values[k]:.4g}", _p_value(pvalues[k]),
                        f"{intervals[k, 0]:.6g}", f"{intervals[k, 1]:.6g}"]
            rows.append(row)
        return header, rows

    def _title(self) -> str:
        return f"{self.model} fit by {self.method}" + (f" (λ = {self.lam:g})" if self.lam is not None else "")

    def summary(self) -> str:
        """A table for the terminal, as statsmodels prints one: the coefficients with their standard
        errors, tests and 95% intervals, then the fit's statistics."""
        header, rows = self._table()
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        line = "  ".join("{:<%d}" % widths[0] if j == 0 else "{:>%d}" % w for j, w in enumerate(widths))
        rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
        lines = [self._title(), rule, line.format(*header), rule, *(line.format(*r) for r in rows), rule]
        lines += [f"{label}: {_number(value)}" for label, value in self._statistics() if value is not None]
        if self.iterations is not None:
            lines.append(f"{'converged' if self.converged else 'NOT converged'} after {self.iterations} iterations")
        if self.covariance is not None:
            lines += ["covariance estimate (maximum likelihood, divisor n):", *self._covariance_rows()]
        lines += self.notes
        return "\n".join(lines)

    def _covariance_rows(self) -> list:
        """The d×d estimate as an aligned table, rows and columns named as the coefficients' brackets."""
        labels = [name[name.index("[") + 1:-1] if "[" in name else name for name in self.names]
        cells = [[_number(float(v)) for v in row] for row in self.covariance]
        width = max(len(c) for row in cells for c in row + labels)
        head = max(len(label) for label in labels)
        return ["  " + " " * head + "".join(f"  {label:>{width}}" for label in labels)] + \
            [f"  {label:<{head}}" + "".join(f"  {c:>{width}}" for c in row) for label, row in zip(labels, cells)]

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The summary as an HTML table, for Jupyter."""
        header, rows = self._table()
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        facts = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(_number(value))}</td></tr>"
                        for label, value in self._statistics() if value is not None)
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes + self.warnings)
        return (f"<div><strong>{html.escape(self._title())}</strong><table><thead><tr>{cells}</tr></thead>"
                f"<tbody>{body}</tbody></table><table>{facts}</table>{notes}</div>")

    def to_dict(self) -> dict:
        """The JSON of `derive fit --json`: model, method, coefficients, std_errors, converged, iterations, loss,
        p_values and conf_int, then the extra statistics. Every number is finite or null: the JSON is valid
        (no Infinity, no NaN)."""
        def named(values):
            return None if values is None else {k: _finite(v) for k, v in zip(self.names, values)}
        intervals = self.conf_int()
        return {
            "model": self.model, "method": self.method,
            "coefficients": named(self.coef), "std_errors": named(self.std_errors),
            "converged": self.converged, "iterations": self.iterations, "loss": _finite(self.loss),
            "p_values": named(self.pvalues),
            "conf_int": None if intervals is None else {k: [_finite(a), _finite(b)]
                                                        for k, (a, b) in zip(self.names, intervals)},
            "t_values" if self.statistic == "t" else "z_values": named(self.tvalues),
            "residual_sd": _finite(self.residual_sd), "r_squared": _finite(self.r_squared),
            "loglike": _finite(self.loglike), "aic": _finite(self.aic), "bic": _finite(self.bic),
            "deviance": _finite(self.deviance), "nobs": self.nobs, "df_resid": self.df_resid,
            "condition_number": _finite(self.condition_number), "lam": self.lam,
            "warnings": list(self.warnings), "notes": list(self.notes),
            # softmax: the identification, stated (the reference class's column of W is 0)
            **({"classes": [str(c) for c in self.classes], "reference_class": str(self.classes[-1])}
               if self.classes is not None else {}),
            **({"covariance": [[_finite(v) for v in row] for row in self.covariance]}
               if self.covariance is not None else {}),
        }


def _finite(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def _p_value(p: float) -> str:
    return "<1e-16" if p < 1e-16 else f"{p:.4g}" if p < 1e-3 else f"{p:.3f}"
