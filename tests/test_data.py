"""Reading CSV data into design matrices, with exact decimals and clear errors."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from derive.errors import DataError, DeriveError
from derive.fitting.data import load
from derive.fitting.formula import parse_formula


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


@pytest.mark.parametrize("formula, terms, intercept", [
    ("y ~ x + x^2 + log(z) - 1", ["x", "x^2", "log(z)"], False),
    ("y ~ x^-1 + exp(-x) + I(1e-3*x)", ["x^-1", "exp(-x)", "I(1e-3*x)"], True),
    ("y ~ a*b", ["a", "b", "a:b"], True),
    ("y ~ a:b + c", ["a:b", "c"], True),
    ("y ~ (a + b)*c", ["a", "b", "c", "a:c", "b:c"], True),
    ("y ~ a*b*c - a:b:c", ["a", "b", "a:b", "c", "a:c", "b:c"], True),
    ("y ~ 0 + a + a", ["a"], False),
    ("y ~ -1 + (x + 1)^2", ["(x + 1)^2"], False),
    ("y ~ x**2 + C(g)", ["x**2", "C(g)"], True),
])
def test_formula_structure(formula, terms, intercept):
    parsed = parse_formula(formula)
    assert [":".join(t) for t in parsed.terms] == terms and parsed.intercept == intercept


@pytest.mark.parametrize("formula, message", [
    ("y ~ x +", "ends without a term"), ("y ~ (x", "unbalanced"), ("y ~ x )", "unexpected"),
    ("y ~ * x", "missing before"), ("y x", "the form"),
])
def test_formula_structure_errors(formula, message):
    with pytest.raises(DataError, match=message):
        parse_formula(formula)


def test_formula_polynomial_is_exact(csv_file):
    path = csv_file("y,x\n1,0.1\n2,0.2\n4,0.3\n7,0.45\n")
    d = load(path, formula="y ~ x + x^2 + x^3")
    assert d.names == ["intercept", "x", "x^2", "x^3"]
    rows, _ = d.exact_data
    assert rows[1] == [1, Fraction(1, 5), Fraction(1, 25), Fraction(1, 125)]
    assert d.X[3, 3] == float(Fraction(45, 100) ** 3)  # correctly rounded from the exact value


def test_formula_with_functions_and_no_intercept(csv_file):
    path = csv_file("count,z,w\n1,1,2\n2,2,3\n5,4,1\n")
    d = load(path, formula="count ~ log(z) + z:w - 1")
    assert d.names == ["log(z)", "z:w"] and not d.intercept
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
])
def test_formula_errors(csv_file, formula, message):
    path = csv_file("y,x\n1,1\n2,0\n3,2\n4,5\n")
    with pytest.raises(DataError, match=message):
        load(path, formula=formula)


def test_formula_syntax_errors_are_derive_errors(csv_file):
    path = csv_file("y,x\n1,1\n2,0\n3,2\n")
    with pytest.raises(DeriveError):
        load(path, formula="y ~ (x")


# ----------------------------------------------------------------------------------------------------
# The fast reader: delimiters, large files (no decimal text kept), Parquet, messages.

@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_delimiter_is_sniffed_from_the_header(csv_file, delimiter):
    text = "\n".join(delimiter.join(row) for row in [["y", "a"], ["1", "2"], ["2", "3.5"], ["4", "1"]]) + "\n"
    d = load(csv_file(text), target="y")
    np.testing.assert_array_equal(d.X[:, 1], [2, 3.5, 1])


def test_semicolon_file_with_decimal_commas_names_the_cause(csv_file):
    with pytest.raises(DataError, match=r"line 3, column 'a': '3,5' is not a number \(a decimal comma\?"):
        load(csv_file("y;a\n1;2\n2;3,5\n4;1\n"), target="y")


def test_explicit_delimiter_and_encoding(csv_file, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("y:température\n1:2\n2:3\n4:5\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text: give its encoding"):
        load(str(path), target="y")
    d = load(str(path), target="y", delimiter=":", encoding="latin-1")
    assert d.names == ["intercept", "température"]


@pytest.mark.parametrize("keep_text", [True, False])
@pytest.mark.parametrize("text, message", [
    ("y,x\n1,2\n\n2,3\n3,?\n", r"line 5, column 'x': '\?' is not a number"),
    ("y,x\n1,2\n2,NA\n3,4\n", r"line 3, column 'x': missing value 'NA'"),
    ("y,x\n1,2\n2,1e400\n3,4\n", r"line 3, column 'x': 1e400 is too large to fit in double precision"),
    ("y,x\n1,2\n2,3\n3,4,5\n", r"line 4: 3 fields, but the header names 2 columns"),
])
def test_messages_name_the_line_with_or_without_the_text(csv_file, text, message, keep_text):
    with pytest.raises(DataError, match=message):
        load(csv_file(text), target="y", keep_text=keep_text)


def test_large_files_keep_no_text_and_give_the_same_design(csv_file):
    path = csv_file("y,x,name\n0.1,1,a\n0.2,3,b\n0.7,4.25,c\n")
    small, large = (load(path, target="y", features=["x"], keep_text=k) for k in (True, False))
    np.testing.assert_array_equal(small.X, large.X)
    assert small.exact_data == large.exact_data  # the shortest decimal of each float is the text here


def test_did_you_mean_a_misspelt_target(csv_file):
    with pytest.raises(DataError, match=r"no target column 'pric' in .* \(did you mean 'price'\?\)"):
        load(csv_file("price,size\n1,2\n2,3\n3,5\n"), target="pric")


def test_a_wide_header_is_read_in_linear_time(csv_file):
    names = [f"c{j}" for j in range(20_000)]
    path = csv_file(",".join(["y", *names]) + "\n" + ",".join(["1"] * 20_001) + "\n")
    with pytest.raises(DataError, match=r"fewer than the 20001 parameters"):
        load(path, target="y")


def test_parquet_files_and_folders(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"y": [1.0, 2.0, 4.0, 7.0], "x": [0.5, 1.0, 1.5, 2.5], "g": ["a", "b", "a", "b"]})
    pq.write_table(table, tmp_path / "data.parquet")
    (tmp_path / "folder").mkdir()
    pq.write_table(table.slice(0, 2), tmp_path / "folder" / "part-0.parquet")
    pq.write_table(table.slice(2), tmp_path / "folder" / "part-1.parquet")
    for path in (tmp_path / "data.parquet", tmp_path / "folder"):
        d = load(str(path), formula="y ~ x + C(g)")
        assert d.names == ["intercept", "C(g)[T.b]", "x"]  # patsy's order: categorical terms first
        np.testing.assert_array_equal(d.X[:, 1], [0, 1, 0, 1])
    with pytest.raises(DataError, match="no target column 'z'"):
        load(str(tmp_path / "data.parquet"), target="z")


# ----------------------------------------------------------------------------------------------------
# Formulas against patsy's designs (statsmodels' formula API).

def test_formula_designs_match_patsy(csv_file):
    import pandas as pd
    import statsmodels.formula.api as smf
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.normal(size=30), "a": rng.normal(size=30), "b": rng.normal(size=30),
                          "c": rng.normal(size=30), "g": rng.choice(["lo", "mid", "hi"], size=30)})
    path = str(Path(csv_file("")).with_name("frame.csv"))
    frame.to_csv(path, index=False)
    for ours, patsy in [("y ~ a*b", "y ~ a*b"), ("y ~ c:a + a + a:b:c + b", "y ~ c:a + a + a:b:c + b"), ("y ~ a:b + I(a^2)", "y ~ a:b + I(a**2)"),
                        ("y ~ a + C(g)", "y ~ a + C(g)"), ("y ~ C(g)*a", "y ~ C(g)*a"), ("y ~ g - 1", "y ~ g - 1")]:
        reference = smf.ols(patsy, frame).fit()
        d = load(path, formula=ours)
        expected_names = [n.replace("Intercept", "intercept").replace("a ** 2", "a^2") for n in reference.model.exog_names]
        assert d.names == expected_names, ours
        np.testing.assert_allclose(d.X, reference.model.exog, rtol=1e-15)
        assert load(path, formula=ours, keep_text=False).names == d.names


def test_reading_shows_progress_when_asked(csv_file, capsys):
    load(csv_file("y,x\n1,2\n2,3\n4,5\n"), target="y", progress=True)
    assert "reading data.csv: 100%" in capsys.readouterr().err


def test_a_missing_category_in_a_pyarrow_string_column_is_an_error_not_a_level():
    """pandas' NA in a `string[pyarrow]` column (as dask reads text) is an empty cell, not the level "<NA>"."""
    import pandas as pd

    import derive
    frame = pd.DataFrame({"y": np.arange(8.0) ** 1.5,
                          "g": pd.array(["a", "b", None, "a", "b", "a", "b", "a"], dtype="string[pyarrow]")})
    with pytest.raises(DataError, match=r"^the data frame, row 3, column 'g': empty cell \(a category is needed\)$"):
        derive.fit("ols", data=frame, formula="y ~ C(g)")
