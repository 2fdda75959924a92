"""Checking a person's numpy code for a derived quantity: run it at random inputs, compare with the formula.

`check_code("logistic", "gradient", "grad.py:gradient")` imports ``grad.py`` and calls ``gradient`` **in a
separate Python process** (the person's own code, run as they wrote it, under a time limit), at random
inputs of several sizes, and compares what it returns with derive's derived formula evaluated at the same
inputs by `derive.core.numeval`. The function's source is shown as LaTeX by latexify-py (in that process too,
since it needs the function object) beside the formula's LaTeX.

Calling convention: the arguments are the model's symbols in a fixed order, as numpy arrays of floats,
vectors one-dimensional:

    ols, logistic, poisson:   f(beta, X, y)          beta (d,), X (n, d), y (n,)
    ridge:                    f(beta, X, y, lam)     lam a float, passed as the 4th positional argument
    gaussian:                 f(mu, sigma2, x)       bernoulli: f(p, x)
    softmax:                  f(W, X, Y)             mvn: f(mu, Sigma, X)
    in general: the parameters, then the data (alphabetical, upper case first), then λ; the result's
    `call` shows the order, always passed positionally.

The function returns the gradient as a 1-d array or a column, the Hessian as a 2-d array, the loss as a
number. Errors in the code (an exception, a result of the wrong shape, no result within the time limit)
raise one-line `DeriveError`s naming the file and function.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import sympy as sp

from derive.checking.diagnosis import Comparison, diagnose
from derive.checking.model_context import (
    confusable_results,
    model_context,
    quantity_noun,
)
from derive.core.numeval import indexed_key
from derive.core.random_points import (
    dimensions,
    dimensions_text,
    sample_points,
    values_by_name,
    values_of,
)
from derive.errors import DeriveError, NotSupported
from derive.expr.printing import latex, unicode
from derive.render.formats import expression_dict

CODE_SECONDS = 20.0     # wall clock for importing the file and all the calls
TOLERANCE = 1e-6        # largest relative error (max-norm) accepted as correct
_MARKER = "\n<<derive check-code result>>\n"

# Runs in the child process: import the file by path, call the function on each case, reply with JSON after
# a marker on the real stdout (whatever the person's code prints goes to stderr, which is discarded).
RUNNER = r'''
import importlib.util, json, math, os, sys, traceback
real_stdout = sys.stdout
sys.stdout = sys.stderr
MARKER = "\n<<derive check-code result>>\n"

def reply(message):
    real_stdout.write(MARKER + json.dumps(message))
    real_stdout.flush()
    os._exit(0)

path, name = sys.argv[1], sys.argv[2]

def where(error):
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename) == os.path.abspath(path)]
    text = f"{type(error).__name__}: {error}".strip()
    if len(text) > 300:
        text = text[:297] + "..."
    if isinstance(error, SyntaxError) and error.lineno:
        return f"{text.splitlines()[0]}"
    return text + (f" (line {frames[-1].lineno})" if frames else "")

request = json.loads(sys.stdin.read())
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
try:
    spec = importlib.util.spec_from_file_location("_derive_checked_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except BaseException as error:
    reply({"error": "importing it raised " + where(error)})
function = getattr(module, name, None)
if function is None:
    found = sorted(k for k, v in vars(module).items()
                   if callable(v) and getattr(v, "__module__", None) == module.__name__)
    reply({"error": f"it has no function {name}" + (f" (functions: {', '.join(found)})" if found else "")})
if not callable(function):
    reply({"error": f"{name} is not a function"})
latex_text, latex_note = None, None
try:
    import latexify
    latex_text = latexify.get_latex(function, use_math_symbols=True)
except ImportError:
    latex_note = "latexify-py is not installed, so the function is not shown as LaTeX"
except BaseException as error:
    latex_note = f"latexify cannot show {name} as LaTeX ({type(error).__name__}: {str(error)[:200]})"
outputs = []
for k, case in enumerate(request["cases"]):
    arguments = [np.array(a, dtype=float) if isinstance(a, list) else float(a) for a in case]
    try:
        value = function(*arguments)
    except BaseException as error:
        reply({"error": "calling it raised " + where(error), "case": k})
    try:
        array = np.asarray(value, dtype=float)
    except BaseException:
        reply({"error": f"it returned {type(value).__name__}, not numbers", "case": k})
    outputs.append({"shape": list(array.shape),
                    "values": [v if math.isfinite(v) else None for v in array.ravel().tolist()]})
reply({"outputs": outputs, "latex": latex_text, "latex_note": latex_note})
'''


@dataclass
class CodeCase:
    """One random input: its sizes and the largest relative error of the function's result there."""

    sizes: dict
    max_relative_error: Optional[float]   # None where the function returned NaN or infinity

    @property
    def sizes_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.sizes.items())

    def to_dict(self) -> dict:
        return {"sizes": self.sizes, "max_relative_error": self.max_relative_error}


@dataclass
class CodeCheckResult:
    """The verdict on a person's function: `correct`, per-input errors, and a diagnosis when wrong."""

    correct: bool
    model: str
    quantity: str
    path: str
    function: str
    call: str
    expected: sp.Basic
    cases: list
    tolerance: float
    diagnosis: Optional[str]
    function_latex: Optional[str]
    latex_note: Optional[str]
    seconds: float = field(default=0.0)

    @property
    def exit_code(self) -> int:
        return 0 if self.correct else 1

    @property
    def max_relative_error(self) -> Optional[float]:
        errors = [c.max_relative_error for c in self.cases]
        return None if any(e is None for e in errors) else max(errors)

    def to_dict(self) -> dict:
        return {"correct": self.correct, "model": self.model, "quantity": self.quantity,
                "function": {"file": self.path, "name": self.function, "call": self.call,
                             "latex": self.function_latex, "latex_note": self.latex_note},
                "expected": expression_dict(self.expected),
                "cases": [c.to_dict() for c in self.cases], "max_relative_error": self.max_relative_error,
                "tolerance": self.tolerance, "diagnosis": self.diagnosis, "runs_your_code": True}

    def to_text(self) -> str:
        noun = quantity_noun(self.quantity)
        target = f"{self.path}:{self.function}"
        lines = [f"This runs your own code: {self.path} is imported in a separate Python process "
                 f"(time limit {CODE_SECONDS:g} s) and {self.call} is called at {len(self.cases)} random inputs."]
        for case in self.cases:
            error = "NaN or infinity" if case.max_relative_error is None else f"{case.max_relative_error:.2e}"
            lines.append(f"  {case.sizes_text:<14} max relative error {error}")
        worst = self.max_relative_error
        worst_text = "NaN" if worst is None else f"{worst:.2e}"
        if self.correct:
            lines.append(f"correct: {target} computes the {noun} of {self.model}, {unicode(self.expected)} "
                         f"(max relative error {worst_text} ≤ {self.tolerance:g})")
        else:
            lines.append(f"wrong: {target} does not compute the {noun} of {self.model}, {unicode(self.expected)} "
                         f"(max relative error {worst_text} > {self.tolerance:g})")
            lines.append(f"  diagnosis: {self.diagnosis}")
        lines.append(f"  your function: {self.function_latex if self.function_latex else self.latex_note}")
        lines.append(f"  derived:       {latex(self.expected)}")
        return "\n".join(lines)


def arguments(model: str) -> list:
    """The model's symbols in the calling order: parameters, then data (matrices, vectors, entries x_i),
    then the penalty λ."""
    context = model_context(model)
    unique = []
    for obj in context.symbols.values():
        if obj in unique or isinstance(obj, sp.Pow) or getattr(obj, "is_integer", False):
            continue
        unique.append(obj)
    name = lambda o: str(o.label) if isinstance(o, sp.IndexedBase) else o.name
    is_data = lambda o: isinstance(o, (sp.MatrixSymbol, sp.IndexedBase)) and o != context.parameter
    parameters = [context.parameter] if context.parameter is not None else []
    parameters += sorted((o for o in unique if not is_data(o) and o not in parameters and name(o) != "lambda"),
                         key=name)
    data = sorted((o for o in unique if is_data(o)), key=name)
    penalty = [o for o in unique if not is_data(o) and name(o) == "lambda"]
    return parameters + data + penalty


def argument_names(model: str) -> list[str]:
    """The names of `arguments`, as the model writes them ("beta", "X", "y", "lambda")."""
    return [str(o.label) if isinstance(o, sp.IndexedBase) else o.name for o in arguments(model)]


def python_name(name: str) -> str:
    """A symbol's name as a Python parameter: lambda is lam, sigma^2 is sigma2."""
    return "lam" if name == "lambda" else name.replace("^", "")


def _value(obj, env):
    """The value passed for a symbol: entries x_1…x_n of an indexed x, else the sampled value."""
    if isinstance(obj, sp.IndexedBase):
        return np.asarray(env[indexed_key(str(obj.label))])[1:]
    return env[obj.name]


def check_code(model: str, quantity: str, target: str, timeout: float = CODE_SECONDS) -> CodeCheckResult:
    """Run the function `target` ("FILE.py:FUNCTION") at random inputs and compare it with `quantity` of `model`.

    This executes the person's own code (in a child process, with `timeout` seconds for everything).
    """
    import time
    started = time.monotonic()
    context = model_context(model)
    expected = context.result(quantity)
    path, function = _split_target(target)
    if isinstance(expected, (sp.Tuple, tuple)):
        raise NotSupported(f"the {model} {quantity} is a pair of results; check-code compares one array")
    symbols = arguments(model)
    names = argument_names(model)
    envs = sample_points([expected, *symbols], context.domains, seed=7)
    expected_values = values_of(expected, envs, f"the {quantity}")
    cases = [[_argument(_value(obj, env)) for obj in symbols] for env in envs]
    call = f"{function}({', '.join(python_name(n) for n in names)})"
    reply = run_function(path, function, cases, timeout)
    outputs = []
    for k, (output, wanted) in enumerate(zip(reply["outputs"], expected_values)):
        outputs.append(_shaped(output, wanted, f"{path}:{function}", quantity, envs[k]))
    code_cases, finite = [], True
    for output, wanted, env in zip(outputs, expected_values, envs):
        if not np.all(np.isfinite(output)):
            finite = False
            code_cases.append(CodeCase(dimensions(env), None))
            continue
        scale = max(float(np.max(np.abs(wanted), initial=0.0)), 1e-12)
        code_cases.append(CodeCase(dimensions(env), float(np.max(np.abs(output - wanted), initial=0.0)) / scale))
    correct = finite and all(c.max_relative_error <= TOLERANCE for c in code_cases)
    diagnosis = None
    if not finite:
        bad = next(c for c in code_cases if c.max_relative_error is None)
        diagnosis = f"the function returned NaN or infinity at random inputs ({bad.sizes_text})"
    elif not correct:
        diagnosis = _diagnose(context, quantity, outputs, expected_values, envs)
    return CodeCheckResult(correct, model, quantity, path, function, call, expected, code_cases, TOLERANCE,
                           diagnosis, reply.get("latex"), reply.get("latex_note"), time.monotonic() - started)


def _split_target(target: str) -> tuple[str, str]:
    path, colon, function = target.rpartition(":")
    if not colon or not path or not function:
        raise DeriveError(f'cannot read "{target}": write FILE.py:FUNCTION, such as grad.py:gradient')
    if not function.isidentifier():
        raise DeriveError(f'"{function}" is not a Python function name (in "{target}")')
    if not path.endswith(".py"):
        raise DeriveError(f'"{path}" is not a Python file: write FILE.py:FUNCTION')
    if not Path(path).is_file():
        raise DeriveError(f"no file {path}")
    return path, function


def _argument(value):
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return float(array)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    return array.tolist()


def run_function(path: str, function: str, cases: list, timeout: float = CODE_SECONDS) -> dict:
    """Import `path` and call `function` on each case in a child Python process; its reply as a dict."""
    target = f"{path}:{function}"
    try:
        completed = subprocess.run([sys.executable, "-c", RUNNER, path, function], input=json.dumps({"cases": cases}),
                                   capture_output=True, text=True, timeout=timeout,
                                   env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                                        **os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    except subprocess.TimeoutExpired:
        raise DeriveError(f"{target} did not finish within {timeout:g} s (an endless loop, or far too slow "
                          "for inputs with at most a few dozen rows): derive stopped the process running it") from None
    except OSError as error:
        raise DeriveError(f"cannot start Python to run {target}: {error}") from None
    if _MARKER not in completed.stdout:
        last = (completed.stderr.strip().splitlines() or [""])[-1][:300]
        how = f"exit code {completed.returncode}" if completed.returncode >= 0 else f"signal {-completed.returncode}"
        raise DeriveError(f"the process running {target} stopped ({how}) without a result"
                          + (f": {last}" if last else ""))
    reply = json.loads(completed.stdout.rpartition(_MARKER)[2])
    if "error" in reply:
        case = f" at random input {reply['case'] + 1}" if "case" in reply else ""
        raise DeriveError(f"{target}: {reply['error']}{case}")
    return reply


def _shaped(output: dict, wanted: np.ndarray, target: str, quantity: str, env) -> np.ndarray:
    """The function's result in the shape of the expected value (a vector may be 1-d or a column)."""
    values = np.array([np.nan if v is None else v for v in output["values"]], dtype=float)
    shape = tuple(output["shape"])
    if shape == wanted.shape:
        return values.reshape(shape)
    if wanted.shape[1] == 1 and shape == (wanted.shape[0],):
        return values.reshape(wanted.shape)
    if wanted.shape == (1, 1) and values.size == 1:
        return values.reshape(1, 1)
    want = f"({wanted.shape[0]},) or {wanted.shape}" if wanted.shape[1] == 1 and wanted.shape[0] > 1 else \
        "a number" if wanted.shape == (1, 1) else str(wanted.shape)
    raise DeriveError(f"{target} returned an array of shape {shape} at {dimensions_text(env)}; the "
                      f"{quantity_noun(quantity)} has shape {want}")


def _diagnose(context, quantity: str, outputs, expected_values, envs) -> str:
    others, related = confusable_results(context, quantity)
    c = Comparison(outputs, expected_values, envs, None, context.results[quantity],
                   reference=f"the expected {quantity_noun(quantity)}", subject="the function's result",
                   quantity=quantity, model=context.name, function="the loss",
                   others=values_by_name(others, envs), related=values_by_name(related, envs))
    return diagnose(c)
