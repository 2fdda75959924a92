"""Fitting dask arrays and dask DataFrames chunk by chunk on a real dask.distributed cluster, against the
same fit in memory (and statsmodels)."""
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


def test_ridge_on_dask(client, data):
    X, y = data["X"], data["y"]
    chunked = derive.fit("ridge", da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000), lam=2.5)
    np.testing.assert_allclose(chunked.coef, derive.fit("ridge", X, y, "qr", lam=2.5).coef, rtol=1e-10)


@pytest.mark.parametrize("model, target, message", [
    ("logistic", "y", r"logistic regression needs y in \{0, 1\}; 3000 values of y are not"),
    ("poisson", "y", r"poisson regression needs y to be counts \(integers ≥ 0\); 3000 values of y are not"),
])
def test_targets_outside_the_support_are_counted(client, data, model, target, message):
    X, y = (da.from_array(data[k], chunks=1000) for k in ("X", target))
    with pytest.raises(derive.DataError, match=message):
        derive.fit(model, X, y)
