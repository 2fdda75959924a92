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
