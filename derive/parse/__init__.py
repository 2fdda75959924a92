r"""The input grammar of `derive`: mathematics as people type it, LaTeX and plain, read into SymPy.

One grammar serves `derive diff`, `check`, `check-steps` and `fit --formula`:

>>> shapes = {"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1)}
>>> parse(r"-2X^T(y - X\beta)", shapes) == parse("-2*X.T*(y - X*beta)", shapes)
True
>>> parse_shapes("x:n, A:nxn")
{'x': ('n', 1), 'A': ('n', 'n')}

User text is never given to `eval`, `sympify` or `parse_expr`: a lexer written for it (`derive.parse.lexer`)
turns it into tokens, a Lark LALR parser checks the structure (`derive.parse.grammar`), and the tree is built
into SymPy objects by explicit code (`derive.parse.builder`), under the size and time limits of
`derive.core.limits`.  This module is the public side: the functions below, and the reading of an equation's
left side as a `Label`.

How the text is read
--------------------
Names.  An undeclared name is a scalar ``sympy.Symbol(name)`` with no assumptions, so it equals the
symbols people create themselves.  ``shapes`` declares matrices (``{"A": ("n", "n")}`` gives
``MatrixSymbol("A", n, n)`` with ``n`` a positive integer symbol, equal to ``derive.expr.symbols.n``);
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
LaTeX style, the factors written after it up to an operator or the next function, bracketed or not
(``\log 2\pi\sigma^2``, ``\log\det S``; ``\sin x\cos y`` and ``\sin x\cos(y)`` are both sin(x)·cos(y)).
``\sigma`` (``σ``, ``sigma``) directly followed by ``(`` is the sigmoid; otherwise it is the name sigma
(``\sigma^2``, ``\sigma_i``), and it is always a name when declared.  ``e^{u}`` is ``exp(u)``.
``\log_2 x`` is log base 2.

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
``Idx``).  Subscripts count from 1 as written: the textbook ``\sum_{i=1}^{n}``; `derive.core.numeval` reads
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

import re
from dataclasses import dataclass
from typing import Optional

import sympy as sp

from derive.core.limits import PARSE_SECONDS, time_limit
from derive.errors import ParseError
from derive.parse.builder import ParseContext, Shapes, Symbols
from derive.parse.grammar import build
from derive.parse.input_text import check_text, quote, unexpected
from derive.parse.lexer import LEIBNIZ_HINT, Lexeme, Lexer, normalize_name
from derive.parse.reading import reading

__all__ = ["parse", "parse_equation", "parse_shapes", "reading", "Equation", "Label"]


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
def parse(text: str, shapes: Optional[Shapes] = None, *, symbols: Optional[Symbols] = None,
          scalar_on_square: str = "refuse") -> sp.Basic:
    r"""The SymPy expression `text` denotes.

    `shapes` declares matrices by name, ``{"x": ("n", 1), "A": ("n", "n")}`` (dimensions are names or
    positive integers; ``()`` declares a scalar); `symbols` maps names to SymPy objects a context
    already has (a model: ``{"X": X, "y": y, "beta": beta, "b": beta, "lambda": lam}``) and wins over
    `shapes`.  Raises `ParseError` for text that is not an expression, `ShapeError` for operands whose
    shapes do not fit, `LimitExceeded` for input too large or too slow, `NotSupported` for notation
    outside the grammar. A scalar added to a square matrix (XᵀX + λ) has two readings, λI and λ in every
    entry, and is refused naming both; `scalar_on_square="every entry"` takes it as written, entry by entry
    (the checker does, to tell a student that the identity is missing).

    >>> parse(r"\frac{1}{2}x^2 + 0.5")
    x**2/2 + 1/2
    >>> parse("x'*A*x", {"x": ("n", 1), "A": ("n", "n")})
    x.T*A*x
    """
    context = ParseContext(text, shapes, symbols)
    context.scalar_on_square = scalar_on_square
    with time_limit(PARSE_SECONDS, f"parsing {quote(text, 0)}"):
        lexemes = Lexer(text, context.known).run()
        for lexeme in lexemes:
            if lexeme.kind in ("EQUALS", "NABLA", "PARTIAL"):
                hint = "an equation is not an expression" if lexeme.kind == "EQUALS" else LEIBNIZ_HINT
                raise unexpected(text, lexeme.pos, lexeme.quoted(text), hint)
        return build(lexemes, context)


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
    context = ParseContext(text, shapes, symbols)
    with time_limit(PARSE_SECONDS, f"parsing {quote(text, 0)}"):
        lexemes = Lexer(_blank_alignment(text), context.known).run()
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
                place = equals.pos if equals is not None else len(text.rstrip()) - 1
                raise unexpected(text, place, "'='" if equals is not None else "end of line",
                                 "expected an expression on both sides of '='")
            for lexeme in part:
                if lexeme.kind in ("NABLA", "PARTIAL"):
                    raise unexpected(text, lexeme.pos, lexeme.quoted(text),
                                     "derivative notation is only read as the left side's name")
            expressions.append(build(part, context))
        return Equation(tuple(expressions), label, continued)


def parse_shapes(text: str) -> dict:
    """Shapes from the command line's ``--shapes`` text, for `parse`.

    Entries ``name:dims`` are separated by commas or semicolons; dimensions are separated by ``x``, ``×``
    or ``*`` (or written ``(n, d)``) and are names or positive integers.  One dimension is a column
    vector; ``:1`` declares a scalar and ``:1x1`` a 1×1 matrix.  (So a dimension name cannot contain
    the letter x.)  Greek names may be spelled ``beta``, ``\\beta`` or ``β``.

    Assumptions follow the shape (DESIGN §5): ``W:nxn sym``, ``S:nxn pd``, ``D:nxn diag``, ``s2:pos``.

    >>> parse_shapes("x:n, A:nxn, B:m×n, c:1, S:(n, n)")
    {'x': ('n', 1), 'A': ('n', 'n'), 'B': ('m', 'n'), 'c': (), 'S': ('n', 'n')}
    >>> parse_shapes("W:nxn sym, s2:pos")
    {'W': ('n', 'n', 'sym'), 's2': ('pos',)}
    """
    check_text(text)
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
        dims, assumption = _assumption(key, dims.strip(), text)
        shapes[key] = (() if assumption == "pos" and not dims else _shape_dimensions(key, dims, text)) \
            + ((assumption,) if assumption else ())
    return shapes


# ---------------------------------------------------------------------------------------------------
# Equations and shapes
# ---------------------------------------------------------------------------------------------------
def _blank_alignment(text: str) -> str:
    r"""The line with &, a trailing \\ and \nonumber / \notag replaced by spaces (columns unchanged)."""
    text = re.sub(r"\\(?:nonumber|notag)(?![A-Za-z])", lambda m: " " * len(m.group()), text)
    text = re.sub(r"\\\\\s*$", lambda m: " " * len(m.group()), text)
    # & separates the entries of a pmatrix; elsewhere it aligns
    pieces = re.split(r"(\\begin\s*\{\s*[pbBvV]?matrix\s*\}.*?\\end\s*\{\s*[pbBvV]?matrix\s*\})", text)
    return "".join(piece if k % 2 else piece.replace("&", " ") for k, piece in enumerate(pieces))


_LABEL_FUNCTIONS = frozenset("fghFGH") | {"phi", "Phi"}


def _label(text: str, lexemes: list[Lexeme], context: ParseContext) -> Optional[Label]:
    """The left side as a `Label` when it names a quantity (L(β), ∇L, ∂L/∂β, β̂), else None."""
    if not lexemes:
        return None
    shown = text[lexemes[0].pos:max(lx.end for lx in lexemes)].strip()  # a moved subscript may end last
    kinds = [lx.kind for lx in lexemes]
    if kinds[0] == "NABLA" or "PARTIAL" in kinds:
        second = any(lx.kind in ("NABLA", "PARTIAL") and _order(lexemes, k) == "2" for k, lx in enumerate(lexemes))
        return Label("hessian" if second else "gradient", shown)
    # L(β), and f(x), φ(x) (read as functions on the right of an equation, as names on its left)
    named = kinds[0] == "NAME" or (kinds[0] == "FUNC" and lexemes[0].value in _LABEL_FUNCTIONS)
    if (len(lexemes) >= 4 and named and kinds[1] in ("_LPAR", "_CALL_LPAR") and kinds[-1] == "_RPAR"
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
    normalized = normalize_name(name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", normalized):
        raise ParseError(f'cannot use "{name}" as a name in the shapes "{text}": '
                         "names are letters, digits and _, or Greek letters")
    return normalized


_ASSUMPTION_WORDS = ("sym", "pd", "diag", "pos", "prob")


def _assumption(name: str, dims: str, text: str) -> tuple:
    """(the dimensions, the assumption after them or None): ``nxn pd`` is (``nxn``, ``pd``), ``pos`` alone
    is a positive scalar."""
    shape, _, last = dims.rpartition(" ")
    if dims in _ASSUMPTION_WORDS:
        return "", dims
    if last in _ASSUMPTION_WORDS and shape.strip():
        return shape.strip(), last
    if shape.strip() and re.fullmatch(r"[a-z]{2,}", last) and re.fullmatch(r"[A-Za-z0-9]+(\s*[x×*]\s*[A-Za-z0-9]+)?",
                                                                           shape.strip()):
        raise ParseError(f'cannot read "{last}" after the shape of {name} in the shapes "{text}": the assumptions '
                         "are sym, pd, diag (a square matrix), pos (a scalar) and prob (probabilities: a vector "
                         "summing to 1, or a matrix whose rows do)")
    return dims, None


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
