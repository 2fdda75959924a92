r"""The input grammar of `derive`: mathematics as people type it, LaTeX and plain, read into SymPy.

One grammar serves `derive diff`, `check`, `check-steps` and `fit --formula`:

>>> shapes = {"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1)}
>>> parse(r"-2X^T(y - X\beta)", shapes) == parse("-2*X.T*(y - X*beta)", shapes)
True
>>> parse_shapes("x:n, A:nxn")
{'x': ('n', 1), 'A': ('n', 'n')}

User text is never given to `eval`, `sympify` or `parse_expr`: a lexer written here turns it into tokens,
a Lark LALR parser checks the structure, and the tree is built into SymPy objects by explicit code,
under the size and time limits of `derive.limits`.

How the text is read
--------------------
Names.  An undeclared name is a scalar ``sympy.Symbol(name)`` with no assumptions, so it equals the
symbols people create themselves.  ``shapes`` declares matrices (``{"A": ("n", "n")}`` gives
``MatrixSymbol("A", n, n)`` with ``n`` a positive integer symbol, equal to ``derive.symbols.n``);
``symbols`` maps names a context already knows to its objects and wins over ``shapes``.
Greek letters may be written ``\beta``, ``β`` or ``beta``: all are the name ``beta`` (``\varepsilon``
is ``epsilon``).  ``e`` is Euler's number, ``pi`` is π and ``I`` the identity matrix (its size taken
from what it is added to or multiplied with; ``I_n`` gives it explicitly), unless declared.
A run of letters such as ``Xb`` is one name unless every piece of it is a declared name or a Greek
letter (``Xb`` is X·b when X and b are declared, ``Xbeta`` is X·β when X is); so data columns such as
``income`` stay whole.  A declared name may contain underscores (``log_income``).

Decorations are typography: ``\mathbf{X}``, ``\boldsymbol{\beta}``, ``\bm``, ``\vec``, ``\mathrm``,
``\mathcal``, ``\hat{\beta}``, ``\tilde{\beta}`` are the plain name, so in a model ``2X^TX\hat{\beta}`` is
2XᵀXβ (``\hat\beta`` alone on the left of an equation is a label, see `parse_equation`).  ``\bar{x}`` is
different: a sample mean is not x, so it is the name ``xbar``.  ``\mathbf{1}`` (``\bm{1}``,
``\boldsymbol{1}``) is the vector of ones 𝟏, and so is a literal 1 transposed or given a size: ``1^T``,
``1'``, ``1_n`` (``1^T x`` is 𝟏ᵀx, ``OneMatrix(1, n)*x``); its size is taken from what it meets, like I's.
A plain 1 is a number (``1 - \sigma(X\beta)`` adds it to every entry).  ``\mathbf{0}``, ``0_n`` are zeros.

Juxtaposition multiplies (``2x``, ``X\beta``, ``X'X``, ``\sigma(z)(1-\sigma(z))``) with the same
precedence as ``*``, ``/``, ``\cdot``, ``\times`` and the entrywise ``\odot``, ``.*``, ``./``, all left to
right (so ``1/2x`` is x/2).  In LaTeX style a superscript or ``\frac``/``\sqrt`` argument without
braces is one character (``X^TX``, ``e^x``, ``\frac12``), except that a whole number or a whole
Greek, function or declared name is read after ``^`` (``x^10``, ``x^alpha``); ``x**y`` is the plain
power.  Powers are right associative.

Functions.  ``exp log ln sin cos tan tanh sinh cosh sqrt abs``, ``asin acos atan`` (or ``arcsin
arccos arctan``), ``sigmoid``/``sigma``, ``softplus``, ``tr``, ``det``, ``logdet``, ``inv``, ``diag``,
``sum``, and ``ones(n, k)``, ``zeros(n, k)``, ``eye(n)``, as plain words or LaTeX commands (``\log``,
``\arctan``, ``\operatorname{tr}``).  A function takes a bracketed argument (``\log(1+e^{-z})``) or,
LaTeX style, the factors written after it up to the next function or operator (``\log 2\pi\sigma^2``,
``\log\det S``, ``\sin x\cos y``).  ``\sigma`` (``σ``, ``sigma``) directly
followed by ``(`` is the sigmoid; otherwise it is the name sigma (``\sigma^2``, ``\sigma_i``), and it
is always a name when declared.  ``e^{u}`` is ``exp(u)``.  ``\log_2 x`` is log base 2.

Matrices.  ``*`` or juxtaposition of two matrices is the matrix product, of a scalar and a matrix the
scaling; a 1×1 matrix such as ``x'Ax`` is a matrix, and where a product only fits with it as a scalar
it is read as one (written ``tr(x'Ax)``).  A scalar added to a matrix is added to every entry:
``1 - \sigma(X\beta)`` is ``ones(n,1) - σ(Xβ)``.  exp, log, σ, softplus, sin, cos, tanh of a matrix
act entrywise.  Transpose: ``^T``, ``^{T}``, ``^\top``, ``^\intercal``, ``'``, ``.T``, ``ᵀ``;
``^{-T}`` is the inverse transpose; inverse: ``^{-1}``, ``inv()``.  A scalar's transpose is itself
(``x^T`` is x for a scalar x), but ``x^T`` is a power when ``T`` is a declared scalar.  ``M^k`` of a
square matrix is the matrix power; ``x.^2`` is the entrywise power.  ``\|v\|^2`` and ``\|v\|_2^2`` are
``v'v``, ``\|A\|_F^2`` is ``tr(A'A)``; ``|a|`` is the absolute value of a scalar and the determinant of
a square matrix.  Shapes that do not fit raise `ShapeError` naming the operands,
``cannot multiply X (n×d) by X (n×d)``.

Index notation.  ``x_i``, ``y_{i}``, ``X_{ij}``, ``x_{i,j}``, ``x_{i+1}`` are
``sympy.Indexed(IndexedBase(name), i, ...)`` with each index a ``Symbol(name, integer=True)`` (no
``Idx``).  Subscripts count from 1 as written: the textbook ``\sum_{i=1}^{n}``; `derive.numeval` reads
``x_1`` as the first entry.  A number alone as a subscript names a scalar: ``\beta_0`` is the symbol
``beta_0`` (components written out by hand).  ``\sum_{i=1}^{n} body`` and ``\prod`` (plain:
``sum_{i=1}^{n}``) take as body the rest of the product they start (up to the next + or −); without
an upper limit the range is read off the shapes of what is indexed (``\sum_i y_i`` runs to n when y is
n×1).  Without a subscript they run over the body's free indices (``\sum x_i``, ``sum(x_i^2)``), and
``sum(v)`` (``\sum v``) of a vector or matrix adds up its entries: 𝟏ᵀv, 𝟏ᵀA𝟏.  As in LaTeX a
superscript may come first, ``\sum^n_{i=1}``, ``x^2_i``, ``\|v\|^2_2``; but ``e^x_i`` is e^{x_i}.  A name
used as a limit or declared as a dimension is that positive integer symbol everywhere in the expression,
so ``\frac{1}{n}\sum_{i=1}^{n}`` has one n.  ``\delta_{ij}`` is the Kronecker delta.

Numbers are exact: ``0.5`` is 1/2, ``1e-3`` is 1/1000.

Errors are one line and name the place: ``unexpected '}' at column 17 in "-2X^T(y - X\beta})"``
(columns count characters from 1), ``unknown command \foo at column 3 in "2 \foo"``.

Not supported: derivative notation inside expressions (``\sigma'(z)``, ``\frac{d}{dx}``, ``\partial``,
``\nabla`` outside an equation's label), sums of matrices (``\sum_i x_i x_i^T``), rows of a matrix as
vectors (``x_i^T\beta`` with x_i the i-th row of X), norms other than 2 and Frobenius, ``\sqrt[n]{}``,
``\text{...}`` other than function names, intervals, sets and conditions.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Optional

import sympy as sp
from sympy.matrices.expressions import matmul as sympy_matmul
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.strategies import do_one, exhaust, typed

from .errors import LimitExceeded, NotSupported, ParseError, ShapeError
from .functions import SCALAR_FUNCTIONS, apply
from .limits import (MAX_DECIMAL_EXPONENT, MAX_EXPONENT, MAX_INPUT_CHARS, MAX_NESTING, MAX_NUMBER_DIGITS,
                     MAX_RESULT_DIGITS, PARSE_SECONDS, time_limit)
from .plain import to_plain
from .symbols import Eye

__all__ = ["parse", "parse_equation", "parse_shapes", "Equation", "Label"]

Shapes = Mapping[str, tuple]
Symbols = Mapping[str, sp.Basic]


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
def parse(text: str, shapes: Optional[Shapes] = None, *, symbols: Optional[Symbols] = None) -> sp.Basic:
    r"""The SymPy expression `text` denotes.

    `shapes` declares matrices by name, ``{"x": ("n", 1), "A": ("n", "n")}`` (dimensions are names or
    positive integers; ``()`` declares a scalar); `symbols` maps names to SymPy objects a context
    already has (a model: ``{"X": X, "y": y, "beta": beta, "b": beta, "lambda": lam}``) and wins over
    `shapes`.  Raises `ParseError` for text that is not an expression, `ShapeError` for operands whose
    shapes do not fit, `LimitExceeded` for input too large or too slow, `NotSupported` for notation
    outside the grammar.

    >>> parse(r"\frac{1}{2}x^2 + 0.5")
    x**2/2 + 1/2
    >>> parse("x'*A*x", {"x": ("n", 1), "A": ("n", "n")})
    x.T*A*x
    """
    context = _Context(text, shapes, symbols)
    with time_limit(PARSE_SECONDS, f"parsing {_quote(text, 0)}"):
        lexemes = _Lexer(text, context.known).run()
        for lexeme in lexemes:
            if lexeme.kind in ("EQUALS", "NABLA", "PARTIAL"):
                hint = "an equation is not an expression" if lexeme.kind == "EQUALS" else \
                    "derivative notation is only read as the name on the left of an equation"
                raise _unexpected(text, lexeme.pos, _source(text, lexeme), hint)
        return _build(lexemes, context)


@dataclass(frozen=True)
class Label:
    r"""The left side of an equation when it names a quantity instead of computing one.

    `kind` is ``"function"`` (``L(\beta)``, ``\ell(\beta, \sigma^2)``), ``"gradient"`` (``\nabla_\beta L``,
    ``\frac{\partial L}{\partial\beta}``), ``"hessian"`` (``\nabla^2 L``, ``\frac{\partial^2 L}{\partial
    \beta\partial\beta^T}``) or ``"estimate"`` (``\hat\beta``, ``\hat{\sigma}^2``); `text` is the side as
    written.
    """
    kind: str
    text: str


@dataclass(frozen=True)
class Equation:
    r"""A line ``lhs = rhs = ...`` as read by `parse_equation`.

    `sides` are the expressions between the ``=`` signs, left to right, except a left side that is a
    `label`.  `continued` is true for a line that starts with ``=`` (``&= ...`` in an ``align``), which
    continues the previous line's chain.
    """
    sides: tuple
    label: Optional[Label] = None
    continued: bool = False


def parse_equation(text: str, shapes: Optional[Shapes] = None, *,
                   symbols: Optional[Symbols] = None) -> Equation:
    r"""One line of a derivation, ``L(\beta) = (y - X\beta)^T(y - X\beta)`` or ``&= y^Ty - 2\beta^TX^Ty``.

    Alignment marks (``&``), a trailing ``\\`` and ``\nonumber``/``\notag`` are ignored (columns in
    messages still count in the original line).  A line without ``=`` is one side.  The left side is a
    `Label` when it is function notation on undeclared names, scripts allowed (``L(\beta)``, ``f(x)``,
    ``\ell(\mu, \sigma^2)``), starts with ``\nabla`` or contains ``\partial`` (a derivative's name: a hessian
    when squared, ``\nabla^2_\beta L``), or is a ``\hat`` name (an estimate);
    otherwise every side is parsed with `parse`'s rules.

    >>> e = parse_equation(r"L(\beta) &= \beta^2 \\")
    >>> e.label.kind, e.sides
    ('function', (beta**2,))
    >>> parse_equation("&= 2x").continued
    True
    """
    context = _Context(text, shapes, symbols)
    with time_limit(PARSE_SECONDS, f"parsing {_quote(text, 0)}"):
        lexemes = _Lexer(_blank_alignment(text), context.known).run()
        sides, start = [], 0
        for k, lexeme in enumerate(lexemes + [None]):
            if lexeme is None or lexeme.kind == "EQUALS":
                sides.append((lexemes[start:k], lexeme))
                start = k + 1
        continued = not sides[0][0] and len(sides) > 1
        if continued:
            sides = sides[1:]
        label = _label(text, sides[0][0], context) if len(sides) > 1 else None
        if label:
            sides = sides[1:]
        expressions = []
        for part, equals in sides:
            if not part:
                where = equals.pos if equals is not None else len(text.rstrip()) - 1
                raise _unexpected(text, where, "'='" if equals is not None else "end of line",
                                  "expected an expression on both sides of '='")
            for lexeme in part:
                if lexeme.kind in ("NABLA", "PARTIAL"):
                    raise _unexpected(text, lexeme.pos, _source(text, lexeme),
                                      "derivative notation is only read as the left side's name")
            expressions.append(_build(part, context))
        return Equation(tuple(expressions), label, continued)


def parse_shapes(text: str) -> dict:
    """Shapes from the command line's ``--shapes`` text, for `parse`.

    Entries ``name:dims`` are separated by commas or semicolons; dimensions are separated by ``x``, ``×``
    or ``*`` (or written ``(n, d)``) and are names or positive integers.  One dimension is a column
    vector; ``:1`` declares a scalar and ``:1x1`` a 1×1 matrix.  (So a dimension name cannot contain
    the letter x.)  Greek names may be spelled ``beta``, ``\\beta`` or ``β``.

    >>> parse_shapes("x:n, A:nxn, B:m×n, c:1, S:(n, n)")
    {'x': ('n', 1), 'A': ('n', 'n'), 'B': ('m', 'n'), 'c': (), 'S': ('n', 'n')}
    """
    _check_text(text)
    shapes: dict = {}
    for entry in _split_top_level(text):
        if not entry.strip():
            continue
        name, colon, dims = entry.partition(":")
        if not colon:
            raise ParseError(f'cannot read "{entry.strip()}" in the shapes "{text}": '
                             'write name:dimensions, such as A:nxn or x:n')
        key = _shape_name(name.strip(), text)
        if key in shapes:
            raise ParseError(f'{key} is declared twice in the shapes "{text}"')
        shapes[key] = _shape_dimensions(key, dims.strip(), text)
    return shapes


# ---------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------
GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega").split()
_GREEK_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho",
                   "varsigma": "sigma", "varpi": "pi", "ell": "ell"}
_GREEK_NAMES = {**{g: g for g in GREEK}, **_GREEK_VARIANTS}
_GREEK_CHARACTERS = dict(zip("αβγδεζηθικλμνξοπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩϵϑϕϱςℓ", GREEK + [
    "epsilon", "theta", "phi", "rho", "sigma", "ell"]))

# Function words (plain or after a backslash) and the function each one means.
_FUNCTIONS = {"exp": "exp", "log": "log", "ln": "log", "sin": "sin", "cos": "cos", "tan": "tan",
              "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "asin": "asin", "acos": "acos", "atan": "atan",
              "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sqrt": "sqrt", "abs": "abs",
              "sigmoid": "sigmoid", "softplus": "softplus", "tr": "tr", "trace": "tr", "Tr": "tr", "det": "det",
              "logdet": "logdet", "inv": "inv", "diag": "diag", "ones": "ones", "zeros": "zeros", "eye": "eye",
              "sum": "sum"}
_LATEX_FUNCTIONS = {"exp", "log", "ln", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan",
                    "det", "tr", "Tr", "trace"}
# Functions of a scalar only: derive.functions knows how to apply the others entrywise to a matrix.
_SCALAR_ONLY = {"tan": sp.tan, "sqrt": sp.sqrt, "abs": sp.Abs, "sinh": sp.sinh, "cosh": sp.cosh, "asin": sp.asin,
                "acos": sp.acos, "atan": sp.atan}

_DECORATIONS = {"hat", "widehat", "tilde", "widetilde", "mathbf", "boldsymbol", "bm", "vec", "mathrm",
                "mathit", "mathcal", "mathsf", "mathbb", "bar", "overline", "operatorname", "text",
                "textrm", "textit"}
_ESTIMATE_DECORATIONS = {"hat", "widehat", "tilde", "widetilde"}
_SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle", "limits", "nolimits"}
_SIZING = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "biggl", "biggr", "Biggl", "Biggr"}
_OPERATORS = {"cdot": "STAR", "times": "STAR", "ast": "STAR", "div": "SLASH", "odot": "HADAMARD",
              "circ": "HADAMARD"}
_SYMBOL_CHARACTERS = {"*": "STAR", "×": "STAR", "·": "STAR", "⋅": "STAR", "÷": "SLASH", "/": "SLASH", "⊙": "HADAMARD",
                      "∘": "HADAMARD", ",": "_COMMA", ";": "_SEMI"}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+"))
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")

# Brackets: the closer of each opener, and how messages show them.
_CLOSER = {"(": ")", "[": "]", "{": "}", "\\{": "\\}", "|": "|", "‖": "\\|"}


# ---------------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------------
def _quote(text: str, pos: int, width: int = 80) -> str:
    """The text in double quotes for a message, cut around `pos` when long, control characters escaped."""
    start = 0
    if len(text) > width:
        start = max(0, min(pos - width // 2, len(text) - width))
    shown = text[start:start + width]
    shown = "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in shown)
    return '"' + ("…" if start > 0 else "") + shown + ("…" if start + width < len(text) else "") + '"'


def _where(text: str, pos: int) -> str:
    """``at column 14 in "..."``, or ``at line 2, column 3`` in text of several lines."""
    line = text.count("\n", 0, pos)
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    place = f"line {line + 1}, column {column}" if "\n" in text else f"column {column}"
    return f"at {place} in {_quote(text, pos)}"


def _unexpected(text: str, pos: int, what: str, expected: str = "") -> ParseError:
    return ParseError(f"unexpected {what} {_where(text, pos)}" + (f": {expected}" if expected else ""))


def _source(text: str, lexeme: "Lexeme") -> str:
    return "'" + text[lexeme.pos:lexeme.end] + "'"


def _check_text(text: str) -> None:
    """Refuse input that is not text, too long, or holds control or invisible formatting characters."""
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise LimitExceeded(f"the input is {len(text)} characters long; the limit is {MAX_INPUT_CHARS}")
    for pos, c in enumerate(text):
        if unicodedata.category(c)[0] == "C" and c not in "\t\n\r":
            raise ParseError(f"control character U+{ord(c):04X} {_where(text, pos)}")


# ---------------------------------------------------------------------------------------------------
# Lexer: text to tokens
# ---------------------------------------------------------------------------------------------------
@dataclass
class Lexeme:
    """One token: `kind` is a terminal of GRAMMAR, `value` its normalised text, [pos, end) its place."""
    kind: str
    value: str
    pos: int
    end: int
    hat: bool = False          # a \hat or \tilde name: an estimate, for equation labels
    words: bool = False        # a subscript whose parts are whole names (\nabla_\beta)
    after_operand: bool = False  # a subscript of a name or norm, rather than of a function or sum

    @property
    def ends_operand(self) -> bool:
        if self.kind == "SUB":
            return self.after_operand
        return self.kind in ("NUMBER", "NAME", "_RPAR", "_RBRACKET", "_ABS_CLOSE", "_NORM_CLOSE", "TRANSPOSE",
                             "USUP")


# A dot followed by a lone T is a transpose (1.T), not a decimal point.
_NUMBER = re.compile(r"(?:[0-9]+(?:\.(?!T(?![A-Za-z0-9_]))[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_WORD_WITH_UNDERSCORES = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
_T = r"(?:T|\\top(?![A-Za-z])|\\intercal(?![A-Za-z])|\\math(?:sf|rm)\s*\{\s*T\s*\}|\\math(?:sf|rm)\s+T)"
_TRANSPOSE = re.compile(r"\^\s*(?:(?P<bare>" + _T + r")|\{\s*(?P<minus>-\s*)?(?P<braced>" + _T + r")\s*\})")
_LEIBNIZ = re.compile(r"\s*\{\s*d\s*[^{}]*\}\s*\{\s*d\s*[A-Za-z\\]")
_SUBSCRIPT_TEXT = re.compile(r"[A-Za-z0-9 ,+\-=']*")


class _Lexer:
    """Turns text into `Lexeme`s, deciding what depends on context so that the grammar need not.

    It knows the declared names (to split ``Xb`` and to keep a declared ``sigma`` a name), decides
    whether ``(`` opens a function's arguments, whether ``|`` opens or closes, whether ``'`` is a
    transpose, and checks brackets balance, nesting and literal sizes, with the column of any fault.
    """

    def __init__(self, text: str, known: frozenset):
        self.text = text
        self.known = known
        self.pos = 0
        self.out: list[Lexeme] = []
        self.stack: list[tuple[str, int]] = []  # open brackets: (opener, position)
        self.single: dict[int, str] = {}        # where an argument is one character: "script" or "char"
        self.call_paren: Optional[int] = None   # position of the '(' that opens a function's arguments
        self.force: Optional[str] = None        # "open"/"close": the delimiter after \left / \right

    # -- driver ---------------------------------------------------------------------------------------
    def run(self) -> list[Lexeme]:
        _check_text(self.text)
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c.isspace():
                self.pos += 1
                continue
            mode = self.single.pop(self.pos, None)
            if c in _DIGITS or (c == "." and text[self.pos + 1:self.pos + 2] in _DIGITS):
                self.number(mode)
            elif c in _LETTERS:
                self.word(mode)
            elif c == "\\":
                self.command()
            elif c in _GREEK_CHARACTERS:
                self.greek(_GREEK_CHARACTERS[c], self.pos, self.pos + 1)
            elif c in "+-−":
                self.emit("PLUS" if c == "+" else "MINUS", c, self.pos, self.pos + 1)
                if mode:  # x^-1: the exponent's sign, then its one-character argument
                    self.single[self.skip_spaces(self.pos)] = mode
            elif c == "*" and text.startswith("**", self.pos):
                self.emit("CARET", "**", self.pos, self.pos + 2)
            elif c == "^":
                self.caret()
            elif c in "'′ᵀ⊤":
                self.postfix_transpose(c)
            elif c in _SUPERSCRIPTS:
                self.superscript()
            elif c == ".":
                self.dot()
            elif c == "_":
                self.subscript()
            elif c == "(":
                self.open(c, "_CALL_LPAR" if self.pos == self.call_paren else "_LPAR", self.pos, self.pos + 1)
            elif c == "[":
                self.open(c, "_LBRACKET", self.pos, self.pos + 1)
            elif c in ")]":
                self.close("(" if c == ")" else "[", self.pos, self.pos + 1)
            elif c == "{":
                self.open("{", "_LPAR", self.pos, self.pos + 1)
            elif c == "}":
                self.close("{", self.pos, self.pos + 1)
            elif c == "|":
                if text.startswith("||", self.pos) and (not self.after_operand() or self.top() == "‖"):
                    self.bar("‖", self.pos, self.pos + 2)
                else:
                    self.bar("|", self.pos, self.pos + 1)
            elif c == "‖":
                self.bar("‖", self.pos, self.pos + 1)
            elif c == "=":
                if self.stack:
                    raise _unexpected(text, self.pos, "'='", f"the {self.describe_open()} is not closed")
                self.emit("EQUALS", "=", self.pos, self.pos + 1)
            elif c in _SYMBOL_CHARACTERS:
                self.emit(_SYMBOL_CHARACTERS[c], c, self.pos, self.pos + 1)
            elif c == "∑" or c == "∏":
                self.emit("BIGOP", "sum" if c == "∑" else "prod", self.pos, self.pos + 1)
            elif c == "√":
                self.emit("SQRT", "sqrt", self.pos, self.pos + 1)
            elif c == "∇" or c == "∂":
                self.emit("NABLA" if c == "∇" else "PARTIAL", c, self.pos, self.pos + 1)
            else:
                raise _unexpected(text, self.pos, f"'{c}'")
        if self.stack:
            opener, pos = self.stack[-1]
            raise ParseError(f"unbalanced '{opener}' {_where(text, pos)}: no '{_CLOSER[opener]}' closes it")
        return self.out

    # -- helpers --------------------------------------------------------------------------------------
    def emit(self, kind: str, value: str, start: int, end: int, **flags) -> Lexeme:
        lexeme = Lexeme(kind, value, start, end, **flags)
        self.out.append(lexeme)
        self.pos = end
        return lexeme

    def after_operand(self) -> bool:
        return bool(self.out) and self.out[-1].ends_operand

    def top(self) -> Optional[str]:
        return self.stack[-1][0] if self.stack else None

    def describe_open(self) -> str:
        opener, pos = self.stack[-1]
        return f"'{opener}' at column {pos + 1}"

    def skip_spaces(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        return pos

    def fail(self, pos: int, what: Optional[str] = None, expected: str = "") -> ParseError:
        return _unexpected(self.text, pos, what or f"'{self.text[pos]}'", expected)

    # -- numbers and names ----------------------------------------------------------------------------
    def number(self, mode: Optional[str]) -> None:
        start = self.pos
        if mode == "char":  # \frac12: one digit per argument
            self.emit("NUMBER", self.text[start], start, start + 1)
            return
        literal = _NUMBER.match(self.text, start).group()
        mantissa, _, exponent = literal.lower().partition("e")
        if sum(c in _DIGITS for c in mantissa) > MAX_NUMBER_DIGITS:
            raise LimitExceeded(f"a number longer than {MAX_NUMBER_DIGITS} digits {_where(self.text, start)}")
        if exponent and abs(int(exponent)) > MAX_DECIMAL_EXPONENT:
            raise LimitExceeded(f"a number with an exponent beyond ±{MAX_DECIMAL_EXPONENT} "
                                f"{_where(self.text, start)}")
        self.emit("NUMBER", literal, start, start + len(literal))

    def word(self, mode: Optional[str]) -> None:
        start = self.pos
        whole = _WORD.match(self.text, start).group()
        if mode and (mode == "char" or whole not in self.known | _GREEK_NAMES.keys() | _FUNCTIONS.keys()):
            self.name(self.text[start], start, start + 1)  # X^TX, e^x, \frac1n: one letter
            return
        joined = _WORD_WITH_UNDERSCORES.match(self.text, start)
        candidate = joined.group() if joined else ""
        while "_" in candidate:  # a declared name with underscores, such as a data column log_income
            if candidate in self.known:
                self.emit("NAME", candidate, start, start + len(candidate))
                return
            candidate = candidate.rsplit("_", 1)[0]
        word = _WORD.match(self.text, start).group()
        end = start + len(word)
        if word in self.known:
            self.emit("NAME", word, start, end)
        elif word in ("sum", "prod") and self.text[self.skip_spaces(end):][:1] in ("_", "^"):
            self.emit("BIGOP", word, start, end)
        elif word in _FUNCTIONS:
            self.function(_FUNCTIONS[word], start, end)
        elif word in _GREEK_NAMES:
            self.greek(_GREEK_NAMES[word], start, end)
        else:
            pieces = self.segment(word)
            for piece, offset in pieces or [(word, 0)]:
                self.emit("NAME", piece, start + offset, start + offset + len(piece))

    def segment(self, word: str) -> Optional[list]:
        """``Xbeta`` as [X, beta] when every piece is a declared name or a Greek letter, else None."""
        pieces_known = self.known | set(_GREEK_NAMES)

        @functools.lru_cache(maxsize=None)
        def split(i: int):
            if i == len(word):
                return ()
            for j in range(len(word), i, -1):  # longest piece first
                if word[i:j] in pieces_known:
                    rest = split(j)
                    if rest is not None:
                        return ((word[i:j], i),) + rest
            return None

        if len(word) > 64:  # a name that long is a name
            return None
        pieces = split(0)
        return list(pieces) if pieces and len(pieces) > 1 else None

    def name(self, name: str, start: int, end: int, hat: bool = False) -> None:
        self.emit("NAME", name, start, end, hat=hat)

    def greek(self, name: str, start: int, end: int) -> None:
        """A Greek letter; σ directly followed by ( is the sigmoid unless sigma is declared."""
        if name == "sigma" and "sigma" not in self.known:
            after = self.after_sizing(end)
            if self.text[after:after + 1] == "(":
                self.function("sigmoid", start, end)
                return
            if self.text[after:after + 1] in ("'", "′"):
                raise self.fail(start, f"'{self.text[start:after + 1]}'",
                                "derivative notation is not read; write σ(z)(1 - σ(z)) for σ'(z)")
        self.name(name, start, end)

    def function(self, name: str, start: int, end: int) -> None:
        after = self.after_sizing(end)
        if self.text[after:after + 1] in ("'", "′"):
            raise self.fail(start, f"'{self.text[start:after + 1]}'", "derivative notation is not read")
        self.emit("FUNC", name, start, end)
        self.mark_call(end)

    def after_sizing(self, pos: int) -> int:
        """The position after spaces and sizing commands (\\left, \\big) from `pos`."""
        while True:
            pos = self.skip_spaces(pos)
            m = _COMMAND.match(self.text, pos)
            if not m or m.group(1) not in _SIZING:
                return pos
            pos = m.end()

    def mark_call(self, end: int) -> None:
        after = self.after_sizing(end)
        if self.text[after:after + 1] == "(":
            self.call_paren = after

    # -- commands -------------------------------------------------------------------------------------
    def command(self) -> None:
        start = self.pos
        m = _COMMAND.match(self.text, start)
        if not m:
            raise self.fail(start, "'\\'", "a command name must follow the backslash")
        name, end = m.group(1), m.end()
        if name in _SPACING:
            self.pos = end
        elif name in _SIZING:
            self.force = {"left": "open", "right": "close"}.get(name)
            self.pos = end
        elif name in _GREEK_NAMES:
            self.greek(_GREEK_NAMES[name], start, end)
        elif name in _LATEX_FUNCTIONS:
            self.function(_FUNCTIONS[name], start, end)
        elif name in ("frac", "dfrac", "tfrac"):
            if _LEIBNIZ.match(self.text, end):  # \frac{dL}{d\beta}: a derivative's name, like \partial
                self.emit("PARTIAL", "d", start, end)
                return
            self.emit("FRAC", "frac", start, end)
            self.mark_arguments(end, 2)
        elif name == "sqrt":
            after = self.skip_spaces(end)
            if self.text[after:after + 1] == "[":
                raise self.fail(after, "'['", r"\sqrt[n]{x} is not read; write x^{1/n}")
            self.emit("SQRT", "sqrt", start, end)
            self.mark_arguments(end, 1)
        elif name in ("sum", "prod"):
            self.emit("BIGOP", name, start, end)
        elif name in _OPERATORS:
            self.emit(_OPERATORS[name], "\\" + name, start, end)
        elif name in ("|", "Vert", "lVert", "rVert"):
            self.force = {"lVert": "open", "rVert": "close"}.get(name, self.force)
            self.bar("‖", start, end)
        elif name in ("vert", "lvert", "rvert"):
            self.force = {"lvert": "open", "rvert": "close"}.get(name, self.force)
            self.bar("|", start, end)
        elif name == "{":
            self.open("\\{", "_LPAR", start, end)
        elif name == "}":
            self.close("\\{", start, end)
        elif name in _DECORATIONS:
            self.decorated(name, start, end)
        elif name in ("nabla", "partial"):
            self.emit("NABLA" if name == "nabla" else "PARTIAL", "\\" + name, start, end)
        elif name in ("top", "intercal"):
            raise self.fail(start, f"'\\{name}'", f"\\{name} is read as a superscript: X^\\{name}")
        else:
            raise ParseError(f"unknown command \\{name} {_where(self.text, start)}")

    def argument_end(self, pos: int) -> int:
        """Where the LaTeX argument starting at `pos` ends: a {group}, a command, or one character."""
        if self.text[pos:pos + 1] == "{":
            depth = 0
            for k in range(pos, len(self.text)):
                depth += {"{": 1, "}": -1}.get(self.text[k], 0)
                if depth == 0:
                    return k + 1
            raise ParseError(f"unbalanced '{{' {_where(self.text, pos)}: no '}}' closes it")
        m = _COMMAND.match(self.text, pos)
        return m.end() if m else pos + 1

    def mark_arguments(self, end: int, count: int) -> None:
        """\\frac12 and \\sqrt2: an argument without braces is one character."""
        pos = end
        for _ in range(count):
            pos = self.skip_spaces(pos)
            if pos >= len(self.text):
                return
            if self.text[pos] not in "{\\":
                self.single[pos] = "char"
            pos = self.argument_end(pos)

    def decorated(self, decoration: str, start: int, end: int) -> None:
        r"""\hat{\beta}, \mathbf{X}, \operatorname{tr}, \bar{x}: the name (or function) inside."""
        arg_start = self.skip_spaces(end)
        if arg_start >= len(self.text):
            raise self.fail(start, f"'\\{decoration}'", "it needs an argument")
        arg_end = self.argument_end(arg_start)
        braced = self.text[arg_start] == "{"
        content = self.text[arg_start + 1:arg_end - 1] if braced else self.text[arg_start:arg_end]
        kind, name, hat = self.decoration_content(content.strip(), arg_start, decoration, 0)
        if kind == "FUNC":
            self.function(name, start, arg_end)
            return
        if decoration in ("bar", "overline"):
            name += "bar"
        self.name(name, start, arg_end, hat=hat or decoration in _ESTIMATE_DECORATIONS)

    def decoration_content(self, content: str, pos: int, decoration: str, depth: int):
        """(kind, name, hat) for the argument of a decoration; nested decorations are read through."""
        if depth > MAX_NESTING:
            raise LimitExceeded(f"decorations nested too deeply {_where(self.text, pos)}")
        word_like = re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", content)
        if decoration in ("operatorname", "mathrm", "text", "textrm") and content in _FUNCTIONS:
            return "FUNC", _FUNCTIONS[content], False
        if decoration == "operatorname":
            raise ParseError(f"unknown function \\operatorname{{{content}}} {_where(self.text, pos)}")
        if word_like:
            return "NAME", content, False
        if content in ("0", "1") and decoration in ("mathbf", "boldsymbol", "bm", "mathbb"):
            return "NAME", content, False
        if content in _GREEK_CHARACTERS:
            return "NAME", _GREEK_CHARACTERS[content], False
        m = re.fullmatch(r"\\([A-Za-z]+)\s*(.*)", content, re.DOTALL)
        if m and m.group(1) in _GREEK_NAMES and not m.group(2).strip():
            return "NAME", _GREEK_NAMES[m.group(1)], False
        if m and m.group(1) in _DECORATIONS:
            inner = m.group(2).strip()
            if inner.startswith("{") and inner.endswith("}"):
                inner = inner[1:-1].strip()
            kind, name, hat = self.decoration_content(inner, pos, m.group(1), depth + 1)
            if m.group(1) in ("bar", "overline"):
                name += "bar"
            return kind, name, hat or m.group(1) in _ESTIMATE_DECORATIONS
        raise self.fail(pos, f"'{content}'" if content else "'{}'", f"\\{decoration} takes a single name here")

    # -- scripts and postfix operators ----------------------------------------------------------------
    def caret(self) -> None:
        start = self.pos
        m = _TRANSPOSE.match(self.text, start)
        if m:
            if not self.after_operand():
                raise self.fail(start, "'^'", "a superscript needs something before it")
            value = "-T" if m.group("minus") else ("^T" if (m.group("bare") or m.group("braced")) == "T"
                                                         else "^top")
            if value != "-T":
                self.constant_vector()
            self.emit("TRANSPOSE", value, start, m.end())
            return
        self.emit("CARET", "^", start, start + 1)
        self.single[self.skip_spaces(self.pos)] = "script"

    def postfix_transpose(self, c: str) -> None:
        if not self.after_operand():
            raise self.fail(self.pos, "quote" if c == "'" else f"'{c}'",
                            "a transpose mark follows what it transposes; quotes are not strings")
        self.constant_vector()
        self.emit("TRANSPOSE", c, self.pos, self.pos + 1)

    def superscript(self) -> None:
        start = end = self.pos
        while end < len(self.text) and self.text[end] in _SUPERSCRIPTS:
            end += 1
        value = "".join(_SUPERSCRIPTS[c] for c in self.text[start:end])
        derivative = bool(self.out) and self.out[-1].kind in ("NABLA", "PARTIAL")  # ∇²L, an equation's label
        if not (self.after_operand() or derivative) or not re.fullmatch(r"[+-]?[0-9]+", value) or len(value) > 4:
            raise self.fail(start, f"'{self.text[start:end]}'")
        self.emit("USUP", value, start, end)

    def dot(self) -> None:
        start, text = self.pos, self.text
        nxt = text[start + 1:start + 2]
        if nxt == "T" and not re.match(r"[A-Za-z0-9_]", text[start + 2:start + 3]) and self.after_operand():
            self.constant_vector()
            self.emit("TRANSPOSE", ".T", start, start + 2)
        elif nxt == "*":
            self.emit("HADAMARD", ".*", start, start + 2)
        elif nxt == "/":
            self.emit("HDIV", "./", start, start + 2)
        elif nxt == "^":
            self.emit("HPOW", ".^", start, start + 2)
        else:
            raise self.fail(start, "'.'")

    def subscript(self) -> None:
        start, text = self.pos, self.text
        at = self.superscript_start()  # x^2_i is x_i^2: the subscript goes before the superscript
        if at is None:
            self.constant_vector()
            at = len(self.out)
        previous = self.out[at - 1] if at > 0 else None
        if previous is None or previous.kind not in ("NAME", "FUNC", "BIGOP", "_NORM_CLOSE", "NABLA"):
            raise self.fail(start, "'_'", "a subscript follows a name" if previous is None or
                            previous.kind != "SUB" else "one subscript per name; write x_{ij}")
        pos = self.skip_spaces(start + 1)
        c = text[pos:pos + 1]
        words = False
        if c == "{":
            close = text.find("}", pos)
            content = text[pos + 1:close] if close >= 0 else text[pos + 1:]
            if close < 0 or "{" in content:
                raise self.fail(pos, "'{'", "a subscript is letters, numbers, primes, commas and + - =")
            inner, words = self.subscript_content(content, pos + 1)
            end = close + 1
        elif c == "\\":
            m = _COMMAND.match(text, pos)
            if m.group(1) not in _GREEK_NAMES:
                raise self.fail(pos, f"'\\{m.group(1)}'", "a subscript is a letter, a number or {...}")
            inner, words, end = _GREEK_NAMES[m.group(1)], True, m.end()
        elif c in _LETTERS:
            inner, end = c, pos + 1
        elif c in _DIGITS:
            inner = re.match(r"[0-9]+", text[pos:]).group()
            end = pos + len(inner)
        elif c in _GREEK_CHARACTERS:
            inner, words, end = _GREEK_CHARACTERS[c], True, pos + 1
        else:
            raise self.fail(pos if pos < len(text) else start, f"'{c}'" if c else "'_'",
                            "a subscript is a letter, a number or {...}")
        self.out.insert(at, Lexeme("SUB", inner, start, end, words=words,
                                   after_operand=previous.kind in ("NAME", "_NORM_CLOSE")))
        self.pos = end
        if previous.kind == "FUNC" and at == len(self.out) - 1:
            self.mark_call(end)

    def superscript_start(self) -> Optional[int]:
        r"""Where the superscript just written begins, when a subscript follows it: LaTeX reads ``x^2_i``,
        ``\nabla^2_\beta``, ``\sum^n_{i=1}`` and ``\|v\|^2_2`` as if the subscript came first.  None when
        the text before is no complete superscript, or when it ends in a name that takes the subscript
        itself (``e^x_i`` stays e^{x_i}; only the limits of a sum and the variable of ∇ are never exponents)."""
        out = self.out
        if not out:
            return None
        k = len(out) - 1
        if out[k].kind == "USUP" or (out[k].kind == "TRANSPOSE" and out[k].value in ("^T", "^top", "-T")):
            return k
        if out[k].value == "}":  # back to the { that opens the group
            depth = 0
            while k >= 0:
                depth += {"}": 1, "{": -1}.get(out[k].value, 0)
                if depth == 0:
                    break
                k -= 1
        elif out[k].kind not in ("NUMBER", "NAME"):
            return None
        caret = self.exponent_caret(k)
        if caret is None:
            return None
        if out[k].kind == "NAME" and (caret == 0 or out[caret - 1].kind not in ("BIGOP", "NABLA")):
            return None  # e^x_i: the name in the exponent takes the subscript
        return caret

    def exponent_caret(self, k: int) -> Optional[int]:
        """The index of the ^ whose exponent starts at out[k] (after any signs, x^-1), or None."""
        while k >= 1 and self.out[k - 1].kind in ("MINUS", "PLUS"):
            k -= 1
        return k - 1 if k >= 1 and self.out[k - 1].kind in ("CARET", "HPOW") else None

    def constant_vector(self) -> None:
        r"""A literal 0 or 1 given a transpose or a size (``1^T``, ``1'``, ``1_n``) is the vector 𝟏 (𝟎), as
        ``\mathbf{1}`` is: a number has no transpose or size to give it.  An exponent stays a number."""
        last = self.out[-1] if self.out else None
        if last is not None and last.kind == "NUMBER" and last.value in ("0", "1") and \
                self.exponent_caret(len(self.out) - 1) is None:
            last.kind = "NAME"

    def subscript_content(self, content: str, pos: int) -> tuple[str, bool]:
        """Braced subscript text, Greek commands replaced by their names: ``{i=1}``, ``{\\beta}``."""
        words = False

        def greek(m):
            nonlocal words
            if m.group(1) not in _GREEK_NAMES:
                raise ParseError(f"unknown command \\{m.group(1)} {_where(self.text, pos + m.start())}")
            words = True
            return _GREEK_NAMES[m.group(1)]

        replaced = re.sub(r"\\([A-Za-z]+)", greek, content)
        bad = _SUBSCRIPT_TEXT.match(replaced).end()
        if bad < len(replaced):
            raise self.fail(pos + bad if not words else pos, f"'{replaced[bad]}'",
                            "a subscript is letters, numbers, primes, commas and + - =")
        return re.sub(r"\s+", "", replaced), words

    # -- brackets -------------------------------------------------------------------------------------
    def open(self, opener: str, kind: str, start: int, end: int) -> None:
        if len(self.stack) >= MAX_NESTING:
            raise LimitExceeded(f"brackets nested more than {MAX_NESTING} deep {_where(self.text, start)}")
        self.stack.append((opener, start))
        self.force = None
        self.emit(kind, opener, start, end)

    def close(self, opener: str, start: int, end: int) -> None:
        closer = self.text[start:end]
        if not self.stack:
            raise self.fail(start, f"'{closer}'", "nothing is open to close")
        if self.top() != opener:
            expected = _CLOSER[self.top()]
            raise self.fail(start, f"'{closer}'", f"expected '{expected}' to close the {self.describe_open()}")
        self.stack.pop()
        self.force = None
        self.emit("_RBRACKET" if opener == "[" else "_RPAR", closer, start, end)

    def bar(self, kind: str, start: int, end: int) -> None:
        """| and ‖ both open and close: after an operand, with the same bar open, they close."""
        force, self.force = self.force, None
        closes = force == "close" or (force is None and self.after_operand() and self.top() == kind)
        names = {"|": ("_ABS_OPEN", "_ABS_CLOSE"), "‖": ("_NORM_OPEN", "_NORM_CLOSE")}[kind]
        if not closes:
            self.open(kind, names[0], start, end)
            return
        if self.top() != kind:
            raise self.fail(start, f"'{self.text[start:end]}'",
                            f"expected '{_CLOSER[self.top()]}' to close the {self.describe_open()}"
                            if self.stack else "nothing is open to close")
        self.stack.pop()
        self.emit(names[1], kind, start, end)


# ---------------------------------------------------------------------------------------------------
# Grammar
# ---------------------------------------------------------------------------------------------------
# LALR(1) over the lexer's tokens.  A product is a flat list of factors, prefix functions (\log x) and
# sums (\sum_i ...); `_Builder.product` decides how far each prefix reaches.  Terminals starting with _
# are dropped from the tree.
GRAMMAR = r"""
?start: sum
?sum: signed ((PLUS | MINUS) signed)*
?signed: MINUS signed                              -> neg
       | PLUS signed                               -> pos
       | product
product: lead item*
?lead: factor
     | FUNC SUB?                                   -> bare_function
     | BIGOP SUB? (CARET exponent)?                -> bigop
?item: lead
     | mulop lead                                  -> operation
mulop: (STAR | SLASH | HADAMARD | HDIV) (MINUS | PLUS)*
?factor: postfix
       | postfix CARET exponent                    -> power
       | postfix HPOW exponent                     -> hpower
?exponent: MINUS exponent                          -> neg
         | PLUS exponent                           -> pos
         | factor
?postfix: atom
        | postfix TRANSPOSE                        -> transpose
        | postfix USUP                             -> usup
?atom: NUMBER                                      -> number
     | NAME SUB?                                   -> name
     | _LPAR sum _RPAR
     | _LBRACKET rows _RBRACKET                    -> bracket
     | FUNC SUB? _CALL_LPAR arglist _RPAR          -> call
     | FRAC atom atom                              -> frac
     | SQRT atom                                   -> sqrt
     | _NORM_OPEN sum _NORM_CLOSE SUB?             -> norm
     | _ABS_OPEN sum _ABS_CLOSE                    -> abs
arglist: sum (_COMMA sum)*
rows: row (_SEMI row)*
row: sum (_COMMA sum)*
%declare NUMBER NAME FUNC BIGOP FRAC SQRT SUB CARET HPOW TRANSPOSE USUP PLUS MINUS STAR SLASH HADAMARD HDIV
%declare _LPAR _RPAR _LBRACKET _RBRACKET _CALL_LPAR _COMMA _SEMI _NORM_OPEN _NORM_CLOSE _ABS_OPEN _ABS_CLOSE
"""

_OPERAND_STARTS = {"NUMBER", "NAME", "FUNC", "BIGOP", "FRAC", "SQRT", "_LPAR", "_LBRACKET", "_NORM_OPEN",
                   "_ABS_OPEN"}
_TOKEN_NAMES = {"_RPAR": "')'", "_RBRACKET": "']'", "_COMMA": "','", "_SEMI": "';'", "_CALL_LPAR": "'('",
                "_NORM_CLOSE": "'\\|'", "_ABS_CLOSE": "'|'"}


@functools.lru_cache(maxsize=None)
def _lalr():
    """The Lark LALR parser, built on first use (it takes a while, and `derive show` never needs it)."""
    from lark import Lark
    from lark.lexer import Lexer

    class TokenStream(Lexer):
        """Lark's side of our lexer: the tokens are made already."""

        def __init__(self, lexer_conf):
            pass

        def lex(self, tokens, *args):
            return iter(tokens)

    return Lark(GRAMMAR, parser="lalr", lexer=TokenStream)


def _build(lexemes: list[Lexeme], context: "_Context") -> sp.Basic:
    """Parse `lexemes` with the grammar and build the SymPy expression, shapes checked."""
    from lark import Token
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    text = context.text
    if not lexemes:
        raise ParseError(f"empty expression {_quote(text, 0)}")
    tokens = [Token(lx.kind, lx.value, start_pos=lx.pos, end_pos=lx.end) for lx in lexemes]
    context.lexemes.update((lx.pos, lx) for lx in lexemes)
    try:
        tree = _lalr().parse(tokens)
    except UnexpectedToken as error:
        token = error.token
        if token.type == "$END":
            where, what = max(lx.end for lx in lexemes), "end of input"
        else:
            where, what = token.start_pos, _source(text, context.lexemes[token.start_pos])
        raise _unexpected(text, where, what, _expected(error.expected)) from None
    except UnexpectedInput as error:  # any other grammar failure: still one line with a place
        raise _unexpected(text, lexemes[0].pos, "input", str(error).splitlines()[0]) from None
    try:
        return context.finish(_evaluate(tree, _Builder(context)))
    except RecursionError:
        raise LimitExceeded(f"the expression is nested too deeply {_where(text, 0)}") from None


def _expected(terminals) -> str:
    wanted = []
    if set(terminals) & _OPERAND_STARTS:
        wanted.append("a number, a name or '('")
    wanted += [_TOKEN_NAMES[t] for t in sorted(terminals) if t in _TOKEN_NAMES]
    return "expected " + " or ".join(wanted) if wanted else ""


def _evaluate(tree, builder: "_Builder"):
    """Build the tree bottom up without recursion, refusing trees deeper than the nesting limit allows."""
    max_depth = 3 * MAX_NESTING  # each bracket level is at most a few tree levels
    results: list = []
    stack = [(tree, 1, False)]
    while stack:
        node, depth, ready = stack.pop()
        if not hasattr(node, "data"):  # a token
            results.append(node)
        elif ready:
            count = len(node.children)
            children = results[len(results) - count:]
            del results[len(results) - count:]
            results.append(getattr(builder, node.data)(children))
        else:
            if depth > max_depth:
                raise LimitExceeded(f"the expression is nested more than {max_depth} levels deep "
                                    f"{_where(builder.context.text, 0)}")
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(node.children))
    return results[0]


# ---------------------------------------------------------------------------------------------------
# Context: what the names mean
# ---------------------------------------------------------------------------------------------------
def _dimension(size) -> sp.Expr:
    """A matrix dimension: a positive integer symbol (equal to derive.symbols.n, d, ...) or an Integer."""
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


def _normalize_name(name: str) -> str:
    r"""``\beta``, ``β`` and ``beta`` are all ``beta``."""
    if name.startswith("\\") and name[1:] in _GREEK_NAMES:
        return _GREEK_NAMES[name[1:]]
    return _GREEK_CHARACTERS.get(name, _GREEK_NAMES.get(name, name))


def _is_plain(symbol: sp.Symbol) -> bool:
    return isinstance(symbol, sp.Symbol) and not isinstance(symbol, sp.Dummy) and \
        symbol.assumptions0 == {"commutative": True}


class _Context:
    """The names a parse knows (declared shapes, context symbols) and the state it builds up."""

    def __init__(self, text: str, shapes: Optional[Shapes], symbols: Optional[Symbols]):
        self.text = text
        self.symbols = {_normalize_name(k): v for k, v in (symbols or {}).items()}
        self.declared: dict[str, sp.Basic] = {}
        for name, shape in (shapes or {}).items():
            name = _normalize_name(name)
            shape = tuple(shape)
            if len(shape) > 2:
                raise ParseError(f"{name} has {len(shape)} dimensions; derive handles scalars, vectors "
                                 "and matrices")
            if not shape:
                self.declared[name] = sp.Symbol(name)
            else:
                rows, cols = (shape + (1,))[:2]
                self.declared[name] = sp.MatrixSymbol(name, _dimension(rows), _dimension(cols))
        # A context symbol named "sigma^2" (a variance) makes sigma a name, never the sigmoid.
        powers = {key.split("^")[0] for key in self.symbols if re.fullmatch(r"[A-Za-z]+\^[0-9]+", key)}
        self.known = frozenset(self.symbols) | frozenset(self.declared) | frozenset(powers)
        self.lexemes: dict[int, Lexeme] = {}
        self.placeholders: set = set()

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
        """The size of an I or 1 written without one, settled by what it meets (`_Builder.match`)."""
        size = sp.Dummy("size", integer=True, positive=True)
        self.placeholders.add(size)
        return size

    def finish(self, expr) -> sp.Basic:
        if isinstance(expr, _Norm):
            expr = expr.value()
        unsized = expr.atoms(sp.Dummy) & self.placeholders
        if unsized:
            raise ParseError(f"cannot tell the size of I or 1 in {_quote(self.text, 0)}: "
                             "write it with a size, I_n or \\mathbf{1}_n")
        return _unify_symbols(expr)


def _unify_symbols(expr: sp.Basic) -> sp.Basic:
    """One symbol per name: a plain n meets the dimension n (``\\frac{1}{n}\\sum_{i=1}^{n}``) and becomes it."""
    by_name: dict[str, set] = {}
    for symbol in expr.atoms(sp.Symbol):
        if not isinstance(symbol, sp.Dummy):
            by_name.setdefault(symbol.name, set()).add(symbol)
    replace = {}
    for name, found in by_name.items():
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


class _Builder:
    """One method per grammar rule, each building SymPy from its already-built children."""

    def __init__(self, context: _Context):
        self.context = context

    # -- helpers --------------------------------------------------------------------------------------
    def lexeme(self, token) -> Lexeme:
        return self.context.lexemes[token.start_pos]

    def fail(self, token, message: str) -> ParseError:
        return ParseError(f"{message} {_where(self.context.text, token.start_pos)}")

    @staticmethod
    def value(x):
        return x.value() if isinstance(x, _Norm) else x

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
            if subtract:
                raise ShapeError(f"cannot subtract {_described(original_b)} from {_described(original_a)}")
            raise ShapeError(f"cannot add {_described(original_a)} and {_described(original_b)}")
        terms = [t for m in matched for t in (m.args if isinstance(m, sp.MatAdd) else (m,))
                 if not isinstance(t, sp.ZeroMatrix)]
        if not terms:
            return matched[0] if isinstance(matched[0], sp.ZeroMatrix) else sp.ZeroMatrix(*matched[0].shape)
        # SymPy's own MatAdd canonicalisation rebuilds terms and distributes transposes, (1 - y)ᵀ into
        # 1ᵀ - yᵀ; only flatten and order the terms, as it would.
        return terms[0] if len(terms) == 1 else sp.MatAdd(*sorted(terms, key=sp.default_sort_key))

    @staticmethod
    def entries(scalar, like):
        """A scalar added to a matrix is added to every entry: scalar·ones."""
        if scalar == 0:
            return sp.ZeroMatrix(*like.shape)
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
        raise ShapeError(f"cannot multiply {_described(a)} by {_described(b)}")

    def divide(self, a, b, token):
        if not _is_matrix(b):
            if b == 0:
                raise self.fail(token, "division by zero")
            return self.multiply(a, 1 / b) if _is_matrix(a) else a / b
        if b.shape == (1, 1):
            return self.multiply(a, sp.Inverse(b))
        raise ShapeError(f"cannot divide {_operand(a)} by the matrix {_described(b)}; "
                         f"write inv({_operand(b)}) for its inverse")

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
                                f"{_where(self.context.text, token.start_pos)}")
        if base.is_Rational and base not in (0, 1, -1):
            size = max(abs(base.p).bit_length(), base.q.bit_length()) * 0.30103
            if abs(exponent) * size > MAX_RESULT_DIGITS:
                raise LimitExceeded(f"{_operand(base)}^{_operand(exponent)} has more than "
                                    f"{MAX_RESULT_DIGITS} digits {_where(self.context.text, token.start_pos)}")

    def raise_to(self, base, exponent, token):
        if isinstance(base, _Norm) and exponent == 2:
            return base.squared()
        base = self.value(base)
        if _is_matrix(exponent):
            if base == sp.E:
                return apply(sp.exp, exponent)
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
            raise LimitExceeded(f"more than {MAX_NESTING} functions in one product {_where(self.context.text, 0)}")
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
        (``\log 2\pi\sigma^2``), up to an operator or the next function, or a function or sum itself
        (``\log\det S``, ``\log\sum_i x_i``)."""
        if k == len(items) or isinstance(items[k], _Operation):
            raise self.fail(function.token, f"{self.source(function.token)} needs an argument")
        first = items[k]
        if isinstance(first, _BigOp):
            return self.big_operator(first, self.fold(items, k + 1)), len(items)
        if isinstance(first, _Bare):
            inner, k = self.argument(items, k + 1, first)
            return self.call_function(first.token, first.sub, [inner]), k
        factors = []
        while k < len(items) and not isinstance(items[k], (_Operation, _Bare, _BigOp)):
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

    def power(self, children):
        base, caret, exponent = children[0], children[1], self.value(children[2])
        named = self.context.symbols.get(f"{base}^{exponent}") if isinstance(base, sp.Symbol) else None
        if named is not None and _is_plain(base) and exponent.is_Integer:
            return named  # the context's own symbol for sigma^2
        return self.raise_to(base, exponent, caret)

    def hpower(self, children):
        base, token, exponent = self.value(children[0]), children[1], self.value(children[2])
        if _is_matrix(exponent):
            raise ShapeError(f"an entrywise power needs a scalar exponent, not {_described(exponent)}")
        if not _is_matrix(base):
            return self.raise_to(base, exponent, token)
        self.check_exponent(base, exponent, token)
        return sp.HadamardPower(base, exponent)

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

    def usup(self, children):
        v, token = children
        return self.raise_to(v, sp.Integer(int(token.value)), token)

    def frac(self, children):
        return self.divide(self.value(children[1]), self.value(children[2]), children[0])

    def sqrt(self, children):
        return self.call_function(children[0], None, [self.value(children[1])])

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
        return self.call_function(token, sub, children[-1])

    # -- functions and sums ---------------------------------------------------------------------------
    def call_function(self, token, sub, args):
        name = token.value
        shown = self.source(token)
        if name in ("ones", "zeros", "eye"):
            return self.constant_matrix(name, args, token)
        if len(args) != 1:
            raise self.fail(token, f"{shown} takes one argument, not {len(args)},")
        if sub is not None and name != "log":
            raise self.fail(sub, f"a subscript on {shown} is not read")
        x = args[0]
        if name == "log" and sub is not None:  # \log_2 x
            base = sp.Integer(int(sub.value)) if sub.value.isdigit() else self.symbol(sub.value)
            natural = self.call_function(token, None, [x])
            return natural if base == sp.E else self.divide(natural, sp.log(base), token)
        if name in ("tr", "det", "inv", "logdet", "diag"):
            return self.matrix_function(name, x, token)
        if name == "sum":  # sum(v), sum v: \sum without an index
            return self.big_operator(_BigOp(token, None, None), x)
        function = SCALAR_FUNCTIONS.get(name) or _SCALAR_ONLY[name]
        if not _is_matrix(x):
            return function(x)
        if name in SCALAR_FUNCTIONS:
            return apply(function, x)
        if name == "sqrt" and x.shape == (1, 1):
            return sp.HadamardPower(x, sp.S.Half)
        raise ShapeError(f"{shown} of the matrix {_described(x)}: {shown} applies to scalars here")

    def matrix_function(self, name: str, x, token):
        if not _is_matrix(x):  # a scalar is a 1×1 matrix: its own trace and determinant
            if name == "diag":
                raise ShapeError(f"diag of the scalar {_operand(x)}: diag makes a matrix from a vector")
            if name == "inv" and x == 0:
                raise self.fail(token, "division by zero")
            return {"tr": x, "det": x, "inv": 1 / x, "logdet": sp.log(x)}[name]
        if name == "diag":
            if 1 in (x.shape[0], x.shape[1]) and x.shape[0] != x.shape[1]:
                return DiagMatrix(x)
            return DiagonalOf(self.square(x, "diagonal"))
        what = {"tr": "trace", "det": "determinant", "logdet": "log-determinant", "inv": "inverse"}[name]
        x = self.square(x, what)
        return {"tr": sp.Trace, "det": sp.Determinant, "inv": sp.Inverse,
                "logdet": lambda m: sp.log(sp.Determinant(m))}[name](x)

    def constant_matrix(self, name: str, args, token):
        if not 1 <= len(args) <= 2 or (name == "eye" and len(args) != 1):
            raise self.fail(token, f"{name} takes {'one size' if name == 'eye' else 'one or two sizes'}")
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


# ---------------------------------------------------------------------------------------------------
# Equations and shapes
# ---------------------------------------------------------------------------------------------------
def _blank_alignment(text: str) -> str:
    r"""The line with &, a trailing \\ and \nonumber / \notag replaced by spaces (columns unchanged)."""
    text = re.sub(r"\\(?:nonumber|notag)(?![A-Za-z])", lambda m: " " * len(m.group()), text)
    text = re.sub(r"\\\\\s*$", lambda m: " " * len(m.group()), text)
    return text.replace("&", " ")


def _label(text: str, lexemes: list[Lexeme], context: _Context) -> Optional[Label]:
    """The left side as a `Label` when it names a quantity (L(β), ∇L, ∂L/∂β, β̂), else None."""
    if not lexemes:
        return None
    shown = text[lexemes[0].pos:max(lx.end for lx in lexemes)].strip()  # a moved subscript may end last
    kinds = [lx.kind for lx in lexemes]
    if kinds[0] == "NABLA" or "PARTIAL" in kinds:
        second = any(lx.kind in ("NABLA", "PARTIAL") and _order(lexemes, k) == "2" for k, lx in enumerate(lexemes))
        return Label("hessian" if second else "gradient", shown)
    if (len(lexemes) >= 4 and kinds[0] == "NAME" and kinds[1] == "_LPAR" and kinds[-1] == "_RPAR"
            and lexemes[0].value not in context.known):
        arguments, current = [], []
        for lexeme in lexemes[2:-1]:
            if lexeme.kind == "_COMMA":
                arguments.append(current)
                current = []
            else:
                current.append(lexeme)
        if all(_scripted_name(argument) for argument in arguments + [current]):
            return Label("function", shown)
    if lexemes[0].hat and _scripted_name(lexemes):
        return Label("estimate", shown)
    return None


def _scripted_name(lexemes: list[Lexeme]) -> bool:
    r"""True for a name with scripts only: ``\beta``, ``\sigma^2``, ``x_{i}``, ``\hat\sigma^{2}``, ``\beta'``."""
    letters = {"NAME": "n", "NUMBER": "n", "SUB": "s", "USUP": "s", "TRANSPOSE": "s", "CARET": "^", "MINUS": "-"}
    shape = "".join(letters.get(lx.kind, "") if lx.value not in ("{", "}") else lx.value for lx in lexemes)
    return bool(lexemes) and lexemes[0].kind == "NAME" and len(shape) == len(lexemes) and \
        re.fullmatch(r"n(?:s|\^-?n|\^\{-?n\})*", shape) is not None


def _order(lexemes: list[Lexeme], k: int) -> Optional[str]:
    r"""The order written on the derivative sign lexemes[k]: "2" in ``\nabla^2``, ``\nabla^{2}``, ``∇²``,
    ``\nabla_\beta^2`` and ``\partial^2``; None when there is none."""
    k += 1
    if k < len(lexemes) and lexemes[k].kind == "SUB":  # \nabla^2_\beta: the lexer put the subscript first
        k += 1
    if k < len(lexemes) and lexemes[k].kind == "USUP":
        return lexemes[k].value
    exponent = [lx.value for lx in lexemes[k + 1:k + 4]] if k < len(lexemes) and lexemes[k].kind == "CARET" else []
    if exponent[:1] == ["{"]:
        return exponent[1] if exponent[2:3] == ["}"] else None
    return exponent[0] if exponent else None


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c in ",;" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    return parts + [current]


def _shape_name(name: str, text: str) -> str:
    normalized = _normalize_name(name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", normalized):
        raise ParseError(f'cannot use "{name}" as a name in the shapes "{text}": '
                         "names are letters, digits and _, or Greek letters")
    return normalized


def _shape_dimensions(name: str, dims: str, text: str) -> tuple:
    inner = dims[1:-1] if dims.startswith("(") and dims.endswith(")") else dims
    parts = [p.strip() for p in re.split(r"[x×*,]", inner)]
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ParseError(f'cannot read the shape "{dims}" of {name} in the shapes "{text}": '
                         "write one dimension (a column vector) or two, such as n, nxd or 3x3")
    sizes = []
    for part in parts:
        if part.isdigit() and 0 < int(part) <= 10**9:
            sizes.append(int(part))
        elif re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", part):
            sizes.append(part)
        else:
            raise ParseError(f'cannot read the dimension "{part}" of {name} in the shapes "{text}": '
                             "a dimension is a name such as n or a positive integer")
    if len(sizes) == 1:
        return () if sizes[0] == 1 else (sizes[0], 1)
    return tuple(sizes)
