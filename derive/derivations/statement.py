"""The `~` statements of a model: `y_i ~ Bernoulli(sigmoid(x_i' beta))` and `beta ~ N(0, tau2 I)`.

A small reader of its own for the statement's frame (observation, `~`, distribution, arguments); each
argument is an expression read by derive's grammar (`derive.parse`). In a likelihood, i = 1..n indexes
independent observations: `y_i` is entry i of the n-vector y and `x_i'` is row i of the n×d matrix X, so an
argument is read as the vector of all n entries (`x_i' beta` is Xβ) and `vector_form.entry` writes its
i-th entry again for the observation-wise steps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from derive.derivations.distributions import Distribution, distribution
from derive.errors import NotSupported, ParseError

FRAME = re.compile(r"^\s*(?P<lhs>[^~]+?)\s*~\s*(?P<name>[A-Za-z]+)\s*\((?P<args>.*)\)\s*$", re.S)
OBSERVATION = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)(?:_\{?(?P<index>[a-z])\}?)?$")
# x_i' (x_i^T, x_i^{T}, x_i^\top, x_i.T): row i of a matrix, transposed into a row vector
ROW = re.compile(r"(?<![A-Za-z0-9_\\])(?P<name>[A-Za-z][A-Za-z0-9]*)_\{?(?P<index>[a-z])\}?"
                 r"\s*(?:'|\^\{?T\}?|\^\{?\\top\}?|\^\{?\\intercal\}?|\.T\b)")
ENTRY = re.compile(r"(?<![A-Za-z0-9_\\])(?P<name>[A-Za-z][A-Za-z0-9]*)_\{?(?P<index>[a-z])\}?(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Statement:
    """`observed ~ family(arguments)`: `observed` the n-vector (a likelihood) or a parameter (a prior);
    `arguments` SymPy expressions, vectors of n entries where they vary with the observation."""

    observed: sp.Basic
    family: Distribution
    arguments: tuple
    index: str | None       # the observation index (i), None for a statement about a whole parameter
    text: str


def read_statement(text: str, objects: dict, read) -> Statement:
    """The statement `text`; `objects` are the model's symbols by name, `read(text)` parses an expression
    in the model's context. ParseError/NotSupported say what is accepted."""
    frame = FRAME.match(text)
    if not frame:
        raise ParseError(f'cannot read "{text}" as a statement: write observation ~ Family(arguments), such '
                         "as y_i ~ Bernoulli(sigmoid(x_i' beta)) or beta ~ N(0, tau2 I)")
    family = distribution(frame["name"])
    observation = OBSERVATION.match(frame["lhs"].strip())
    if not observation:
        raise ParseError(f'cannot read "{frame["lhs"].strip()}" as what is observed: write y_i (entry i of a '
                         "vector y) or the name of a parameter")
    name, index = observation["name"], observation["index"]
    observed = objects.get(name)
    if observed is None:
        raise NotSupported(f"{name} in \"{text}\" is not declared in symbols")
    if index and not (isinstance(observed, sp.MatrixSymbol) and observed.cols == 1):
        raise NotSupported(f"{name}_{index} is entry {index} of a vector, but {name} is declared "
                           f"{'a scalar' if not getattr(observed, 'is_Matrix', False) else 'a matrix'}")
    if family.density is None:
        raise NotSupported(f"the {family.title} likelihood of a vector observation is not derived yet")
    texts = _split_arguments(frame["args"])
    if len(texts) != len(family.parameters):
        raise NotSupported(f"{family.signature} takes {len(family.parameters)} argument"
                           f"{'s' if len(family.parameters) > 1 else ''}, not {len(texts)} (in \"{text}\")")
    if not index and getattr(observed, "is_Matrix", False):
        # I in a prior's covariance (tau2 I) is the identity of the parameter's size
        texts = [re.sub(r"(?<![A-Za-z0-9_\\])I(?![A-Za-z0-9_])", f"I_{{{observed.rows}}}", t) for t in texts]
    arguments = tuple(read(_as_vectors(t, index, objects)) if index else read(t) for t in texts)
    return Statement(observed, family, arguments, index, text)


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
