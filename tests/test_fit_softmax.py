"""Softmax (multinomial logistic) regression fitted with the derived loss and gradient, against
statsmodels' MNLogit (with the same reference class)."""
import numpy as np
import pytest
import statsmodels.api as sm

import derive


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
    # MNLogit's reference is its first class: code c (our reference) as 0, then a, b as 1, 2.
    codes = np.select([labels == "c", labels == "a"], [0, 1], 2)
    reference = sm.MNLogit(codes, X).fit(disp=0, method="newton", tol=1e-12)
    assert ours.converged and ours.classes == ["a", "b", "c"]
    assert ours.names[:2] == ["const[a]", "const[b]"]
    np.testing.assert_allclose(ours.coef_matrix[:, :2], reference.params, rtol=1e-7)
    np.testing.assert_allclose(ours.std_errors.reshape(3, 2), reference.bse, rtol=1e-6)
    assert ours.loglike == pytest.approx(reference.llf, rel=1e-10)
    np.testing.assert_allclose(ours.predict(X[:5]), reference.predict(X[:5])[:, [1, 2, 0]], rtol=1e-7)
    assert "reference" in ours.summary()


def test_softmax_needs_two_classes():
    with pytest.raises(derive.DataError, match="two or more classes"):
        derive.fit("softmax", np.ones((4, 1)), ["a"] * 4)


def test_softmax_through_the_cli_with_text_classes(tmp_path, capsys, three_classes):
    import json

    import pandas as pd

    from derive.cli import main
    X, labels = three_classes
    path = tmp_path / "classes.csv"
    pd.DataFrame({"kind": labels, "x1": X[:, 1], "x2": X[:, 2]}).to_csv(path, index=False)
    assert main(["fit", "softmax", str(path), "--target", "kind", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    python = derive.fit("softmax", X, labels, names=["intercept", "x1", "x2"])
    assert out["classes"] == ["a", "b", "c"] and list(out["coefficients"])[:2] == ["intercept[a]", "intercept[b]"]
    np.testing.assert_allclose(list(out["coefficients"].values()), python.coef, rtol=1e-9)
    assert main(["fit", "softmax", str(path), "--formula", "kind ~ x1 + x2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coefficients"] == out["coefficients"]
