"""Reading CSV data into design matrices, with exact decimals and clear errors."""
from fractions import Fraction

import numpy as np
import pytest

from derive.errors import DataError, DeriveError
from derive.fitting.data import load, split_terms


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="data.csv", mode="w"):
        path = tmp_path / name
        if mode == "wb":
            path.write_bytes(text)
        else:
            path.write_text(text)
        return str(path)
    return write


def test_design_with_intercept_and_exact_decimals(csv_file):
    path = csv_file("y,a,b\n0.1,1,2.5\n0.2,3,.5\n0.7,4,1e-3\n")
    d = load(path, target="y")
    assert d.names == ["intercept", "a", "b"]
    np.testing.assert_array_equal(d.X, [[1, 1, 2.5], [1, 3, 0.5], [1, 4, 0.001]])
    np.testing.assert_array_equal(d.y, [0.1, 0.2, 0.7])
    rows, y = d.exact_data
    assert y == [Fraction(1, 10), Fraction(2, 10), Fraction(7, 10)]
    assert rows[2] == [1, 4, Fraction(1, 1000)]


def test_features_and_no_intercept(csv_file):
    path = csv_file("y,a,b,label\n1,2,3,x\n2,3,5,y\n4,1,1,z\n")
    d = load(path, target="y", features=["b"], intercept=False)
    assert d.names == ["b"] and d.X.shape == (3, 1) and not d.intercept


@pytest.mark.parametrize("text, message", [
    ("y,x\n1,2\n,3\n", r"data.csv, line 3, column 'y': empty cell"),
    ("y,x\n1,2\n2,NaN\n", r"line 3, column 'x': missing value 'NaN'"),
    ("y,x\n1,2\n2,3\n3,-inf\n", r"line 4, column 'x': infinite value '-inf'"),
    ("y,x\n1,2\n2,abc\n", r"line 3, column 'x': 'abc' is not a number"),
    ("y,x\n1,2\n2,3,4\n", r"line 3: 3 fields, but the header names 2 columns"),
    ("1,2\n3,4\n", r"no header line: line 1 \(1,2\) looks like data"),
    ("", r"is empty"),
    ("y,x\n", r"header but no data rows"),
    ("y,y\n1,2\n", r"the column name 'y' appears twice"),
    ("just some text\nand more\n", r"not a CSV file with columns: line 1 has a single field"),
])
def test_bad_files(csv_file, text, message):
    with pytest.raises(DataError, match=message):
        load(csv_file(text), target="y")


def test_line_numbers_count_the_header_and_skip_blank_lines(csv_file):
    with pytest.raises(DataError, match="line 5, column 'x'"):
        load(csv_file("y,x\n1,2\n\n2,3\n3,?\n"), target="y")


def test_missing_files_and_columns(csv_file, tmp_path):
    with pytest.raises(DataError, match="no data file"):
        load(str(tmp_path / "nope.csv"), target="y")
    with pytest.raises(DataError, match="is not a CSV"):
        load(csv_file(b"\x89PNG\x00\x01", "image.csv", "wb"), target="y")
    path = csv_file("y,a,b\n1,2,3\n2,3,4\n3,4,6\n4,1,1\n")
    with pytest.raises(DataError, match="no target column 'z' in .*; its columns are: y, a, b"):
        load(path, target="z")
    with pytest.raises(DataError, match="no feature column 'c'"):
        load(path, target="y", features=["a", "c"])
    with pytest.raises(DataError, match="--target"):
        load(path)


def test_fewer_rows_than_parameters(csv_file):
    with pytest.raises(DataError, match="2 data rows, fewer than the 3 parameters"):
        load(csv_file("y,a,b\n1,2,3\n2,3,5\n"), target="y")


def test_only_used_columns_must_be_numbers(csv_file):
    d = load(csv_file("name,y,x\nTexas,1,2\nOhio,2,3.5\n"), target="y", features=["x"])
    assert d.names == ["intercept", "x"]
    with pytest.raises(DataError, match="'Texas' is not a number"):
        load(csv_file("name,y,x\nTexas,1,2\nOhio,2,3.5\nUtah,3,1\n"), target="y")


def test_split_terms():
    assert split_terms("x + x^2 + log(z) - 1") == [(1, "x"), (1, "x^2"), (1, "log(z)"), (-1, "1")]
    assert split_terms("x^-1 + exp(-x) + 1e-3*x") == [(1, "x^-1"), (1, "exp(-x)"), (1, "1e-3*x")]
    with pytest.raises(DataError, match="ends without a term"):
        split_terms("x +")


def test_formula_polynomial_is_exact(csv_file):
    path = csv_file("y,x\n1,0.1\n2,0.2\n4,0.3\n7,0.45\n")
    d = load(path, formula="y ~ x + x^2 + x^3")
    assert d.names == ["intercept", "x", "x^2", "x^3"]
    rows, _ = d.exact_data
    assert rows[1] == [1, Fraction(1, 5), Fraction(1, 25), Fraction(1, 125)]
    assert d.X[3, 3] == float(Fraction(45, 100) ** 3)  # correctly rounded from the exact value


def test_formula_with_functions_and_no_intercept(csv_file):
    path = csv_file("count,z,w\n1,1,2\n2,2,3\n5,4,1\n")
    d = load(path, formula="count ~ log(z) + z*w - 1")
    assert d.names == ["log(z)", "z*w"] and not d.intercept
    np.testing.assert_allclose(d.X[:, 0], np.log([1, 2, 4]))
    np.testing.assert_allclose(d.X[:, 1], [2, 6, 4])
    assert d.exact_data is None  # log is not rational: no exact arithmetic


def test_formula_column_names_with_underscores(csv_file):
    path = csv_file("y,LN_VC,x_1\n1,1,2\n2,2,3\n5,4,1\n")
    d = load(path, formula="y ~ LN_VC + x_1")
    assert d.names == ["intercept", "LN_VC", "x_1"]
    np.testing.assert_array_equal(d.X[:, 2], [2, 3, 1])


@pytest.mark.parametrize("formula, message", [
    ("y ~ q", r"uses 'q', which is not a column"),
    ("y ~ log(x)", r"line 3: formula term 'log\(x\)' is not a finite number there"),
    ("y x", r"the form 'target ~ term"),
    ("y ~ x - x^2", r"only '- 1' may be subtracted"),
])
def test_formula_errors(csv_file, formula, message):
    path = csv_file("y,x\n1,1\n2,0\n3,2\n4,5\n")
    with pytest.raises(DataError, match=message):
        load(path, formula=formula)


def test_formula_syntax_errors_are_derive_errors(csv_file):
    path = csv_file("y,x\n1,1\n2,0\n3,2\n")
    with pytest.raises(DeriveError):
        load(path, formula="y ~ (x")
