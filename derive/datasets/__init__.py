"""Reference datasets shipped with derive, each with the published results it certifies.

    >>> from derive import datasets
    >>> longley = datasets.load("Longley")          # any case
    >>> longley.rows, longley.columns[:3]
    (16, ['y', 'x1', 'x2'])
    >>> longley.reference["certified"]["B1"]      # exactly as NIST prints it
    '15.0618722713733'

The NIST StRD linear least-squares sets (Norris, Pontius, NoInt1, NoInt2, Filip, Longley, Wampler1–5) carry
certified parameters and standard errors; spector carries Stata's logit fit, cpunish R's Poisson GLM, randhie
Stata's Poisson MLE. Sources: `data/README.md`. Reference numbers stay strings, as their sources print them,
so a comparison can use `decimal.Decimal` or `fractions.Fraction` without rounding through float first.

Wherever derive reads a data file (`derive fit ols longley --target y`), a shipped dataset's name will do:
`path_of` resolves it.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from derive.errors import DataError, did_you_mean

DATA = Path(__file__).parent / "data"

_NIST = "NIST StRD, linear least squares: {name}.dat (certified values)"


@dataclass(frozen=True)
class _Entry:
    """Where a dataset's files are and where its data and reference results come from."""
    csv: str
    reference: str
    source: str


# The one table of shipped datasets, by canonical (lower-case) name.
_ENTRIES = {
    **{name.lower(): _Entry(f"{name}.csv", f"{name}.json", _NIST.format(name=name))
       for name in ("Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
                    "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5")},
    "spector": _Entry("spector.csv", "spector_logit.json",
                      "Spector & Mazzeo (1980), as shipped by statsmodels; reference: Stata 11 logit"),
    "cpunish": _Entry("cpunish.csv", "cpunish_poisson.json",
                      "US executions 1997, as shipped by statsmodels; reference: R glm(family = poisson)"),
    "randhie": _Entry("randhie.csv", "randhie_poisson.json",
                      "RAND Health Insurance Experiment, as shipped by statsmodels; reference: Stata 11 poisson"),
}

# The reference files' keys, in the words `certifies` uses, in the order it lists them.
_RESULT_NAMES = {
    "certified": "parameters", "params": "parameters",
    "certified_std_errors": "standard errors", "bse": "standard errors",
    "residual_sd": "residual SD", "r_squared": "R²", "anova": "ANOVA table",
    "cov_params": "covariance", "z": "z statistics", "pvalues": "p-values", "conf_int_95": "95% intervals",
    "llf": "log-likelihood", "deviance": "deviance", "aic": "AIC", "bic": "BIC",
}


@dataclass(frozen=True)
class Dataset:
    """A shipped dataset: where its CSV is, its columns, and its reference results (strings, as published)."""

    name: str
    path: Path
    columns: list
    rows: int
    reference: dict
    source: str

    @property
    def certifies(self) -> str:
        """What the reference results are: which numbers, of which model (in the source's words).

            >>> load("norris").certifies
            'parameters, standard errors, residual SD, R², ANOVA table of y = B0 + B1*x'
        """
        present = dict.fromkeys(words for key, words in _RESULT_NAMES.items() if key in self.reference)
        return f"{', '.join(present)} of {self.reference.get('model', 'the model')}"

    def text_columns(self) -> dict[str, list[str]]:
        """The columns by name, as the decimal text of the file (for exact arithmetic)."""
        with open(self.path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            values = list(zip(*reader))
        return {name: list(column) for name, column in zip(header, values)}

    def data(self) -> dict:
        """The numeric columns by name as float arrays (a column of labels, such as cpunish's STATE, is left out)."""
        import numpy as np
        columns = {}
        for name, column in self.text_columns().items():
            try:
                columns[name] = np.array(column, dtype=float)
            except ValueError:
                continue  # labels, not numbers
        return columns

    def to_dict(self) -> dict:
        """The listing of `derive datasets --json`: name, rows, columns, source, certifies."""
        return {"name": self.name, "rows": self.rows, "columns": self.columns, "source": self.source,
                "certifies": self.certifies}


def names() -> list[str]:
    """The shipped datasets' names (lower case; `load` accepts any case)."""
    return list(_ENTRIES)


def find(name: str) -> str | None:
    """The canonical name of a shipped dataset, matching case-insensitively, or None."""
    key = name.lower()
    return key if key in _ENTRIES else None


def load(name: str) -> Dataset:
    """The shipped dataset `name` (any case): its CSV path, columns, row count and reference results."""
    key = find(name)
    if key is None:
        raise DataError(f"no shipped dataset named {name!r}{did_you_mean(name, _ENTRIES)}; "
                        f"the shipped datasets are: {', '.join(_ENTRIES)}")
    return _load(key)


@cache
def _load(key: str) -> Dataset:
    entry = _ENTRIES[key]
    path = DATA / entry.csv
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        columns = next(reader)
        rows = sum(1 for _ in reader)
    return Dataset(key, path, columns, rows, json.loads((DATA / entry.reference).read_text()), entry.source)


def path_of(data: str | Path) -> Path:
    """The data file `data` names: the file at that path if there is one, else a shipped dataset's CSV.

        >>> path_of("longley").name
        'Longley.csv'
    """
    if Path(data).exists():  # a file, or a folder of Parquet files
        return Path(data)
    if find(str(data)) is not None:
        return load(str(data)).path
    if Path(data).suffix or len(Path(data).parts) > 1:
        raise DataError(f"no data file {str(data)!r}")
    raise DataError(f"no data file {str(data)!r}, nor a shipped dataset of that name{did_you_mean(str(data), _ENTRIES)}; "
                    f"the shipped datasets are: {', '.join(_ENTRIES)}")
