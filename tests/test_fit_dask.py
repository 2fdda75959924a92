"""Fitting dask arrays and dask DataFrames chunk by chunk on a real dask.distributed cluster, against the
same fit in memory (and statsmodels)."""
import re

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from distributed import Client, LocalCluster

import derive
from derive.datasets import load


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 3000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)) * [1, 10, 0.1] + [0, 5, 0]])
    eta = X @ [0.3, -0.5, 0.05, 2.0]
    return {"X": X, "y": eta + rng.normal(size=n), "binary": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
            "counts": rng.poisson(np.exp(0.3 * eta)).astype(float)}


@pytest.mark.parametrize("model, target, method", [
    ("ols", "y", "qr"), ("ols", "y", "cholesky"), ("ols", "y", "exact"), ("logistic", "binary", "newton"),
    ("poisson", "counts", "newton"),
])
def test_dask_arrays_on_a_cluster_match_the_fit_in_memory(client, data, model, target, method):
    X, y = data["X"], data[target]
    in_memory = derive.fit(model, X, y, "qr" if method == "exact" else method)
    chunked = derive.fit(model, da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), method)
    np.testing.assert_allclose(chunked.coef, in_memory.coef, rtol=1e-9)
    np.testing.assert_allclose(chunked.std_errors, in_memory.std_errors, rtol=1e-7)
    assert chunked.loglike == pytest.approx(in_memory.loglike, rel=1e-10)
    assert chunked.nobs == len(y) and any("dask" in note for note in chunked.notes)
    if method == "exact":
        assert chunked.method == "qr" and "needs every row in memory" in chunked.warnings[0]


def test_dask_dataframe_keeps_its_names_and_matches_statsmodels(client):
    frame = pd.read_csv(load("longley").path)
    X = sm.add_constant(frame.drop(columns="y"))
    reference = sm.OLS(frame["y"], X).fit()
    chunked = derive.fit("ols", dd.from_pandas(X, npartitions=2), dd.from_pandas(frame["y"], npartitions=2))
    assert chunked.names == list(X.columns)
    np.testing.assert_allclose(chunked.coef, reference.params, rtol=1e-8)  # Longley: κ ≈ 5e9 uncentred
    np.testing.assert_allclose(chunked.pvalues, reference.pvalues, rtol=1e-6)


@pytest.mark.parametrize("shift, noise", [(0.0, 1e-4), (1e6, 1.0)])
def test_cholesky_on_dask_where_the_sums_cancel_matches_statsmodels(client, data, shift, noise):
    """R² near 1, or y far from 0: yᵀy − βᵀXᵀy cancels most of its digits (the sums alone gave standard
    errors 1% off), so the residuals are summed over the chunks, one more pass."""
    X = data["X"]
    y = shift + X @ [100, 200, 300, 400] + noise * np.random.default_rng(4).normal(size=len(X))
    reference = sm.OLS(y, X).fit()
    chunked = derive.fit("ols", da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), "cholesky")
    assert chunked.method == "cholesky"
    np.testing.assert_allclose(chunked.std_errors, reference.bse, rtol=1e-8)
    assert chunked.loss == pytest.approx(reference.ssr, rel=1e-8)


def test_ridge_on_dask(client, data):
    X, y = data["X"], data["y"]
    chunked = derive.fit("ridge", da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000), lam=2.5)
    np.testing.assert_allclose(chunked.coef, derive.fit("ridge", X, y, "qr", lam=2.5).coef, rtol=1e-10)


def test_weighted_least_squares_on_a_cluster_matches_statsmodels_wls(client, data):
    X, y = data["X"], data["y"]
    weights = np.random.default_rng(3).uniform(0.2, 5.0, len(y))
    reference = sm.WLS(y, X, weights=weights).fit()
    for method in ("qr", "cholesky"):
        chunked = derive.fit("ols", da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), method,
                             weights=da.from_array(weights, chunks=700))
        np.testing.assert_allclose(chunked.coef, reference.params, rtol=1e-9)
        np.testing.assert_allclose(chunked.std_errors, reference.bse, rtol=1e-8)
        assert chunked.r_squared == pytest.approx(reference.rsquared, rel=1e-10)
        assert chunked.loglike == pytest.approx(reference.llf, rel=1e-10)
    in_memory = derive.fit("ols", X, y, "qr", weights=weights)
    np.testing.assert_allclose(chunked.coef, in_memory.coef, rtol=1e-9)


def test_weights_on_dask_are_checked_and_the_first_bad_row_named(client, data):
    X, y = data["X"], data["y"]
    weights = np.ones(len(y))
    weights[[1705, 2900]] = -1  # in the third and the fifth chunk of 700 rows
    with pytest.raises(derive.DataError, match=r"the weights must be finite and ≥ 0; -1.0 is not at row 1706$"):
        derive.fit("ols", da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), weights=weights)


def test_a_value_that_is_not_finite_is_named_by_row_and_column_on_dask(client, data):
    X, y = data["X"].copy(), data["y"].copy()
    X[2222, 2] = np.inf
    with pytest.raises(derive.DataError, match=r"X has an infinite value at row 2223, column 'x3'$"):
        derive.fit("ols", da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700))
    y[1500] = np.nan
    X[2222, 2] = 0
    with pytest.raises(derive.DataError, match=r"y has a NaN value at row 1501$"):
        derive.fit("poisson", da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700))


def test_poisson_offset_and_exposure_on_a_cluster_match_statsmodels(client, data):
    X, counts = data["X"], data["counts"]
    rng = np.random.default_rng(5)
    offset, exposure = rng.normal(scale=0.3, size=len(counts)), rng.uniform(0.5, 2.0, len(counts))
    reference = sm.GLM(counts, X, family=sm.families.Poisson(), offset=offset, exposure=exposure).fit(tol=1e-12)
    chunked = derive.fit("poisson", da.from_array(X, chunks=(700, 4)), da.from_array(counts, chunks=700),
                         offset=da.from_array(offset, chunks=700), exposure=exposure)
    np.testing.assert_allclose(chunked.coef, reference.params, rtol=1e-8)
    np.testing.assert_allclose(chunked.std_errors, reference.bse, rtol=1e-7)
    assert chunked.loglike == pytest.approx(reference.llf, rel=1e-10)
    assert chunked.deviance == pytest.approx(reference.deviance, rel=1e-8)
    in_memory = derive.fit("poisson", X, counts, offset=offset, exposure=exposure)
    np.testing.assert_allclose(chunked.coef, in_memory.coef, rtol=1e-9)
    assert chunked.loss == pytest.approx(in_memory.loss, rel=1e-12)


def test_engine_dask_weights_and_categorical_terms_from_files(client, tmp_path, capsys):
    """--weights and C(g) with --engine dask, on a Parquet folder whose second part lacks a level: the
    levels are found over all the chunks first, so both chunks code the same columns."""
    import json

    from derive.cli import main
    rng = np.random.default_rng(11)
    n = 600
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["north", "south", "west"], n),
                          "w": rng.uniform(0.5, 2.0, n)})
    frame.loc[300:, "g"] = frame.loc[300:, "g"].replace("west", "north")
    frame["y"] = 1 + 2 * frame["x"] + frame["g"].map({"north": 0, "south": 1.5, "west": -1}) + rng.normal(size=n)
    (tmp_path / "parts").mkdir()
    for k, part in enumerate((frame.iloc[:300], frame.iloc[300:])):
        part.to_parquet(tmp_path / "parts" / f"part-{k}.parquet")
    reference = sm.WLS.from_formula("y ~ x + C(g)", frame, weights=frame["w"]).fit()
    assert main(["fit", "ols", str(tmp_path / "parts"), "--formula", "y ~ x + C(g)", "--weights", "w",
                 "--engine", "dask", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["coefficients"]) == ["intercept", *reference.params.index[1:]]  # patsy's order and names
    np.testing.assert_allclose(list(result["coefficients"].values()), reference.params, rtol=1e-9)
    np.testing.assert_allclose(list(result["std_errors"].values()), reference.bse, rtol=1e-8)
    frame.to_csv(tmp_path / "data.csv", index=False)  # the same from a CSV file (text read as text)
    assert main(["fit", "ols", str(tmp_path / "data.csv"), "--formula", "y ~ x + C(g)", "--weights", "w",
                 "--engine", "dask", "--json"]) == 0
    np.testing.assert_allclose(list(json.loads(capsys.readouterr().out)["coefficients"].values()),
                               reference.params, rtol=1e-9)


@pytest.mark.parametrize("magnitude", [1e-170, 1e300])
def test_values_near_the_limits_of_double_precision_fit_on_dask_as_in_memory(client, data, magnitude):
    """Columns near 1e±300 are fitted scaled by powers of two (exactly), as in memory: no column looks
    constant or all zeros, nothing overflows; a y whose squares cannot be represented is one clear error."""
    X = data["X"] * [1, magnitude, 1, 1]
    for model, target in (("ols", "y"), ("logistic", "binary")):
        y = data[target]
        chunked = derive.fit(model, da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700))
        in_memory = derive.fit(model, X, y, "qr" if model == "ols" else "newton")
        np.testing.assert_allclose(chunked.coef, in_memory.coef, rtol=1e-9)
        np.testing.assert_allclose(chunked.std_errors, in_memory.std_errors, rtol=1e-7)
    with pytest.raises(derive.DataError, match="too large to fit in double precision"):
        derive.fit("ols", da.from_array(data["X"], chunks=(700, 4)), da.from_array(1e300 * data["y"], chunks=700))


def test_gradient_descent_on_a_cluster_matches_newton_in_memory(client, data):
    """Each step of gradient descent is one pass over the chunks (21 steps here, in the standardised
    coordinates); the same iterates as in memory."""
    model, X, y = "logistic", data["X"], data["binary"]
    chunked = derive.fit(model, da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000), "gd", tol=1e-9)
    reference = derive.fit(model, X, y, "newton")
    assert chunked.method == "gd" and chunked.converged
    np.testing.assert_allclose(chunked.coef, reference.coef, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(chunked.std_errors, reference.std_errors, rtol=1e-5)
    np.testing.assert_allclose(chunked.coef, derive.fit(model, X, y, "gd", tol=1e-9).coef, rtol=1e-9)


@pytest.mark.parametrize("model, message", [
    ("logistic", r"logistic regression needs y in \{0, 1\}; y = 2.0 at row 2345$"),
    ("poisson", r"poisson regression needs y to be counts \(integers ≥ 0\); y = -1.0 at row 2345$"),
])
def test_targets_outside_the_support_are_named_by_row(client, data, model, message):
    y = data["binary"].copy()
    y[[2344, 2999]] = 2.0 if model == "logistic" else -1.0
    with pytest.raises(derive.DataError, match=message):
        derive.fit(model, da.from_array(data["X"], chunks=(1000, 4)), da.from_array(y, chunks=1000))


@pytest.fixture(scope="module")
def million_rows(tmp_path_factory):
    """A CSV file of a million rows (about 30 MB: two chunks of 16 MB for dask) with a constant target
    column for each model, and the line of a chosen row: line 123457 is data row 123455 (the header is
    line 1)."""
    rng = np.random.default_rng(13)
    n = 1_000_000
    x = np.round(rng.normal(size=n), 6)
    frame = pd.DataFrame({"x": x, "y": np.round(1 + 2 * x + rng.normal(size=n), 6),
                          "b": (rng.random(n) < 0.5).astype(int), "w": np.round(rng.uniform(0.5, 2.0, n), 3)})
    path = tmp_path_factory.mktemp("million") / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def edited(path, tmp_path, line, column, text):
    """A copy of the CSV file at `path` with one cell replaced: line `line` (as an editor counts them),
    column `column` (0-based)."""
    lines = path.read_text().split("\n")
    cells = lines[line - 1].split(",")
    cells[column] = text
    lines[line - 1] = ",".join(cells)
    target = tmp_path / "edited.csv"
    target.write_text("\n".join(lines))
    return target


@pytest.mark.parametrize("model, options, line, column, text, message", [
    ("ols", ["--target", "y"], 123457, 0, "abc", ", column 'x': 'abc' is not a number"),
    ("ols", ["--target", "y"], 987654, 1, "NA", ", column 'y': missing value 'NA'"),  # in the second chunk
    ("logistic", ["--target", "b", "--features", "x"], 876543, 2, "2",
     r", column 'b': logistic regression needs y in \{0, 1\}; y = 2.0"),
    ("ols", ["--target", "y", "--features", "x", "--weights", "w"], 765432, 3, "-1",
     ", column 'w': the weights must be finite and ≥ 0; -1.0 is not"),
    ("poisson", ["--target", "b", "--features", "x", "--exposure", "w"], 654321, 3, "0",
     ", column 'w': the exposure must be finite and > 0; 0.0 is not"),
    ("ols", ["--formula", "y ~ x + log(w)"], 876543, 3, "-2", r": formula term 'log\(w\)' is not a finite number there"),
])
def test_engine_dask_names_the_line_of_a_bad_value_in_a_million_row_file(client, million_rows, tmp_path, capsys,
                                                                         model, options, line, column, text,
                                                                         message):
    """As the in-memory reader does: the file, the line as an editor counts it, the column, what is wrong
    (a cell that is no number, a value the model cannot take, a formula term that is not finite there),
    found past the first chunk too."""
    from derive.cli import main
    path = edited(million_rows[0], tmp_path, line, column, text)
    assert main(["fit", model, str(path), *options, "--engine", "dask"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert re.fullmatch(rf"derive: error: {re.escape(str(path))}, line {line}{message}.*", error), error


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    """A CSV file of 900 rows whose class labels are words (the first column: the reader must not take the
    target for a number), about 45 kB: five chunks of 10 kB."""
    rng = np.random.default_rng(17)
    n = 900
    x1, x2 = np.round(rng.normal(size=n), 6), np.round(rng.normal(size=n), 6)
    scores = np.column_stack([0.5 + x1, -0.3 + 0.8 * x2, np.zeros(n)]) + rng.gumbel(size=(n, 3))
    frame = pd.DataFrame({"kind": np.array(["apple", "banana", "cherry"])[scores.argmax(axis=1)], "x1": x1,
                          "x2": x2})
    path = tmp_path_factory.mktemp("fruit") / "fruit.csv"
    frame.to_csv(path, index=False)
    return path, frame


def fitted_json(capsys, *arguments):
    """`derive fit ARGUMENTS --json`, run as the command line runs it, read back."""
    import json

    from derive.cli import main
    assert main(["fit", *map(str, arguments), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_softmax_fit(chunked, in_memory):
    """Coefficients and standard errors by name to 1e-10, the same classes and the same reference."""
    assert chunked["coefficients"].keys() == in_memory["coefficients"].keys()
    assert chunked["classes"] == in_memory["classes"] and chunked["reference_class"] == in_memory["reference_class"]
    for key in ("coefficients", "std_errors"):
        np.testing.assert_allclose(list(chunked[key].values()), list(in_memory[key].values()), rtol=1e-10)
    assert chunked["loglike"] == pytest.approx(in_memory["loglike"], rel=1e-12)


def test_softmax_of_text_labels_in_a_csv_file_in_chunks_matches_the_fit_in_memory(client, fruit, capsys):
    """The labels stay text in every chunk, the classes are found over all of them, and the fit, its
    reference class and the note that states it are those of `derive fit softmax FILE --target kind`."""
    from derive.fitting.chunked import fit_data_file
    from derive.fitting.data import dask_design
    path, _ = fruit
    in_memory = fitted_json(capsys, "softmax", path, "--target", "kind")
    assert in_memory["classes"] == ["apple", "banana", "cherry"] and in_memory["reference_class"] == "cherry"
    design = dask_design(path, "kind", labels=True, blocksize=10_000)
    assert design.y.numblocks[0] >= 2
    chunked = fit_data_file("softmax", design, "auto", None).to_dict()
    assert_same_softmax_fit(chunked, in_memory)
    assert chunked["notes"][0] == in_memory["notes"][0] and "(cherry) is the reference" in chunked["notes"][0]
    assert any("chunk by chunk" in note for note in chunked["notes"])
    assert_same_softmax_fit(fitted_json(capsys, "softmax", path, "--target", "kind", "--engine", "dask"), in_memory)


def test_softmax_from_a_parquet_folder_on_dask_matches_the_fit_in_memory(client, fruit, tmp_path, capsys):
    """Two Parquet parts (two chunks), the second without one class, its labels pyarrow strings; and
    integer class labels, read as the labels "0", "1", "2" as in memory."""
    _, frame = fruit
    for name, labels in (("words", frame["kind"].astype("string[pyarrow]")),
                         ("numbers", frame["kind"].map({"apple": 0, "banana": 1, "cherry": 2}))):
        parts = tmp_path / name
        parts.mkdir()
        table = frame.assign(kind=labels)
        table.iloc[:450].to_parquet(parts / "part-0.parquet")
        table.iloc[450:][table["kind"].iloc[450:].astype(str).isin(["apple", "banana", "0", "1"])].to_parquet(
            parts / "part-1.parquet")
        in_memory = fitted_json(capsys, "softmax", parts, "--target", "kind")
        assert_same_softmax_fit(fitted_json(capsys, "softmax", parts, "--target", "kind", "--engine", "dask"),
                                in_memory)
        assert in_memory["reference_class"] == ("cherry" if name == "words" else "2")


@pytest.mark.parametrize("column, text, message", [
    (0, "", r", column 'kind': the class label is missing$"),
    (1, "abc", r", column 'x1': 'abc' is not a number$"),
    (2, "NA", r", column 'x2': missing value 'NA' \(NaN\); remove the row or fill the cell in$"),
])
def test_softmax_on_dask_names_the_line_of_a_bad_cell(client, fruit, tmp_path, capsys, column, text, message):
    """A missing label or a cell that is no number, past the first chunk: the file, its line, the column."""
    from derive.cli import main
    from derive.fitting.chunked import fit_data_file
    from derive.fitting.data import dask_design
    path = edited(fruit[0], tmp_path, 700, column, text)
    with pytest.raises(derive.DataError, match=rf"^{re.escape(str(path))}, line 700{message}"):
        fit_data_file("softmax", dask_design(path, "kind", labels=True, blocksize=10_000), "auto", None)
    assert main(["fit", "softmax", str(path), "--target", "kind", "--engine", "dask"]) == 2
    error = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"derive: error: {re.escape(str(path))}, line 700{message}", error), error


def test_a_missing_label_in_a_dask_series_of_pyarrow_strings_is_named_by_row(client, fruit):
    """pandas' NA in a `string[pyarrow]` column, in the third of four chunks: the row, counted from 1."""
    frame = fruit[1].assign(kind=fruit[1]["kind"].astype("string[pyarrow]"))
    frame.loc[500, "kind"] = pd.NA
    chunks = dd.from_pandas(frame, npartitions=4)
    with pytest.raises(derive.DataError, match=r"^the class label is missing at row 501$"):
        derive.fit("softmax", chunks[["x1", "x2"]], chunks["kind"])
