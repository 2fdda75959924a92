"""`derive fit` on a large CSV file against pandas.read_csv + statsmodels: time and peak memory.

A script, not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/bench_fit_practitioner.py             # n = 1e6, d = 10: ols and logistic
    python tests/benchmarks/bench_fit_practitioner.py --models logistic --repeat 3   # medians of 3 runs each
    python tests/benchmarks/bench_fit_practitioner.py --dask      # also the dask engine at 1e6 and 1e7 rows
    python tests/benchmarks/bench_fit_practitioner.py --dask --no-memory   # the dask engine only

Each side runs in its own subprocess, read from the same CSV file (generated once in /tmp, never in the
repository); its wall time and peak resident memory (getrusage RUSAGE_CHILDREN, the maximum RSS of the
finished child) are compared. Both sides include their imports and the reading of the file.
Goals (issue 15): time ≤ 1.0× and peak memory ≤ 1.0× of pandas + statsmodels at n = 1e6, d = 10; with
--engine dask, peak memory at 1e7 rows about that at 1e6 (bounded by the chunk size, not the file).
"""
import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FOLDER = Path("/tmp/derive-bench")

STATSMODELS = """
import sys, pandas as pd, statsmodels.api as sm
frame = pd.read_csv(sys.argv[1])
y = frame.pop("y")
model = sm.OLS if sys.argv[2] == "ols" else sm.Logit
result = model(y, sm.add_constant(frame)).fit(**({} if sys.argv[2] == "ols" else {"disp": 0}))
print(result.params.iloc[1])
"""


def data_file(n: int, d: int, model: str) -> Path:
    FOLDER.mkdir(exist_ok=True)
    path = FOLDER / f"{model}_{n}_{d}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        handle.write(",".join(["y"] + [f"x{j}" for j in range(d)]) + "\n")
        beta = rng.normal(size=d) / np.sqrt(d)
        for start in range(0, n, 200_000):
            X = rng.normal(size=(min(200_000, n - start), d))
            eta = X @ beta
            y = eta + rng.normal(size=len(X)) if model == "ols" else (rng.random(len(X)) < 1 / (1 + np.exp(-eta)))
            block = np.column_stack([y.astype(float), X])
            np.savetxt(handle, block, delimiter=",", fmt="%.10g")
    return path


def run(command) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of a child process. RUSAGE_CHILDREN's maxrss is the largest of any
    child so far, so each measurement is made by a fresh interpreter (`measured`) with one child."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command[:6]))} failed: {done.stderr[-2000:]}")
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def command(model: str, side: str, n: int) -> list:
    path = str(data_file(n, 10, model))
    if side == "statsmodels":
        return [sys.executable, "-c", STATSMODELS, path, model]
    engine = ["--engine", "dask"] if side == "dask" else []
    return [sys.executable, "-m", "derive", "fit", model, path, "--target", "y", "--json", *engine]


def measured(model: str, side: str, n: int) -> tuple[float, float]:
    data_file(n, 10, model)  # generated outside the measurement
    out = subprocess.run([sys.executable, __file__, "--one", f"{model}:{side}:{n}"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    elapsed, peak = (float(v) for v in out.stdout.split())
    return elapsed, peak


if __name__ == "__main__":
    options = argparse.ArgumentParser()
    options.add_argument("--dask", action="store_true", help="also the dask engine at 1e6 and 1e7 rows (heavy)")
    options.add_argument("--no-memory", action="store_true", help="skip the in-memory comparison")
    options.add_argument("--rows", type=int, default=1_000_000)
    options.add_argument("--models", default="ols,logistic", help="comma-separated: ols, logistic")
    options.add_argument("--repeat", type=int, default=1, help="runs of each side, alternating; medians compared")
    options.add_argument("--one", help=argparse.SUPPRESS)  # MODEL:SIDE:ROWS, measured in this process
    args = options.parse_args()
    if args.one:
        model, side, n = args.one.split(":")
        print(*run(command(model, side, int(n))))
        raise SystemExit(0)
    for model in () if args.no_memory else args.models.split(","):
        runs = [(measured(model, "statsmodels", args.rows), measured(model, "derive", args.rows))
                for _ in range(args.repeat)]
        (t_ref, m_ref), (t_ours, m_ours) = ((float(np.median(v)) for v in zip(*side)) for side in zip(*runs))
        if args.repeat > 1:
            print(f"{model}: derive {', '.join(f'{d[0]:.2f}' for _, d in runs)} s; pandas+statsmodels "
                  f"{', '.join(f'{r[0]:.2f}' for r, _ in runs)} s")
        print(f"{model:9s} n={args.rows:.0e} d=10: derive {t_ours:.2f} s, {m_ours:.0f} MB; pandas+statsmodels "
              f"{t_ref:.2f} s, {m_ref:.0f} MB; time ratio {t_ours / t_ref:.2f} (goal ≤ 1.0), memory ratio "
              f"{m_ours / m_ref:.2f} (goal ≤ 1.0)")
    if args.dask:
        peaks = {}
        for n in (1_000_000, 10_000_000):
            elapsed, peaks[n] = measured("ols", "dask", n)
            print(f"dask engine, ols n={n:.0e} d=10: {elapsed:.1f} s, peak {peaks[n]:.0f} MB (the whole fit: dask's "
                  "default threaded scheduler runs in the process)", flush=True)
        print(f"dask engine peak memory 1e7 / 1e6 rows: {peaks[10_000_000] / peaks[1_000_000]:.2f} (goal: flat, ≈ 1)")
