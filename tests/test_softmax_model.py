"""The softmax model file through the planner (derive/derivations/models/softmax.toml): the `prob` assumption
of a model file, the gradient Xᵀ(softmax(XW) − Y), the Hessian of vec(W) and its convexity, the update, all
against central differences of a softmax cross-entropy written by hand in numpy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from finite_differences import central_gradient, central_hessian, numeric

import derive
from derive.cli import main
from derive.derivations.model import Model, ModelError
from derive.derivations.planner import plan
from derive.expr.printing import unicode

SOFTMAX = Path(derive.__file__).parent / "derivations" / "models" / "softmax.toml"


def cross_entropy(values):
    """−Σᵢₖ Yᵢₖ log softmax(XW)ᵢₖ, with the log-sum-exp shifted by the row maximum."""
    Z = values["X"] @ values["W"]
    top = Z.max(axis=1, keepdims=True)
    log_p = Z - top - np.log(np.exp(Z - top).sum(axis=1, keepdims=True))
    return -np.sum(values["Y"] * log_p)


def draw(rng, n=7, d=3, K=4):
    X = rng.standard_normal((n, d))
    W = 0.7 * rng.standard_normal((d, K))
    weights = rng.uniform(0.1, 1.0, (n, K))
    Y = weights / weights.sum(axis=1, keepdims=True)   # each row a distribution (prob)
    return {"n": n, "d": d, "K": K}, {"X": X, "W": W, "Y": Y}


@pytest.fixture(scope="module")
def planned():
    return plan(Model.from_toml(SOFTMAX))


def test_the_model_file_is_derived_to_the_end_every_step_verified(planned):
    D = planned.derivation
    assert planned.stopped is None
    assert all(step.verified for step in D.steps)
    assert set(D.results) == {"loss", "gradient", "hessian", "update"}
    assert unicode(D.results["gradient"]) == "Xᵀ(softmax(XW) − Y)"
    rules = [step.rule for step in D.steps]
    assert "probabilities sum to 1" in rules            # Y𝟏 = 𝟏, from the declaration Y = "n x K, prob"
    assert "positive semidefinite" in rules and planned.convex[planned.parameters[0]]
    assert "softmax ignores a common shift" in rules


def test_show_exits_0(capsys):
    assert main(["show", str(SOFTMAX)]) == 0
    out = capsys.readouterr().out
    assert "Xᵀ(softmax(XW) − Y)" in out and "✗" not in out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_and_hessian_against_central_differences(planned, seed):
    sizes, values = draw(np.random.default_rng(seed))
    results = planned.derivation.results
    gradient = numeric(results["gradient"], sizes, values)
    np.testing.assert_allclose(gradient, central_gradient(cross_entropy, values, "W"), rtol=1e-6, atol=1e-7)
    hessian = numeric(results["hessian"], sizes, values)
    np.testing.assert_allclose(hessian, central_hessian(cross_entropy, values, "W"), rtol=1e-4, atol=1e-5)
    # singular along vec(a𝟏ᵀ): the shift the loss ignores
    a = np.random.default_rng(seed + 10).standard_normal((sizes["d"], 1))
    shift = (a @ np.ones((1, sizes["K"]))).ravel(order="F")
    np.testing.assert_allclose(hessian @ shift, 0, atol=1e-10)


def test_one_hot_labels_give_the_same_gradient(planned):
    sizes, values = draw(np.random.default_rng(5))
    values["Y"] = np.eye(sizes["K"])[np.random.default_rng(6).integers(0, sizes["K"], sizes["n"])]
    np.testing.assert_allclose(numeric(planned.derivation.results["gradient"], sizes, values),
                               central_gradient(cross_entropy, values, "W"), rtol=1e-6, atol=1e-7)


def test_the_update_is_a_gradient_step(planned):
    sizes, values = draw(np.random.default_rng(3))
    update = planned.derivation.results["update"]
    eta = next(s for s in update.free_symbols if s.name == "eta")
    stepped = numeric(update.subs(eta, 0.1), sizes, values)
    np.testing.assert_allclose(stepped, values["W"] - 0.1 * central_gradient(cross_entropy, values, "W"),
                               rtol=1e-6, atol=1e-7)


def test_without_prob_the_gradient_keeps_the_row_sums():
    statement = Model.from_toml(SOFTMAX)
    text = statement.source.replace('"n x K, prob"', '"n x K"')
    gradient = plan(Model.from_text(text, default_name="softmax")).gradients
    assert "Y𝟏" in unicode(next(iter(gradient.values())))


def test_prob_in_a_one_off_model():
    m = derive.model(loss="-tr(Y' log(softmax(X W)))", wrt="W", shapes="X:nxd, Y:nxK prob, W:dxK")
    assert m.symbol("Y").assumptions == ("prob",)
    assert unicode(plan(m).gradients[plan(m).parameters[0]]) == "Xᵀ(softmax(XW) − Y)"


@pytest.mark.parametrize("declaration, message", [
    ('"pos, prob"', "prob applies to a vector or a matrix"),
    ('"n x K, probs"', "unknown assumption 'probs'"),
])
def test_prob_is_refused_where_it_does_not_apply(declaration, message):
    text = SOFTMAX.read_text().replace('"n x K, prob"', declaration)
    with pytest.raises(ModelError, match=message):
        Model.from_text(text, origin="softmax.toml")


def test_diff_gives_the_same_vec_hessian():
    """derive diff with --order 2 reads the Hessian in W off the same vec rules (diag(g)B included)."""
    result = derive.diff("-tr(Y' log(softmax(X W)))", wrt="W", shapes="X:nxd, Y:nxK prob, W:dxK", order=2)
    sizes, values = draw(np.random.default_rng(4), n=5, d=2, K=3)
    np.testing.assert_allclose(numeric(result.results["hessian"], sizes, values),
                               central_hessian(cross_entropy, values, "W"), rtol=1e-4, atol=1e-5)


def test_the_row_wise_log_sum_exp_has_its_vec_hessian():
    """Σᵢ logsumexp(xᵢ) over the rows of X (once refused: diag(g)B had no vec rule)."""
    result = derive.diff("sum(logsumexp(X))", wrt="X", shapes={"X": ("n", "m")}, order=2)

    def f(values):
        X = values["X"]
        return np.sum(np.log(np.exp(X).sum(axis=1)))
    sizes, values = {"n": 4, "m": 3}, {"X": np.random.default_rng(7).standard_normal((4, 3))}
    np.testing.assert_allclose(numeric(result.results["hessian"], sizes, values), central_hessian(f, values, "X"),
                               rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------------
# Fitting the model file (Newton with the derived vec Hessian, W identified by W𝟏 = 0) against scikit-learn
# ---------------------------------------------------------------------------------------------------
def reference(X, labels):
    """scikit-learn's unpenalised multinomial logistic regression: (W with the intercept row first, P)."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # penalty=None is deprecated in newer releases (C=inf)
        model = LogisticRegression(penalty=None, tol=1e-14, max_iter=100000).fit(X, labels)
    return np.vstack([model.intercept_, model.coef_.T]), model.predict_proba(X)


def probabilities(design, W):
    Z = design @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    return P / P.sum(axis=1, keepdims=True)


def against_the_last_class(W):
    return W[:, :-1] - W[:, -1:]   # what the data identify: each class's log-odds against the last


def test_fit_matches_scikit_learn_where_the_maximum_exists():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 2))
    truth = np.array([[0.3, -0.2, 0.0], [1.0, -0.5, 0.0], [-0.4, 0.8, 0.0]])
    design = np.column_stack([np.ones(len(X)), X])
    labels = np.array([rng.choice(3, p=row) for row in probabilities(design, truth)])
    fitted = derive.fit(str(SOFTMAX), design, np.eye(3)[labels])
    W = fitted.coef_matrix
    expected_W, expected_P = reference(X, labels)
    assert fitted.converged and fitted.iterations < 20
    np.testing.assert_array_equal(W[:, -1], 0)     # the stated identification: the last class the reference
    assert "reference" in " ".join(fitted.notes)
    np.testing.assert_allclose(W[:, :-1], against_the_last_class(expected_W), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(probabilities(design, W), expected_P, atol=1e-8)
    assert fitted.names[:3] == ["x1[1]", "x1[2]", "x2[1]"]


def test_fit_on_iris_reports_the_separated_class():
    """Setosa is linearly separable from the other two species: the unpenalised likelihood has no maximum
    (its column of W runs off to infinity), which the fit says instead of returning huge coefficients."""
    from sklearn.datasets import load_iris
    X, labels = load_iris(return_X_y=True)
    design = np.column_stack([np.ones(len(X)), X])
    with pytest.raises(derive.DataError, match="quasi-completely separated"):
        derive.fit(str(SOFTMAX), design, np.eye(3)[labels])


def test_fit_refuses_labels_that_are_not_probabilities():
    X = np.column_stack([np.ones(6), np.arange(6.0)])
    with pytest.raises(derive.DataError, match="probabilities"):
        derive.fit(str(SOFTMAX), X, np.full((6, 3), 0.5))


def test_fit_from_the_command_line_with_a_label_column(tmp_path, capsys):
    import json
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 2))
    truth = np.array([[0.2, -0.3, 0.0], [0.9, -0.6, 0.0], [-0.5, 0.7, 0.0]])
    design = np.column_stack([np.ones(len(X)), X])
    labels = np.array([rng.choice(3, p=row) for row in probabilities(design, truth)])
    path = tmp_path / "three.csv"
    path.write_text("a,b,y\n" + "".join(f"{float(a)!r},{float(b)!r},{k}\n" for (a, b), k in zip(X, labels)))
    assert main(["fit", str(SOFTMAX), str(path), "--target", "y", "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["converged"]
    free = np.array(list(fitted["coefficients"].values())).reshape(3, 2)   # the reference class's column is 0
    assert list(fitted["coefficients"])[:3] == ["intercept[0]", "intercept[1]", "a[0]"]
    expected_W, _ = reference(X, labels)
    np.testing.assert_allclose(free, against_the_last_class(expected_W), rtol=1e-6, atol=1e-7)
