"""Reference datasets shipped with derive, each with the published results it certifies.

    >>> from derive import datasets
    >>> longley = datasets.load("longley")
    >>> longley.rows, longley.columns[:3]
    (16, ['y', 'x1', 'x2'])
    >>> longley.reference["certified"]["B1"]      # exactly as NIST prints it
    '15.0618722713733'

The NIST StRD linear least-squares sets (Norris, Pontius, NoInt1, NoInt2, Filip, Longley, Wampler1–5) carry
certified parameters and standard errors; spector carries Stata's logit fit, cpunish R's Poisson GLM, randhie
Stata's Poisson MLE. Sources: `data/README.md`. Reference numbers stay strings, as their sources print them,
so a comparison can use `decimal.Decimal` or `fractions.Fraction` without rounding through float first.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from derive.errors import DataError

DATA = Path(__file__).parent / "data"

# name -> (CSV file, reference file): the NIST files share their name; the others name their fit.
_FILES = {
    **{name.lower(): (f"{name}.csv", f"{name}.json")
       for name in ("Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
                    "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5")},
    "spector": ("spector.csv", "spector_logit.json"),
    "cpunish": ("cpunish.csv", "cpunish_poisson.json"),
    "randhie": ("randhie.csv", "randhie_poisson.json"),
}


@dataclass(frozen=True)
class Dataset:
    """A shipped dataset: where its CSV is, its columns, and its reference results (strings, as published)."""

    name: str
    path: Path
    columns: list
    rows: int
    reference: dict

    @property
    def source(self) -> str:
        return self.reference.get("reference_software") or "NIST StRD (certified values)"

    @property
    def certifies(self) -> str:
        """What the reference results are: the model they belong to, in the source's words."""
        return self.reference.get("model", "")

    def text_columns(self) -> dict:
        """The columns by name, as the decimal text of the file (for exact arithmetic)."""
        with open(self.path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            values = list(zip(*reader))
        return {name: list(column) for name, column in zip(header, values)}

    def data(self) -> dict:
        """The columns by name as float arrays."""
        import numpy as np
        return {name: np.array(column, dtype=float) for name, column in self.text_columns().items()}


def names() -> list[str]:
    """The shipped datasets' names (lower case; `load` accepts any case)."""
    return list(_FILES)


def find(name: str) -> str | None:
    """The canonical name of a shipped dataset, matching case-insensitively, or None."""
    key = name.lower()
    return key if key in _FILES else None


@cache
def load(name: str) -> Dataset:
    """The shipped dataset `name` (any case): its CSV path, columns, row count and reference results."""
    key = find(name)
    if key is None:
        raise DataError(f"no shipped dataset named {name!r}; the shipped datasets are: {', '.join(_FILES)}")
    csv_file, reference_file = _FILES[key]
    path = DATA / csv_file
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        columns = next(reader)
        rows = sum(1 for _ in reader)
    return Dataset(key, path, columns, rows, json.loads((DATA / reference_file).read_text()))
