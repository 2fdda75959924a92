"""`derive lambdify MODEL QUANTITY` prints code that runs on its own: copied into a file, with numpy and scipy
installed and derive not, it defines the function `derive.lambdify(MODEL, QUANTITY)` returns, and computes
the same numbers; for logistic, probit and poisson, the numbers central differences of a loss written by hand
in numpy give (tests/finite_differences.py), the probit's far into the tails where Φ underflows.
"""
from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from conftest import DERIVE
from finite_differences import central_gradient, central_hessian
from scipy.special import log_ndtr

import derive
from derive.cli import main
from derive.derivations import Model, display_name, names, resolve
from derive.fitting.codegen import _NAMESPACE, _python_name, derived_results, standalone_source

IMPORTABLE = ("numpy", "scipy")   # all the printed text may import
SIZES = {"n": 7}                  # observations; every other dimension is 3


MODEL_FILES = sorted(str(p) for p in (Path(__file__).parent / "fixtures" / "models").glob("*.toml")
                     if not p.name.startswith("bad_"))


def printable_pairs(models):
    """(model, quantity) for each model's every derived result that code can be generated for."""
    pairs = []
    for model in models:
        try:
            results = derived_results(model)
        except derive.NotSupported:   # a model file that is refused (not differentiable): test_user_models
            continue
        for quantity in results:
            try:
                derive.lambdify(model, quantity)
            except derive.NotSupported:   # refused cleanly (a Σ over an iid sample): test_refusals_stay_clean
                continue
            pairs.append((model, quantity))
    return pairs


PAIRS = printable_pairs(names())
FILE_PAIRS = printable_pairs(MODEL_FILES)


def loaded(text: str) -> dict:
    """The printed text run in a fresh namespace, after checking that it imports nothing but numpy and scipy."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert all(m.split(".")[0] in IMPORTABLE for m in modules), f"the printed code imports {modules}"
    namespace = {"__name__": "printed"}
    exec(compile(text, "<printed by derive lambdify>", "exec"), namespace)  # noqa: S102 (our own output)
    return namespace


def printed_function(text: str, model: str, quantity: str):
    name = "_".join((display_name(resolve(model)), quantity)).replace("-", "_")
    namespace = loaded(text)
    assert name in namespace, f"the printed code defines no {name}"
    return namespace[name]


def random_arguments(model: str, quantity: str, rng) -> list:
    """A value of the right shape for each argument of the generated function, in its order (None for an
    argument the result does not use): square matrices symmetric positive definite (they are solved with),
    vectors and scalars in (0, 1) (inside logs, as probabilities, rates and variances)."""
    result = derived_results(model)[quantity]
    exprs = list(result) if isinstance(result, sp.Tuple) else [result]
    by_name = {}
    for symbol in set().union(*(e.free_symbols for e in exprs)):
        by_name[_python_name(symbol)] = symbol
    statement = resolve(model)
    if isinstance(statement, Model):   # a model file's arguments are named as its file names them
        by_name.update({label: o for label, o in statement.objects().items() if o in by_name.values()})
    function = derive.lambdify(model, quantity)
    arguments = getattr(function, "arguments", None) or function.__code__.co_varnames[:function.__code__.co_argcount]
    values = []
    for name in arguments:
        symbol = by_name.get(name)
        if symbol is None:
            values.append(None)
        elif isinstance(symbol, sp.MatrixSymbol):
            rows, cols = (int(sp.sympify(k).subs({s: SIZES.get(str(s), 3) for s in sp.sympify(k).free_symbols}))
                          for k in symbol.shape)
            if rows == cols and rows > 1:
                a = rng.standard_normal((rows, rows))
                values.append(a @ a.T / rows + np.eye(rows))
            elif cols == 1:
                values.append(rng.uniform(0.2, 0.9, rows))
            else:
                values.append(rng.standard_normal((rows, cols)) * 0.5)
        else:
            values.append(float(rng.uniform(0.2, 0.9)))
    return values


def assert_same(printed, reference):
    if isinstance(reference, tuple):
        assert isinstance(printed, tuple) and len(printed) == len(reference)
        for p, r in zip(printed, reference):
            assert_same(p, r)
        return
    assert np.all(np.isfinite(reference)), "the random point is outside the result's domain"
    np.testing.assert_allclose(printed, reference, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("model, quantity", PAIRS + FILE_PAIRS,
                         ids=[f"{Path(m).name}-{q}" for m, q in PAIRS + FILE_PAIRS])
def test_printed_code_runs_alone_and_computes_what_lambdify_does(model, quantity, tmp_path):
    target = tmp_path / "printed.py"
    assert main(["lambdify", model, quantity, "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith(f"# The {quantity} of {display_name(resolve(model))},")   # what it computes
    printed = printed_function(text, model, quantity)
    values = random_arguments(model, quantity, np.random.default_rng(len(model) * 31 + len(quantity)))
    function = derive.lambdify(model, quantity)
    assert_same(printed(*values), function(*values))
    names = getattr(function, "arguments", None) or function.__code__.co_varnames[:function.__code__.co_argcount]
    assert_same(printed(**dict(zip(names, values))), function(*values))   # by name, as the header names them


def test_every_quantity_of_every_built_in_model_is_printed_or_refused():
    refused = [(m, q) for m in names() for q in derived_results(m) if (m, q) not in PAIRS]
    assert len(PAIRS) > 80 and {("probit", "hessian"), ("softmax", "loss"), ("ols", "solution")} <= set(PAIRS)
    for model, quantity in refused:
        assert main(["lambdify", model, quantity]) == 2   # one line on stderr, no traceback (test_cli's rule)


@pytest.mark.parametrize("name", sorted(_NAMESPACE))
def test_every_helper_the_generator_runs_with_can_be_printed(name):
    """The table `compiled` execs generated code with is the table printed: a helper added to it that the
    printer cannot write out (a lambda, a closure) fails here, not in a user's file."""
    namespace = loaded(standalone_source(f"def uses():\n    return {name}\n"))
    assert namespace["uses"]() is not None


def test_each_helper_is_printed_once_and_only_the_ones_used():
    text = standalone_source(derive.lambdify("probit", "hessian").source)
    assert text.count("def _log_derivative_Phi(") == 1 and text.count("def _normal_pdf(") == 1
    assert text.count("import numpy as np") == 1
    assert "_sigmoid" not in text and "_log_Phi" not in text
    # a helper called by two names (the generator's and another helper's) is defined once, then aliased
    both = standalone_source("def f(z):\n    return _softplus(z) + _log_sigmoid(z)\n")
    assert both.count("def _softplus_stable(") == 1 and "\n_softplus = _softplus_stable\n" in both
    assert loaded(both)["f"](np.array([-800.0, 0.0, 800.0])) == pytest.approx([-800.0, 0.0, 800.0], rel=1e-15)
    ols = standalone_source(derive.lambdify("ols", "gradient").source)
    assert "scipy" not in ols and "_weighted_gram" not in ols


# ----------------------------------------------------------------------------------------------------
# The installed console script's output against central differences of losses written by hand.

def console_script_output(model: str, quantity: str) -> str:
    result = subprocess.run([*DERIVE, "lambdify", model, quantity], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout


def logistic_loss(v):
    eta = v["X"] @ v["beta"]
    return np.sum(np.logaddexp(0, eta) - v["y"] * eta)


def probit_loss(v):
    eta = v["X"] @ v["beta"]
    return -np.sum(v["y"] * log_ndtr(eta) + (1 - v["y"]) * log_ndtr(-eta))


def poisson_loss(v):
    eta = v["X"] @ v["beta"]
    return np.sum(np.exp(eta) - v["y"] * eta)


LOSSES = {"logistic": logistic_loss, "probit": probit_loss, "poisson": poisson_loss}


def data(model: str, scale: float, rng):
    X = np.column_stack([np.ones(40), rng.standard_normal((40, 2))]) * scale
    beta = np.array([0.3, -0.8, 0.5])
    y = rng.poisson(np.exp(X @ beta)).astype(float) if model == "poisson" else rng.integers(0, 2, 40).astype(float)
    return {"beta": beta, "X": X, "y": y}


@pytest.mark.parametrize("model", sorted(LOSSES))
def test_printed_gradient_matches_central_differences_of_the_hand_written_loss(model):
    gradient = printed_function(console_script_output(model, "gradient"), model, "gradient")
    v = data(model, 1.0, np.random.default_rng(3))
    expected = central_gradient(LOSSES[model], v, "beta")
    np.testing.assert_allclose(gradient(v["beta"], v["X"], v["y"]), expected, rtol=1e-7, atol=1e-7)


def test_printed_probit_is_finite_and_right_where_phi_underflows():
    """|xᵢᵀβ| up to about 40: φ and Φ(−η) are below 1e-300, their quotients ordinary numbers (Mills ratio)."""
    v = data("probit", 25.0, np.random.default_rng(5))
    assert np.max(np.abs(v["X"] @ v["beta"])) > 38
    gradient = printed_function(console_script_output("probit", "gradient"), "probit", "gradient")
    hessian = printed_function(console_script_output("probit", "hessian"), "probit", "hessian")
    g, H = gradient(v["beta"], v["X"], v["y"]), hessian(v["beta"], v["X"], v["y"])
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(H))
    np.testing.assert_allclose(g, central_gradient(probit_loss, v, "beta"), rtol=1e-6)
    np.testing.assert_allclose(H, central_hessian(probit_loss, v, "beta", h=1e-5), rtol=1e-4)


def test_json_gives_the_function_s_source_and_the_module_that_runs_alone(capsys, tmp_path):
    assert main(["lambdify", "poisson", "hessian", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["source"] == derive.lambdify("poisson", "hessian").source
    target = tmp_path / "printed.py"
    assert main(["lambdify", "poisson", "hessian", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").endswith("\n\n" + result["module"])   # after the header comment
    assert "poisson_hessian" in loaded(result["module"])
