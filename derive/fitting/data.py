"""Data for `derive fit`: the columns of a CSV or Parquet file (or a pandas DataFrame) as a design matrix.

`read_table(path)` opens the data (`derive.fitting.tables` reads it); `design(table, target, features)`
builds X (intercept first, named "intercept", unless asked not to) and y, as floats and, lazily, as exact
fractions for the exact method. `formula_design(table, "y ~ a*b + I(x^2) + C(g) - 1")` builds the design
of an R/patsy formula (`derive.fitting.formula`): each factor is parsed by `derive`'s grammar (never
evaluated as Python) and computed per row, exactly (fractions of the decimal text) when it is rational in
the columns and the exact method may use it, with numpy otherwise; `C(g)` (or a text column) is coded
by treatment contrasts, the first level (sorted) the reference, as statsmodels names them: `C(g)[T.b]`.

Errors are `DataError`s that name the file, the line (as an editor counts it: the header is line 1)
and the column.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from derive.datasets import path_of
from derive.errors import DataError, DeriveError, NotSupported
from derive.fitting.design_columns import NonFiniteValue, ValueAtRow, first_invalid, per_row_error
from derive.fitting.formula import Formula, parse_formula
from derive.fitting.tables import (
    DECIMAL,
    Columns,
    RowLocator,
    Table,
    column_hint,
    csv_layout,
    first_bad_cell,
    frame_table,
    label_texts,
    missing_column_message,
    parquet_columns,
    read_csv_columns,
    read_parquet_columns,
)


@dataclass
class DataSource:
    """An opened data file: its column names (from the header or the schema), read on demand."""
    path: str
    columns: list[str]
    read: Callable[[Columns], Table]


def read_table(path, delimiter: str | None = None, encoding: str | None = None, keep_text: bool | None = None,
               progress: bool | None = None) -> DataSource:
    """Open DATA for `derive fit`: a CSV file (delimiter sniffed unless given) or a Parquet file or
    directory, or a shipped dataset by name ("longley"). Nothing but the header is read until the design
    names the columns it needs."""
    path = str(path_of(path))
    if not Path(path).exists():
        raise DataError(f"no data file {path!r}")
    if _is_parquet(path):
        return DataSource(path, parquet_columns(path), lambda need: read_parquet_columns(path, need))
    if Path(path).is_dir():
        raise DataError(f"{path} is a folder without Parquet files; give a CSV or Parquet file")
    layout = csv_layout(path, delimiter, encoding)
    return DataSource(path, layout.columns,
                      lambda need: read_csv_columns(layout, need, keep_text, progress))


def _is_parquet(path: str) -> bool:
    target = Path(path)
    if target.is_dir():
        return any(target.rglob("*.parquet"))
    with open(target, "rb") as handle:
        return handle.read(4) == b"PAR1"


def read_csv(path, **options) -> Table:
    """Every column of a CSV file (as decimal text too when the file is small)."""
    source = read_table(path, **options)
    return source.read(Columns([], [], source.columns))


@dataclass
class Design:
    """A design matrix X (n×d) and targets y, as floats and, where the data allow, as exact fractions.

    `exact_data` is (X, y) as lists of `Fraction`s (None when some term, such as log(x), is not rational
    in the data); it is computed on first use, which only the exact method makes.
    """
    names: list[str]
    X: np.ndarray
    y: np.ndarray
    target: str
    intercept: bool
    _exact_columns: list | None = field(default=None, repr=False)  # callables giving each column exactly
    _exact_target: object = field(default=None, repr=False)
    _exact: tuple | None = field(default=None, repr=False)
    per_row: dict = field(default_factory=dict)  # columns given to the fit by role: weights, offset, exposure
    where: Callable[[int, str], str] | None = field(default=None, repr=False)  # (row, column) → "data.csv, line 4, …"

    @property
    def exact_data(self):
        if self._exact is None and self._exact_columns is not None:
            columns = [column() for column in self._exact_columns]
            rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(self.y))]
            self._exact = (rows, self._exact_target())
        return self._exact


def design(table: Table, target: str, features: Sequence[str] | None = None, intercept: bool = True,
           labels: bool = False) -> Design:
    """y = the target column (its text labels, with `labels`: softmax's classes); X = the feature columns
    (default: all the others), intercept first."""
    features = _features(table.columns, table.source, target, features)
    n = table.n_rows
    names = (["intercept"] if intercept else []) + features
    columns = ([np.ones(n)] if intercept else []) + [table.floats(f) for f in features]
    exact_columns = ([lambda: [Fraction(1)] * n] if intercept else []) + [
        (lambda f=f: table.exact(f)) for f in features]
    result = Design(names, _matrix(columns, n), table.labels(target) if labels else table.floats(target), target,
                    intercept,
                    exact_columns, lambda: table.exact(target))
    _check_size(result, table.source)
    return result


def _features(columns, source, target, features) -> list[str]:
    known = set(columns)
    if target not in known:
        raise DataError(missing_column_message(target, "target column", source, columns))
    features = [c for c in columns if c != target] if features is None else list(features)
    for f in features:
        if f not in known:
            raise DataError(missing_column_message(f, "feature column", source, columns))
    if target in features:
        raise DataError(f"the target {target!r} is also listed as a feature")
    return features


def _matrix(columns, n):
    return np.column_stack(columns) if columns else np.empty((n, 0))


def _check_size(result: Design, source: str):
    n, d = result.X.shape
    if d == 0:
        raise DataError("the model has no columns: give features, or keep the intercept")
    if n < d:
        raise DataError(f"{source} has {n} data rows, fewer than the {d} parameters to fit "
                        f"({', '.join(result.names)})")


# ----------------------------------------------------------------------------------------------------
# Formulas

@dataclass
class _Factor:
    """One factor of a formula: an expression of numeric columns, or a categorical column."""
    text: str
    expr: object = None  # the parsed expression (None for a categorical)
    category: str | None = None  # the column, for C(g) or a bare text column
    explicit: bool = False  # written C(g) (named so), rather than a bare column found to hold text
    levels: list | None = None  # a categorical's levels, when known beforehand (data read in chunks)


@dataclass
class _Column:
    name: str
    values: np.ndarray
    exact: Callable | None  # the column as exact fractions, or None when it is not rational


def parse_factors(formula: Formula, columns: Sequence[str], source: str) -> dict[str, _Factor]:
    """Each factor of the formula read by derive's grammar with each column name as one symbol."""
    symbols = {c: sp.Symbol(c) for c in columns}
    factors = {}
    for text in [formula.target, *formula.factors]:
        call = re.fullmatch(r"([CI])\((.*)\)", text, re.S)
        if call and call.group(1) == "C":
            name = call.group(2).strip()
            if "," in name:
                raise NotSupported(f"{text}: only treatment coding is supported; write C({name.split(',')[0]})")
            if name not in symbols:
                raise DataError(missing_column_message(name, "column", source, list(columns)))
            factors[text] = _Factor(text, category=name, explicit=True)
            continue
        expr = _parse_factor(call.group(2) if call else text, symbols)
        unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in symbols)
        if unknown:
            raise DataError(f"formula term {text!r} uses {unknown[0]!r}, which is not a column of {source}"
                            + column_hint(unknown[0], list(columns)))
        factors[text] = _Factor(text, expr)
    return factors


def formula_columns(factors: dict[str, _Factor]) -> Columns:
    """The columns the factors use: a bare column may hold text (then it is categorical)."""
    need = Columns([], [], [])
    for factor in factors.values():
        if factor.category is not None:
            need.text.append(factor.category)
        elif factor.expr.is_Symbol:
            need.maybe_text.append(str(factor.expr))
        else:
            need.numeric += sorted(str(s) for s in factor.expr.free_symbols)
    return need


def formula_design(table: Table, formula: str | Formula, factors: dict[str, _Factor] | None = None,
                   labels: bool = False, whole: bool = True) -> Design:
    """The design of a formula: `y ~ a*b + I(x^2) + log(z) + C(g)`; `- 1` (or `+ 0`) drops the intercept.
    With `labels` the target is a column of class labels (softmax); `whole` = False for one chunk of the
    rows (which may be fewer than the parameters)."""
    formula = parse_formula(formula) if isinstance(formula, str) else formula
    factors = factors or parse_factors(formula, table.columns, table.source)
    if labels:
        if not factors[formula.target].expr.is_Symbol:
            raise DataError(f"the classes must be a column, not {formula.target!r}")
        target = _Column(formula.target, table.labels(formula.target), None)
    else:
        target = _numeric_factor(table, factors[formula.target])
    if target is None:
        raise DataError(f"the target {formula.target!r} holds text, not numbers")
    evaluated = {}
    names, floats, exact = (["intercept"] if formula.intercept else []), [], []
    n = table.n_rows
    if formula.intercept:
        floats.append(np.ones(n))
        exact.append(lambda: [Fraction(1)] * n)
    for text in formula.factors:
        evaluated[text] = _factor_columns(table, factors[text])
    full_rank_used = formula.intercept
    for term in patsy_order(formula.terms, {t for t in factors if factors[t].category is not None}):
        parts = [evaluated[text] for text in term]
        # Without an intercept the first categorical main effect is coded in full (patsy's rule): its
        # levels together play the intercept's part.
        if not full_rank_used and len(term) == 1 and factors[term[0]].category is not None:
            parts = [_categorical(table, factors[term[0]], full=True)]
            full_rank_used = True
        for column in _products(parts):
            names.append(column.name)
            floats.append(column.values)
            exact.append(column.exact)
    exact_columns = exact if all(e is not None for e in exact) and target.exact is not None else None
    result = Design(names, _matrix(floats, n), target.values, formula.target, formula.intercept, exact_columns,
                    target.exact)
    if whole:
        _check_size(result, table.source)
    return result


def patsy_order(terms, categorical) -> list:
    """Terms in patsy's order: grouped by their numeric factors (the group of none first, then in order
    of appearance), within a group by their number of categorical factors."""
    groups = {frozenset(): []}
    for term in terms:
        groups.setdefault(frozenset(f for f in term if f not in categorical), []).append(term)
    return [term for group in groups.values() for term in sorted(group, key=len)]


def _products(parts: list[list[_Column]]) -> list[_Column]:
    """The columns of an interaction: every product of one column of each factor, named a:b."""
    result = parts[0]
    for part in parts[1:]:
        result = [_Column(f"{a.name}:{b.name}", a.values * b.values,
                          (lambda a=a, b=b: [u * v for u, v in zip(a.exact(), b.exact())])
                          if a.exact is not None and b.exact is not None else None)
                  for b in part for a in result]
    return result


def _factor_columns(table: Table, factor: _Factor) -> list[_Column]:
    if factor.category is None:
        column = _numeric_factor(table, factor)
        if column is not None:
            return [column]
        factor.category = str(factor.expr)  # a bare column of text: categorical, as in patsy
    return _categorical(table, factor, full=False)


def _categorical(table: Table, factor: _Factor, full: bool) -> list[_Column]:
    """Treatment coding: a 0/1 column per level but the first (all of them when `full`)."""
    labels = table.labels(factor.category)
    levels = factor.levels or _sorted_levels(np.unique(labels))
    if len(levels) < 2:
        raise DataError(f"{factor.text}: column {factor.category!r} has a single level {levels[0]!r}; "
                        "a categorical term needs two or more")
    prefix = factor.text if factor.explicit else factor.category
    columns = []
    for level in levels if full else levels[1:]:
        indicator = (labels == level).astype(float)
        columns.append(_Column(f"{prefix}[{'' if full else 'T.'}{level}]", indicator,
                               lambda v=indicator: [Fraction(int(x)) for x in v.tolist()]))
    return columns


def _sorted_levels(levels) -> list[str]:
    """Levels in patsy's order: numerically when they are all numbers, else as text."""
    try:
        return sorted(levels, key=float)
    except ValueError:
        return sorted(levels)


def _numeric_factor(table: Table, factor: _Factor) -> _Column | None:
    """The factor's values (None for a bare column of text, which is categorical)."""
    expr = factor.expr
    if expr.is_Symbol:
        name = str(expr)
        if table.arrays[name].dtype == object and not _looks_numeric(table.arrays[name]):
            return None
        return _Column(factor.text, table.floats(name), lambda: table.exact(name))
    where = f"formula term {factor.text!r}"
    symbols = sorted(expr.free_symbols, key=str)
    if _is_rational(expr):
        def exact():
            values = [table.exact(str(s)) for s in symbols]
            return [_rational_value(expr, dict(zip(symbols, row)), table, i, where)
                    for i, row in enumerate(zip(*values))]
        if table.text is not None:  # small data: each value correctly rounded from the exact one
            return _Column(factor.text, np.array([float(v) for v in exact()]), exact)
        return _Column(factor.text, _numpy_values(table, expr, symbols, where), exact)
    return _Column(factor.text, _numpy_values(table, expr, symbols, where), None)


def _looks_numeric(values) -> bool:
    """Whether a column read as text is meant as numbers (most of its cells are), so that a bad cell
    is an error to report, not a sign that the column is categorical."""
    cells = [v for v in values.tolist() if isinstance(v, str) and v.strip()]
    return bool(cells) and sum(bool(DECIMAL.fullmatch(v)) for v in cells) > len(cells) // 2


def _numpy_values(table, expr, symbols, where):
    from derive.fitting.codegen import lambdify
    arrays = [table.floats(str(s)) for s in symbols]
    with np.errstate(all="ignore"):
        values = np.asarray(lambdify(expr, symbols)(*arrays), dtype=float) * np.ones(table.n_rows)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size and table.strict:
        raise DataError(f"{table.source}, {table.locate(int(bad[0]))}: {where} is not a finite number there")
    return values


def _parse_factor(text: str, symbols: dict):
    """A formula factor parsed by derive's grammar, with each column name read as one symbol."""
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
        raise DataError(f"{table.source}, {table.locate(i)}: {where} divides by zero there")
    return base ** int(expr.exp)


# ----------------------------------------------------------------------------------------------------
# The entry points

PER_ROW = ("weights", "offset", "exposure")  # the columns a fit takes by role (--weights COL, ...)


def load(path, target: str | None = None, features: Sequence[str] | None = None, intercept: bool = True,
         formula: str | None = None, per_row: dict | None = None, labels: bool = False, **reading) -> Design:
    """The design for `derive fit`: from --target/--features/--no-intercept, or from --formula, and the
    columns of `per_row` ({"weights": COL, "offset": COL, "exposure": COL}). Only the columns the design
    uses are read; `labels`: the target holds class labels (softmax); `reading` options go to `read_table`."""
    source = read_table(path, **reading)
    return source_design(source, target, features, intercept, formula, per_row, labels)


def sample_columns(path, columns: Sequence[str], **reading) -> np.ndarray:
    """The named columns of a data file as an n×k sample (for the iid models)."""
    source = read_table(path, **reading)
    for column in columns:
        if column not in source.columns:
            raise DataError(missing_column_message(column, "column", source.path, source.columns))
    table = source.read(Columns(list(columns)))
    return np.column_stack([table.floats(c) for c in columns])


def frame_design(frame, target: str | None = None, features: Sequence[str] | None = None, intercept: bool = True,
                 formula: str | None = None) -> Design:
    """The design of a pandas DataFrame's columns (for `derive.fit(model, data=df, formula=...)`)."""
    table = frame_table(frame)
    source = DataSource(table.source, table.columns, lambda need: table)
    return source_design(source, target, features, intercept, formula)


def _per_row_columns(source: DataSource, per_row: dict | None) -> dict:
    """The columns given by role ({"weights": COL, ...}, None for a role not given), each checked to exist."""
    per_row = {role: column for role, column in (per_row or {}).items() if column is not None}
    for role, column in per_row.items():
        if column not in source.columns:
            raise DataError(missing_column_message(column, f"{role} column", source.path, source.columns))
    return per_row


def source_design(source: DataSource, target, features, intercept, formula, per_row: dict | None = None,
                  labels: bool = False) -> Design:
    per_row = _per_row_columns(source, per_row)
    extra = list(per_row.values())
    if formula is not None:
        parsed, factors = _parsed_formula(source, formula, target, features, intercept)
        need = formula_columns(factors)
        need.numeric += extra
        table = source.read(need)
        result = formula_design(table, parsed, factors, labels)
    else:
        if target is None:
            raise DataError("name the column to predict with --target COLUMN (or give a --formula)")
        if features is None:  # all the other columns, but not the weights
            features = [c for c in source.columns if c != target and c not in extra]
        features = _features(source.columns, source.path, target, features)
        table = source.read(Columns([*features, *extra], text=[target]) if labels
                            else Columns([target, *features, *extra]))
        result = design(table, target, features, intercept, labels)
    result.per_row = {role: table.floats(column) for role, column in per_row.items()}
    result.where = table.where
    for role, values in result.per_row.items():  # checked here, where the line of a bad value is known
        bad = first_invalid(role, values)
        if bad is not None:
            raise per_row_error(role, values[bad], bad).located(table.where, target, per_row)
    return result


# ----------------------------------------------------------------------------------------------------
# Out of core: the design as dask arrays, read in chunks

def fits_in_memory(path) -> bool:
    """Whether the data of a file are expected to fit in memory with room for the fit: their float64
    columns (about the CSV's size, or 4× a compressed Parquet file's) below a quarter of the memory
    available now."""
    target = Path(path)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) if target.is_dir() else target.stat().st_size
    expected = size * (4 if _is_parquet(str(path)) else 1)
    try:
        with open("/proc/meminfo") as meminfo:
            available = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable"))
    except (OSError, StopIteration):
        return True  # no way to know: read it as usual
    return expected < available / 4


def dask_design(path, target: str | None, features: Sequence[str] | None = None, intercept: bool = True,
                formula: str | None = None, per_row: dict | None = None, delimiter: str | None = None,
                encoding: str | None = None, labels: bool = False, blocksize: int | str = "16MB"):
    """X, y (dask arrays, chunks of rows read on demand), the names and the `per_row` columns ({"weights":
    COL, ...}) in the same chunks, for `derive fit --engine dask`. With `labels` y holds the target's class
    labels (softmax) as text, as `design` reads them in memory, "" where a cell is missing. A CSV file is
    read in chunks of `blocksize` bytes."""
    if formula is None and target is None:
        raise DataError("name the column to predict with --target COLUMN (or give a --formula)")
    if labels and formula is not None:  # a formula's target may be read as numbers or as text: in memory only
        raise NotSupported("class labels from a --formula with --engine dask are not implemented: "
                           "give --target and --features, or fit in memory (--engine memory)")
    try:
        import dask
        import dask.array as da
        import dask.dataframe as dd
    except ImportError:
        raise DeriveError("--engine dask needs dask: pip install 'derive[dask]'") from None
    source = read_table(path, delimiter=delimiter, encoding=encoding)
    per_row = _per_row_columns(source, per_row)
    extra = list(per_row.values())
    if formula is not None:
        parsed, factors = _parsed_formula(source, formula, target, features, intercept)
        need = formula_columns(factors)
        text = list(dict.fromkeys(need.text))
        used = list(dict.fromkeys([*need.numeric, *need.maybe_text, *extra, *text]))
    else:
        text = []
        if features is None:  # all the other columns, but not the weights
            features = [c for c in source.columns if c != target and c not in extra]
        features = _features(source.columns, source.path, target, features)
        used = list(dict.fromkeys([target, *features, *extra]))
    text_columns = [*text, target] if labels else text
    numeric = [c for c in used if c not in text_columns]  # the columns whose cells must be numbers
    layout = None if _is_parquet(source.path) else csv_layout(source.path, delimiter, encoding)
    if layout is None:
        frame = dd.read_parquet(source.path, columns=used)
    else:
        try:  # dask reads a sample of the file now, to learn the columns' types
            types = {**dict.fromkeys(used, "float64"), **dict.fromkeys(text_columns, "object")}
            frame = dd.read_csv(source.path, usecols=used, sep=layout.delimiter, dtype=types,
                                encoding=layout.encoding.replace("utf-8-sig", "utf-8"), blocksize=blocksize)
        except ValueError as error:
            first_bad_cell(source.path, numeric, layout)
            raise DataError(f"{source.path} could not be read: {' '.join(str(error).split())}") from None
    diagnose = lambda: first_bad_cell(source.path, numeric, layout)  # noqa: E731
    located = dict(rows=RowLocator(source.path, layout), per_row_columns=per_row, file_columns=source.columns)
    if text:
        _fix_levels(frame, factors, text)
    if formula is not None:  # each chunk's design from its rows, as in memory: [y, X, the per-row columns]
        def chunk_design(part):
            d = formula_design(frame_table(part, strict=False), parsed, factors, whole=False)
            return np.column_stack([d.y, d.X, *(part[column].to_numpy(float) for column in per_row.values())])
        names = formula_design(frame_table(frame._meta), parsed, factors, whole=False).names
        width = 1 + len(names) + len(per_row)
        chunks = [da.from_delayed(dask.delayed(chunk_design)(part), shape=(np.nan, width), dtype=float)
                  for part in frame.to_delayed()]
        columns = da.concatenate(chunks, axis=0, allow_unknown_chunksizes=True)
        by_role = {role: columns[:, 1 + len(names) + k] for k, role in enumerate(per_row)}
        return ChunkedDesign(columns[:, 1:1 + len(names)], columns[:, 0], names, diagnose, by_role, parsed.target,
                             **located)
    by_role = {role: frame[column].to_dask_array() for role, column in per_row.items()}  # the chunks of y
    if labels:  # text beside numbers, both read from each chunk of the frame (dask may regroup a column's chunks)
        parts = frame.to_delayed()
        y = _in_chunks(parts, partial(_chunk_labels, target), (), object)
        X = _in_chunks(parts, partial(_chunk_floats, features), (len(features),), float) if features else None
    else:
        columns = frame[[target, *features]].to_dask_array()  # chunks of unknown length: no pass to count them
        y, X = columns[:, 0], (columns[:, 1:] if features else None)
    if intercept:
        ones = y[:, None].map_blocks(partial(np.ones_like, dtype=float), dtype=float)
        X = ones if X is None else da.concatenate([ones, X], axis=1, allow_unknown_chunksizes=True).rechunk({1: -1})
    if X is None:
        raise DataError("the model has no columns: give features, or keep the intercept")
    return ChunkedDesign(X, y, (["intercept"] if intercept else []) + features, diagnose, by_role, target,
                         **located)


def _in_chunks(parts, read, shape, dtype):
    """A dask array of `read(part)` for each part (a delayed pandas DataFrame) of a frame: rows × `shape`."""
    import dask
    import dask.array as da
    chunks = [da.from_delayed(dask.delayed(read)(part), shape=(np.nan, *shape), dtype=dtype) for part in parts]
    return da.concatenate(chunks, allow_unknown_chunksizes=True)


def _chunk_floats(columns, part) -> np.ndarray:
    return part[columns].to_numpy(dtype=float, na_value=np.nan)


def _chunk_labels(column, part) -> np.ndarray:
    """One chunk's labels as `Table.labels` reads them in memory (stripped text, 2 for 2.0), "" where missing:
    each distinct cell written once (a Newton iteration reads the chunk again; the classes are few)."""
    import pandas as pd
    codes, distinct = pd.factorize(part[column])  # a missing cell's code is −1
    distinct = np.array([c.strip() if isinstance(c, str) else c for c in distinct.tolist()], dtype=object)
    return np.append(label_texts(distinct), "")[codes]


def _parsed_formula(source, formula, target, features, intercept):
    """The parsed formula (without its intercept unless `intercept`) and its factors over the columns."""
    if features is not None:
        raise DataError("give either --formula or --features, not both")
    parsed = parse_formula(formula)
    parsed.intercept = parsed.intercept and intercept
    if target is not None and target != parsed.target:
        raise DataError(f"--target {target!r} differs from the formula's target {parsed.target!r}")
    return parsed, parse_factors(parsed, source.columns, source.path)


def _fix_levels(frame, factors, text_columns):
    """Each categorical factor's levels, from one pass over its column's chunks, so that every chunk codes
    the same levels (a chunk may lack some)."""
    import dask

    def chunk_levels(part):
        table = frame_table(part)
        return {column: set(table.labels(column).tolist()) for column in text_columns}
    found = dask.compute(*[dask.delayed(chunk_levels)(part) for part in frame[text_columns].to_delayed()])
    for factor in factors.values():
        if factor.category in text_columns:
            factor.levels = _sorted_levels(set().union(*(part[factor.category] for part in found)))


@dataclass
class ChunkedDesign:
    """The design read chunk by chunk (dask arrays), and how to find a bad cell if reading fails."""
    X: object
    y: object
    names: list[str]
    diagnose: Callable[[], None]  # raises a DataError naming the first bad cell's line and column
    per_row: dict = field(default_factory=dict)  # weights, offset, exposure: dask vectors in the chunks of y
    target: str = "y"  # the target's column (or formula term)
    rows: RowLocator | None = None  # where a data row is in the file
    per_row_columns: dict = field(default_factory=dict)  # the per-row columns by role ({"weights": "w"})
    file_columns: list = field(default_factory=list)  # the columns of the file

    def located(self, error: ValueAtRow) -> DataError:
        """The error at its file's line and column; a cell read as NaN or ±inf, by what it holds."""
        if isinstance(error, NonFiniteValue):
            column = error.column_in(self.target, self.per_row_columns)
            message = self.rows.cell_message(error.row, column)
            if message:
                return DataError(message)
            if column not in self.file_columns:  # a formula's term, computed from the row's cells
                return DataError(f"{self.rows.place(error.row)}: formula term {column!r} is not a finite number there")
        return error.located(self.rows.where, self.target, self.per_row_columns)
