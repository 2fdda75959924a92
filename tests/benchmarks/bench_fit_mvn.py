"""`derive.fit("mvn", X)` from the planned derivation against numpy (mean, np.cov(bias=True)): time and
accuracy, both measured against a long-double two-pass reference.

    python tests/benchmarks/bench_fit_mvn.py                 # n = 1e6, d = 5, median of 3
    python tests/benchmarks/bench_fit_mvn.py --n 100000 --d 20 --repeat 5

The sample has a mean far from 0 (1e3), as real data do, which is where a one-pass covariance loses digits.
The generated code is made once before the clock starts (a fit's first call generates it). Not collected
by pytest (file name bench_*.py).
"""
import argparse
import statistics
import time

import numpy as np

import derive


def median_time(f, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((args.d, args.d))
    X = rng.standard_normal((args.n, args.d)) @ A + 1e3 * rng.standard_normal(args.d)
    derive.fit("mvn", X[:100])
    ours, fit = median_time(lambda: derive.fit("mvn", X), args.repeat)
    reference, (mean, cov) = median_time(lambda: (X.mean(axis=0), np.cov(X.T, bias=True)), args.repeat)
    long = X.astype(np.longdouble)
    centred = long - long.mean(axis=0)
    exact_mean, exact_cov = long.mean(axis=0).astype(float), (centred.T @ centred / args.n).astype(float)

    def error(a, b):
        return float(np.max(np.abs(a - b) / np.abs(b)))

    print(f"n = {args.n}, d = {args.d}: derive {ours:.3f} s, numpy {reference:.3f} s, ratio {ours / reference:.2f}")
    print(f"  max relative error of the mean:       derive {error(fit.coef, exact_mean):.1e}, "
          f"numpy {error(mean, exact_mean):.1e}")
    print(f"  max relative error of the covariance: derive {error(fit.covariance, exact_cov):.1e}, "
          f"numpy {error(cov, exact_cov):.1e}")


if __name__ == "__main__":
    main()
