"""Long formulas broken into lines (derive/render/linebreak.py).

The reference is the printer's LaTeX of the whole formula: the lines of a sum, put back together, are that
formula with nothing lost and nothing written twice.
"""
from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.cli import main
from derive.expr.printing import latex
from derive.render.linebreak import lines

a, b, c = sp.symbols("a b c")
LONG_PRODUCT = sp.Mul(*sp.symbols("x1:25"))           # one term wider than any line, with nothing to cut at
X = sp.MatrixSymbol("X", 30, 30)


def without_spaces(tex: str) -> str:
    return "".join(tex.split())


@pytest.mark.parametrize("expr", [
    a + LONG_PRODUCT,                 # the unbreakable term last
    a - LONG_PRODUCT + b,             # ... with a sign, and a term after it
    LONG_PRODUCT + a * b + c,         # ... first
    sp.Add(*[sp.Symbol(f"w{k}") * sp.Symbol(f"z{k}") for k in range(30)]),   # a long sum of products
], ids=["last", "signed-middle", "first", "sum-of-products"])
def test_the_lines_of_a_sum_are_its_terms_each_written_once(expr):
    broken = lines(expr, 8.0)
    assert len(broken) > 1
    assert all(first != second for first, second in zip(broken, broken[1:])), broken
    assert without_spaces("".join(broken)) == without_spaces(latex(expr))


def test_a_long_sum_inside_a_product_opens_and_closes_its_parenthesis_once():
    total = sp.MatAdd(*[sp.Symbol(f"w{k}") * X for k in range(30)])
    broken = lines(X.T * total, 12.0)
    assert all(first != second for first, second in zip(broken, broken[1:])), broken
    assert sum(line.count(r"\Bigl(") for line in broken) == 1
    assert sum(line.count(r"\Bigr)") for line in broken) == 1


def _content(line: str) -> str:
    """A line of an aligned equation without its alignment, indent, sign and the parenthesis it closes."""
    text = re.sub(r"\\\\\s*$", "", line.strip()).lstrip("&").strip()
    text = re.sub(r"^(\\quad\s*)+", "", text)
    text = re.sub(r"^[+-]\s*", "", text)
    return re.sub(r"(\\Bigr\)\s*(\^\{?\\top\}?)?\s*)+$", "", text).strip()


def test_no_continuation_line_of_a_derivation_repeats_the_line_before_it(capsys):
    # mvn names (xᵢ − μ)ᵀ inside a name inside a name, where the budget is small enough to break it
    assert main(["show", "mvn", "--format", "latex"]) == 0
    contents = [_content(line) for line in capsys.readouterr().out.splitlines()]
    repeated = [a for a, b in zip(contents, contents[1:])
                if a and a == b and not a.startswith(("\\begin", "\\end"))]
    assert not repeated, repeated
