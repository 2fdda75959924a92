"""Softmax (multinomial logistic) regression fitted from the derived loss, gradient and Hessian of its model
file, against statsmodels' MNLogit (whose reference class is the first: ours, the last, is recoded as its
first) and finite differences of a softmax cross-entropy written by hand in numpy."""
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from finite_differences import central_hessian
from simulated_classes import simulated

import derive
from derive.cli import main
from derive.derivations import MODEL_FILES, resolve
from derive.derivations.planner import plan, softmax_blocks
from derive.fitting.softmax_fitting import block_hessian


def mnlogit(X, labels, K):
    """statsmodels with our reference (the last class) as its first: its params are then our W[:, :K−1]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.MNLogit((labels + 1) % K, X).fit(disp=0, method="newton", tol=1e-12, maxiter=100)


def assert_matches_mnlogit(ours, reference, X, K, rtol=1e-8):
    d = X.shape[1]
    assert ours.converged
    np.testing.assert_array_equal(ours.coef_matrix[:, -1], 0)
    np.testing.assert_allclose(ours.coef_matrix[:, :-1], reference.params, rtol=rtol)
    np.testing.assert_allclose(ours.std_errors.reshape(d, K - 1), reference.bse, rtol=rtol)
    np.testing.assert_allclose(ours.pvalues.reshape(d, K - 1), reference.pvalues, rtol=rtol, atol=1e-300)
    intervals = np.asarray(reference.conf_int()).reshape(K - 1, d, 2).transpose(1, 0, 2).reshape(-1, 2)
    np.testing.assert_allclose(ours.conf_int(), intervals, rtol=rtol)
    assert ours.loglike == pytest.approx(reference.llf, rel=1e-12)
    assert ours.aic == pytest.approx(reference.aic, rel=1e-12) and ours.bic == pytest.approx(reference.bic, rel=1e-12)
    order = [*range(1, K), 0]   # MNLogit's columns: our reference first
    np.testing.assert_allclose(ours.predict(X[:50]), reference.predict(X[:50])[:, order], rtol=rtol, atol=1e-15)


@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(11)
    n = 600
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    W = np.array([[0.5, -0.3, 0.0], [1.0, -1.0, 0.0], [-0.5, 0.8, 0.0]])
    eta = X @ W
    p = np.exp(eta - np.logaddexp.reduce(eta, axis=1, keepdims=True))
    labels = np.array([rng.choice(["a", "b", "c"], p=row) for row in p])
    return X, labels


def test_softmax_matches_mnlogit_with_the_last_class_as_reference(three_classes):
    X, labels = three_classes
    ours = derive.fit("softmax", X, labels, names=["const", "x1", "x2"])
    codes = np.select([labels == "a", labels == "b"], [0, 1], 2)
    assert ours.classes == ["a", "b", "c"]
    assert ours.names[:3] == ["const[a]", "const[b]", "x1[a]"]
    assert_matches_mnlogit(ours, mnlogit(X, codes, 3), X, 3)
    summary = ours.summary()
    assert "reference" in summary and "const[a]" in summary


def test_a_hundred_thousand_rows_ten_columns_four_classes_match_mnlogit():
    X, labels = simulated(100_000, 10, 4, seed=3)
    assert_matches_mnlogit(derive.fit("softmax", X, labels), mnlogit(X, labels, 4), X, 4)


def test_iris_sepal_width_matches_mnlogit():
    """A real dataset whose maximum exists (with every feature, setosa is separable: the next test)."""
    from sklearn.datasets import load_iris
    X, labels = load_iris(return_X_y=True)
    design = np.column_stack([np.ones(len(X)), X[:, 1]])
    assert_matches_mnlogit(derive.fit("softmax", design, labels, names=["const", "sepal_width"]),
                           mnlogit(design, labels, 3), design, 3)


def test_iris_names_the_separated_species():
    from sklearn.datasets import load_iris
    X, labels = load_iris(return_X_y=True)
    design = np.column_stack([np.ones(len(X)), X])
    with pytest.raises(derive.DataError, match=r"quasi-completely separated: class 0 is separated"):
        derive.fit("softmax", design, labels)


def test_perfect_separation_is_refused_with_coefficients_that_separate():
    rng = np.random.default_rng(5)
    x = rng.normal(size=90)
    labels = np.digitize(x, [-0.5, 0.5])          # three classes in three intervals of x: perfectly separated
    X = np.column_stack([np.ones(90), x])
    with pytest.raises(derive.DataError, match="perfectly separated") as raised:
        derive.fit("softmax", X, labels)
    rows = re.search(r"W = \[([^\]]*)\]", str(raised.value)).group(1)
    W = np.array([[float(v) for v in row.split(",")] for row in rows.split(";")])
    scores = X @ W
    assert np.all(scores.argmax(axis=1) == labels)   # the printed coefficients do separate every row


def test_collinear_columns_are_named():
    X, labels = simulated(200, 3, 3, seed=8)
    X = np.column_stack([X, 2 * X[:, 1]])
    with pytest.raises(derive.DataError, match="x4"):
        derive.fit("softmax", X, labels)


def test_the_block_hessian_from_the_plan_is_the_hessian_of_a_hand_written_loss():
    P = plan(resolve("softmax"))
    A, probabilities = softmax_blocks(P.hessians[P.parameters[0]])
    assert str(A) == "X" and str(probabilities) == "softmax(X*W)"
    rng = np.random.default_rng(2)
    X, labels = simulated(40, 3, 4, seed=2)
    Y = np.eye(4)[labels]
    theta = rng.normal(size=3 * 3)

    def loss(values):   # −Σᵢ log softmax(xᵢᵀW)_{yᵢ}, W's last column 0, the free W[:, :3] by rows
        W = np.column_stack([values["theta"].reshape(3, 3), np.zeros(3)])
        eta = X @ W
        return float(-np.sum(Y * (eta - np.logaddexp.reduce(eta, axis=1, keepdims=True))))

    W = np.column_stack([theta.reshape(3, 3), np.zeros(3)])
    eta = X @ W
    probs = np.exp(eta - np.logaddexp.reduce(eta, axis=1, keepdims=True))
    np.testing.assert_allclose(block_hessian(X, probs), central_hessian(loss, {"theta": theta}, "theta"),
                               rtol=1e-6, atol=1e-6)


def test_softmax_needs_two_classes():
    with pytest.raises(derive.DataError, match="two or more classes"):
        derive.fit("softmax", np.ones((4, 1)), ["a"] * 4)


def test_the_built_in_and_its_model_file_fit_the_same(three_classes):
    X, labels = three_classes
    built_in = derive.fit("softmax", X, labels)
    model_file = derive.fit(str(MODEL_FILES / "softmax.toml"), X, labels)
    np.testing.assert_array_equal(built_in.coef, model_file.coef)
    np.testing.assert_array_equal(built_in.std_errors, model_file.std_errors)


def test_softmax_through_the_cli_with_text_classes(tmp_path, capsys, three_classes):
    X, labels = three_classes
    path = tmp_path / "classes.csv"
    pd.DataFrame({"kind": labels, "x1": X[:, 1], "x2": X[:, 2]}).to_csv(path, index=False)
    assert main(["fit", "softmax", str(path), "--target", "kind", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    python = derive.fit("softmax", X, labels, names=["intercept", "x1", "x2"])
    assert out["classes"] == ["a", "b", "c"] and list(out["coefficients"])[:2] == ["intercept[a]", "intercept[b]"]
    assert out["reference_class"] == "c"
    np.testing.assert_allclose(list(out["coefficients"].values()), python.coef, rtol=1e-9)
    np.testing.assert_allclose(list(out["std_errors"].values()), python.std_errors, rtol=1e-9)
    assert set(out["p_values"]) == set(out["coefficients"]) and set(out["conf_int"]) == set(out["coefficients"])
    assert main(["fit", "softmax", str(path), "--formula", "kind ~ x1 + x2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coefficients"] == out["coefficients"]
    assert main(["fit", "softmax", str(path), "--target", "kind"]) == 0
    assert "reference" in capsys.readouterr().out


def test_two_classes_are_logistic_regression_with_the_sign_of_the_reference():
    """K = 2: class 0's log-odds against class 1 is −(statsmodels' Logit of y = 1), on the shipped Spector data."""
    data = derive.datasets.load("spector").data()
    X = np.column_stack([np.ones(len(data["GRADE"])), data["GPA"], data["TUCE"], data["PSI"]])
    ours = derive.fit("softmax", X, data["GRADE"])
    logit = sm.Logit(data["GRADE"], X).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(ours.coef, -logit.params, rtol=1e-9)
    np.testing.assert_allclose(ours.std_errors, logit.bse, rtol=1e-9)
    assert ours.loglike == pytest.approx(logit.llf, rel=1e-12)


def test_the_model_file_from_the_cli_reads_text_labels(tmp_path, capsys, three_classes):
    X, labels = three_classes
    path = tmp_path / "classes.csv"
    pd.DataFrame({"kind": labels, "x1": X[:, 1], "x2": X[:, 2]}).to_csv(path, index=False)
    assert main(["fit", str(MODEL_FILES / "softmax.toml"), str(path), "--target", "kind", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classes"] == ["a", "b", "c"]
    np.testing.assert_allclose(list(out["coefficients"].values()),
                               derive.fit("softmax", X, labels).coef, rtol=1e-12)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as connected:
        yield connected


def test_dask_chunks_on_a_cluster_fit_as_in_memory(client, three_classes):
    import dask.array as da
    import dask.dataframe as dd
    X, labels = three_classes
    in_memory = derive.fit("softmax", X, labels, names=["const", "x1", "x2"])
    chunked = derive.fit("softmax", da.from_array(X, chunks=(150, 3)), da.from_array(labels, chunks=150),
                         names=["const", "x1", "x2"])
    assert chunked.classes == ["a", "b", "c"] and chunked.names == in_memory.names and chunked.converged
    np.testing.assert_allclose(chunked.coef, in_memory.coef, rtol=1e-10)
    np.testing.assert_allclose(chunked.std_errors, in_memory.std_errors, rtol=1e-10)
    assert chunked.loglike == pytest.approx(in_memory.loglike, rel=1e-12)
    frame = dd.from_pandas(pd.DataFrame({"const": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "kind": labels}),
                           npartitions=3)
    from_frame = derive.fit("softmax", frame[["const", "x1", "x2"]], frame["kind"])
    np.testing.assert_allclose(from_frame.coef, in_memory.coef, rtol=1e-10)
    assert from_frame.names == in_memory.names


def test_dask_chunks_report_separation(client):
    import dask.array as da
    x = np.random.default_rng(5).normal(size=90)
    X = np.column_stack([np.ones(90), x])
    with pytest.raises(derive.DataError, match="perfectly separated"):
        derive.fit("softmax", da.from_array(X, chunks=(30, 2)), da.from_array(np.digitize(x, [-0.5, 0.5]), chunks=30))
