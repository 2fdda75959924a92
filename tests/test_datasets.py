"""The shipped reference datasets: complete, self-describing, and usable wherever a data file is."""
import csv
import json
from fractions import Fraction

import pytest
from conftest import DATASETS

from derive import datasets
from derive.cli import main
from derive.errors import DataError


def test_every_shipped_file_belongs_to_a_dataset():
    csv_files = {path.name for path in DATASETS.glob("*.csv")}
    assert csv_files == {datasets.load(name).path.name for name in datasets.names()}
    assert len(list(DATASETS.glob("*.json"))) == len(csv_files)  # each with its reference results


@pytest.mark.parametrize("name", datasets.names())
def test_rows_and_columns_are_those_of_the_file(name):
    dataset = datasets.load(name)
    with open(DATASETS / dataset.path.name, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert dataset.columns == header and dataset.rows == len(rows)
    assert dataset.reference["n_observations"] == len(rows)
    assert dataset.source and dataset.certifies


def test_names_are_case_insensitive():
    assert datasets.load("Longley") is datasets.load("longley") is datasets.load("LONGLEY")
    assert datasets.find("Spector") == "spector" and datasets.find("nope") is None


def test_an_unknown_name_suggests_the_nearest():
    with pytest.raises(DataError, match="did you mean 'spector'"):
        datasets.load("spectr")


def test_label_columns_are_left_out_of_the_numbers():
    columns = datasets.load("cpunish").data()
    assert "STATE" not in columns and columns["EXECUTIONS"][0] == 37


def test_a_path_is_read_before_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "longley").write_text("y,x\n1,2\n")
    assert datasets.path_of("longley").resolve() == (tmp_path / "longley").resolve()
    assert datasets.path_of("norris") == DATASETS / "Norris.csv"
    with pytest.raises(DataError, match="no data file 'elsewhere/data.csv'$"):
        datasets.path_of("elsewhere/data.csv")


def test_derive_datasets_lists_them_all(capsys):
    assert main(["datasets", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listing] == datasets.names()
    assert all(set(entry) == {"name", "rows", "columns", "source", "certifies"} for entry in listing)
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in datasets.names()) and "certifies:" in text


def test_fit_by_dataset_name_reproduces_nist(capsys):
    """`derive fit ols longley` reads the shipped file and reproduces NIST's certified values."""
    assert main(["fit", "ols", "Longley", "--target", "y", "--json"]) == 0
    coefficients = list(json.loads(capsys.readouterr().out)["coefficients"].values())
    certified = datasets.load("longley").reference["certified"]
    for value, (name, text) in zip(coefficients, sorted(certified.items(), key=lambda kv: int(kv[0][1:]))):
        assert abs(Fraction(value) - Fraction(text)) <= abs(Fraction(text)) * Fraction(1, 10**12), name
