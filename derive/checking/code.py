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
    values_by_name,
    values_of,
)
from derive.derivations import Model, resolve
from derive.errors import DeriveError, NotSupported
from derive.expr.printing import latex, unicode
from derive.render.formats import expression_dict

CODE_SECONDS = 20.0     # wall clock for importing the file and all the calls
TOLERANCE = 1e-6        # largest relative error (max-norm) accepted as correct
_MARKER = "\n<<derive check-code result>>\n"
CODE_LATEX = Path(__file__).with_name("code_latex.py")   # run in the child: the function's LaTeX

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
    import inspect
    parameters = list(inspect.signature(function).parameters)
except (TypeError, ValueError):
    parameters = None
try:
    import latexify  # noqa: F401 - is it installed
    spec = importlib.util.spec_from_file_location("_derive_code_latex", sys.argv[3])
    code_latex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code_latex)
    latex_text = code_latex.function_latex(function)
except ImportError:
    latex_note = "latexify-py is not installed, so the function is not shown as LaTeX"
except BaseException as error:
    latex_note = f"latexify cannot show {name} as LaTeX ({type(error).__name__}: {str(error)[:200]})"
probes = []
for case in request.get("probes", []):   # the same inputs in other shapes: a failure here is only a note
    try:
        value = function(*[np.array(a, dtype=float) if isinstance(a, list) else float(a) for a in case])
        value = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in value]) \
            if isinstance(value, tuple) else np.asarray(value, dtype=float)
        probes.append({"shape": list(value.shape), "values": [v if math.isfinite(v) else None
                                                              for v in value.ravel().tolist()]})
    except BaseException as error:
        probes.append({"error": where(error)})
outputs = []
for k, case in enumerate(request["cases"]):
    arguments = [np.array(a, dtype=float) if isinstance(a, list) else float(a) for a in case]
    try:
        value = function(*arguments)
    except BaseException as error:
        reply({"error": "calling it raised " + where(error), "case": k, "parameters": parameters})
    try:
        arrays = [np.asarray(value, dtype=float)]
    except BaseException:
        try:   # a pair of results of different shapes, such as (mu, Sigma)
            arrays = [np.asarray(part, dtype=float) for part in value]
        except BaseException:
            reply({"error": f"it returned {type(value).__name__}, not numbers", "case": k})
    outputs.append([{"shape": list(array.shape),
                     "values": [v if math.isfinite(v) else None for v in array.ravel().tolist()]} for array in arrays])
reply({"outputs": outputs, "probes": probes, "latex": latex_text, "latex_note": latex_note,
       "parameters": parameters})
'''


@dataclass
class CodeCase:
    """One random input: its sizes and the largest relative error of the function's result there."""

    sizes: dict
    max_relative_error: Optional[float]   # None where the function returned NaN or infinity
    note: str = ""                        # what is special about the input: "|Xβ| up to 800"

    @property
    def sizes_text(self) -> str:
        return ", ".join([f"{k}={v}" for k, v in self.sizes.items()] + ([self.note] if self.note else []))

    def to_dict(self) -> dict:
        return {"sizes": self.sizes, "max_relative_error": self.max_relative_error, "note": self.note}


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
    part: Optional[str] = None            # the part of a pair the function computes (Σ̂ of the mvn solution)
    note: Optional[str] = None            # right as called, but not with (n, 1) columns

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
                "tolerance": self.tolerance, "diagnosis": self.diagnosis, "part": self.part, "note": self.note,
                "runs_your_code": True}

    def to_text(self) -> str:
        noun = quantity_noun(self.quantity) if not self.part else f"{self.part} (part of the {quantity_noun(self.quantity)})"
        target = f"{self.path}:{self.function}"
        lines = [f"This runs your own code: {self.path} is imported in a separate Python process "
                 f"(time limit {CODE_SECONDS:g} s) and {self.call} is called at {len(self.cases)} random inputs."]
        for case in self.cases:
            error = "NaN or infinity" if case.max_relative_error is None else f"{case.max_relative_error:.2e}"
            lines.append(f"  {case.sizes_text:<24} max relative error {error}")
        worst = self.max_relative_error
        worst_text = "NaN" if worst is None else f"{worst:.2e}"
        if self.correct:
            lines.append(f"correct: {target} computes the {noun} of {self.model}, {unicode(self.expected)} "
                         f"(max relative error {worst_text} ≤ {self.tolerance:g})")
        else:
            lines.append(f"wrong: {target} does not compute the {noun} of {self.model}, {unicode(self.expected)} "
                         f"(max relative error {worst_text} > {self.tolerance:g})")
            lines.append(f"  diagnosis: {self.diagnosis}")
        if self.note:
            lines.append(f"  note: {self.note}")
        lines.append(f"  your function: {self.function_latex if self.function_latex else self.latex_note}")
        lines.append(f"  derived:       {latex(self.expected)}")
        return "\n".join(lines)


def arguments(model: str, quantity: str = "gradient") -> list:
    """The model's symbols in the calling order: parameters, then data (matrices, vectors, entries x_i),
    then the penalty λ; for a model file, the parameters, its other symbols as declared, then the undeclared
    scalars `quantity` uses (the step size η of an update, not of the gradient)."""
    context = model_context(model)
    unique = []
    for obj in context.symbols.values():
        if obj in unique or isinstance(obj, sp.Pow) or getattr(obj, "is_integer", False):
            continue
        unique.append(obj)
    name = lambda o: str(o.label) if isinstance(o, sp.IndexedBase) else o.name
    resolved = resolve(model)
    if isinstance(resolved, Model):   # DESIGN §8: the parameters, then the other symbols in declared order
        declared = resolved.parameter_objects() + [o for n, o in resolved.objects().items()
                                                   if n not in resolved.parameters]
        used = _symbols_of(context.results.get(quantity))
        return declared + sorted((o for o in unique if o not in declared and o in used), key=name)
    is_data = lambda o: isinstance(o, (sp.MatrixSymbol, sp.IndexedBase)) and o != context.parameter
    parameters = [context.parameter] if context.parameter is not None else []
    parameters += sorted((o for o in unique if not is_data(o) and o not in parameters and name(o) != "lambda"),
                         key=name)
    data = sorted((o for o in unique if is_data(o)), key=name)
    penalty = [o for o in unique if not is_data(o) and name(o) == "lambda"]
    return parameters + data + penalty


def _symbols_of(expr) -> set:
    return set() if expr is None else expr.free_symbols | expr.atoms(sp.MatrixSymbol, sp.IndexedBase)


def argument_names(model: str, quantity: str = "gradient") -> list[str]:
    """The names of `arguments`, as the model writes them ("beta", "X", "y", "lambda")."""
    return [str(o.label) if isinstance(o, sp.IndexedBase) else o.name for o in arguments(model, quantity)]


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

    The inputs include points where the linear predictor is large (|Xβ| up to 800, where e^{Xβ} overflows
    unless the code is written stably), and every call is repeated with the vectors as columns ((n, 1),
    as a CSV column often arrives): a function that is right for 1-d vectors only gets a note, not a
    failure. A result that is a pair (the mvn (μ̂, Σ̂)) may be returned as a tuple, or one part alone.
    This executes the person's own code (in a child process, with `timeout` seconds for everything).
    """
    import time
    started = time.monotonic()
    context = model_context(model)
    expected = context.result(quantity)
    path, function = _split_target(target)
    parts = context.parts(quantity) or [(None, expected)]
    if isinstance(expected, sp.Tuple) and parts[0][0] is None:
        raise NotSupported(f"the {context.name} {quantity} is a pair of results that check-code cannot compare")
    symbols = arguments(model, quantity)
    names = argument_names(model, quantity)
    call = f"{function}({', '.join(python_name(n) for n in names)})"
    passed = list(zip(names, symbols))
    envs, notes = _inputs(context, [expected, *symbols], parts)
    whole = None if isinstance(expected, sp.Tuple) else values_of(expected, envs, f"the {quantity}")
    wanted = [[values_of(value, [env], f"the {name or quantity}")[0] for name, value in parts] for env in envs]
    cases = [[_argument(_value(obj, env)) for obj in symbols] for env in envs]
    target_text = f"{path}:{function}"
    y = context.symbols.get("y")
    columns = [[_argument(_value(obj, env), column=obj == y) for obj in symbols] for env in envs[:2]] if y else []
    try:
        reply = run_function(path, function, cases, timeout, probes=columns)
    except CallFailed as failure:
        order = _other_order(call, passed, failure.parameters)
        raise DeriveError(f"{target_text} {order}" if order else f"{failure}. {_convention(call, passed)}") from None
    part = _best_part(reply["outputs"], whole, wanted, parts)
    matched = [_matched(output, whole[k] if whole else None, wanted[k], parts, target_text, quantity, envs[k], call,
                        part) for k, output in enumerate(reply["outputs"])]
    part = matched[0][2]
    code_cases = []
    for (got, want, _), env, note in zip(matched, envs, notes):
        got, want = _stacked(got), _stacked(want)
        if not np.all(np.isfinite(got)):
            code_cases.append(CodeCase(dimensions(env), None, note))
            continue
        code_cases.append(CodeCase(dimensions(env), relative_error(got, want), note))
    finite = all(c.max_relative_error is not None for c in code_cases)
    correct = finite and all(c.max_relative_error <= TOLERANCE for c in code_cases)
    diagnosis, column_note = None, None
    if correct:
        column_note = _column_note(reply["probes"], matched)
    else:
        diagnosis = _failure(context, quantity, code_cases, matched, envs, parts)
        order = _other_order(call, passed, reply.get("parameters"))
        diagnosis = f"{order}" if order else f"{diagnosis} ({_convention(call, passed)})"
    return CodeCheckResult(correct, context.name, quantity, path, function, call, expected, code_cases, TOLERANCE,
                           diagnosis, reply.get("latex"), reply.get("latex_note"), time.monotonic() - started,
                           part, column_note)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got − want| / max |want| (the max-norm relative error of one result)."""
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
    return float(np.max(np.abs(got - want), initial=0.0)) / scale


def _stacked(arrays) -> np.ndarray:
    return np.vstack([np.reshape(a, (-1, 1)) for a in arrays])


LARGE_PREDICTORS = (30.0, 800.0)   # max |Xβ| at the extra points: e^{800} overflows a float


def _inputs(context, exprs, parts) -> tuple[list, list]:
    """The random points, and points where the linear predictor Xβ (XW) is large, with a note for each."""
    envs = context.domains.points(exprs, seed=7)
    notes = [""] * len(envs)
    parameter = context.parameter
    if parameter is None or "X" not in context.symbols or parameter.shape[0] != context.symbols["X"].shape[1]:
        return envs, notes
    for size, env in zip(LARGE_PREDICTORS, envs):
        predictor = np.asarray(env["X"]) @ np.asarray(env[parameter.name])
        moved = {**env, parameter.name: np.asarray(env[parameter.name]) * size / np.max(np.abs(predictor))}
        try:   # only where the expected result itself is finite there
            for _, value in parts:
                values_of(value, [moved])
        except DeriveError:
            continue
        envs.append(moved)
        notes.append(f"|{unicode(context.symbols['X'] * parameter)}| up to {size:g}")
    return envs, notes


def _best_part(outputs, whole, wanted, parts) -> Optional[str]:
    """For one array where a pair of results is expected: the part it is closest to, among those of its shape."""
    if len(parts) < 2 or any(len(o) != 1 for o in outputs) or whole is not None and _fits(outputs[0][0], whole[0]):
        return None
    errors = {}
    for index, (name, _) in enumerate(parts):
        if all(_fits(o[0], w[index]) for o, w in zip(outputs, wanted)):
            errors[name] = max(_relative_error(o[0], w[index]) for o, w in zip(outputs, wanted))
    return min(errors, key=errors.get) if errors else None


def _relative_error(output: dict, wanted: np.ndarray) -> float:
    """The relative error of a reply's values against expected ones (infinite where not finite)."""
    values = np.array([np.nan if v is None else v for v in output["values"]], dtype=float)
    error = relative_error(values, wanted.ravel())
    return error if np.isfinite(error) else np.inf


def _matched(output: list, whole, wanted: list, parts, target: str, quantity: str, env, call: str, part=None):
    """(the function's values, the expected values they are compared with, the part of a pair they are or
    None): the whole result, every part of a pair (a tuple), or one part alone (Σ̂ of the mvn solution)."""
    if len(output) == 1 and whole is not None and _fits(output[0], whole):
        return [_shaped(output[0], whole, target, quantity, env, call)], [whole], None
    if len(output) == 1 and len(parts) > 1 and all(w.shape == (1, 1) for w in wanted) and \
            tuple(output[0]["shape"]) == (len(parts),):
        # several scalar parameters (a Gamma's a, b): one array of their derivatives, in the parameters' order
        output = [{"shape": [], "values": [v]} for v in output[0]["values"]]
    if len(output) == len(parts) > 1:
        return [_shaped(o, w, target, quantity, env, call) for o, w in zip(output, wanted)], wanted, None
    if len(output) == 1 and part is not None:
        w = next(w for (name, _), w in zip(parts, wanted) if name == part)
        return [_shaped(output[0], w, target, quantity, env, call)], [w], part
    if len(output) == 1 and whole is not None:
        _shaped(output[0], whole, target, quantity, env, call)   # raises, naming the shapes
    shapes = ", ".join(str(tuple(o["shape"])) for o in output)
    expected = " and ".join(f"{name} {w.shape}" for (name, _), w in zip(parts, wanted))
    raise DeriveError(f"{target} returned {len(output)} result{'s' if len(output) > 1 else ''} of shape {shapes}; "
                      f"the {quantity_noun(quantity)} is {expected} ({call})")


def _fits(output: dict, wanted: np.ndarray) -> bool:
    shape = tuple(output["shape"])
    return shape == wanted.shape or (wanted.shape[1] == 1 and shape == (wanted.shape[0],)) or \
        (wanted.shape == (1, 1) and len(output["values"]) == 1)


def _failure(context, quantity, code_cases, matched, envs, parts) -> str:
    """The diagnosis of a wrong function: NaN or wrong only where the predictor is large (an overflow), else
    the mistake, part by part for a pair."""
    bad = [c for c in code_cases if c.max_relative_error is None or c.max_relative_error > TOLERANCE]
    if all(c.note for c in bad):
        worst = bad[-1]
        what = "NaN or infinity" if worst.max_relative_error is None else "wrong values"
        return (f"the function returns {what} at inputs with {worst.note} (it is right at the other inputs): "
                "e^{z} overflows for large z; compute σ(z) as scipy.special.expit(z), log(1 + e^{z}) as "
                "np.logaddexp(0, z), and softmax after subtracting each row's maximum")
    case = next((c for c in bad if c.max_relative_error is None), None)
    if case is not None:
        return f"the function returned NaN or infinity at random inputs ({case.sizes_text})"
    ordinary = [k for k, c in enumerate(code_cases) if not c.note]
    part = matched[0][2]
    if part is not None or len(matched[0][0]) == 1:
        expected = next(value for name, value in parts if name == part) if part else context.result(quantity)
        return _diagnose(context, quantity, expected, [matched[k][0][0] for k in ordinary],
                         [matched[k][1][0] for k in ordinary], [envs[k] for k in ordinary], part)
    wrong = []
    for index, (name, value) in enumerate(parts):
        got = [matched[k][0][index] for k in ordinary]
        want = [matched[k][1][index] for k in ordinary]
        if any(relative_error(g, w) > TOLERANCE for g, w in zip(got, want)):
            wrong.append(f"part {index + 1}, {name}, is wrong: "
                         + _diagnose(context, quantity, value, got, want, [envs[k] for k in ordinary], name))
    return "; ".join(wrong)


def _column_note(probes, matched) -> Optional[str]:
    """A note when the function is right for y of shape (n,) but not for y as an (n, 1) column."""
    for probe, (_, wanted, _) in zip(probes, matched):
        if "error" in probe:
            return (f"with y passed as an (n, 1) column, as a CSV column often arrives, it raises {probe['error']}; "
                    "y = np.ravel(y) at the start makes it work for both")
        values = np.array([np.nan if v is None else v for v in probe["values"]])
        want = _stacked(wanted).ravel()
        if values.size != want.size or not np.allclose(values, want, rtol=1e-6, atol=1e-9):
            return (f"with y passed as an (n, 1) column, as a CSV column often arrives, it returns something else "
                    f"(shape {tuple(probe['shape'])}: a column minus a 1-d vector broadcasts to an n×n matrix); "
                    "y = np.ravel(y) at the start makes it work for both")
    return None


def _convention(call: str, names) -> str:
    """The calling convention, as every failure message states it."""
    return f"derive calls {call}, positionally: {_shapes_text(names)}"


def calling_convention(model: str, function: str = "f") -> str:
    """``f(beta, X, y) with beta (d,), X (n, d), y (n,)``: how check-code calls a function for `model`."""
    names = argument_names(model)
    return f"{function}({', '.join(python_name(n) for n in names)}) with {_shapes_text(zip(names, arguments(model)))}"


def _other_order(call: str, names, parameters) -> Optional[str]:
    """When the function's own parameter names are the convention's in another order (f(X, y, beta)): what
    to change; else None."""
    if not parameters or len(parameters) != len(names):
        return None
    conventional = [python_name(n) for n, _ in names]
    roles = [_role(p, conventional) for p in parameters]
    if None in roles or len(set(roles)) != len(roles) or roles == conventional:
        return None
    reordered = f"{call.partition('(')[0]}({', '.join(_renamed(conventional, roles, parameters))})"
    return (f"takes its arguments as ({', '.join(parameters)}), but {_convention(call, names)}: "
            f"write it as {reordered}")


_ALIASES = {"beta": {"beta", "b", "w", "theta", "coef", "params", "weights", "β"}, "X": {"x", "design", "features"},
            "y": {"y", "t", "target", "targets", "labels"}, "lam": {"lam", "lmbda", "lambda_", "alpha", "reg", "l2"}}


def _role(parameter: str, conventional: list[str]) -> Optional[str]:
    if parameter in conventional:
        return parameter
    for role, aliases in _ALIASES.items():
        if role in conventional and parameter.lower() in aliases:
            return role
    return None


def _renamed(conventional, roles, parameters) -> list[str]:
    by_role = dict(zip(roles, parameters))
    return [by_role[c] for c in conventional]


def _shapes_text(names) -> str:
    """How each argument is passed: "beta (d,), X (n, d), y (n,), lam a float"."""
    return ", ".join(f"{python_name(name)} {_passed_as(obj)}" for name, obj in names)


def _passed_as(obj) -> str:
    if isinstance(obj, sp.IndexedBase):
        return f"({unicode(obj.shape[0])},)"
    if isinstance(obj, sp.MatrixSymbol):
        rows, cols = (unicode(k) for k in obj.shape)
        return f"({rows},)" if cols == "1" else f"({rows}, {cols})"
    return "a float"


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


def _argument(value, column: bool = False):
    """A value as the child process receives it: vectors 1-d (or (n, 1) columns when `column`), floats."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return float(array)
    if array.ndim == 2 and array.shape[1] == 1 and not column:
        array = array[:, 0]
    return array.tolist()


def run_function(path: str, function: str, cases: list, timeout: float = CODE_SECONDS, probes=()) -> dict:
    """Import `path` and call `function` on each case in a child Python process; its reply as a dict.
    `probes` are further calls whose failures are recorded in the reply (`probes`), not raised."""
    target = f"{path}:{function}"
    try:
        completed = subprocess.run([sys.executable, "-c", RUNNER, path, function, str(CODE_LATEX)],
                                   input=json.dumps({"cases": cases, "probes": list(probes)}),
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
        raise CallFailed(f"{target}: {reply['error']}{case}", reply.get("parameters"))
    return reply


class CallFailed(DeriveError):
    """The person's function raised or could not be imported; `parameters` are its argument names, if known."""

    def __init__(self, message: str, parameters=None):
        super().__init__(message)
        self.parameters = parameters


def _shaped(output: dict, wanted: np.ndarray, target: str, quantity: str, env, call: str = "") -> np.ndarray:
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
                      f"{quantity_noun(quantity)} has shape {want}" + (f" ({call})" if call else ""))


def _diagnose(context, quantity: str, expected, outputs, expected_values, envs, part=None) -> str:
    others, related = confusable_results(context, quantity)
    c = Comparison(outputs, expected_values, envs, None, expected,
                   reference=f"the expected {part or quantity_noun(quantity)}", subject="the function's result",
                   quantity=quantity, model=context.name, function="the loss", parameter=context.parameter,
                   others=values_by_name(others, envs), related=values_by_name(related, envs))
    return diagnose(c)
