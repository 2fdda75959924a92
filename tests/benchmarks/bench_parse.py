"""Parsing typical inputs: derive's grammar against SymPy's `parse_expr` on the same plain-syntax text.

Run: python tests/benchmarks/bench_parse.py [repeats]. Each line prints the mean time per parse, after a
warm-up parse (the grammar is built once, on first use) and the ratio to `parse_expr`, measured in the same
run. `parse_expr` evaluates its input, which is why derive never gives it a user's string; here it reads
fixed text only, as the reference for speed. Absolute times on shared machines are noise; read the ratios.
"""
import sys
import time

from sympy.parsing.sympy_parser import parse_expr

from derive.parse import parse

# (derive's input, the same expression as SymPy's plain syntax)
TYPICAL = [
    ("x^2 + 3*x - 1", "x**2 + 3*x - 1"),
    ("sin(x^2)*exp(-x)", "sin(x**2)*exp(-x)"),
    ("log(1 + exp(-z))", "log(1 + exp(-z))"),
    (r"\frac{1}{n}\sum_{i=1}^{n}(y_i - \mu)^2", "Sum((Indexed('y', i) - mu)**2, (i, 1, n))/n"),
]


def mean_seconds(function, text, repeats):
    function(text)  # warm the caches as a session would
    start = time.perf_counter()
    for _ in range(repeats):
        function(text)
    return (time.perf_counter() - start) / repeats


def main(repeats=20):
    for ours, theirs in TYPICAL:
        derive_time = mean_seconds(parse, ours, repeats)
        sympy_time = mean_seconds(parse_expr, theirs, repeats)
        print(f"{ours:<45} derive {derive_time * 1e3:7.2f} ms  parse_expr {sympy_time * 1e3:7.2f} ms  "
              f"ratio {derive_time / sympy_time:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
