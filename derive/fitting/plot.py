"""`derive fit --plot FILE.png`: a picture of a fit (matplotlib, an optional dependency).

Iterative fits (Newton, gradient descent) plot the loss at each iteration, minus the final loss on a log
scale so that convergence is visible. Linear regressions plot the data and fitted line when there is one
feature, and residuals against fitted values otherwise.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from derive.errors import DeriveError
from derive.fitting.dispatch import FitResult
from derive.render.output import atomic_path


def plot(result: FitResult, X, y, path: str) -> None:
    """Write a PNG picture of `result` (fitted on X, y) to `path`."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise DeriveError("--plot needs matplotlib: pip install 'derive[plot]'") from None
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    figure, axes = plt.subplots(figsize=(6, 4), constrained_layout=True)
    if result.history:
        _loss_per_iteration(axes, result)
    else:
        _regression(axes, result, X, y)
    axes.set_title(f"{result.model} fit ({result.method})")
    try:
        with atomic_path(path) as temporary:  # a reader never sees half a picture
            figure.savefig(temporary, dpi=120, format=Path(path).suffix[1:] or "png")
    except (OSError, ValueError) as error:
        raise DeriveError(f"cannot write the plot to {path!r}: {error}") from None
    finally:
        plt.close(figure)


def _loss_per_iteration(axes, result: FitResult):
    history = np.asarray(result.history)
    gap = history - history.min()
    iterations = np.arange(len(history))
    if np.any(gap > 0):
        axes.semilogy(iterations[gap > 0], gap[gap > 0], marker="o", markersize=3)
        axes.set_ylabel("loss − final loss")
    else:
        axes.plot(iterations, history, marker="o", markersize=3)
        axes.set_ylabel("loss")
    axes.set_xlabel("iteration")


def _regression(axes, result: FitResult, X, y):
    fitted = X @ result.coef
    features = [j for j, name in enumerate(result.names) if name != "intercept" and np.ptp(X[:, j]) > 0]
    if len(features) == 1:
        j = features[0]
        order = np.argsort(X[:, j])
        axes.scatter(X[:, j], y, s=10, label="data")
        axes.plot(X[order, j], fitted[order], color="C1", label="fitted")
        axes.set_xlabel(result.names[j])
        axes.set_ylabel("y")
        axes.legend()
    else:
        axes.scatter(fitted, y - fitted, s=10)
        axes.axhline(0, color="grey", linewidth=0.8)
        axes.set_xlabel("fitted value")
        axes.set_ylabel("residual")
