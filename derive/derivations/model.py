"""A model as a textbook states it (DESIGN §8): its symbols with shapes and assumptions, its parameters,
and a loss or a likelihood (with an optional penalty and prior); read from TOML or built in Python.

    >>> m = model(loss="(y - X b)' W (y - X b)", wrt="b", shapes="X:nxd, y:n, W:nxn sym")
    >>> m.parameters, m.symbol("W").assumptions
    (('beta',), ('sym',))

A `Model` is a frozen record of the statement's text; `objects()` turns its symbols into SymPy objects and
`expression(text)` reads a statement with derive's own grammar (`derive.parse`), never `sympify`. Errors in
a model file name the file and the line of the offending key (`wls.toml, line 4: ...`) and what is accepted.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

import sympy as sp

from derive.errors import DeriveError, NotSupported, ParseError, ShapeError
from derive.expr import symbols as standard
from derive.expr.symbols import ProbabilityMatrix
from derive.parse import parse, parse_shapes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEYS = ("name", "title", "symbols", "parameters", "loss", "likelihood", "penalty", "prior", "values")
ASSUMPTIONS = {"sym": "symmetric", "pd": "symmetric positive definite", "diag": "diagonal",
               "pos": "positive", "prob": "probabilities: a vector summing to 1, or a matrix whose rows do"}
# How names that stand for a square are written (σ², τ²): the symbol "sigma^2", as the built-in models have it.
SQUARED = re.compile(r"(sigma|tau|s|omega)2")
# The spellings of the course's own symbols, so that a model file's lam is the ridge λ.
STANDARD_SCALARS = {"lam": standard.lam, "lambda": standard.lam}


class ModelError(DeriveError):
    """A model statement that cannot be read: names the file and line, and what is accepted."""


@dataclass(frozen=True)
class SymbolSpec:
    """One declared symbol: its shape (() for a scalar, (rows, cols) of names or numbers) and assumptions."""

    name: str
    shape: tuple = ()
    assumptions: tuple = ()

    @property
    def text(self) -> str:
        """The declaration as a model file writes it: "n x d, pd", "n", "pos", "scalar"."""
        if not self.shape:
            return ", ".join(self.assumptions) or "scalar"
        dims = " x ".join(str(k) for k in self.shape) if self.shape[1] != 1 else str(self.shape[0])
        return ", ".join((dims, *self.assumptions))


@dataclass(frozen=True)
class Model:
    """The statement of a model. `loss` xor `likelihood`; `penalty` adds to the loss, `prior` makes it MAP."""

    name: str
    symbols: tuple                       # SymbolSpec, in the order written
    parameters: tuple                    # names, in the order written
    title: str = ""
    loss: Optional[str] = None
    likelihood: Optional[str] = None
    penalty: Optional[str] = None
    prior: Optional[str] = None
    values: tuple = ()                   # (name, float) known scalars
    source: Optional[str] = field(default=None, compare=False)   # the model file's text
    path: Optional[str] = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name

    # --- reading -------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path) -> "Model":
        """The model in a TOML file; `ModelError` naming the file's line for anything it cannot read."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelError(f"unknown model {str(path)!r}: there is no such model file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ModelError(f"cannot read the model file {path}: {error}") from None
        return cls.from_text(text, origin=str(path), default_name=path.stem)

    @classmethod
    def from_text(cls, text: str, origin: str = "<model>", default_name: str = "model") -> "Model":
        where = _Where(text, origin)
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ModelError(f"{origin}: not TOML: {error}") from None
        for key in table:
            if key not in KEYS:
                raise where.error(key, f"unknown key {key!r}; a model file has: {', '.join(KEYS)}")
        for key in ("name", "title", "loss", "likelihood", "penalty", "prior"):
            if key in table and not isinstance(table[key], str):
                raise where.error(key, f"{key} must be a string")
        symbols = table.get("symbols", {})
        if not isinstance(symbols, dict) or not all(isinstance(v, str) for v in symbols.values()):
            raise where.error("symbols", 'symbols is a table of name = "shape[, assumptions]", such as '
                              '{ X = "n x d", y = "n", W = "n x n, pd", lam = "pos" }')
        specs = []
        for name, declaration in symbols.items():
            try:
                specs.append(symbol_spec(name, declaration))
            except DeriveError as error:
                raise where.error(name, str(error), within="symbols") from None
        parameters = table.get("parameters")
        if isinstance(parameters, str):
            parameters = [parameters]
        if not isinstance(parameters, list) or not parameters or not all(isinstance(p, str) for p in parameters):
            raise where.error("parameters", 'parameters is a list of names, such as parameters = ["beta"]')
        values = table.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in values.values()):
            raise where.error("values", "values is a table of numbers, such as values = { lam = 0.5 }")
        built = cls(name=table.get("name", default_name), title=table.get("title", ""), symbols=tuple(specs),
                    parameters=tuple(parameters), loss=table.get("loss"), likelihood=table.get("likelihood"),
                    penalty=table.get("penalty"), prior=table.get("prior"),
                    values=tuple((k, float(v)) for k, v in values.items()), source=text, path=origin)
        return built.validated(where)

    # --- the statement as SymPy ------------------------------------------------------------------------
    def symbol(self, name: str) -> Optional[SymbolSpec]:
        return next((s for s in self.symbols if s.name == name), None)

    def objects(self) -> dict:
        """Name → SymPy object for every declared symbol (MatrixSymbols with positive integer dimensions)."""
        found = {}
        for spec in self.symbols:
            if spec.shape:
                rows, cols = (_dimension(k) for k in spec.shape)
                # NOTE: prob is a kind of matrix (Y𝟏 = 𝟏 is read off its class); a symmetric matrix stays
                # plain, so that the planner shows Wᵀ = W as a step of its own.
                kind = ProbabilityMatrix if "prob" in spec.assumptions else sp.MatrixSymbol
                found[spec.name] = kind(spec.name, rows, cols)
            else:
                found[spec.name] = scalar_symbol(spec.name, "pos" in spec.assumptions)
        return found

    def context(self) -> dict:
        """The names a statement may use: the declared objects, their Greek/squared spellings too."""
        names = dict(self.objects())
        for name, obj in list(names.items()):
            if isinstance(obj, sp.Symbol) and obj.name != name:
                names[obj.name] = obj       # sigma2 is σ², and so is \sigma^2
        for name, obj in STANDARD_SCALARS.items():
            if any(s.name == name for s in self.symbols):
                names.setdefault(name, obj)
        return names

    def expression(self, text: str, extra: Mapping | None = None):
        """`text` read in the model's context (derive's grammar; undeclared names are scalars)."""
        context = {**self.context(), **(extra or {})}
        # NOTE: ||v|| written after a factor (lam ||beta||^2) is read by the grammar only as \|v\|
        return parse(text.replace("||", r"\|"), symbols=context)

    def parameter_objects(self) -> list:
        objects = self.context()
        return [objects[p] for p in self.parameters]

    def error(self, key: str, message: str) -> ModelError:
        """An error about the statement's `key`, naming the model file's line where there is a file."""
        return _Where(self.source or "", self.path or self.name).error(key, message)

    # --- checks --------------------------------------------------------------------------------------
    def validated(self, where: "_Where | None" = None) -> "Model":
        """This model, after checking what can be checked without deriving anything."""
        where = where or _Where("", self.name)
        if (self.loss is None) == (self.likelihood is None):
            raise where.error("loss" if self.loss else "likelihood",
                              "a model has a loss or a likelihood (one of them): loss = \"(y - X beta)' "
                              "(y - X beta)\" or likelihood = \"y_i ~ Bernoulli(sigmoid(x_i' beta))\"")
        if self.prior and not self.likelihood:
            raise where.error("prior", "a prior needs a likelihood (the MAP estimate); with a loss, "
                              "add a penalty instead")
        declared = {s.name for s in self.symbols}
        for p in self.parameters:
            if p not in declared:
                raise where.error("parameters", f"the parameter {p!r} is not declared in symbols; declare its "
                                  f'shape, such as {p} = "d" (a vector) or {p} = "pos" (a positive scalar)')
        for name, _ in self.values:
            if name in self.parameters:
                raise where.error("values", f"{name} is a parameter (estimated by the fit), not a known value")
        key = "loss" if self.loss is not None else "likelihood"
        for part in (key, "penalty"):
            text = getattr(self, part)
            if text is None:
                continue
            try:
                expr = self.expression(text) if part != "likelihood" else None
            except (ParseError, ShapeError, NotSupported) as error:
                raise where.error(part, f"cannot read the {part}: {error}") from None
            if expr is not None:
                _check_scalar(expr, part, where)
                self._check_names(expr, part, where)
        return self

    def _check_names(self, expr, part, where) -> None:
        """A matrix in a statement must be declared (an undeclared name is a scalar, which `parse` allows)."""
        parameters = set(map(str, self.parameter_objects()))
        if not (set(map(str, expr.free_symbols)) | {str(m) for m in expr.atoms(sp.MatrixSymbol)}) & parameters:
            raise where.error(part, f"the {part} does not depend on the parameters "
                              f"({', '.join(self.parameters)})")


def _check_scalar(expr, part, where) -> None:
    if getattr(expr, "is_Matrix", False) and expr.shape != (1, 1):
        raise where.error(part, f"the {part} must be a scalar; it is {expr.shape[0]}×{expr.shape[1]}")


def symbol_spec(name: str, declaration: str) -> SymbolSpec:
    """A symbol value of a model file: "n x d", "n", "scalar", "pos", with assumptions after a comma."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ModelError(f"{name!r} is not a symbol name (letters, digits and _)")
    shape_text, *assumptions = [part.strip() for part in declaration.split(",")]
    assumptions = tuple(a for a in assumptions if a)
    for a in assumptions:
        if a not in ASSUMPTIONS:
            raise ModelError(f'unknown assumption {a!r} for {name}; assumptions: '
                             + ", ".join(f"{k} ({v})" for k, v in ASSUMPTIONS.items()))
    if shape_text in ("scalar", "pos", ""):
        if shape_text == "pos":
            assumptions = ("pos", *assumptions)
        shape = ()
    else:
        shape = parse_shapes(f"{name}:{shape_text.replace(' ', '')}")[name]
    if shape and "pos" in assumptions:
        raise ModelError(f"{name}: 'pos' is for scalars; a matrix is 'pd' (positive definite)")
    if not shape and "prob" in assumptions:
        raise ModelError(f"{name}: prob applies to a vector or a matrix (probabilities), not a scalar")
    if not shape and set(assumptions) - {"pos"}:
        raise ModelError(f"{name}: {', '.join(set(assumptions) - {'pos'})} applies to a square matrix, not a scalar")
    if set(assumptions) & {"sym", "pd", "diag"} and (len(shape) != 2 or shape[0] != shape[1]):
        raise ModelError(f"{name}: {', '.join(assumptions)} applies to a square matrix, not {declaration!r}")
    return SymbolSpec(name, shape, tuple(dict.fromkeys(assumptions)))


def scalar_symbol(name: str, positive: bool = False) -> sp.Symbol:
    """A model's scalar: lam is the course's λ; sigma2, tau2 are σ², τ² (written "sigma^2" as the built-ins do)."""
    if name in STANDARD_SCALARS:
        return STANDARD_SCALARS[name]
    match = SQUARED.fullmatch(name)
    shown = f"{match.group(1)}^2" if match else name
    return sp.Symbol(shown, positive=True) if positive else sp.Symbol(shown, real=True)


def _dimension(k):
    return k if isinstance(k, int) else sp.Symbol(str(k), integer=True, positive=True)


def model(*, loss: str | None = None, likelihood: str | None = None, wrt=None, parameters=None, shapes=None,
          penalty: str | None = None, prior: str | None = None, values: Mapping | None = None,
          name: str = "model", title: str = "") -> Model:
    """A one-off model (DESIGN §8): `derive.model(loss="(y - X b)' W (y - X b)", wrt="b",
    shapes="X:nxd, y:n, W:nxn sym")`. `wrt` (or `parameters`) names the parameters, `shapes` is the
    `--shapes` text or a dict {name: shape or "shape, assumptions"}; undeclared names are scalars."""
    specs = _shape_specs(shapes)
    wanted = parameters if parameters is not None else wrt
    if wanted is None:
        raise ModelError("name the parameters: wrt=\"beta\" (or parameters=[...])")
    wanted = [w.strip() for w in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
    declared = {s.name for s in specs}
    statement = " ".join(t for t in (loss, likelihood, penalty) if t)
    for p in wanted:
        if p not in declared:
            specs.append(_inferred_parameter(p, specs, statement))
    # The parameter vector may be written b, w or theta (DESIGN §5): it is β, as in the built-in models.
    renamed = {p: "beta" for p in wanted if p in standard.PARAMETER_ALIASES[1:] and "beta" not in declared
               and _vector(specs, p)}
    specs = [SymbolSpec(renamed.get(s.name, s.name), s.shape, s.assumptions) for s in specs]
    texts = [_renamed(t, renamed) if t else t for t in (loss, likelihood, penalty, prior)]
    return Model(name=name, title=title, symbols=tuple(specs), parameters=tuple(renamed.get(p, p) for p in wanted),
                 loss=texts[0], likelihood=texts[1], penalty=texts[2], prior=texts[3],
                 values=tuple((k, float(v)) for k, v in (values or {}).items())).validated()


def _inferred_parameter(name: str, specs, statement: str) -> SymbolSpec:
    """An undeclared parameter: the vector that a declared matrix multiplies (X b, x_i' b: d×1), else a scalar."""
    for spec in specs:
        if len(spec.shape) == 2 and spec.shape[1] != 1:
            row = rf"(?:{re.escape(spec.name)}|{re.escape(spec.name.lower())}_\{{?i\}}?\s*(?:'|\^T|\^\{{T\}}|\.T))"
            if re.search(rf"{row}\s*\*?\s*{re.escape(name)}(?![A-Za-z0-9_])", statement):
                return SymbolSpec(name, (spec.shape[1], 1))
    return SymbolSpec(name)


def _vector(specs, name) -> bool:
    spec = next(s for s in specs if s.name == name)
    return len(spec.shape) == 2 and spec.shape[1] == 1


def _renamed(text: str, renamed: Mapping) -> str:
    for old, new in renamed.items():
        text = re.sub(rf"(?<![A-Za-z0-9_\\]){re.escape(old)}(?![A-Za-z0-9_])", new, text)
    return text


def _shape_specs(shapes) -> list:
    if shapes is None:
        return []
    if isinstance(shapes, str):
        specs = []
        for entry in _entries(shapes):
            name, _, rest = entry.partition(":")
            words = rest.split()
            dims = words[0] if words and words[0] not in ASSUMPTIONS else "scalar"
            marks = [w for w in words if w in ASSUMPTIONS]
            if len(words) - len(marks) > 1:
                raise ModelError(f'cannot read "{entry.strip()}" in the shapes: write name:dims [sym|pd|diag|pos]')
            specs.append(symbol_spec(name.strip(), ", ".join([dims, *marks])))
        return specs
    specs = []
    for name, shape in shapes.items():
        if isinstance(shape, str):
            specs.append(symbol_spec(name, shape))
        else:
            shape = tuple(shape)
            specs.append(SymbolSpec(name, () if shape in ((), (1,), (1, 1)) else (shape + (1,))[:2]))
    return specs


def _entries(text: str) -> list:
    return [e for e in re.split(r"[,;]", text) if e.strip()]


class _Where:
    """Finds the line of a key in a model file's text, for messages that name it."""

    def __init__(self, text: str, origin: str):
        self.lines, self.origin = text.splitlines(), origin

    def line(self, key: str, within: str | None = None) -> Optional[int]:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        inline = re.compile(rf"[{{,]\s*{re.escape(key)}\s*=")
        for number, line in enumerate(self.lines, 1):
            if pattern.search(line) or (within and within in line and inline.search(line)):
                return number
        return None

    def error(self, key: str, message: str, within: str | None = None) -> ModelError:
        number = self.line(key, within) or (self.line(within) if within else None)
        place = f"{self.origin}, line {number}" if number else self.origin
        return ModelError(f"{place}: {message}")
