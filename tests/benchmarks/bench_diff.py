"""`derive diff` of the logistic loss in explicit components, d = 50: gradient and Hessian.

    ℓ(β) = log(1 + exp(xᵀβ)) − y·xᵀβ,   x, β ∈ ℝ⁵⁰

derive derives in matrix form (every step verified at random small sizes), then writes the gradient and
Hessian out for d = 50. The reference is plain SymPy on the written-out function: `sympy.hessian` and
`diff` per coefficient. Both results are compared numerically at a random point.

Run: python tests/benchmarks/bench_diff.py [repeats]. Target (issue 3): derive ≤ 1 s; plain SymPy ≈ 5–6 s.
Not collected by pytest (file name bench_*.py).
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import sympy as sp

D = 50
LOSS = "log(1 + exp(x'*beta)) - y*x'*beta"
SHAPES = {"x": ("d", 1), "beta": ("d", 1)}


def derive_components():
    import derive
    r = derive.diff(LOSS, wrt="beta", shapes=SHAPES, order=2, form="components", dim=D)
    return r.results["gradient"], r.results["hessian"]


def sympy_components():
    b = sp.symbols(f"beta_0:{D}")
    x = sp.symbols(f"x_0:{D}")
    y = sp.Symbol("y")
    eta = sum(xi * bi for xi, bi in zip(x, b))
    f = sp.log(1 + sp.exp(eta)) - y * eta
    gradient = sp.Matrix([f.diff(bi) for bi in b])
    return gradient, sp.hessian(f, b)


def timed(function, repeats):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), value


def agree(ours, theirs) -> float:
    """Largest relative difference of the two (gradient, Hessian) pairs at a random point."""
    rng = np.random.default_rng(0)
    symbols = sp.symbols(f"beta_0:{D}") + sp.symbols(f"x_0:{D}") + (sp.Symbol("y"),)
    point = rng.standard_normal(len(symbols)) * 0.3
    worst = 0.0
    for a, b in zip(ours, theirs):
        fa = sp.lambdify(symbols, a.rewrite(sp.exp), "numpy")
        fb = sp.lambdify(symbols, b, "numpy")
        va, vb = np.array(fa(*point), dtype=float), np.array(fb(*point), dtype=float)
        worst = max(worst, float(np.max(np.abs(va - vb)) / (1 + np.max(np.abs(vb)))))
    return worst


def main(repeats: int = 3) -> None:
    start = time.perf_counter()
    derive_components()          # first call: imports, the grammar's parser tables, SymPy caches
    cold = time.perf_counter() - start
    ours_median, ours_best, ours = timed(derive_components, repeats)
    theirs_median, theirs_best, theirs = timed(sympy_components, max(1, repeats // 2))
    print(f"logistic loss, explicit components, d = {D}: gradient and Hessian")
    print(f"  derive.diff(form='components'): {ours_median:.3f} s (median of {repeats}; first call {cold:.3f} s)")
    print(f"  sympy diff + sympy.hessian:     {theirs_median:.3f} s")
    print(f"  ratio sympy / derive:           {theirs_median / ours_median:.1f}×")
    print(f"  largest relative difference at a random point: {agree(ours, theirs):.2e}")
    print(f"  target ≤ 1 s: {'met' if ours_median <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
