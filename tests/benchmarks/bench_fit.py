"""Benchmarks of `derive.fit` and the lambdified gradients against numpy, lstsq and scikit-learn.

A script, not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/bench_fit.py

Every ratio compares timings measured in the same run on the same data: the two functions are called
alternately, round after round, and each round gives one ratio (each side's best of a few calls), so that
load from other processes affects both alike; the mean and the spread (lowest–highest) over the rounds
are printed. `--threads N` limits BLAS to N threads on both sides (threadpoolctl), steadier on a busy
machine, and then the ratio of CPU times is printed too (this thread's: BLAS runs on it alone), which time
stolen by other processes does not inflate; `--rounds R` sets the number of rounds.
OpenBLAS picks its kernels by CPU; if OPENBLAS_CORETYPE is set on the machine, unset it for this command
only (`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tests/benchmarks/bench_fit.py`) so that numpy
runs its best kernels.

Targets (issues 5 and 15):
- OLS, n = 200,000, d = 100: `cholesky` ≤ 1.3 × forming XᵀX alone (`X.T @ X`: the reference forms neither
  Xᵀy nor checks a value, and solves nothing; the whole fit, its checks and statistics included, is timed
  against it; a second line times it against `X.T @ X, X.T @ y`, what any normal-equations solve forms);
  `qr` ≤ 0.5 × numpy.linalg.lstsq; both agree with lstsq to 1e-9.
- Logistic, n = 200,000, d = 50: `newton` ≤ 0.8 × scikit-learn LogisticRegression(newton-cholesky, no
  penalty); coefficients agree to 1e-6.
- Lambdified OLS and logistic gradients ≤ 1.1 × the best hand-written numpy expression.
"""
import argparse
import contextlib
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
ONE_THREAD = False  # --threads 1: the CPU-time ratios are printed too

from derive.fitting.codegen import lambdify  # noqa: E402
from derive.fitting.dispatch import fit  # noqa: E402


def best_times(functions, repeats=5):
    """The best wall-clock and the best CPU time (of this thread) of each function, calling them in turn
    `repeats` times. With one BLAS thread the work runs on this thread, and its CPU time does not count
    the time other processes held the core."""
    wall, cpu = [float("inf")] * len(functions), [float("inf")] * len(functions)
    for _ in range(repeats):
        for i, function in enumerate(functions):
            start, start_cpu = time.perf_counter(), time.thread_time()
            function()
            wall[i] = min(wall[i], time.perf_counter() - start)
            cpu[i] = min(cpu[i], time.thread_time() - start_cpu)
    return wall, cpu


def round_ratios(ours, reference, rounds, repeats=2):
    """ours / reference in each of `rounds` rounds (each side's best of `repeats` calls, in turn), by wall
    clock and by CPU time, and each side's best wall-clock time over all rounds."""
    ratios, cpu_ratios, best = [], [], [float("inf")] * 2
    for _ in range(rounds):
        wall, cpu = best_times([ours, reference], repeats)
        ratios.append(wall[0] / wall[1])
        cpu_ratios.append(cpu[0] / cpu[1])
        best = [min(b, t) for b, t in zip(best, wall)]
    return Ratios(ratios, cpu_ratios), best


class Ratios(list):
    """Wall-clock ratios, one per round, with the CPU-time ratios of the same calls as `.cpu`."""

    def __init__(self, wall, cpu):
        super().__init__(wall)
        self.cpu = cpu


def report(name, ratios, target, extra=""):
    mean = statistics.fmean(ratios)
    verdict = "ok" if mean <= target else "SLOWER THAN TARGET"
    cpu = getattr(ratios, "cpu", None)
    if cpu and ONE_THREAD:  # a thread's CPU time is the whole work only when BLAS runs on it alone
        extra = f"CPU {statistics.fmean(cpu):.3f} ({min(cpu):.3f}–{max(cpu):.3f}) {extra}"
    print(f"{name:48s} {mean:6.3f} (spread {min(ratios):.3f}–{max(ratios):.3f}, {len(ratios)} rounds; "
          f"target ≤ {target})  {verdict} {extra}")


def derived(model, quantity):
    """The engine's derived result for a model's quantity."""
    from derive.fitting.codegen import derived_results
    return derived_results(model)[quantity]


def bench_ols(rounds):
    rng = np.random.default_rng(0)
    n, d = 200_000, 100
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    reference = np.linalg.lstsq(X, y, rcond=None)[0]
    for method in ("cholesky", "qr"):
        f = fit("ols", X, y, method)
        error = np.max(np.abs(f.coef - reference) / np.maximum(np.abs(reference), 1e-300))
        assert f.method == method and error < 1e-9, (method, error)
    cholesky_ratios, (cholesky, gram) = round_ratios(lambda: fit("ols", X, y, "cholesky"), lambda: X.T @ X, rounds)
    # Like for like: what any normal-equations solve must form, XᵀX and Xᵀy (two passes over X by numpy).
    sums_ratios, _ = round_ratios(lambda: fit("ols", X, y, "cholesky"), lambda: (X.T @ X, X.T @ y), rounds)
    qr_ratios, (qr, lstsq) = round_ratios(lambda: fit("ols", X, y, "qr"),
                                          lambda: np.linalg.lstsq(X, y, rcond=None), rounds, 1)
    print(f"OLS n={n} d={d} (best times): XᵀX {gram * 1e3:.1f} ms, lstsq {lstsq * 1e3:.1f} ms, "
          f"cholesky {cholesky * 1e3:.1f} ms, qr {qr * 1e3:.1f} ms")
    report("OLS cholesky / forming XᵀX", cholesky_ratios, 1.3)
    report("OLS cholesky / forming XᵀX and Xᵀy (numpy)", sums_ratios, 1.3)
    report("OLS qr / numpy.linalg.lstsq", qr_ratios, 0.5)


def bench_logistic(rounds):
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(1)
    n, d = 200_000, 50
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ (0.2 * rng.standard_normal(d))))).astype(float)

    def sklearn_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky",
                                      tol=1e-8, max_iter=100).fit(X, y)
    ours = fit("logistic", X, y, "newton")
    theirs = sklearn_fit()
    error = np.max(np.abs(ours.coef - theirs.coef_[0]))
    assert error < 1e-6, error
    ratios, (newton, sk) = round_ratios(lambda: fit("logistic", X, y, "newton"), sklearn_fit, rounds, 1)
    print(f"Logistic n={n} d={d} (best times): scikit-learn {sk * 1e3:.1f} ms ({theirs.n_iter_[0]} iterations), "
          f"newton {newton * 1e3:.1f} ms ({ours.iterations} iterations), max |Δcoef| {error:.1e}")
    report("Logistic newton / scikit-learn newton-cholesky", ratios, 0.8)


def bench_gradients(rounds):
    from scipy.special import expit

    from derive.expr.symbols import X as Xs
    from derive.expr.symbols import beta
    from derive.expr.symbols import y as ys
    rng = np.random.default_rng(2)
    n, d = 200_000, 100
    X = rng.standard_normal((n, d))
    b = 0.1 * rng.standard_normal(d)
    y = (rng.random(n) < 0.5).astype(float)
    hand = {
        "ols": lambda: 2 * (X.T @ (X @ b - y)),
        "logistic": lambda: X.T @ (expit(X @ b) - y),
    }
    for model, by_hand in hand.items():
        g = lambdify(derived(model, "gradient"), [beta, Xs, ys])
        np.testing.assert_allclose(g(b, X, y), by_hand(), rtol=1e-10, atol=1e-8)
        ratios, _ = round_ratios(lambda g=g: g(b, X, y), by_hand, rounds, 5)
        report(f"lambdified {model} gradient / hand-written numpy", ratios, 1.1)


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--rounds", type=int, default=5, help="rounds per ratio (default 5)")
    options.add_argument("--threads", type=int, help="BLAS threads on both sides (default: the library's own)")
    args = options.parse_args()
    limit = contextlib.nullcontext()
    ONE_THREAD = args.threads == 1
    if args.threads:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(args.threads)
    with limit:
        bench_gradients(args.rounds)
        bench_ols(args.rounds)
        bench_logistic(args.rounds)
