r"""The input grammar's parse tree built into unevaluated SymPy, with shapes checked on the way.

`ParseContext` says what the names of one parse mean (declared shapes, a context's own symbols);
`Builder` has one method per grammar rule (`derive.parse.grammar`), each building SymPy from its children,
and applies the shape rules: the matrix product, a scalar added to every entry, entrywise functions,
the sizes of an I or 1 written without one.  Operands that do not fit raise `ShapeError` naming them.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Optional

import sympy as sp
from sympy.matrices.expressions import matmul as sympy_matmul
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.strategies import do_one, exhaust, typed

from derive.core.limits import MAX_EXPONENT, MAX_NESTING, MAX_RESULT_DIGITS
from derive.errors import LimitExceeded, NotSupported, ParseError, ShapeError
from derive.expr.functions import BY_NAME, VECTOR_BY_NAME, Elementwise, VectorApplication
from derive.expr.notation import UnknownDerivative
from derive.expr.plain import to_plain
from derive.expr.symbols import MATRIX_ASSUMPTIONS, SQUARE_ASSUMPTIONS, Eye
from derive.expr.vec import Commutation, Vec
from derive.parse.input_text import quote, where
from derive.parse.lexer import Lexeme, normalize_name

Shapes = Mapping[str, tuple]
# The assumptions a declaration may carry (DESIGN §5): symmetric, positive definite, diagonal; positive.
_ASSUMPTIONS = frozenset(MATRIX_ASSUMPTIONS) | {"pos"}
# The function words that are not scalar functions of the registry.
_MATRIX_WORDS = frozenset({"sqrt", "tr", "det", "logdet", "inv", "diag", "sum", "ones", "zeros", "eye", "kron", "vec",
                           "commutation", "norm"})
Symbols = Mapping[str, sp.Basic]



# ---------------------------------------------------------------------------------------------------
# Context: what the names mean
# ---------------------------------------------------------------------------------------------------
def _dimension(size) -> sp.Expr:
    """A matrix dimension: a positive integer symbol (equal to derive.expr.symbols.n, d, ...) or an Integer."""
    if isinstance(size, sp.Basic):
        return size
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return sp.Integer(size)
    if isinstance(size, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", size):
        return sp.Symbol(size, integer=True, positive=True)
    if isinstance(size, str) and size.isdigit() and int(size) > 0:
        return sp.Integer(int(size))
    raise ParseError(f"cannot use {size!r} as a matrix dimension: give a name such as n or a positive integer")


def _index(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True)


def _is_plain(symbol: sp.Symbol) -> bool:
    return isinstance(symbol, sp.Symbol) and not isinstance(symbol, sp.Dummy) and \
        symbol.assumptions0 == {"commutative": True}


class ParseContext:
    """The names a parse knows (declared shapes, context symbols) and the state it builds up."""

    def __init__(self, text: str, shapes: Optional[Shapes], symbols: Optional[Symbols]):
        self.text = text
        self.symbols = {normalize_name(k): v for k, v in (symbols or {}).items()}
        self.declared: dict[str, sp.Basic] = {}
        for name, shape in (shapes or {}).items():
            name = normalize_name(name)
            shape = tuple(shape)
            assumption = shape[-1] if shape and shape[-1] in _ASSUMPTIONS else None
            shape = shape[:-1] if assumption else shape
            if len(shape) > 2:
                raise ParseError(f"{name} has {len(shape)} dimensions; derive handles scalars, vectors "
                                 "and matrices")
            if not shape:
                self.declared[name] = sp.Symbol(name, positive=True) if assumption == "pos" else sp.Symbol(name)
                if assumption not in (None, "pos"):
                    raise ParseError(f"{name} is a scalar: '{assumption}' is said of "
                                     + ("a vector or matrix" if assumption == "prob" else "a square matrix"))
            else:
                rows, cols = (shape + (1,))[:2]
                if assumption == "pos" or (assumption in SQUARE_ASSUMPTIONS and rows != cols):
                    raise ParseError(f"'{assumption}' is said of a {'scalar' if assumption == 'pos' else 'square matrix'}"
                                     f", not of the {rows}×{cols} {name}")
                matrix = MATRIX_ASSUMPTIONS[assumption] if assumption else sp.MatrixSymbol
                self.declared[name] = matrix(name, _dimension(rows), _dimension(cols))
        # A context symbol named "sigma^2" (a variance) makes sigma a name, never the sigmoid.
        powers = {key.split("^")[0] for key in self.symbols if re.fullmatch(r"[A-Za-z]+\^[0-9]+", key)}
        self.known = frozenset(self.symbols) | frozenset(self.declared) | frozenset(powers)
        self.lexemes: dict[int, Lexeme] = {}
        self.placeholders: set = set()
        self.scalar_on_square = "refuse"   # or "every entry": see derive.parse.parse

    def lookup(self, name: str) -> Optional[sp.Basic]:
        """A declared or context object, or None."""
        if name in self.symbols:
            return self.symbols[name]
        return self.declared.get(name)

    def dimensions(self) -> dict:
        """The dimension symbols of the known matrices, by name: an index n is that n."""
        found = {}
        for value in list(self.symbols.values()) + list(self.declared.values()):
            for size in getattr(value, "shape", ()) if getattr(value, "is_Matrix", False) else ():
                found.update((s.name, s) for s in size.atoms(sp.Symbol))
        return found

    def shape_of(self, name: str) -> Optional[tuple]:
        """The (rows, columns) of a known matrix or shaped IndexedBase (a vector's shape (n,) is (n, 1))."""
        found = self.lookup(name)
        if getattr(found, "is_Matrix", False):
            return found.shape
        if isinstance(found, sp.IndexedBase) and found.shape is not None:
            return (tuple(found.shape) + (sp.Integer(1),))[:2]
        return None

    def placeholder(self) -> sp.Dummy:
        """The size of an I or 1 written without one, settled by what it meets (`Builder.match`)."""
        size = sp.Dummy("size", integer=True, positive=True)
        self.placeholders.add(size)
        return size


def _unify_symbols(expr: sp.Basic) -> sp.Basic:
    """One symbol per name: a plain n meets the dimension n (``\\frac{1}{n}\\sum_{i=1}^{n}``) and becomes it."""
    by_name: dict[str, set] = {}
    for symbol in expr.atoms(sp.Symbol):
        if not isinstance(symbol, sp.Dummy):
            by_name.setdefault(symbol.name, set()).add(symbol)
    replace = {}
    for found in by_name.values():
        plain = [s for s in found if _is_plain(s)]
        other = [s for s in found if not _is_plain(s)]
        if plain and len(other) == 1:
            replace[plain[0]] = other[0]
    return expr.xreplace(replace) if replace else expr


# ---------------------------------------------------------------------------------------------------
# Builder: tree to SymPy, with shapes
# ---------------------------------------------------------------------------------------------------
# SymPy's canonical MatMul (coefficients in front, identities dropped, products flattened) without its
# `distribute_monom` rule, which would rewrite 2(A + B), as written, into 2A + 2B.
_PRODUCT_RULES = [rule for rule in sympy_matmul.rules if rule is not sympy_matmul.distribute_monom]
_canonical_product = exhaust(typed({sp.MatMul: do_one(*_PRODUCT_RULES)}))


def _product(*factors):
    return _canonical_product(sp.MatMul(*factors))


def _is_matrix(e) -> bool:
    return bool(getattr(e, "is_Matrix", False))


def _shape_text(e) -> str:
    return "×".join(str(s) for s in e.shape)


def _operand(e) -> str:
    """An operand's name for a message: its plain text, shortened."""
    text = to_plain(e)
    return text if len(text) <= 40 else text[:37] + "..."


def _described(e) -> str:
    return f"{_operand(e)} ({_shape_text(e)})"


@dataclass
class _Bare:
    """A function written without brackets, \\log x: it applies to the factors after it."""
    token: object
    sub: Optional[object]


@dataclass
class _BigOp:
    """\\sum_{i=1}^{n} or \\prod: it applies to the rest of its product."""
    token: object
    sub: Optional[object]
    upper: Optional[sp.Basic]


@dataclass
class _Operation:
    """An explicit *, /, ⊙ or ./ (with the signs after it) and the factor it applies to."""
    op: str
    negative: bool
    lead: object


@dataclass
class _Norm:
    r"""‖v‖, kept apart until we know whether it is squared: ‖v‖² is vᵀv without a square root."""
    arg: sp.Basic
    kind: str

    def squared(self):
        v = self.arg
        if not _is_matrix(v):
            return v ** 2
        if self.kind == "F" or (v.shape[0] != 1 and v.shape[1] != 1):
            return sp.Trace(sp.MatMul(sp.Transpose(v), v))
        return sp.MatMul(sp.Transpose(v), v) if v.shape[1] == 1 else sp.MatMul(v, sp.Transpose(v))

    def value(self):
        if not _is_matrix(self.arg):
            return sp.Abs(self.arg)
        square = self.squared()
        return sp.HadamardPower(square, sp.S.Half) if _is_matrix(square) else sp.sqrt(square)


@dataclass
class _Called:
    r"""A factor that starts with a function and its brackets, ``\cos(y)`` or ``\cos(y)^2``: a function
    written without brackets before it takes its argument only up to here (``\sin x\cos(y)`` is
    sin(x)·cos(y), as ``\sin x\cos y`` is)."""
    expr: sp.Basic


def _keeps_call(rule):
    r"""A postfix rule (a power, a transpose) whose operand is a call builds a call: ``\cos(y)^2``."""
    @functools.wraps(rule)
    def postfix(self, children):
        built = rule(self, children)
        return _Called(built) if isinstance(children[0], _Called) else built
    return postfix


class Builder:
    """One method per grammar rule, each building SymPy from its already-built children."""

    def __init__(self, context: ParseContext):
        self.context = context

    def finish(self, built) -> sp.Basic:
        """The expression the whole tree built, once every I or 1 has a size and every name one symbol."""
        expr = self.value(built)
        if expr.atoms(sp.Dummy) & self.context.placeholders:
            raise ParseError(f"cannot tell the size of I or 1 in {quote(self.context.text, 0)}: "
                             "write it with a size, I_n or \\mathbf{1}_n")
        return _unify_symbols(expr)

    # -- helpers --------------------------------------------------------------------------------------
    def lexeme(self, token) -> Lexeme:
        return self.context.lexemes[token.start_pos]

    def fail(self, token, message: str) -> ParseError:
        return ParseError(f"{message} {where(self.context.text, token.start_pos)}")

    @staticmethod
    def value(x):
        """The SymPy expression of a built operand, whatever it was kept apart as."""
        if isinstance(x, _Norm):
            return x.value()
        return x.expr if isinstance(x, _Called) else x

    def match(self, a, b, pairs):
        """(a, b) with dimensions a.shape[i] == b.shape[j] for (i, j) in pairs, sizing any I or 1 of
        unknown size on the way; None when they cannot be made equal."""
        for i, j in pairs:
            x, y = a.shape[i], b.shape[j]
            if x == y:
                continue
            if x in self.context.placeholders:
                a = a.xreplace({x: y})
            elif y in self.context.placeholders:
                b = b.xreplace({y: x})
            else:
                return None
        return a, b

    def square(self, m, what: str):
        matched = self.match(m, m, [(0, 1)])
        if matched is None:
            raise ShapeError(f"{what} of a non-square matrix {_described(m)}", operation=what, operand=m)
        return matched[0]

    # -- arithmetic -----------------------------------------------------------------------------------
    def negate(self, v):
        return _product(-1, v) if _is_matrix(v) else -v

    def add(self, a, b, subtract: bool):
        if not _is_matrix(a) and not _is_matrix(b):
            return a - b if subtract else a + b
        original_a, original_b = a, b
        if subtract:
            b = self.negate(b)
        if not _is_matrix(a):
            a = self.entries(a, b)
        if not _is_matrix(b):
            b = self.entries(b, a)
        matched = self.match(a, b, [(0, 0), (1, 1)])
        if matched is None:
            operands = {"operation": "subtract" if subtract else "add", "operand": (original_a, original_b)}
            if subtract:
                raise ShapeError(f"cannot subtract {_described(original_b)} from {_described(original_a)}", **operands)
            raise ShapeError(f"cannot add {_described(original_a)} and {_described(original_b)}", **operands)
        terms = [t for m in matched for t in (m.args if isinstance(m, sp.MatAdd) else (m,))
                 if not isinstance(t, sp.ZeroMatrix)]
        if not terms:
            return matched[0] if isinstance(matched[0], sp.ZeroMatrix) else sp.ZeroMatrix(*matched[0].shape)
        # SymPy's own MatAdd canonicalisation rebuilds terms and distributes transposes, (1 - y)ᵀ into
        # 1ᵀ - yᵀ; only flatten and order the terms, as it would.
        return terms[0] if len(terms) == 1 else sp.MatAdd(*sorted(terms, key=sp.default_sort_key))

    def entries(self, scalar, like):
        """A scalar added to a vector is added to every entry: scalar·𝟏 (1 − σ(Xβ)).  Added to a square
        matrix it has two readings that differ, λI (XᵀX + λ in ridge regression) and λ in every entry, so
        it is refused, naming both."""
        if scalar == 0:
            return sp.ZeroMatrix(*like.shape)
        rows, cols = like.shape
        if (rows == cols and rows != 1 and rows not in self.context.placeholders
                and self.context.scalar_on_square == "refuse"):
            size = to_plain(rows)
            raise ShapeError(f"{_operand(scalar)} + {_described(like)} adds a scalar to a square matrix: write "
                             f"{_operand(scalar)}*I for {_operand(scalar)} times the identity, or "
                             f"{_operand(scalar)}*ones({size}, {size}) to add it to every entry",
                             operation="scalar on a square matrix", operand=(scalar, like))
        return _product(scalar, sp.OneMatrix(*like.shape))

    def multiply(self, a, b):
        if not _is_matrix(a) and not _is_matrix(b):
            return a * b
        if not _is_matrix(a) or not _is_matrix(b):
            scalar, matrix = (a, b) if not _is_matrix(a) else (b, a)
            return _product(scalar, matrix)
        matched = self.match(a, b, [(1, 0)])
        if matched is not None:
            return _product(*matched)
        if a.shape == (1, 1):  # a 1×1 matrix such as x'Ax used as a scalar
            return self.multiply(sp.Trace(a), b)
        if b.shape == (1, 1):
            return self.multiply(a, sp.Trace(b))
        # operation/operand: the operands, for derive.checking to name the transpose that is missing
        raise ShapeError(f"cannot multiply {_described(a)} by {_described(b)}", operation="multiply", operand=(a, b))

    def divide(self, a, b, token):
        if not _is_matrix(b):
            if b == 0:
                raise self.fail(token, "division by zero")
            return self.multiply(a, 1 / b) if _is_matrix(a) else a / b
        if b.shape == (1, 1):
            return self.multiply(a, sp.Inverse(b))
        if not _is_matrix(a) and 1 in b.shape:  # 1/(1 + e^{−Xβ}): a vector has no inverse, only entries
            reciprocal = sp.HadamardPower(b, -1)
            return reciprocal if a == 1 else self.multiply(a, reciprocal)
        if 1 in b.shape:
            raise ShapeError(f"cannot divide {_operand(a)} by the vector {_described(b)}: write "
                             f"{_operand(a)} ./ {_operand(b)} to divide entry by entry")
        raise ShapeError(f"cannot divide {_operand(a)} by the matrix {_described(b)}: write "
                         f"inv({_operand(b)}) for its inverse, or ./ to divide entry by entry")

    def hadamard(self, a, b):
        if not _is_matrix(a) or not _is_matrix(b):
            return self.multiply(a, b)
        matched = self.match(a, b, [(0, 0), (1, 1)])
        if matched is None:
            raise ShapeError(f"cannot multiply {_described(a)} and {_described(b)} entrywise")
        factors = []
        for m in matched:
            factors += list(m.args) if isinstance(m, sp.HadamardProduct) else [m]
        return sp.HadamardProduct(*factors)

    def hadamard_divide(self, a, b, token):
        if not _is_matrix(b):
            return self.divide(a, b, token)
        return self.hadamard(a, sp.HadamardPower(b, -1))

    def check_exponent(self, base, exponent, token):
        """Refuse powers whose value would be astronomically large before SymPy computes them."""
        if not exponent.is_Number:
            return
        if abs(exponent) > MAX_EXPONENT:
            raise LimitExceeded(f"the exponent {_operand(exponent)} is beyond ±{MAX_EXPONENT} "
                                f"{where(self.context.text, token.start_pos)}")
        if base.is_Rational and base not in (0, 1, -1):
            size = max(abs(base.p).bit_length(), base.q.bit_length()) * 0.30103
            if abs(exponent) * size > MAX_RESULT_DIGITS:
                raise LimitExceeded(f"{_operand(base)}^{_operand(exponent)} has more than "
                                    f"{MAX_RESULT_DIGITS} digits {where(self.context.text, token.start_pos)}")

    def raise_to(self, base, exponent, token):
        if isinstance(base, _Norm) and exponent == 2:
            return base.squared()
        if isinstance(base, _Norm) and exponent.is_Integer and exponent > 0 and base.squared().shape == (1, 1):
            return sp.HadamardPower(base.squared(), exponent / 2)  # ‖x‖⁴ = (xᵀx)², not ((xᵀx)^{1/2})⁴
        base = self.value(base)
        if _is_matrix(exponent):
            if base == sp.E:
                return Elementwise("exp", exponent)
            raise ShapeError(f"cannot raise {_operand(base)} to the power of the matrix {_described(exponent)}")
        self.check_exponent(base, exponent, token)
        if not _is_matrix(base):
            if base == 0 and exponent.is_negative:
                raise self.fail(token, "division by zero")
            return sp.Pow(base, exponent)
        if exponent.is_integer:
            if exponent == -1:
                return sp.Inverse(self.square(base, "inverse"))
            square = self.match(base, base, [(0, 1)])
            if square is None:
                raise ShapeError(f"cannot raise {_described(base)} to the power {_operand(exponent)}: it is not "
                                 f"square (for entrywise powers write {_operand(base)}.^{_operand(exponent)})",
                                 operation="power", operand=base)
            base = square[0]
            if exponent == 1:
                return base
            if exponent == 0:
                return Eye(base.shape[0])
            return sp.MatPow(base, exponent)
        if base.shape == (1, 1):
            return sp.HadamardPower(base, exponent)
        raise ShapeError(f"cannot raise the matrix {_described(base)} to the power {_operand(exponent)}")

    # -- grammar rules --------------------------------------------------------------------------------
    def number(self, children):
        fraction = Fraction(children[0].value)
        return sp.Rational(fraction.numerator, fraction.denominator)

    def name(self, children):
        token = children[0]
        if len(children) == 1:
            return self.symbol(token.value)
        return self.subscripted(token.value, children[1])

    def symbol(self, name: str):
        found = self.context.lookup(name)
        if found is not None:
            return found
        if name == "I":
            size = self.context.placeholder()
            return Eye(size)
        if name in ("1", "0"):
            size = self.context.placeholder()
            return sp.OneMatrix(size, 1) if name == "1" else sp.ZeroMatrix(size, 1)
        if name == "e":
            return sp.E
        if name == "pi":
            return sp.pi
        return sp.Symbol(name)

    def size(self, sub) -> sp.Expr:
        content = sub.value
        if content.isdigit():
            return sp.Integer(int(content))
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", content):
            return _dimension(content)
        raise self.fail(sub, f"cannot read the size {content!r}")

    def subscripted(self, name: str, sub):
        content = sub.value
        found = self.context.lookup(name)
        if found is None and name == "I":
            return Eye(self.size(sub))
        if name in ("1", "0"):
            return sp.OneMatrix(self.size(sub), 1) if name == "1" else sp.ZeroMatrix(self.size(sub), 1)
        base = found.name if isinstance(found, (sp.Symbol, sp.MatrixSymbol, sp.IndexedBase)) else name
        if content.isdigit():  # beta_0: a component written out, a scalar of its own
            full = f"{base}_{content}"
            found = self.context.lookup(full)
            return found if found is not None else sp.Symbol(full)
        indices = self.indices(sub)
        if name == "delta" and found is None and len(indices) == 2:
            return sp.KroneckerDelta(*indices)
        shape = self.context.shape_of(name)
        if shape is not None and len(indices) == 1 and shape[1] != 1 and shape[0] != 1:
            raise self.fail(sub, f"{name} is a matrix ({'×'.join(map(str, shape))}): give it two subscripts, "
                                 f"{name}_{{ij}},")
        return sp.Indexed(self.indexed_base(base, found, shape), *indices)

    @staticmethod
    def indexed_base(name: str, found, shape) -> sp.IndexedBase:
        """x in x_i: the context's own IndexedBase, else one shaped like the engine's index form
        (``IndexedBase("y", shape=(n,))`` for a vector, ``(n, d)`` for a matrix), else a bare one."""
        if isinstance(found, sp.IndexedBase):
            return found
        if shape is None:
            return sp.IndexedBase(name)
        return sp.IndexedBase(name, shape=(shape[0],) if shape[1] == 1 else tuple(shape))

    def indices(self, sub) -> list:
        content, lexeme = sub.value, self.lexeme(sub)
        if "=" in content:
            raise self.fail(sub, f"a subscript with '=' ({content}) is only read under \\sum or \\prod;")
        if "," in content or lexeme.words:
            parts = content.split(",")
        elif re.fullmatch(r"[A-Za-z0-9]+", content):
            parts = re.findall(r"[A-Za-z]|[0-9]+", content)  # X_{ij}: one letter per index
        else:
            parts = [content]
        return [self.index_value(part, sub) for part in parts]

    def index_value(self, part: str, sub):
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*'*)(?:([+-])([0-9]+))?", part)
        if m:
            symbol = self.context.dimensions().get(m.group(1)) or _index(m.group(1))
            if m.group(2):
                step = sp.Integer(int(m.group(3)))
                return symbol + step if m.group(2) == "+" else symbol - step
            return symbol
        if part.isdigit():
            return sp.Integer(int(part))
        raise self.fail(sub, f"cannot read the subscript {part!r}")

    def sum(self, children):
        terms = [self.value(c) for c in children[::2]]
        if not any(_is_matrix(t) for t in terms):  # one Add: adding term by term is quadratic
            signs = [1] + [-1 if op.type == "MINUS" else 1 for op in children[1::2]]
            return sp.Add(*[sign * term for sign, term in zip(signs, terms)])
        total = self.value(children[0])
        for k in range(1, len(children), 2):
            total = self.add(total, self.value(children[k + 1]), subtract=children[k].type == "MINUS")
        return total

    def neg(self, children):
        return self.negate(self.value(children[1]))

    def pos(self, children):
        return self.value(children[1])

    def bare_function(self, children):
        return _Bare(children[0], children[1] if len(children) > 1 else None)

    def bigop(self, children):
        token, sub, upper = children[0], None, None
        for child in children[1:]:
            if getattr(child, "type", None) == "SUB":
                sub = child
            elif getattr(child, "type", None) != "CARET":
                upper = self.value(child)
        return _BigOp(token, sub, upper)

    def mulop(self, children):
        negative = sum(1 for t in children[1:] if t.type == "MINUS") % 2 == 1
        return children[0], negative

    def operation(self, children):
        (op, negative), lead = children
        return _Operation(op, negative, lead)

    def product(self, items):
        prefixes = sum(isinstance(i, (_Bare, _BigOp)) or
                       (isinstance(i, _Operation) and isinstance(i.lead, (_Bare, _BigOp))) for i in items)
        if prefixes > MAX_NESTING:
            raise LimitExceeded(f"more than {MAX_NESTING} functions in one product {where(self.context.text, 0)}")
        return self.fold(items, 0)

    def fold(self, items, k):
        """The product of items[k:], left to right; a sum takes the rest as its body."""
        total = None
        while k < len(items):
            item, op, negative = items[k], None, False
            if isinstance(item, _Operation):
                op, negative, item = item.op, item.negative, item.lead
            if isinstance(item, _BigOp):
                if k + 1 == len(items):
                    raise self.fail(item.token, f"{self.source(item.token)} needs a body")
                value, k = self.big_operator(item, self.fold(items, k + 1)), len(items)
            elif isinstance(item, _Bare):
                argument, k = self.argument(items, k + 1, item)
                value = self.call_function(item.token, item.sub, [argument])
            else:
                value, k = self.value(item), k + 1
            if negative:
                value = self.negate(value)
            total = value if total is None else self.combine(op, total, value)
        return total

    def argument(self, items, k, function: _Bare):
        r"""The argument of a function written without brackets: the factors juxtaposed after it
        (``\log 2\pi\sigma^2``), up to an operator or the next function, bracketed or not
        (``\sin x\cos(y)``), or a function or sum itself (``\log\det S``, ``\log\sigma(z)``,
        ``\log\sum_i x_i``)."""
        if k == len(items) or isinstance(items[k], _Operation):
            raise self.fail(function.token, f"{self.source(function.token)} needs an argument")
        first = items[k]
        if isinstance(first, _BigOp):
            return self.big_operator(first, self.fold(items, k + 1)), len(items)
        if isinstance(first, _Bare):
            inner, k = self.argument(items, k + 1, first)
            return self.call_function(first.token, first.sub, [inner]), k
        if isinstance(first, _Called):
            return first.expr, k + 1
        factors = []
        while k < len(items) and not isinstance(items[k], (_Operation, _Bare, _BigOp, _Called)):
            factors.append(self.value(items[k]))
            k += 1
        argument = factors[0]
        for factor in factors[1:]:
            argument = self.multiply(argument, factor)
        return argument, k

    def combine(self, op, a, b):
        kind = op.type if op is not None else "STAR"
        if kind == "STAR":
            return self.multiply(a, b)
        if kind == "SLASH":
            return self.divide(a, b, op)
        if kind == "HADAMARD":
            return self.hadamard(a, b)
        return self.hadamard_divide(a, b, op)

    def source(self, token) -> str:
        lexeme = self.lexeme(token)
        return self.context.text[lexeme.pos:lexeme.end]

    @_keeps_call
    def power(self, children):
        base, caret, exponent = children[0], children[1], self.value(children[2])
        named = self.context.symbols.get(f"{base}^{exponent}") if isinstance(base, sp.Symbol) else None
        if named is not None and _is_plain(base) and exponent.is_Integer:
            return named  # the context's own symbol for sigma^2
        return self.raise_to(base, exponent, caret)

    @_keeps_call
    def hpower(self, children):
        base, token, exponent = self.value(children[0]), children[1], self.value(children[2])
        if _is_matrix(exponent):
            raise ShapeError(f"an entrywise power needs a scalar exponent, not {_described(exponent)}")
        if not _is_matrix(base):
            return self.raise_to(base, exponent, token)
        self.check_exponent(base, exponent, token)
        return sp.HadamardPower(base, exponent)

    @_keeps_call
    def transpose(self, children):
        v, token = self.value(children[0]), children[1]
        if not _is_matrix(v):
            if token.value == "-T":
                return self.divide(sp.Integer(1), v, token)
            if token.value == "^T" and "T" in self.context.known:  # x^T with T a declared scalar: a power
                return self.raise_to(v, self.symbol("T"), token)
            return v  # a scalar is its own transpose
        if token.value == "-T":
            return sp.Inverse(sp.Transpose(self.square(v, "inverse")))
        if isinstance(v, (sp.OneMatrix, sp.ZeroMatrix)):  # 𝟏ᵀ is the row of ones, OneMatrix(1, n)
            return type(v)(v.cols, v.rows)
        return v.arg if isinstance(v, sp.Transpose) else sp.Transpose(v)

    @_keeps_call
    def usup(self, children):
        v, token = children
        return self.raise_to(v, sp.Integer(int(token.value)), token)

    def frac(self, children):
        return self.divide(self.value(children[1]), self.value(children[2]), children[0])

    def sqrt(self, children):
        root = self.lexeme(children[0]).root
        if root == 2:
            return self.call_function(children[0], None, [self.value(children[1])])
        x = self.value(children[1])  # \sqrt[3]{x} = x^{1/3}
        return sp.HadamardPower(x, sp.Rational(1, root)) if _is_matrix(x) else sp.Pow(x, sp.Rational(1, root))

    def norm(self, children):
        kind = children[1].value if len(children) > 1 else "2"
        if kind not in ("2", "F"):
            raise NotSupported(f"the norm ‖·‖_{kind} is not supported: derive reads ‖v‖ (the 2-norm) and ‖A‖_F")
        return _Norm(self.value(children[0]), kind)

    def abs(self, children):
        v = self.value(children[0])
        if not _is_matrix(v):
            return sp.Abs(v)
        if v.shape[0] != v.shape[1] and 1 in (v.shape[0], v.shape[1]):
            raise ShapeError(f"|{_operand(v)}| of a vector ({_shape_text(v)}): write \\|{_operand(v)}\\| for its norm")
        return sp.Determinant(self.square(v, "determinant"))

    def arglist(self, children):
        return [self.value(c) for c in children]

    row = arglist

    def rows(self, children):
        return children

    def bracket(self, children):
        """[x] groups; [a, b; c, d] is an explicit matrix, rows separated by ;."""
        rows = children[0]
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len({len(r) for r in rows}) != 1:
            raise ShapeError(f"the rows of [{'; '.join(', '.join(map(_operand, r)) for r in rows)}] differ in length")
        for entry in (e for r in rows for e in r):
            if _is_matrix(entry):
                raise NotSupported(f"block matrices are not supported: {_described(entry)} inside [...]")
        return sp.ImmutableMatrix(rows)

    def call(self, children):
        token, sub = children[0], (children[1] if len(children) == 3 else None)
        called = self.call_function(token, sub, children[-1])
        return called if isinstance(called, _Norm) else _Called(called)   # norm(x) is ‖x‖, squared or not

    # -- functions and sums ---------------------------------------------------------------------------
    def call_function(self, token, sub, args):
        """f(args), raised to the power written on the function's name (\\sin^2 x)."""
        value = self.apply_function(token, sub, args)
        power = self.lexeme(token).power
        return value if power == 1 else self.raise_to(value, sp.Integer(power), token)

    def apply_function(self, token, sub, args):
        name = token.value
        shown = self.source(token)
        if name in ("ones", "zeros", "eye", "commutation"):
            return self.constant_matrix(name, args, token)
        if name == "kron":  # the vec form of a Hessian with respect to a matrix, as derive prints it
            if len(args) != 2 or not all(_is_matrix(a) for a in args):
                raise self.fail(token, f"{shown} takes two matrices")
            return sp.KroneckerProduct(*args)
        if name not in BY_NAME and name not in VECTOR_BY_NAME and name not in _MATRIX_WORDS:
            return self.abstract_function(name, args, token)
        if len(args) != 1:
            raise self.fail(token, f"{shown} takes one argument, not {len(args)},")
        if sub is not None and name != "log":
            raise self.fail(sub, f"a subscript on {shown} is not read")
        x = args[0]
        if name == "log" and sub is not None:  # \log_2 x
            base = sp.Integer(int(sub.value)) if sub.value.isdigit() else self.symbol(sub.value)
            natural = self.apply_function(token, None, [x])
            return natural if base == sp.E else self.divide(natural, sp.log(base), token)
        if name == "vec":
            if not _is_matrix(x):
                raise self.fail(token, f"{shown} takes a matrix, and {_operand(x)} is a scalar")
            return Vec(x)
        if name in ("tr", "det", "inv", "logdet", "diag"):
            return self.matrix_function(name, x, token)
        if name == "norm":  # norm(v) is ‖v‖, as numpy's norm: the 2-norm of a vector, Frobenius of a matrix
            return _Norm(x, "2")
        if name == "sum":  # sum(v), sum v: \sum without an index
            return self.big_operator(_BigOp(token, None, None), x)
        if name == "sqrt":  # √u is u^{1/2}, entrywise on a matrix
            return sp.HadamardPower(x, sp.S.Half) if _is_matrix(x) else sp.sqrt(x)
        if name in VECTOR_BY_NAME:
            if not _is_matrix(x):
                raise self.fail(token, f"{shown} is a function of a vector (or of each row of a matrix), and "
                                f"{_operand(x)} is a scalar; declare the vector's shape (z:n)")
            return VectorApplication(name, x)
        record = BY_NAME[name]
        return Elementwise(record.name, x) if _is_matrix(x) else record.sympy(x)

    def abstract_function(self, name: str, args, token):
        """f(x²): a function known only by its name, f applied to its arguments (never the product f·x²)."""
        for a in args:
            if _is_matrix(a):
                raise NotSupported(f"{name}({_operand(a)}) {where(self.context.text, token.start_pos)}: an unknown "
                                   f"function of a vector or matrix is not supported, only of scalars")
        base, order = name.rstrip("'"), len(name) - len(name.rstrip("'"))
        if order:
            if len(args) != 1:
                raise self.fail(token, f"{name} takes one argument, not {len(args)},")
            return UnknownDerivative(base, order, args[0])
        return sp.Function(name)(*args)

    def matrix_function(self, name: str, x, token):
        if not _is_matrix(x):  # a scalar is a 1×1 matrix: its own trace and determinant
            if name == "diag":
                raise ShapeError(f"diag of the scalar {_operand(x)}: diag makes a matrix from a vector")
            if name == "inv" and x == 0:
                raise self.fail(token, "division by zero")
            return {"tr": x, "det": x, "inv": 1 / x, "logdet": sp.log(x)}[name]
        if name == "diag":
            if 1 in (x.shape[0], x.shape[1]):  # a vector (or one number, 1×1: diag is the same either way)
                return DiagMatrix(x)
            return DiagonalOf(self.square(x, "diagonal"))
        what = {"tr": "trace", "det": "determinant", "logdet": "log-determinant", "inv": "inverse"}[name]
        x = self.square(x, what)
        return {"tr": sp.Trace, "det": sp.Determinant, "inv": sp.Inverse,
                "logdet": lambda m: sp.log(sp.Determinant(m))}[name](x)

    def constant_matrix(self, name: str, args, token):
        if not 1 <= len(args) <= 2 or (name == "eye" and len(args) != 1) or (name == "commutation" and len(args) != 2):
            raise self.fail(token, f"{name} takes " + {"eye": "one size", "commutation": "two sizes (of the "
                                                       "matrix whose vec it transposes)"}.get(name, "one or two sizes"))
        sizes = []
        for a in args:
            if isinstance(a, sp.Symbol):
                sizes.append(_dimension(a.name) if _is_plain(a) else a)
            elif a.is_Integer and 0 < a <= 10**9:
                sizes.append(a)
            else:
                raise self.fail(token, f"{name} needs sizes that are names or positive integers, not {a}")
        if name == "eye":
            return Eye(sizes[0])
        if name == "commutation":
            return Commutation(*sizes)
        rows, cols = (sizes + [sp.Integer(1)])[:2]
        return sp.OneMatrix(rows, cols) if name == "ones" else sp.ZeroMatrix(rows, cols)

    def big_operator(self, op: _BigOp, body):
        r"""\sum_{i=1}^{n} body or \prod.  Without a subscript the indices are the body's free ones
        (``\sum x_i``, ``sum(x_i^2)``), and a sum of a vector or matrix adds up its entries: ``sum(v)`` is
        𝟏ᵀv, ``sum(A)`` is 𝟏ᵀA𝟏."""
        kind, shown = op.token.value, self.source(op.token)
        if _is_matrix(body):
            if kind == "sum" and op.sub is None and op.upper is None:
                rows, cols = body.shape
                if rows != 1:
                    body = self.multiply(sp.OneMatrix(1, rows), body)
                return body if cols == 1 else self.multiply(body, sp.OneMatrix(cols, 1))
            raise NotSupported(f"a {shown} of matrices ({_operand(body)}) is not supported; "
                               "write it in matrix form, such as X^TX")
        if op.sub is None:
            indices = [(index, sp.Integer(1)) for index in _free_indices(body)]
            if not indices:
                raise self.fail(op.token, f"{shown} needs an index, {shown}_{{i=1}}^{{n}}, or a vector to add up,")
        else:
            indices = []
            for part in op.sub.value.split(","):
                m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*'*)(?:=(.+))?", part)
                if not m:
                    raise self.fail(op.sub, f"cannot read the index {part!r} of {shown}")
                index = _index(m.group(1))
                body = body.xreplace({sp.Symbol(m.group(1)): index})
                indices.append((index, self.index_value(m.group(2), op.sub) if m.group(2) else sp.Integer(1)))
        limits = [(index, lower, self.upper_limit(op, index, body)) for index, lower in indices]
        function = sp.Sum if kind == "sum" else sp.Product
        for limit in reversed(limits):
            body = function(body, limit)
        return body

    def upper_limit(self, op: _BigOp, index, body):
        shown = self.source(op.token)
        if op.upper is not None:
            if _is_matrix(op.upper):
                raise ShapeError(f"the upper limit of a {shown} is a matrix, {_described(op.upper)}")
            return op.upper.xreplace({s: _dimension(s.name) for s in op.upper.atoms(sp.Symbol) if _is_plain(s)})
        for indexed in body.atoms(sp.Indexed):
            shape = self.context.shape_of(str(indexed.base.label))
            if shape is None or index not in indexed.indices:
                continue
            position = indexed.indices.index(index)
            if len(indexed.indices) == 1:
                return shape[0] if shape[1] == 1 else shape[1]
            return shape[position]
        raise self.fail(op.token, f"the range of {index} is unknown: write {shown}_{{{index}=1}}^{{n}}")


def _free_indices(body) -> list:
    """The index symbols of the entries in `body` that no sum binds: i and j in X_{ij}β_j (sorted)."""
    found = {i for indexed in body.atoms(sp.Indexed) for i in indexed.indices
             if isinstance(i, sp.Symbol) and i == _index(i.name)}
    return sorted(found & body.free_symbols, key=sp.default_sort_key)
