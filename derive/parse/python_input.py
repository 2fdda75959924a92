"""Python functions as input: `derive.diff(loss, wrt="w")` for a plain function such as

    def loss(w, b, x, y):
        return (y - (w*x + b))**2

The function is shown as LaTeX with latexify-py (`latexify.get_latex`) and turned into a SymPy expression
by *tracing*: it is called once with SymPy symbols for its parameters (matrix symbols for the names given
in `shapes`), with `math`, `numpy`, `cmath` (and `scipy.special`) replaced by a namespace of the same
names that builds SymPy expressions (`np.exp(X @ w)` becomes exp(Xw) entrywise, `np.sum(v)` becomes 𝟏ᵀv).
The function's code is not read or evaluated as text; it runs as Python, as its author wrote it, which
is why this is for one's own functions, under the same time limit as the rest of `derive.diff`.

What cannot be traced raises `NotSupported` with the reason: branches on the arguments (`if x > 0`,
`max`, `abs` of a vector), loops over data (`for xi in x`), indexing, and library calls the namespace
does not know (`np.linalg.norm`, `np.where`, ...).
"""
from __future__ import annotations

import builtins
import cmath
import inspect
import math
import sys
import types
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import sympy as sp

from derive.errors import DeriveError, NotSupported
from derive.expr.functions import BY_WORD, Elementwise, apply, softplus

__all__ = ["TracedFunction", "trace_function", "function_latex"]


@dataclass(frozen=True)
class TracedFunction:
    """A Python function read as mathematics: its name, parameters, SymPy expression and LaTeX (or None)."""

    name: str
    parameters: tuple
    expression: sp.Basic
    latex: Optional[str]

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.parameters)})"


def function_latex(fn: Callable) -> Optional[str]:
    """The function's definition as LaTeX (latexify-py), or None where latexify cannot read it."""
    try:
        import latexify
        return latexify.get_latex(fn)
    except Exception:  # noqa: BLE001 - latexify raises many kinds of errors; the LaTeX is only a display
        return None


def trace_function(fn: Callable, shapes: Optional[Mapping] = None) -> TracedFunction:
    """Call `fn` on SymPy symbols (matrices for the names in `shapes`) and return what it computes."""
    name = getattr(fn, "__name__", "f")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise NotSupported(f"cannot read the parameters of {name}") from None
    parameters = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise NotSupported(f"{name} takes *{p.name}: give each variable as its own parameter")
        parameters.append(p.name)
    arguments = [_symbol(p, (shapes or {}).get(p)) for p in parameters]
    traced = _with_symbolic_modules(fn)
    try:
        value = traced(*arguments)
    except DeriveError:
        raise
    except TypeError as error:
        raise NotSupported(_explain(name, error)) from None
    except (AttributeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError,
            RecursionError, NotImplementedError) as error:
        raise NotSupported(f"cannot trace the Python function {name}: {error}") from None
    expression = _plain_matrices(_as_expression(value, name))
    return TracedFunction(name, tuple(parameters), _exact(expression), function_latex(fn))


def _symbol(name: str, shape):
    shape = tuple(shape or ())
    if not shape:
        return sp.Symbol(name)
    if len(shape) > 2:
        raise NotSupported(f"{name} has {len(shape)} dimensions; derive handles scalars, vectors and matrices")
    rows, cols = (shape + (1,))[:2]
    size = lambda k: sp.Integer(k) if isinstance(k, int) else sp.Symbol(str(k), integer=True, positive=True)
    return _TracedMatrix(name, size(rows), size(cols))


class _TracedMatrix(sp.MatrixSymbol):
    """A matrix parameter while tracing: loops over it and indexing it are refused (a symbolic size has no
    last entry, so `for xi in x` would never end); replaced by a plain MatrixSymbol afterwards."""

    def __iter__(self):
        raise NotSupported(f"the function loops over {self.name}: derive differentiates formulas in whole "
                           "vectors; write the sum as a vector expression (np.sum(...), X @ w)")

    def __getitem__(self, key):
        raise NotSupported(f"the function indexes {self.name} ({self.name}[...]): derive differentiates "
                           "formulas in whole vectors and matrices")

    def __len__(self):
        raise NotSupported(f"the function takes len({self.name}): sizes are symbolic while deriving")


def _plain_matrices(expr):
    return expr.replace(lambda e: isinstance(e, _TracedMatrix), lambda e: sp.MatrixSymbol(e.name, *e.shape))


def _explain(name: str, error: TypeError) -> str:
    text = str(error)
    if "truth value" in text or "Relational" in text:
        return (f"{name} branches on its arguments (if, while, comparisons, max/min): it has no single "
                "formula to differentiate; write the branch-free expression")
    if "iterable" in text or "subscriptable" in text or "len()" in text or "index" in text:
        return (f"{name} loops over or indexes its arguments: derive differentiates formulas in whole "
                "variables; write the sum as a vector expression (np.sum(...), X @ w)")
    if "float" in text or "complex" in text or "int" in text:
        return (f"{name} calls a function that needs a number ({text}); use math/numpy functions derive knows: "
                + ", ".join(sorted(FUNCTIONS)))
    return f"cannot trace the Python function {name}: {text}"


def _as_expression(value, name: str):
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        entries = list(value.tolist() if hasattr(value, "tolist") else value)
        flat = [e[0] if isinstance(e, (list, tuple)) and len(e) == 1 else e for e in entries]
        if any(isinstance(e, (list, tuple)) for e in flat):
            raise NotSupported(f"{name} returns a nested list: return a scalar or a list of scalars")
        return sp.ImmutableMatrix([_as_expression(e, name) for e in flat])
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise NotSupported(f"{name} returns a bool, not a formula")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Float(value)
    # NOTE: never sympify here: a returned string would be parsed (and evaluated) as SymPy code
    raise NotSupported(f"{name} returns a {type(value).__name__}, not a formula")


def _exact(expr):
    """0.5 as 1/2: floats written in the function are decimals, kept exact."""
    floats = {f: sp.Rational(repr(float(f))) for f in expr.atoms(sp.Float)}
    return expr.xreplace(floats) if floats else expr


# ---------------------------------------------------------------------------------------------------
# The symbolic namespace that stands in for math / numpy / cmath / scipy.special
# ---------------------------------------------------------------------------------------------------
def _elementwise(function):
    def call(z):
        return apply(function, _sym(z))
    return call


def _sym(z):
    return _as_expression(z, "the function")


def _log1p(z):
    z = _sym(z)
    if getattr(z, "is_Matrix", False):
        return Elementwise("log", sp.OneMatrix(*z.shape) + z)
    return sp.log(1 + z)


def _expm1(z):
    z = _sym(z)
    if getattr(z, "is_Matrix", False):
        return Elementwise("exp", z) - sp.OneMatrix(*z.shape)
    return sp.exp(z) - 1


def _square_root(z):
    z = _sym(z)
    return sp.HadamardPower(z, sp.S.Half) if getattr(z, "is_Matrix", False) else sp.sqrt(z)


def _sum(v, axis=None):
    v = _sym(v)
    if not getattr(v, "is_Matrix", False):
        return v
    if axis is not None:
        raise NotSupported("sum along an axis is not supported: sum a vector, or write 1ᵀX")
    rows, cols = v.shape
    total = sp.OneMatrix(1, rows) * v
    return total if cols == 1 else total * sp.OneMatrix(cols, 1)


def _dot(a, b):
    a, b = _sym(a), _sym(b)
    if getattr(a, "is_Matrix", False) and getattr(b, "is_Matrix", False) and a.cols == 1 and b.cols == 1:
        return a.T * b
    return a * b


def _square(z):
    z = _sym(z)
    return sp.HadamardPower(z, 2) if getattr(z, "is_Matrix", False) else z ** 2


def _power(z, k):
    z = _sym(z)
    return sp.HadamardPower(z, k) if getattr(z, "is_Matrix", False) else z ** k


def _logaddexp(a, b):
    a, b = _sym(a), _sym(b)
    if a == 0 or b == 0:  # log(e⁰ + eᵘ) = softplus(u), entrywise on vectors
        return apply(softplus, b if a == 0 else a)
    if getattr(a, "is_Matrix", False) or getattr(b, "is_Matrix", False):
        raise NotSupported("logaddexp of vectors is not supported; write log(exp(a) + exp(b))")
    return sp.log(sp.exp(a) + sp.exp(b))


# The registry's functions by each of their words (numpy's arcsin, scipy's expit), then Python's own.
FUNCTIONS: dict[str, object] = {
    **{word: _elementwise(record.sympy) for word, record in BY_WORD.items()},
    "fabs": _elementwise(sp.Abs), "sqrt": _square_root,
    "log1p": _log1p, "expm1": _expm1, "sum": _sum, "dot": _dot, "matmul": lambda a, b: _sym(a) * _sym(b),
    "square": _square, "power": _power, "pow": _power, "logaddexp": _logaddexp,
    "transpose": lambda a: _sym(a).T, "trace": lambda a: sp.Trace(_sym(a)),
    "pi": sp.pi, "e": sp.E,
}
LINALG = {"inv": lambda a: sp.Inverse(_sym(a)), "det": lambda a: sp.Determinant(_sym(a))}


class _SymbolicModule(types.SimpleNamespace):
    """A stand-in for math/numpy/...: the names derive knows, and a clear error for any other."""

    def __init__(self, module_name: str, names: Mapping):
        super().__init__(**names)
        object.__setattr__(self, "_module_name", module_name)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotSupported(f"{self._module_name}.{name} cannot be traced symbolically; derive knows "
                           + ", ".join(sorted(k for k in FUNCTIONS if k not in ("pi", "e"))))


def _modules() -> dict:
    """The numeric modules a function may use, by module object → its symbolic stand-in."""
    found = {"math": math, "cmath": cmath}
    for name in ("numpy", "scipy.special"):
        if name in sys.modules:
            found[name] = sys.modules[name]
    stand_ins = {}
    for name, module in found.items():
        names = dict(FUNCTIONS)
        if name == "numpy":
            names["linalg"] = _SymbolicModule("numpy.linalg", LINALG)
        stand_ins[id(module)] = (module, _SymbolicModule(name, names))
    return stand_ins


def _replacements() -> dict:
    """id(value) → symbolic value, for module objects and the module functions imported by name."""
    out = {}
    for module, stand_in in _modules().values():
        out[id(module)] = stand_in
        for name, symbolic in FUNCTIONS.items():
            value = getattr(module, name, None)
            if value is not None and callable(value):
                out[id(value)] = symbolic
        if module.__name__ == "numpy":
            out[id(module.linalg)] = stand_in.linalg
    out[id(builtins.abs)] = FUNCTIONS["abs"]
    out[id(builtins.sum)] = FUNCTIONS["sum"]
    out[id(builtins.pow)] = FUNCTIONS["pow"]
    return out


def _with_symbolic_modules(fn: Callable, _done: Optional[dict] = None) -> Callable:
    """fn with math/numpy/... (modules and functions imported from them) replaced in its globals and closure;
    the plain Python functions it calls (a helper `sigmoid(z)`) are traced the same way."""
    if not isinstance(fn, types.FunctionType):
        return fn  # a builtin or callable object: called as it is
    done = {} if _done is None else _done
    if id(fn) in done:
        return done[id(fn)]
    replace = _replacements()

    def swap(value):
        if isinstance(value, float) and value in (math.pi, math.e):
            return sp.pi if value == math.pi else sp.E
        if isinstance(value, types.FunctionType) and id(value) not in replace:
            return _with_symbolic_modules(value, done)
        return replace.get(id(value), value)

    names = dict(fn.__globals__)
    traced = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__,
                                _cells(fn, swap) if fn.__closure__ else None)
    done[id(fn)] = traced   # before the globals are swapped: recursive helpers find themselves
    names.update({k: swap(v) for k, v in fn.__globals__.items() if k in fn.__code__.co_names})
    for builtin in ("abs", "sum", "pow"):  # the builtins, when the module does not shadow them
        if builtin in fn.__code__.co_names and builtin not in fn.__globals__:
            names[builtin] = FUNCTIONS[builtin]
    traced.__kwdefaults__ = fn.__kwdefaults__
    return traced


def _cells(fn, swap):
    return tuple(types.CellType(swap(cell.cell_contents)) if _filled(cell) else cell for cell in fn.__closure__)


def _filled(cell) -> bool:
    try:
        _ = cell.cell_contents  # an empty cell raises on read
    except ValueError:
        return False
    return True
