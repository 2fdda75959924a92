"""Benchmark of `derive.fit("softmax", X, labels)` against statsmodels' MNLogit (Newton) and scikit-learn's
LogisticRegression (multinomial, no penalty; newton-cg and lbfgs), on the same simulated data.

A script, not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/bench_softmax.py                  # n = 1e5 and 1e6, d = 10, K = 4
    python tests/benchmarks/bench_softmax.py --rows 100000 --rounds 3

The three fits are called in turn, round after round, and each round gives one ratio derive / reference
(each side timed once per round), so that load from other processes affects them alike; the mean and the
spread (lowest–highest) over the rounds are printed, with each fit's agreement with MNLogit in the
log-odds against the last class (scikit-learn's coefficients are centred, W𝟏 = 0: their differences
against the last column are compared). derive's planning and code generation, done once per process, are
done before the timing (a warm-up fit), as statsmodels' and scikit-learn's imports are.
"""
import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_classes import simulated  # noqa: E402

import derive  # noqa: E402


def against_last(W):
    """Each class's log-odds against the last, d×(K − 1): what every identification of W agrees on."""
    return W[:, :-1] - W[:, -1:]


def fits(X, labels, K):
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    def ours():
        return against_last(derive.fit("softmax", X, labels).coef_matrix)

    def statsmodels():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = sm.MNLogit((labels + 1) % K, X).fit(disp=0, method="newton", tol=1e-10, maxiter=100)
        return np.asarray(fitted.params)   # its reference (code 0) is our last class

    def scikit(solver):
        def run():
            model = LogisticRegression(penalty=None, solver=solver, fit_intercept=False, tol=1e-10, max_iter=1000)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, labels)
            return against_last(model.coef_.T)
        return run

    return {"derive": ours, "statsmodels MNLogit (newton)": statsmodels,
            "scikit-learn newton-cg": scikit("newton-cg"), "scikit-learn lbfgs": scikit("lbfgs")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    K = args.classes
    warm_X, warm_labels = simulated(200, args.features, K, seed=1)
    derive.fit("softmax", warm_X, warm_labels)   # the plan and the generated code, once per process
    for n in args.rows:
        X, labels = simulated(n, args.features, K, seed=0)
        candidates = fits(X, labels, K)
        times = {name: [] for name in candidates}
        results = {}
        for _ in range(args.rounds):
            for name, run in candidates.items():
                start = time.perf_counter()
                results[name] = run()
                times[name].append(time.perf_counter() - start)
        reference = results["statsmodels MNLogit (newton)"]
        print(f"softmax, n = {n:,}, d = {args.features}, K = {K} ({args.rounds} rounds)")
        for name, spent in times.items():
            line = f"  {name:<30} best {min(spent):7.3f} s"
            if name != "derive":
                ratios = [a / b for a, b in zip(times["derive"], spent)]
                line += (f"   derive / this: {statistics.mean(ratios):.2f} "
                         f"({min(ratios):.2f}–{max(ratios):.2f})")
            difference = np.max(np.abs(results[name] - reference) / np.maximum(np.abs(reference), 1e-300))
            line += f"   max relative difference from MNLogit {difference:.1e}"
            print(line)


if __name__ == "__main__":
    main()
