"""The `~` statements of a model: `y_i ~ Bernoulli(sigmoid(x_i' beta))` and `beta ~ N(0, tau2 I)`.

A small reader of its own for the statement's frame (observation, `~`, distribution, arguments); each
argument is an expression read by derive's grammar (`derive.parse`). In a likelihood, i = 1..n indexes
independent observations: `y_i` is entry i of the n-vector y and `x_i'` is row i of the n×d matrix X, so an
argument is read as the vector of all n entries (`x_i' beta` is Xβ) and `vector_form.entry` writes its
i-th entry again for the observation-wise steps.

A vector observation is a row: in `x_i ~ N(mu, Sigma)` with X declared n×d, x_i is row i of X as a d×1
column (`vector_sample.Row`), and so is y_i in `y_i ~ Categorical(softmax(W' x_i))` with Y declared n×K (a
one-hot row per observation). The family is then the multivariate one of that name, and its arguments are
read for observation i (x_i a column, x_i' its transpose), not stacked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from derive.derivations.distributions import POSITIVE_DEFINITE, Distribution, distribution
from derive.derivations.vector_form import entry
from derive.derivations.vector_sample import Row
from derive.errors import NotSupported, ParseError

FRAME = re.compile(r"^\s*(?P<lhs>[^~]+?)\s*~\s*(?P<name>[A-Za-z]+)\s*\((?P<args>.*)\)\s*$", re.S)
OBSERVATION = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)(?:_\{?(?P<index>[a-z])\}?)?$")
# x_i' (x_i^T, x_i^{T}, x_i^\top, x_i.T): row i of a matrix, transposed into a row vector
ROW = re.compile(r"(?<![A-Za-z0-9_\\])(?P<name>[A-Za-z][A-Za-z0-9]*)_\{?(?P<index>[a-z])\}?"
                 r"\s*(?:'|\^\{?T\}?|\^\{?\\top\}?|\^\{?\\intercal\}?|\.T\b)")
ENTRY = re.compile(r"(?<![A-Za-z0-9_\\])(?P<name>[A-Za-z][A-Za-z0-9]*)_\{?(?P<index>[a-z])\}?(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Statement:
    """`observed ~ family(arguments)`: `observed` the n-vector (a likelihood), the n×d matrix whose rows are
    the observations (`rows`), or a parameter (a prior); `arguments` SymPy expressions, vectors of n entries
    where they vary with the observation (for rows: expressions of observation i, with `Row` nodes)."""

    observed: sp.Basic
    family: Distribution
    arguments: tuple
    index: str | None       # the observation index (i), None for a statement about a whole parameter
    text: str
    rows: bool = False      # each observation is a row of `observed` (a vector observation)

    def observation(self, index):
        """Observation `index` as the derivation writes it: yᵢ (an entry), xᵢ (a row, as a column), or the
        parameter itself (a prior)."""
        if self.rows:
            return Row(self.observed, index)
        return entry(self.observed, index, self.observed.rows) if self.index else self.observed

    def argument(self, k, index):
        """Argument k for observation `index` (entry i of a stacked vector; a row statement's as read)."""
        a = self.arguments[k]
        return entry(a, index, self.observed.rows) if self.index and not self.rows else a


def read_statement(text: str, objects: dict, read) -> Statement:
    """The statement `text`; `objects` are the model's symbols by name, `read(text)` parses an expression
    in the model's context. ParseError/NotSupported say what is accepted."""
    frame = FRAME.match(text)
    if not frame:
        raise ParseError(f'cannot read "{text}" as a statement: write observation ~ Family(arguments), such '
                         "as y_i ~ Bernoulli(sigmoid(x_i' beta)) or beta ~ N(0, tau2 I)")
    observation = OBSERVATION.match(frame["lhs"].strip())
    if not observation:
        raise ParseError(f'cannot read "{frame["lhs"].strip()}" as what is observed: write y_i (entry i of a '
                         "vector y), x_i (row i of a matrix X) or the name of a parameter")
    name, index = observation["name"], observation["index"]
    observed = objects.get(name)
    matrix = _matrix_of_rows(name, objects)
    rows = bool(index) and not _is_vector(observed) and matrix is not None
    if rows:
        observed = matrix
    elif observed is None:
        raise NotSupported(f"{name} in \"{text}\" is not declared in symbols")
    elif index and not _is_vector(observed):
        raise NotSupported(f"{name}_{index} is entry {index} of a vector, but {name} is declared "
                           f"{'a scalar' if not getattr(observed, 'is_Matrix', False) else 'a matrix'}")
    family = distribution(frame["name"], multivariate=rows)
    texts = _split_arguments(frame["args"])
    if len(texts) != len(family.parameters):
        raise NotSupported(f"{family.signature} takes {len(family.parameters)} argument"
                           f"{'s' if len(family.parameters) > 1 else ''}, not {len(texts)} (in \"{text}\")")
    if not index and getattr(observed, "is_Matrix", False):
        # I in a prior's covariance (tau2 I) is the identity of the parameter's size
        texts = [re.sub(r"(?<![A-Za-z0-9_\\])I(?![A-Za-z0-9_])", f"I_{{{observed.rows}}}", t) for t in texts]
    if rows:
        arguments = tuple(_of_observation(t, index, objects, read) for t in texts)
        _check_shapes(family, arguments, observed, text)
    else:
        arguments = tuple(read(_as_vectors(t, index, objects)) if index else read(t) for t in texts)
    return Statement(observed, family, arguments, index, text, rows)


def _check_shapes(family: Distribution, arguments, observed, text: str) -> None:
    """A vector observation's family takes d×1 vectors (a mean, probabilities) and d×d matrices (a
    covariance) for a d-vector observation: NotSupported naming the argument otherwise."""
    d = observed.cols
    for (name, domain), argument in zip(family.parameters, arguments):
        wanted = (d, d) if domain is POSITIVE_DEFINITE else (d, 1)
        shape = getattr(argument, "shape", None)
        if shape != wanted:
            has = "a scalar" if shape is None else f"{shape[0]}×{shape[1]}"
            raise NotSupported(f'in "{text}" the {name} of {family.signature} is {argument} ({has}); for a '
                               f"{d}×1 observation (a row of {observed.name}) it must be {wanted[0]}×{wanted[1]}")


def _is_vector(obj) -> bool:
    return isinstance(obj, sp.MatrixSymbol) and obj.cols == 1


def _matrix_of_rows(name: str, objects: dict):
    """The declared matrix (not a vector) whose row i `name`_i is: X for x_i (or x itself, declared n×d)."""
    for candidate in (name.upper(), name):
        found = objects.get(candidate)
        if isinstance(found, sp.MatrixSymbol) and found.cols != 1:
            return found
    return None


def _of_observation(text: str, index: str, objects: dict, read):
    """An argument of a vector observation's family, for observation `index`: each x_i (x_i') is row i of
    the matrix X as a column (its transpose), read through a stand-in column symbol that becomes `Row`."""
    stand_ins = {}

    def row(match):
        matrix = _matrix_of_rows(match["name"], objects)
        if matrix is None:     # not a row of a data matrix (I_d is the identity of size d)
            return match.group()
        if match["index"] != index:
            raise NotSupported(f"the index {match['index']} in {match.group()!r}: observations are indexed by {index}")
        name = f"row{matrix.name}{index}"
        stand_ins[name] = (sp.MatrixSymbol(name, matrix.cols, 1), matrix)
        return f" {name} "

    arguments = read(ENTRY.sub(row, text), {k: column for k, (column, _) in stand_ins.items()})
    return arguments.xreplace({column: Row(matrix, sp.Symbol(index, integer=True))
                               for column, matrix in stand_ins.values()})


def _as_vectors(text: str, index: str, objects: dict) -> str:
    """The argument for all observations at once: x_i' ↦ X (row i of X, all rows), y_i ↦ y."""
    def row(match):
        if match["index"] != index:
            raise NotSupported(f"the index {match['index']} in {match.group()!r}: observations are indexed by {index}")
        for candidate in (match["name"].upper(), match["name"]):
            found = objects.get(candidate)
            if isinstance(found, sp.MatrixSymbol) and found.cols != 1:
                return f" {candidate} "
        raise NotSupported(f"{match.group().strip()} is row {index} of a matrix, but no matrix "
                           f"{match['name'].upper()} is declared")

    def entry(match):
        if match["index"] != index:
            return match.group()
        found = objects.get(match["name"])
        if isinstance(found, sp.MatrixSymbol) and found.cols == 1:
            return f" {match['name']} "
        matrix = objects.get(match["name"].upper())
        if found is None and isinstance(matrix, sp.MatrixSymbol) and matrix.cols != 1:
            raise NotSupported(f"{match.group()} is entry {index} of a vector {match['name']}, which is not declared; "
                               f"row {index} of the matrix {matrix.name} is written {match['name']}_{index}' "
                               f"(as in {match['name']}_{index}' beta)")
        return match.group()

    return ENTRY.sub(entry, ROW.sub(row, text))


def _split_arguments(text: str) -> list:
    parts, depth, current = [], 0, ""
    for c in text:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += c
    return [p for p in parts + [current.strip()] if p]
