"""Cold-start cost of `derive show`, as a ratio to `python -c "import sympy"` measured in the same run.

Every built-in model in matrix form (scripted and planned model files), then ols and ridge in every form.
Run: python tests/benchmarks/bench_show.py [repeats] [MODEL ...] (the models given, in matrix form; every model
and form when none is given). Target (issue: foundation; issue 11): derive show ols ≤ 2×.
Absolute times on shared machines are noise; the ratio is what to read.
"""
import statistics
import subprocess
import sys
import time


def median_seconds(command, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats=7, models=()):
    sympy = median_seconds([sys.executable, "-c", "import sympy"], repeats)
    print(f"python -c 'import sympy': {sympy:.3f} s (median of {repeats})")
    import derive
    for model in models or derive.models():
        t = median_seconds([sys.executable, "-m", "derive", "show", model], repeats)
        print(f"derive show {model:<16}: {t:.3f} s  ratio {t / sympy:.2f}×")
    for model in () if models else ("ols", "ridge"):
        for form in ("index", "components"):
            t = median_seconds([sys.executable, "-m", "derive", "show", model, "--form", form], repeats)
            print(f"derive show {model:<5} --form {form:<10}: {t:.3f} s  ratio {t / sympy:.2f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7, tuple(sys.argv[2:]))
