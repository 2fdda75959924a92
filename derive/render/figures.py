"""Pictures a derivation suggests, drawn with matplotlib when it is installed (the `plot` extra):
the logistic function σ and its derivative σ′ = σ(1 − σ) for logistic regression, and the contours of
the Gaussian negative log-likelihood over its two parameters (μ, σ²), with the maximum-likelihood
estimate at their centre.

Each figure is an inline PNG, so an HTML page stays one self-contained file. Without matplotlib there
are simply no figures: the derivation is complete without them.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np


def _sigmoid_figure():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    z = np.linspace(-6, 6, 241)
    s = 0.5 * (1 + np.tanh(z / 2))   # σ(z), without overflow for any z
    figure = Figure(figsize=(5.0, 2.8), dpi=110)
    axes = figure.subplots()
    axes.plot(z, s, label="σ(z)")
    axes.plot(z, s * (1 - s), label="σ′(z) = σ(z)(1 − σ(z))")
    axes.set_xlabel("z")
    axes.grid(alpha=0.3)
    axes.legend(frameon=False)
    figure.tight_layout()
    return figure, "The logistic function and its derivative, largest (1/4) at z = 0."


def _gaussian_contours():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    x = np.random.default_rng(7).normal(1.0, 1.5, 40)   # a fixed sample, so the figure is reproducible
    mu_hat, s2_hat = x.mean(), x.var()
    mu, s2 = np.meshgrid(np.linspace(mu_hat - 1.5, mu_hat + 1.5, 201), np.linspace(0.35 * s2_hat, 2.5 * s2_hat, 201))
    squares = ((x[:, None, None] - mu) ** 2).sum(axis=0)
    loss = 0.5 * len(x) * np.log(2 * np.pi * s2) + squares / (2 * s2)
    figure = Figure(figsize=(5.0, 3.2), dpi=110)
    axes = figure.subplots()
    axes.contour(mu, s2, loss - loss.min(), levels=[0.5, 1, 2, 4, 8, 16, 32], linewidths=0.9)
    axes.plot([mu_hat], [s2_hat], "k+", markersize=10, label="MLE (x̄, (1/n)Σ(xᵢ − x̄)²)")
    axes.set_xlabel("μ")
    axes.set_ylabel("σ²")
    axes.legend(frameon=False, loc="upper right")
    figure.tight_layout()
    return figure, ("Contours of the negative log-likelihood ℓ(μ, σ²) of 40 draws from N(1, 2.25), "
                    "levels 0.5 to 32 above the minimum, which is at the maximum-likelihood estimate.")


FIGURES = {"logistic": _sigmoid_figure, "gaussian": _gaussian_contours}   # model → the figure it suggests


def figure_for(derivation):
    """(matplotlib Figure, caption) the derivation suggests, or None (none suggested, or no matplotlib)."""
    make = FIGURES.get(derivation.model)
    if make is None:
        return None
    try:
        return make()
    except ImportError:
        return None


def figures_html(derivation) -> str:
    """The derivation's figures as <figure> elements with inline PNGs ('' without matplotlib)."""
    made = figure_for(derivation)
    if made is None:
        return ""
    figure, caption = made
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    caption = html.escape(caption)
    return f'<figure><img alt="{caption}" src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'


def save_figure(derivation, path) -> str | None:
    """Write the derivation's figure as a PDF (for LaTeX documents); its caption, or None when there is none."""
    made = figure_for(derivation)
    if made is None:
        return None
    figure, caption = made
    figure.savefig(path, format="pdf")
    return caption
