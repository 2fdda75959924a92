"""Data files and data frames as named columns, for `derive fit`: CSV (pyarrow's multi-threaded reader,
typed columns), Parquet (files and directories), and pandas DataFrames.

Only the columns a fit uses are read. A small CSV file (≤ `DECIMAL_TEXT_BYTES`, decided from its size
before reading it) keeps every cell's decimal text, so that the exact method computes with the very
decimals in the file (`Fraction("0.1")` is one tenth, `float` is not); a large one is read straight into
float64 columns and no text is kept. Errors name the file, the line as an editor counts it (the header is
line 1) and the column: the fast reader does not track lines, so a bad cell is located afterwards by
reading the file again with the standard library (that only happens on the way to an error).
"""
from __future__ import annotations

import csv
import difflib
import io
import itertools
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from derive.errors import DataError, DeriveError

# CSV files up to this size keep the decimal text of their cells for exact arithmetic.
DECIMAL_TEXT_BYTES = 1 << 20
# Reading files larger than this shows progress on stderr (when it is a terminal).
PROGRESS_BYTES = 64 << 20
# The delimiters a header line is sniffed for, in order of preference.
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "vertical bar"}

# A plain decimal number, as statistics files write them: 12, -0.5, .11019, 760., 1.5E-3.
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAN = {"nan", "na", "n/a", "null", "none", "-nan", "+nan", "#n/a", "#na"}
_INFINITY = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


@dataclass
class Columns:
    """The columns a design reads: `numeric` ones, `text` (categorical) ones, and `maybe_text`: numeric
    unless their column holds text (a bare column in a formula, categorical then, as in patsy)."""
    numeric: list[str]
    text: list[str] = field(default_factory=list)
    maybe_text: list[str] = field(default_factory=list)


@dataclass
class Table:
    """Named columns: float64 or text (object) arrays, with the decimal text of small CSV files.

    `locate(i)` says where data row i (0-based) is ("line 5" in a CSV file, "row 4" elsewhere) and
    `cell(name, i)` what that cell held, both only needed for messages."""
    source: str
    columns: list[str]
    arrays: dict[str, np.ndarray]
    n_rows: int
    text: dict[str, list[str]] | None = None
    locate: Callable[[int], str] = field(default=lambda i: f"row {i + 1}", repr=False)
    cell: Callable[[str, int], str] | None = field(default=None, repr=False)
    _positions: dict[str, int] | None = field(default=None, repr=False)
    # False for one chunk of a file read in chunks, which cannot say where its rows are in the file: a
    # value that is no finite number is kept (as NaN or ±inf), for the fit's checks to find and place.
    strict: bool = True

    def column_index(self, name: str, role: str = "column") -> int:
        """The position of column `name`; DataError naming the nearest names when there is none."""
        if self._positions is None:
            self._positions = {c: j for j, c in enumerate(self.columns)}
        try:
            return self._positions[name]
        except KeyError:
            raise DataError(missing_column_message(name, role, self.source, self.columns)) from None

    def where(self, i: int, name: str) -> str:
        return f"{self.source}, {self.locate(i)}, column {name!r}"

    def numbers(self, name: str) -> list[str]:
        """The column's decimal text, each cell checked to be a number (small CSV files only)."""
        self.column_index(name)
        if self.text is None or name not in self.text:
            raise DeriveError(f"the decimal text of column {name!r} was not kept")
        cells = self.text[name]
        for i, text in enumerate(cells):
            if not DECIMAL.fullmatch(text):
                raise DataError(_cell_message(self.where(i, name), text))
        return cells

    def floats(self, name: str) -> np.ndarray:
        """The column as float64, every cell checked to be a finite number."""
        self.column_index(name)
        if self.text is not None and name in self.text:
            self.numbers(name)  # the text decides what a bad cell is
        values = self.arrays[name]
        if values.dtype == object:
            i = next(i for i, v in enumerate(values) if not _is_number_text(v))
            raise DataError(_cell_message(self.where(i, name), self._cell_text(name, i)))
        values = values.astype(float, copy=False)
        if self.strict and not np.isfinite(values.sum()) and not np.isfinite(values).all():
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(_cell_message(self.where(i, name), self._cell_text(name, i)))
        return values

    def exact(self, name: str) -> list[Fraction]:
        """The column as exact fractions: of its decimal text when kept, else of each float's shortest
        decimal (what was typed, unless it had more than 17 digits)."""
        if self.text is not None and name in self.text:
            return [Fraction(t) for t in self.numbers(name)]
        return [Fraction(repr(v)) for v in self.floats(name).tolist()]

    def labels(self, name: str) -> np.ndarray:
        """The column as text labels (for a categorical term); missing cells are an error."""
        self.column_index(name)
        labels = label_texts(self.arrays[name])
        missing = np.flatnonzero(labels == "")
        if missing.size:
            i = int(missing[0])
            raise DataError(f"{self.where(i, name)}: empty cell (a category is needed)")
        return labels

    def _cell_text(self, name, i) -> str:
        if self.cell is not None:
            return self.cell(name, i)
        return str(self.arrays[name][i])


def label_texts(values) -> np.ndarray:
    """A column's cells as text labels (an integer-valued number as "2", not "2.0"); "" for a missing cell."""
    return np.array([_label(v) for v in values.tolist()], dtype=object)


def _label(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number_text(value) -> bool:
    return isinstance(value, (int, float)) and np.isfinite(value) or isinstance(value, str) and bool(
        DECIMAL.fullmatch(value.strip()))


def _cell_message(where: str, text: str) -> str:
    cell = text.strip()
    if not cell:
        return f"{where}: empty cell (every used cell must hold a number)"
    if cell.lower() in _NAN:
        return f"{where}: missing value {cell!r} (NaN); remove the row or fill the cell in"
    if cell.lower() in _INFINITY:
        return f"{where}: infinite value {cell!r}; every used cell must be a finite number"
    if DECIMAL.fullmatch(cell):
        return f"{where}: {cell} is too large to fit in double precision (at most about 1.8e308)"
    if re.fullmatch(r"[+-]?\d+,\d+", cell):
        return f"{where}: {cell!r} is not a number (a decimal comma? write {cell.replace(',', '.')!r})"
    return f"{where}: {cell!r} is not a number"


def missing_column_message(name: str, role: str, source: str, columns: Sequence[str]) -> str:
    return f"no {role} {name!r} in {source}{column_hint(name, columns)}"


def column_hint(name: str, columns: Sequence[str]) -> str:
    """" (did you mean 'x1'?); its columns are: ..." for a name that is not a column."""
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(columns[:20]) + (f", ... ({len(columns)} columns)" if len(columns) > 20 else "")
    return f"{hint}; its columns are: {shown}"


# ----------------------------------------------------------------------------------------------------
# CSV

@dataclass
class CsvLayout:
    """What the first line of a CSV file says: the column names, the delimiter, the text encoding."""
    path: str
    columns: list[str]
    delimiter: str
    encoding: str


def csv_layout(path: str, delimiter: str | None = None, encoding: str | None = None) -> CsvLayout:
    """The header of a CSV file, its delimiter sniffed (comma, tab, semicolon or |) unless given."""
    encoding = encoding or "utf-8-sig"
    try:
        with open(path, "rb") as handle:
            sample = handle.read(1 << 16)
        if b"\0" in sample:
            raise DataError(f"{path} is not a CSV file (it contains binary data)")
        with open(path, newline="", encoding=encoding) as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text: give its encoding, e.g. --encoding latin-1") from None
    except LookupError:
        raise DataError(f"unknown text encoding {encoding!r}") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if not first.strip():
        raise DataError(f"{path} is empty: a CSV file with a header line naming the columns is needed")
    if delimiter is None:
        counts = {d: first.count(d) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
        if counts[delimiter] == 0:
            delimiter = ","
    elif len(delimiter) != 1:
        raise DataError(f"--delimiter must be one character, not {delimiter!r} (a tab is --delimiter $'\\t')")
    columns = [cell.strip() for cell in next(csv.reader([first], delimiter=delimiter))]
    if all(DECIMAL.fullmatch(c) for c in columns):
        raise DataError(f"{path} has no header line: line 1 ({delimiter.join(columns)[:60]}) looks like data; "
                        "add a first line naming the columns")
    if len(columns) < 2:
        raise DataError(f"{path} is not a CSV file with columns: line 1 has a single field {columns[0][:40]!r} "
                        f"with no {DELIMITER_NAMES.get(delimiter, repr(delimiter))} in it (give the separator "
                        "with --delimiter)")
    if "" in columns:
        raise DataError(f"{path}, line 1: column {columns.index('') + 1} has no name")
    repeated = [c for c, k in Counter(columns).items() if k > 1]
    if repeated:
        raise DataError(f"{path}, line 1: the column name {repeated[0]!r} appears twice")
    return CsvLayout(path, columns, delimiter, encoding)


def read_csv_columns(layout: CsvLayout, need: Columns, keep_text: bool | None = None,
                     progress: bool | None = None) -> Table:
    """The columns `need` names of the CSV file: numeric ones as float64 (with `keep_text`, as their
    decimal text too), text ones as labels. `keep_text` defaults to whether the file is small."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        raise DeriveError("reading data files needs pyarrow: pip install 'derive[data]'") from None
    path = layout.path
    size = os.path.getsize(path)
    if keep_text is None:
        keep_text = size <= DECIMAL_TEXT_BYTES
    numeric = list(dict.fromkeys([*need.numeric, *need.maybe_text]))
    wanted = list(dict.fromkeys([*numeric, *need.text]))
    locator = _CsvLocator(layout)
    types = {c: pa.string() for c in need.text}
    for c in numeric:
        types.setdefault(c, pa.string() if keep_text else pa.float64())
    read_options = pacsv.ReadOptions(column_names=layout.columns, skip_rows=1, block_size=1 << 22,
                                     encoding=layout.encoding.replace("utf-8-sig", "utf8"))
    parse_options = pacsv.ParseOptions(delimiter=layout.delimiter)
    while True:
        convert_options = pacsv.ConvertOptions(column_types=types, include_columns=wanted,
                                               strings_can_be_null=False, quoted_strings_can_be_null=False)
        with _ProgressFile(path, size, progress) as handle:
            try:
                table = pacsv.read_csv(handle, read_options, parse_options, convert_options)
                break
            except pa.ArrowInvalid as error:
                failed = _failed_column(str(error), layout.columns)
                if failed not in need.maybe_text or types[failed] == pa.string():
                    raise DataError(locator.diagnose(str(error), failed)) from None
                types[failed] = pa.string()  # a bare formula column holding text: categorical
    arrays, kept = {}, {} if keep_text else None
    for name in wanted:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = np.array([v.strip() for v in column.to_pylist()], dtype=object)
            if keep_text and name in numeric:
                kept[name] = values.tolist()
                if all(DECIMAL.fullmatch(v) for v in kept[name]):
                    values = np.array(kept[name], dtype=float)
        else:
            values = column.to_numpy()
        arrays[name] = values
    if table.num_rows == 0:
        raise DataError(f"{path} has a header but no data rows")
    return Table(path, layout.columns, arrays, table.num_rows, kept, locator.line_name, locator.cell)


class _CsvLocator:
    """Where data row i of a CSV file is, read again with the standard library (for messages only), as a
    stream: a file of any size is never held in memory to say where its bad cell is."""

    def __init__(self, layout: CsvLayout):
        self.layout = layout

    def rows(self):
        """(line, fields) of each data row, in order: the line as an editor counts it (a quoted field may
        span lines); an empty line is no row, as for the fast readers."""
        with open(self.layout.path, newline="", encoding=self.layout.encoding, errors="replace") as handle:
            reader = csv.reader(handle, delimiter=self.layout.delimiter)
            next(reader, None)
            for row in reader:
                if row:
                    yield reader.line_num, row

    def _row(self, i: int):
        return next(itertools.islice(self.rows(), i, None))

    def line_name(self, i: int) -> str:
        return f"line {self._row(i)[0]}"

    def where(self, i: int, name: str) -> str:
        return f"{self.layout.path}, {self.line_name(i)}, column {name!r}"

    def cell(self, name: str, i: int) -> str:
        row = self._row(i)[1]
        j = self.layout.columns.index(name)
        return row[j] if j < len(row) else ""

    def cell_message(self, i: int, name: str) -> str:
        """What is wrong with the cell of data row i in column `name`, which was read as no finite number."""
        line, row = self._row(i)
        j = self.layout.columns.index(name)
        return _cell_message(f"{self.layout.path}, line {line}, column {name!r}", row[j] if j < len(row) else "")

    def diagnose(self, error: str, name: str | None) -> str:
        """A message for what pyarrow refused, naming the line: a ragged row, a cell that is not a number,
        text that is not in the file's encoding."""
        path, columns = self.layout.path, self.layout.columns
        for line, row in self.rows():
            if len(row) != len(columns):
                sniffed = ("" if self.layout.delimiter == "," else
                           f" (read as {DELIMITER_NAMES.get(self.layout.delimiter, repr(self.layout.delimiter))}-"
                           "separated; give --delimiter if that is wrong)")
                return f"{path}, line {line}: {len(row)} fields, but the header names {len(columns)} columns{sniffed}"
        if "UTF8" in error or "UTF-8" in error:
            return f"{path} is not UTF-8 text: give its encoding, e.g. --encoding latin-1"
        if name is not None:
            j = columns.index(name)
            for line, row in self.rows():
                if not DECIMAL.fullmatch(row[j].strip()):
                    return _cell_message(f"{path}, line {line}, column {name!r}", row[j])
        return f"{path} is not a readable CSV file: {error}"


def _failed_column(error: str, columns) -> str | None:
    """The column a pyarrow conversion error names ("In CSV column #2: ...", counted in the file), if any."""
    match = re.search(r"column #(\d+)", error)
    return columns[int(match.group(1))] if match and int(match.group(1)) < len(columns) else None


class _ProgressFile(io.RawIOBase):
    """A file whose reads report progress on stderr: reading a large file is never silent."""

    def __init__(self, path, size, enabled):
        self._file = open(path, "rb")
        self.size, self.done = size, 0
        if enabled is None:
            enabled = size > PROGRESS_BYTES and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.enabled, self.shown = enabled, -1
        self.name = Path(path).name

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        self.done += count or 0
        percent = int(100 * self.done / max(self.size, 1))
        if self.enabled and percent != self.shown:
            self.shown = percent
            sys.stderr.write(f"\rreading {self.name}: {percent:3d}% of {self.size / 1e6:.0f} MB")
            sys.stderr.flush()
        return count

    def close(self):
        if self.enabled and self.shown >= 0:
            sys.stderr.write("\n")
        self._file.close()
        super().close()


# ----------------------------------------------------------------------------------------------------
# Parquet and data frames

def read_parquet_columns(path: str, need: Columns) -> Table:
    """The named columns of a Parquet file or directory of Parquet files."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DeriveError("reading Parquet files needs pyarrow: pip install 'derive[data]'") from None
    columns = parquet_columns(path)
    text = need.text
    wanted = list(dict.fromkeys([*need.numeric, *need.maybe_text, *text]))
    for name in wanted:
        if name not in columns:
            raise DataError(missing_column_message(name, "column", path, columns))
    try:
        table = pq.read_table(path, columns=wanted)
    except Exception as error:  # pyarrow's errors have no common base; the message says what is wrong
        raise DataError(f"{path} is not a readable Parquet file: {error}") from None
    arrays = {}
    for name in wanted:
        column = table.column(name)
        try:
            arrays[name] = column.to_numpy().astype(float) if name not in text else np.array(column.to_pylist(),
                                                                                              dtype=object)
        except (TypeError, ValueError):
            arrays[name] = np.array(column.to_pylist(), dtype=object)
    if table.num_rows == 0:
        raise DataError(f"{path} has no rows")
    return Table(path, columns, arrays, table.num_rows)


def parquet_columns(path: str) -> list[str]:
    try:
        import pyarrow.dataset as ds
        return list(ds.dataset(path, format="parquet").schema.names)
    except ImportError:
        raise DeriveError("reading Parquet files needs pyarrow: pip install 'derive[data]'") from None
    except Exception as error:
        raise DataError(f"{path} is not a readable Parquet file: {error}") from None


def frame_table(frame, source: str = "the data frame", strict: bool = True) -> Table:
    """A pandas DataFrame's columns (names as given); numeric columns as float64, others as text
    (`strict`: see `Table`)."""
    columns = [str(c) for c in frame.columns]
    arrays = {}
    for name, (_, series) in zip(columns, frame.items()):
        kind = series.dtype.kind
        arrays[name] = series.to_numpy(dtype=float, na_value=np.nan) if kind in "biuf" else series.to_numpy(
            dtype=object, na_value=None)  # a missing cell of a pyarrow string column is None, not "<NA>"
    return Table(source, columns, arrays, len(frame), strict=strict)


def first_bad_cell(path: str, columns: Sequence[str], layout: CsvLayout | None = None) -> None:
    """DataError naming the first cell of `columns` that is not a finite number (the line of a CSV file,
    the row of a Parquet file), read in one streaming pass: the diagnosis of data read in chunks."""
    if layout is None:
        import pyarrow.dataset as ds
        start = 0
        for batch in ds.dataset(path, format="parquet").to_batches(columns=list(columns)):
            for name in columns:
                values = batch.column(name).to_numpy(zero_copy_only=False).astype(float)
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    raise DataError(f"{path}, row {start + bad[0] + 1}, column {name!r}: {values[bad[0]]!r} is "
                                    "not a finite number")
            start += batch.num_rows
        return
    positions = [layout.columns.index(c) for c in columns]
    for line, row in _CsvLocator(layout).rows():
        if len(row) != len(layout.columns):
            raise DataError(f"{path}, line {line}: {len(row)} fields, but the header names "
                            f"{len(layout.columns)} columns")
        for name, j in zip(columns, positions):
            cell = row[j].strip()
            if not DECIMAL.fullmatch(cell) or not np.isfinite(float(cell)):
                raise DataError(_cell_message(f"{path}, line {line}, column {name!r}", cell))


@dataclass
class RowLocator:
    """Where data row i (0-based) of a data file is, for messages: `where(i, column)` is "data.csv, line 5,
    column 'x'" (the line as an editor counts it, found by reading the CSV file again up to it) or
    "data.parquet, row 4, column 'x'"; `cell_message(i, column)` says what a cell read as no finite number
    holds (None for Parquet, whose cells are typed)."""
    path: str
    layout: CsvLayout | None

    def place(self, i: int) -> str:
        """"data.csv, line 5" or "data.parquet, row 4"."""
        return f"{self.path}, " + (f"row {i + 1}" if self.layout is None else _CsvLocator(self.layout).line_name(i))

    def where(self, i: int, name: str) -> str:
        return f"{self.place(i)}, column {name!r}"

    def cell_message(self, i: int, name: str) -> str | None:
        if self.layout is None or name not in self.layout.columns:
            return None
        return _CsvLocator(self.layout).cell_message(i, name)
