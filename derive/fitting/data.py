"""Data for `derive fit`: a CSV file read into a design matrix, keeping every number's decimal text.

`read_csv(path)` reads a CSV file with a header line (stdlib csv). Cells stay text until a column is used,
so `--method exact` can compute with the very decimals in the file (`Fraction("0.1")` is one tenth,
`float` is not). `design(table, target, ...)` checks the cells it uses and builds X (intercept first,
named "intercept", unless asked not to) and y, both as floats and, lazily, as exact fractions.
`--formula "y ~ x + x^2 + log(z) - 1"` terms are parsed by `derive`'s grammar and evaluated per row:
exactly (fractions) when a term is rational in the columns, with numpy otherwise.

Errors are `DataError`s that name the file, the line (as an editor counts it: the header is line 1)
and the column.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy as sp

from derive.datasets import path_of
from derive.errors import DataError, DeriveError

# A plain decimal number, as statistics files write them: 12, -0.5, .11019, 760., 1.5E-3.
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAN = {"nan", "na", "n/a", "null", "none", "-nan", "+nan"}
_INFINITY = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


@dataclass
class Table:
    """The cells of a CSV file as text, with the file line of each data row."""
    path: str
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column_index(self, name: str, role: str = "column") -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise DataError(f"no {role} {name!r} in {self.path}; its columns are: "
                            f"{', '.join(self.columns)}") from None

    def numbers(self, name: str) -> list[str]:
        """The column's cells, checked to be decimal numbers (the text is kept)."""
        j = self.column_index(name)
        cells = []
        for row, line in zip(self.rows, self.lines):
            cells.append(_checked_number(row[j], self.path, line, name))
        return cells


def _checked_number(text: str, path: str, line: int, column: str) -> str:
    cell = text.strip()
    where = f"{path}, line {line}, column {column!r}"
    if _DECIMAL.fullmatch(cell):
        return cell
    if not cell:
        raise DataError(f"{where}: empty cell (every used cell must hold a number)")
    if cell.lower() in _NAN:
        raise DataError(f"{where}: missing value {cell!r} (NaN); remove the row or fill the cell in")
    if cell.lower() in _INFINITY:
        raise DataError(f"{where}: infinite value {cell!r}; every used cell must be a finite number")
    raise DataError(f"{where}: {cell!r} is not a number")


def read_csv(path) -> Table:
    """The cells of a CSV file with a header line (or of a shipped dataset, by name: "longley");
    DataError if it is missing, unreadable or ragged."""
    path = str(path_of(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(1 << 16)
            handle.seek(0)
            if "\0" in sample:
                raise DataError(f"{path} is not a CSV file (it contains binary data)")
            reader = csv.reader(handle)
            header = next(reader, None)
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank lines carry no data
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a CSV text file (it is not UTF-8 text)") from None
    except csv.Error as error:
        raise DataError(f"{path} is not a readable CSV file: {error}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise DataError(f"{path} is empty: a CSV file with a header line naming the columns is needed")
    columns = [cell.strip() for cell in header]
    if all(_DECIMAL.fullmatch(c) for c in columns):
        raise DataError(f"{path} has no header line: line 1 ({','.join(columns)}) looks like data; "
                        "add a first line naming the columns")
    if len(columns) < 2:
        raise DataError(f"{path} is not a CSV file with columns: line 1 has a single field "
                        f"{columns[0][:40]!r} (separate the columns with commas)")
    if any(not c for c in columns):
        raise DataError(f"{path}, line 1: column {columns.index('') + 1} has no name")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise DataError(f"{path}, line 1: the column name {duplicates[0]!r} appears twice")
    for row, line in zip(rows, lines):
        if len(row) != len(columns):
            raise DataError(f"{path}, line {line}: {len(row)} fields, but the header names {len(columns)} columns")
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    return Table(path, columns, rows, lines)


@dataclass
class Design:
    """A design matrix X (n×d) and targets y, as floats and, where the data allow, as exact fractions.

    `exact_data` is (X, y) as lists of `Fraction`s built from the decimal text (None when some term, such
    as log(x), is not rational in the data); it is computed on first use.
    """
    names: list[str]
    X: np.ndarray
    y: np.ndarray
    target: str
    intercept: bool
    _exact_columns: list | None = field(default=None, repr=False)  # callables giving each column exactly
    _exact_target: object = field(default=None, repr=False)
    _exact: tuple | None = field(default=None, repr=False)

    @property
    def exact_data(self):
        if self._exact is None and self._exact_columns is not None:
            columns = [column() for column in self._exact_columns]
            rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(self.y))]
            self._exact = (rows, self._exact_target())
        return self._exact


def _fractions(texts: Sequence[str]) -> list[Fraction]:
    return [Fraction(t) for t in texts]


def design(table: Table, target: str, features: Sequence[str] | None = None, intercept: bool = True) -> Design:
    """y = the target column; X = the feature columns (default: all the others), intercept first."""
    table.column_index(target, "target column")
    if features is None:
        features = [c for c in table.columns if c != target]
    features = list(features)
    for f in features:
        table.column_index(f, "feature column")
    if target in features:
        raise DataError(f"the target {target!r} is also listed as a feature")
    y_text = table.numbers(target)
    x_text = [table.numbers(f) for f in features]
    n = len(y_text)
    names = (["intercept"] if intercept else []) + features
    columns = ([np.ones(n)] if intercept else []) + [np.array([float(t) for t in col]) for col in x_text]
    exact_columns = ([lambda: [Fraction(1)] * n] if intercept else []) + [
        (lambda col=col: _fractions(col)) for col in x_text]
    result = Design(names, _matrix(columns, n), np.array([float(t) for t in y_text]), target, intercept,
                    exact_columns, lambda: _fractions(y_text))
    _check_size(result, table.path)
    return result


def _matrix(columns, n):
    return np.column_stack(columns) if columns else np.empty((n, 0))


def _check_size(result: Design, path: str):
    n, d = result.X.shape
    if d == 0:
        raise DataError("the model has no columns: give features, or keep the intercept")
    if n < d:
        raise DataError(f"{path} has {n} data rows, fewer than the {d} parameters to fit "
                        f"({', '.join(result.names)})")


# ----------------------------------------------------------------------------------------------------
# Formulas: "y ~ x + x^2 + log(z) - 1".

def split_terms(side: str) -> list[tuple[int, str]]:
    """The terms of a formula's right-hand side with their signs, split at top-level + and −.

    A sign right after ^, *, / or an exponent's e (1e-3) belongs to the term, as do signs inside brackets.
    """
    terms, depth, start, sign = [], 0, 0, 1
    previous = ""
    for i, ch in enumerate(side):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch in "+-" and depth == 0:
            exponent = previous in "eE" and i >= 2 and (side[i - 2].isdigit() or side[i - 2] == ".")
            if previous not in "^*/" and not exponent:
                text = side[start:i].strip()
                if text:
                    terms.append((sign, text))
                elif i > start and previous:
                    raise DataError(f"formula term missing before {ch!r} at column {i + 1} in {side!r}")
                sign = -1 if ch == "-" else 1
                start = i + 1
        if not ch.isspace():
            previous = ch
    text = side[start:].strip()
    if not text:
        raise DataError(f"formula ends without a term: {side!r}")
    terms.append((sign, text))
    return terms


def formula_design(table: Table, formula: str) -> Design:
    """The design of an R-style formula: `y ~ x + x^2 + log(z)`; `- 1` (or `+ 0`) drops the intercept."""
    if formula.count("~") != 1:
        raise DataError(f"a formula has the form 'target ~ term + term ...': {formula!r}")
    left, right = (side.strip() for side in formula.split("~"))
    if not left:
        raise DataError(f"the formula names no target before '~': {formula!r}")
    intercept, terms = True, []
    for sign, text in split_terms(right):
        if text in ("0", "1"):
            intercept = sign == 1 and text == "1"
            continue
        if sign == -1:
            raise DataError(f"only '- 1' may be subtracted in a formula (to drop the intercept), not {text!r}")
        terms.append(text)
    names = (["intercept"] if intercept else []) + terms
    target = _evaluated_term(table, left)
    columns = [_evaluated_term(table, t) for t in terms]
    n = len(table.rows)
    exact = all(c.exact is not None for c in columns) and target.exact is not None
    exact_columns = (([lambda: [Fraction(1)] * n] if intercept else []) + [c.exact for c in columns]
                     if exact else None)
    floats = ([np.ones(n)] if intercept else []) + [c.values for c in columns]
    result = Design(names, _matrix(floats, n), target.values, left, intercept, exact_columns, target.exact)
    _check_size(result, table.path)
    return result


@dataclass
class _Term:
    values: np.ndarray
    exact: object  # a callable giving the exact column, or None when the term is not rational


def _evaluated_term(table: Table, text: str) -> _Term:
    columns = {sp.Symbol(c): c for c in table.columns}
    expr = _parse_term(text, {c: s for s, c in columns.items()})
    unknown = sorted(str(s) for s in expr.free_symbols if s not in columns)
    if unknown:
        raise DataError(f"formula term {text!r} uses {unknown[0]!r}, which is not a column of {table.path}; "
                        f"its columns are: {', '.join(table.columns)}")
    cells = {s: table.numbers(columns[s]) for s in expr.free_symbols}
    where = f"formula term {text!r}"
    if expr.is_Symbol:  # a column as it is
        texts = cells[expr]
        return _Term(np.array([float(t) for t in texts]), lambda: _fractions(texts))
    if _is_rational(expr):
        def exact(expr=expr, cells=cells):
            values = {s: _fractions(t) for s, t in cells.items()}
            return [_rational_value(expr, {s: v[i] for s, v in values.items()}, table, i, where)
                    for i in range(len(table.rows))]
        values = np.array([float(v) for v in exact()])
        return _Term(values, exact)
    from derive.fitting.codegen import lambdify
    symbols = sorted(cells, key=str)
    arrays = [np.array([float(t) for t in cells[s]]) for s in symbols]
    with np.errstate(all="ignore"):
        values = np.asarray(lambdify(expr, symbols)(*arrays), dtype=float) * np.ones(len(table.rows))
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{table.path}, line {table.lines[i]}: {where} is not a finite number there")
    return _Term(values, None)


def _parse_term(text: str, symbols: dict):
    """A formula term parsed by derive's grammar, with each column name read as one symbol."""
    try:
        from derive.parse import parse
    except ImportError:
        raise DeriveError("--formula needs derive's input grammar (derive.parse), which is not available") from None
    expr = parse(text, symbols=symbols)
    if getattr(expr, "is_Matrix", False):
        raise DataError(f"formula term {text!r} is not a scalar expression of the columns")
    return expr


def _is_rational(expr) -> bool:
    """Whether the term is built from the columns with + − × and integer powers only."""
    if expr.is_Symbol or expr.is_Rational:
        return True
    if isinstance(expr, (sp.Add, sp.Mul)):
        return all(_is_rational(a) for a in expr.args)
    if isinstance(expr, sp.Pow):
        return expr.exp.is_Integer and _is_rational(expr.base)
    return False


def _rational_value(expr, values, table, i, where) -> Fraction:
    if expr.is_Symbol:
        return values[expr]
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if isinstance(expr, sp.Add):
        return sum((_rational_value(a, values, table, i, where) for a in expr.args), Fraction(0))
    if isinstance(expr, sp.Mul):
        return math.prod((_rational_value(a, values, table, i, where) for a in expr.args), start=Fraction(1))
    base = _rational_value(expr.base, values, table, i, where)
    if base == 0 and expr.exp < 0:
        raise DataError(f"{table.path}, line {table.lines[i]}: {where} divides by zero there")
    return base ** int(expr.exp)


def load(path, target: str | None = None, features: Sequence[str] | None = None, intercept: bool = True,
         formula: str | None = None) -> Design:
    """The design for `derive fit`: from --target/--features/--no-intercept, or from --formula."""
    table = read_csv(path)
    if formula is not None:
        if features is not None:
            raise DataError("give either --formula or --features, not both")
        design_ = formula_design(table, formula)
        if not intercept and design_.intercept:
            design_ = formula_design(table, formula + " - 1")
        if target is not None and target != design_.target:
            raise DataError(f"--target {target!r} differs from the formula's target {design_.target!r}")
        return design_
    if target is None:
        raise DataError("name the column to predict with --target COLUMN (or give a --formula)")
    return design(table, target, features, intercept)
