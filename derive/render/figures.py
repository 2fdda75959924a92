"""Pictures a derivation suggests, drawn with matplotlib when it is installed (the `plot` extra):
the logistic function σ and its derivative σ′ = σ(1 − σ) for the models built on σ.

Each figure is an inline PNG, so an HTML page stays one self-contained file. Without matplotlib there
are simply no figures: the derivation is complete without them.
"""
from __future__ import annotations

import base64
import io

import numpy as np


def _sigmoid_figure():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from scipy.special import expit
    z = np.linspace(-6, 6, 241)
    s = expit(z)
    figure = Figure(figsize=(5.0, 2.8), dpi=110)
    axes = figure.subplots()
    axes.plot(z, s, label="σ(z)")
    axes.plot(z, s * (1 - s), label="σ′(z) = σ(z)(1 − σ(z))")
    axes.set_xlabel("z")
    axes.grid(alpha=0.3)
    axes.legend(frameon=False)
    figure.tight_layout()
    return figure, "The logistic function and its derivative, largest (1/4) at z = 0."


FIGURES = {"logistic": _sigmoid_figure}   # model name → the figure its derivation suggests


def figures_html(derivation) -> str:
    """The derivation's figures as <figure> elements with inline PNGs ('' without matplotlib)."""
    make = FIGURES.get(derivation.model)
    if make is None:
        return ""
    try:
        figure, caption = make()
    except ImportError:
        return ""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{caption}" src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'
