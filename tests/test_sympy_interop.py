"""derive's results in SymPy's own tools (DESIGN §3: results are plain SymPy expressions).

Every value is compared with an independent reference: the model's formulas written by hand in numpy
and central differences of them (tests/finite_differences.py). Nothing is compared with derive's own
numerics, and structure is compared only where SymPy itself promises it (srepr after canonical `doit`).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from finite_differences import central_jacobian, numeric
from sympy.printing.numpy import NumPyPrinter
from sympy.tensor.array.expressions import ZeroArray

import derive
import derive.expr.functions as functions
import derive.expr.symbols as symbols
from derive.expr.symbols import X, beta, d, n, y

SIZES = {"n": 6, "d": 3}
SIZE_SYMBOLS = {n: SIZES["n"], d: SIZES["d"]}
TOLERANCE = {"rtol": 1e-6, "atol": 1e-8}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# The models written by hand: loss and gradient of a dict of values {"X", "y", "beta"}.
def logistic_loss(v):
    z = v["X"] @ v["beta"]
    return np.array([np.sum(np.logaddexp(0, z) - v["y"] * z)])


def logistic_gradient(v):
    return v["X"].T @ (sigmoid(v["X"] @ v["beta"]) - v["y"])


def poisson_loss(v):
    z = v["X"] @ v["beta"]
    return np.array([np.sum(np.exp(z) - v["y"] * z)])


def poisson_gradient(v):
    return v["X"].T @ (np.exp(v["X"] @ v["beta"]) - v["y"])


HAND_WRITTEN = {"logistic": (logistic_loss, logistic_gradient), "poisson": (poisson_loss, poisson_gradient)}


@pytest.fixture(scope="module")
def values():
    rng = np.random.default_rng(11)
    return {"X": rng.standard_normal((SIZES["n"], SIZES["d"])),
            "y": rng.integers(0, 3, (SIZES["n"], 1)).astype(float),
            "beta": 0.3 * rng.standard_normal((SIZES["d"], 1))}


@pytest.fixture(scope="module", params=["logistic", "poisson"])
def model(request):
    return request.param, derive.derivation(request.param).results


def reference(name, quantity, v):
    loss, gradient = HAND_WRITTEN[name]
    if quantity == "loss":
        return loss(v)
    if quantity == "gradient":
        return gradient(v)
    return central_jacobian(gradient, v, "beta")


def lambdified(expr, v):
    """sympy.lambdify of `expr` called at the values (n passed too: 𝟏 (n×1) in σ′ = σ ⊙ (𝟏 − σ) needs it)."""
    return sp.lambdify([X, y, beta, n], expr)(v["X"], v["y"], v["beta"], SIZES["n"])


def small(v):
    """The values cut to n = 4, d = 2: explicit matrices stay quick to build."""
    return {"X": v["X"][:4, :2], "y": v["y"][:4], "beta": v["beta"][:2]}


def explicit_value(expr, v):
    """`.as_explicit()` at the sizes of the values, then the entries of X, y and β put in: a numpy array."""
    rows, cols = v["X"].shape
    explicit = expr.subs({n: rows, d: cols}).as_explicit()
    entries = {sp.MatrixSymbol(key, *np.shape(value)): sp.ImmutableMatrix(value) for key, value in v.items()}
    return np.array(explicit.xreplace(entries).doit().tolist(), dtype=float)


def test_gradient_differentiated_by_sympy_is_the_hessian(model, values):
    name, results = model
    hessian = results["gradient"].diff(beta)
    np.testing.assert_allclose(lambdified(hessian, values), reference(name, "hessian", values), **TOLERANCE)


def test_loss_differentiated_by_sympy_is_the_gradient(model, values):
    # SymPy differentiates the 1×1 loss into an array expression of shape β.shape + (1, 1): explicit at sizes
    name, results = model
    value = explicit_value(results["loss"].diff(beta), small(values))
    np.testing.assert_allclose(value.reshape(2, 1), reference(name, "gradient", small(values)), **TOLERANCE)


def test_evalf_after_the_sizes_evaluates_the_numbers_and_keeps_the_matrices(model, values):
    name, results = model
    evaluated = (results["gradient"] / 2).subs(SIZE_SYMBOLS).evalf()
    assert sp.Float(0.5) in evaluated.atoms(sp.Float)
    np.testing.assert_allclose(lambdified(evaluated, values), reference(name, "gradient", values) / 2, **TOLERANCE)


@pytest.mark.parametrize("quantity", ["loss", "gradient", "hessian"])
def test_numbers_put_in_then_doit_and_evalf_give_the_value(model, values, quantity):
    name, results = model
    np.testing.assert_allclose(numeric(results[quantity], SIZES, values).reshape(-1),
                               reference(name, quantity, values).reshape(-1), **TOLERANCE)


@pytest.mark.parametrize("quantity", ["gradient", "hessian"])
def test_as_explicit_after_the_sizes_holds_the_entries(model, values, quantity):
    name, results = model
    value = explicit_value(results[quantity], small(values))
    np.testing.assert_allclose(value, reference(name, quantity, small(values)), **TOLERANCE)


@pytest.mark.parametrize("quantity", ["gradient", "hessian"])
def test_lambdify_and_the_numpy_printer_write_runnable_numpy(model, values, quantity):
    name, results = model
    expected = reference(name, quantity, values)
    np.testing.assert_allclose(lambdified(results[quantity], values), expected, **TOLERANCE)
    source = NumPyPrinter().doprint(results[quantity])
    scope = {"numpy": np, **values, "n": SIZES["n"]}
    np.testing.assert_allclose(eval(source, scope), expected, **TOLERANCE)  # code SymPy printed from our result


def test_pycode_writes_the_scalar_functions_by_name():
    z = sp.Symbol("z")
    assert "math.exp" in sp.pycode(functions.sigmoid(z))


def test_pycode_refuses_an_entrywise_function_of_a_matrix_and_names_the_numpy_printer():
    # plain Python would print math.exp(X*beta): it fails on arrays, and its * is not a matrix product
    with pytest.raises(derive.NotSupported, match="NumPyPrinter"):
        sp.pycode(derive.derivation("logistic").results["gradient"])


@pytest.mark.parametrize("name, reference", [("sigmoid", sigmoid), ("exp", np.exp), ("log", np.log)])
def test_an_entrywise_function_differentiates_by_a_scalar_as_central_differences_do(name, reference):
    t = sp.Symbol("t")
    U = X * beta * t
    derived = functions.Elementwise(name, U).diff(t)
    rng = np.random.default_rng(7)
    values = {"X": rng.uniform(0.2, 1.0, (SIZES["n"], SIZES["d"])), "beta": rng.uniform(0.2, 1.0, (SIZES["d"], 1))}
    h, at = 1e-6, 0.7
    expected = (reference(values["X"] @ values["beta"] * (at + h))
                - reference(values["X"] @ values["beta"] * (at - h))) / (2 * h)
    np.testing.assert_allclose(numeric(derived, SIZES, {**values, "t": at}), expected, **TOLERANCE)


@pytest.mark.parametrize("name, reference", [("sigmoid", sigmoid), ("tanh", np.tanh), ("log", np.log),
                                             ("softplus", lambda z: np.logaddexp(0, z))])
def test_second_and_third_derivatives_by_a_scalar_are_central_differences_of_numpy(name, reference):
    # d²/dt² f(tXβ) by SymPy's .diff, twice and three times: 1 − σ and u^∘−1 inside ⊙ differentiate again
    t = sp.Symbol("t")
    first = functions.Elementwise(name, X * beta * t).diff(t)
    second, third = first.diff(t), first.diff(t).diff(t)
    rng = np.random.default_rng(11)
    values = {"X": rng.uniform(0.2, 1.0, (SIZES["n"], SIZES["d"])), "beta": rng.uniform(0.2, 1.0, (SIZES["d"], 1))}
    u, h, at = values["X"] @ values["beta"], 1e-3, 0.7
    f = lambda s: reference(u * s)                                                        # noqa: E731
    by_hand = (f(at + h) - 2 * f(at) + f(at - h)) / h ** 2
    third_by_hand = (f(at + 2 * h) - 2 * f(at + h) + 2 * f(at - h) - f(at - 2 * h)) / (2 * h ** 3)
    np.testing.assert_allclose(numeric(second, SIZES, {**values, "t": at}), by_hand, rtol=1e-5)
    np.testing.assert_allclose(numeric(third, SIZES, {**values, "t": at}), third_by_hand, rtol=1e-4, atol=1e-6)


def test_an_entrywise_function_of_a_matrix_without_the_scalar_has_derivative_zero():
    t = sp.Symbol("t")
    assert functions.Elementwise("sigmoid", X * beta).diff(t) == sp.ZeroMatrix(n, 1)


@pytest.mark.parametrize("tool", [sp.simplify, lambda e: e.doit()], ids=["simplify", "doit"])
def test_simplify_and_doit_keep_the_value(model, values, tool):
    name, results = model
    np.testing.assert_allclose(lambdified(tool(results["gradient"]), values), reference(name, "gradient", values),
                               rtol=1e-10)


def test_latex_is_the_textbook_form():
    gradient = derive.derivation("logistic").results["gradient"]
    assert sp.latex(gradient) == r"X^{T} \left(\sigma\left(X \beta\right) - y\right)"


@pytest.mark.parametrize("quantity", ["loss", "gradient", "hessian", "update"])
def test_srepr_round_trips(model, quantity):
    # srepr writes a sum's terms in SymPy's order, not the textbook's: equal once both are canonical (doit)
    expr = model[1][quantity]
    namespace = {**vars(sp), **vars(functions), **vars(symbols)}
    assert eval(sp.srepr(expr), namespace).doit() == expr.doit()


def test_check_accepts_a_sympy_expression_as_the_answer():
    assert derive.check("ols", "gradient", -2 * X.T * (y - X * beta)).correct
    wrong = derive.check("ols", "gradient", -X.T * (y - X * beta))
    assert not wrong.correct and "factor" in wrong.diagnosis


def test_diff_takes_the_shapes_text_of_the_command_line():
    result = derive.diff("x'*A*x", wrt="x", shapes="x:n, A:nxn").result
    x, A = sorted(result.atoms(sp.MatrixSymbol), key=lambda m: m.name != "x")
    rng = np.random.default_rng(3)
    v = {"x": rng.standard_normal((4, 1)), "A": rng.standard_normal((4, 4))}
    expected = central_jacobian(lambda w: w["x"].T @ w["A"] @ w["x"], v, "x").T
    np.testing.assert_allclose(sp.lambdify([x, A], result)(v["x"], v["A"]), expected, **TOLERANCE)


def test_lambdify_of_a_model_file_s_results_gives_numbers():
    # the exponential model's 𝟏ᵀx is a 1×1 matrix held as a scalar: lambdify returns its one entry
    results = derive.derivation("exponential").results
    x = next(iter(results["loss"].atoms(sp.MatrixSymbol)))
    lam, size = (next(s for s in results["loss"].free_symbols if s.name == name) for name in ("lambda", "n"))
    sample = np.array([[1.0], [2.0], [0.5]])
    hand_written = {"loss": -3 * np.log(0.7) + 0.7 * sample.sum(), "gradient": sample.sum() - 3 / 0.7,
                    "solution": 3 / sample.sum()}
    for quantity, expected in hand_written.items():
        value = sp.lambdify([x, lam, size], results[quantity])(sample, 0.7, 3)
        assert np.ndim(value) == 0 and value == pytest.approx(expected, rel=1e-12), quantity


@pytest.mark.parametrize("named", [False, True], ids=["diag", "a name for it"])
def test_sympy_differentiates_through_diag(named):
    # d/dv wᵀdiag(Av)w = Aᵀ(w ⊙ w): SymPy's own DiagMatrix recurses without end here, and so did S = diag(…)
    from derive.derivations.abbreviations import Named
    k = sp.Symbol("k", integer=True, positive=True)
    v, w, A = sp.MatrixSymbol("v", k, 1), sp.MatrixSymbol("w", k, 1), sp.MatrixSymbol("A", k, k)
    weights = symbols.Diag(A * v)
    gradient = (w.T * (Named("S", "S", weights) if named else weights) * w).diff(v)
    rng = np.random.default_rng(5)
    values = {"v": rng.standard_normal((3, 1)), "w": rng.standard_normal((3, 1)), "A": rng.standard_normal((3, 3))}
    expected = central_jacobian(lambda u: u["w"].T @ np.diag((u["A"] @ u["v"]).ravel()) @ u["w"], values, "v").T
    np.testing.assert_allclose(numeric(gradient, {"k": 3}, values), expected, **TOLERANCE)


def test_names_and_differentials_of_the_steps_differentiate():
    from derive.derivations.abbreviations import Abbreviation
    from derive.expr.notation import d as differential
    t = sp.Symbol("t")
    assert sp.diff(Abbreviation("m", "m", t ** 3), t) == 3 * t ** 2        # a name stands for its definition
    assert differential(t).diff(t) == 0                                     # dt is a direction, free of t
    assert (X * differential(beta)).diff(beta) == ZeroArray(d, 1, n, 1)
    with pytest.raises(derive.NotSupported, match="write it out in the leaves"):
        differential(t ** 2).diff(t)


def test_diag_differentiates_in_a_scalar():
    t = sp.Symbol("t")
    k = sp.Symbol("k", integer=True, positive=True)
    v, A = sp.MatrixSymbol("v", k, 1), sp.MatrixSymbol("A", k, k)
    derivative = (A * symbols.Diag(t ** 2 * v)).diff(t)
    rng = np.random.default_rng(8)
    values = {"A": rng.standard_normal((3, 3)), "v": rng.standard_normal((3, 1)), "t": 0.7}
    expected = central_jacobian(lambda u: u["A"] @ np.diag(u["t"] ** 2 * u["v"].ravel()),
                                {**values, "t": np.array([0.7])}, "t").reshape(3, 3)
    np.testing.assert_allclose(numeric(derivative, {"k": 3}, values), expected, **TOLERANCE)


def test_lambdify_takes_the_identity_of_a_symbolic_size():
    # ridge's (XᵀX + λI)⁻¹Xᵀy: I is d×d, and d is an argument like n in 𝟏 (SymPy's printer refuses I_d)
    results = derive.derivation("ridge").results
    lam = next(s for s in results["solution"].free_symbols if s.name == "lambda")
    rng = np.random.default_rng(2)
    Xv, yv = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    solution = sp.lambdify([X, y, lam, d], results["solution"])(Xv, yv, 0.5, 3)
    np.testing.assert_allclose(solution, np.linalg.solve(Xv.T @ Xv + 0.5 * np.eye(3), Xv.T @ yv), rtol=1e-10)
    hessian = sp.lambdify([X, lam, d], results["hessian"])(Xv, 0.5, 3)
    np.testing.assert_allclose(hessian, 2 * (Xv.T @ Xv + 0.5 * np.eye(3)), rtol=1e-12)
