"""Long formulas broken the way textbooks break them: continuation lines at + and −.

A formula wider than the space it has is cut at the terms of its widest sum: at the top level
(`a + b` / `+ c`), or inside a parenthesis, which then opens on one line and closes on a later one
(`Xᵀ\\bigl(a + b` / `− c\\bigr)`). Where a sum is trapped in a fraction, a subscript or a function's
argument, no break is possible there, and the next candidate is tried. Widths come from the expression
tree: a sum is as wide as its terms and signs, and only a term that cannot be cut further is measured
from its LaTeX, token by token, in ems of the 11pt Computer Modern fonts (calibrated against pdflatex).
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from functools import lru_cache

import sympy as sp

from derive.expr.printing import latex as print_latex
from derive.expr.printing import negate, positive_first

# Widths in em of what a formula is made of (Computer Modern math, display style).
LETTER, CAPITAL, DIGIT, BINARY, RELATION, DELIMITER = 0.56, 0.8, 0.5, 1.22, 1.33, 0.42
CALIBRATION = 1.06     # the median ratio of pdflatex's widths to the sum of the table's, over every model
SCRIPT = 0.72           # sub- and superscripts are set smaller
WIDE_COMMANDS = {"sum": 1.45, "prod": 1.35, "odot": BINARY, "oslash": BINARY, "otimes": BINARY, "cdot": BINARY, "circ": 0.5,
                 "leq": RELATION, "geq": RELATION, "sim": RELATION, "in": RELATION, "to": RELATION,
                 "Rightarrow": RELATION + 0.3, "quad": 1.0, "qquad": 2.0, "partial": 0.57, "nabla": 0.85,
                 "infty": 1.0, "top": 0.78, "mathbf": 0.0, "det": 1.2, "log": 1.3, "exp": 1.5, "ldots": 1.2,
                 "dots": 1.2, "cdots": 1.2, "prime": 0.3}
ZERO_COMMANDS = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "displaystyle", "limits",
                 "mathrm", "mathit", "boldsymbol", "bm", "mathopen", "mathclose", "substack", "hat", "bar",
                 "tilde", "vec", "underbrace"}
_OPERATORS = (r"\odot", r"\oslash", r"\otimes")
_TOKEN = re.compile(r"\\([A-Za-z]+)|\\(.)|([A-Za-z])|([0-9.])|([+\-=<>])|([()\[\]|])|(\{)|(\})|([_^])|(.)", re.S)


def _group(tex: str, start: int) -> tuple[str, int]:
    """The brace group (or single token) at `start`: its text and the position after it."""
    while start < len(tex) and tex[start] == " ":
        start += 1
    if start >= len(tex):
        return "", start
    if tex[start] != "{":
        match = _TOKEN.match(tex, start)
        return match.group(0), match.end()
    depth = 0
    for k in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[k], 0)
        if depth == 0:
            return tex[start + 1:k], k + 1
    return tex[start + 1:], len(tex)


@lru_cache(maxsize=4096)
def tex_width(tex: str) -> float:
    """The estimated width in em of a LaTeX formula (display style)."""
    return CALIBRATION * _width(tex)


def _width(tex: str, display: bool = True) -> float:
    """Sums in display style have their limits under the sign; in a fraction or a script, beside it."""
    width, k = 0.0, 0
    while k < len(tex):
        match = _TOKEN.match(tex, k)
        command, symbol, letter, digit, operator, delimiter, _open, _close, script, other = match.groups()
        k = match.end()
        if command in ("frac", "dfrac", "tfrac"):
            numerator, k = _group(tex, k)
            denominator, k = _group(tex, k)
            width += max(_width(numerator, False), _width(denominator, False)) * (0.75 if command == "tfrac" else 1) + 0.3
        elif command in ("text", "operatorname", "textrm", "mathrm", "mathit", "mathbf", "textbf"):
            argument, k = _group(tex, k)
            width += (0.5 * len(argument) if command in ("text", "textrm", "textbf", "operatorname")
                      else _width(argument, display)) + (0.17 if command == "operatorname" else 0)
        elif command == "sqrt":
            argument, k = _group(tex, k)
            width += _width(argument, display) + 0.85
        elif command == "begin":  # a matrix: its widest entry per column, side by side
            _, k = _group(tex, k)
            end = tex.find(r"\end{", k)
            rows = [row.split("&") for row in tex[k:end].split(r"\\")]
            columns = max(len(row) for row in rows)
            width += sum(max(_width(row[c]) if c < len(row) else 0 for row in rows) for c in range(columns)) \
                + 1.0 * (columns - 1)
            k = tex.find("}", end) + 1
        elif command in ("substack",):
            argument, k = _group(tex, k)
            width += max(_width(line) for line in argument.split(r"\\"))
        elif command in ("sum", "prod"):
            # in display style the limits sit under and over the sign: as wide as the widest of the three
            widest = WIDE_COMMANDS[command]
            while k < len(tex) and tex[k] in "_^":
                argument, k = _group(tex, k + 1)
                limit = SCRIPT * _width(argument, False)
                widest = max(widest, limit) if display else widest + limit
            width += widest
        elif command:
            width += 0.0 if command in ZERO_COMMANDS else WIDE_COMMANDS.get(command, 0.62)
        elif script:
            argument, k = _group(tex, k)
            width += SCRIPT * _width(argument, False)
        elif symbol:
            width += {",": 0.17, ";": 0.28, ":": 0.22, "!": -0.17, " ": 0.33, "|": 0.5, "{": DELIMITER,
                      "}": DELIMITER}.get(symbol, 0.5)
        elif letter:
            width += CAPITAL if letter.isupper() else LETTER
        elif digit:
            width += DIGIT
        elif operator:
            width += RELATION if operator in "=<>" else BINARY
        elif delimiter:
            width += DELIMITER
        elif other and other not in " &~":
            width += 0.5
    return width


@lru_cache(maxsize=4096)
def width(expr) -> float:
    """The estimated width in em of an expression: a sum from its terms, anything else from its LaTeX."""
    terms = signed_terms(expr)
    if len(terms) > 1:
        return sum(tex_width(latex(t)) for _, t in terms) + BINARY * (len(terms) - 1) \
            + (BINARY if terms[0][0] == "-" else 0)
    return tex_width(latex(expr))


def signed_terms(expr) -> list[tuple[str, sp.Basic]]:
    """A sum's terms as printed, each with the sign in front of it ('' for the first positive one)."""
    if not isinstance(expr, (sp.Add, sp.MatAdd)):
        return [("", expr)]
    out = []
    for term in positive_first(expr.args):
        if term.could_extract_minus_sign():
            out.append(("-", negate(term)))
        else:
            out.append(("+" if out else "", term))
    return out


# ---------------------------------------------------------------------------------------------------
# Breaking
# ---------------------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def latex(expr) -> str:
    """The printer's LaTeX, remembered: breaking a formula measures the same parts many times."""
    return print_latex(expr)


_PLACEHOLDER = "ZZbreakhereZZ"
_WRAPPED = re.compile(r"\{?\\left\(\s*%s\s*\\right\)\}?" % _PLACEHOLDER)
INDENT = r"\quad "


def lines(expr, budget: float) -> list[str]:
    """The formula as lines of LaTeX, each at most `budget` em wide where a break makes that possible;
    lines after the first begin with their + or − sign (or close a parenthesis opened before)."""
    if width(expr) <= budget:
        return [latex(expr)]
    # a long part written twice is named first, as a textbook names ηᵢ = xᵢᵀβ; then sums are cut
    named = _abbreviated(expr, budget, repeated=True)
    if named:
        return named
    terms = signed_terms(expr)
    if len(terms) > 1:
        return _pack(terms, budget)
    if isinstance(expr, sp.Tuple):
        return _tuple(expr, budget)
    return _break_inside(expr, budget) or _abbreviated(expr, budget) or [latex(expr)]


def _tuple(expr, budget: float) -> list[str]:
    """A pair (or tuple) too wide for a line: one entry per line, inside one parenthesis."""
    out = []
    for k, entry in enumerate(expr.args):
        pieces = lines(entry, budget - 1)
        pieces[0] = (r"\Bigl(" if k == 0 else INDENT) + pieces[0]
        pieces[1:] = [INDENT + p for p in pieces[1:]]
        pieces[-1] += r"\Bigr)" if k == len(expr.args) - 1 else ","
        out += pieces
    return out


OUTER_INDICES = ("i", "c")
SCALAR_NAMES, MATRIX_NAMES = ("u", "v", "w", "a", "b", "c", "r", "s"), ("A", "B", "C", "M", "N", "G", "R", "T")


REPEATED_WIDTH = 4.0   # em: a part written twice is worth a name from this width on


def _abbreviated(expr, budget: float, repeated: bool = False) -> list[str] | None:
    """Name the part that costs the most width (written twice or more, or else the widest) and define the
    name on a line of its own (with `repeated`, only a part written twice): `… u_i …` / `where u_i = …`,
    as a textbook introduces ηᵢ = xᵢᵀβ. Within one `naming()` (a derivation) a part keeps its name."""
    # A name may depend on the observation (class) index i (c), as ηᵢ does, but on no other index a sum
    # binds inside the formula: "where u = W_jq X_ij" would leave j undefined.
    free = expr.free_symbols | {s for s in expr.atoms(sp.Symbol) if s.is_integer and str(s) in OUTER_INDICES}
    nodes = [n for n in sp.preorder_traversal(expr) if n is not expr and not n.is_Atom and n.free_symbols <= free
             and not isinstance(n, (sp.Indexed, sp.MatrixSymbol, sp.Tuple, sp.Dummy)) and n.free_symbols]
    counts = {}
    for node in nodes:
        counts[node] = counts.get(node, 0) + 1
    candidates = [n for n in counts if 3.0 <= width(n) < width(expr) * 0.9
                  and (not repeated or counts[n] > 1 and width(n) >= REPEATED_WIDTH)]
    if not candidates:
        return None
    part = max(candidates, key=lambda n: (counts[n] > 1, counts[n] * width(n)))
    symbol = _name_for(part, expr)
    if symbol is None:
        return None
    shorter = expr.xreplace({part: symbol})
    if shorter == expr:
        return None
    head = r"\text{where } %s = " % latex(symbol)
    definition = lines(part, budget - tex_width(head))
    return lines(shorter, budget) + [head + definition[0]] + [INDENT + p for p in definition[1:]]


_NAMES: contextvars.ContextVar = contextvars.ContextVar("names", default=None)


@contextlib.contextmanager
def naming():
    """Within this block a part named once keeps its name, and no two parts share one."""
    token = _NAMES.set({})
    try:
        yield
    finally:
        _NAMES.reset(token)


def _name_for(part, expr):
    """The symbol that stands for `part`: the one it already has, or a letter not used in `expr` or for
    another part."""
    given = _NAMES.get()
    given = {} if given is None else given
    if part in given:
        return given[part]
    in_expr = {str(s) for s in expr.atoms(sp.Symbol, sp.MatrixSymbol)} | \
        {str(s).split("_")[0] for q, s in given.items() if expr.has(q)}
    taken = in_expr | {str(s).split("_")[0] for s in given.values()}
    if part.is_Matrix:
        # a name of its own; when the derivation has used them all, one no part of this formula has
        name = next((n for n in MATRIX_NAMES if n not in taken), None) or \
            next((n for n in MATRIX_NAMES if n not in in_expr), None)
        symbol = sp.MatrixSymbol(name, *part.shape) if name else None
    else:
        index = sorted(str(s) for s in part.free_symbols if s.is_integer and str(s) in OUTER_INDICES)
        name = next((n for n in SCALAR_NAMES if n not in taken), None)
        symbol = sp.Symbol("%s_{%s}" % (name, "".join(index)) if index else name) if name else None
    if symbol is not None:
        given[part] = symbol
    return symbol


def _signed(sign: str, tex: str) -> str:
    return f"{sign} {tex}".strip() if sign else tex


def _pack(terms, budget: float) -> list[str]:
    """Terms filled into lines greedily; a term too wide for a line of its own is broken in turn."""
    out, current, used = [], "", 0.0
    for sign, term in terms:
        term_width = width(term) + (BINARY if sign else 0)
        if current and used + term_width <= budget:
            current, used = f"{current} {_signed(sign, latex(term))}", used + term_width
            continue
        if current:
            out.append(current)
        if term_width <= budget:
            current, used = _signed(sign, latex(term)), term_width
            continue
        # the term's own lines, its sign on the first; the last stays open for the terms after it (a term
        # that cannot be broken is one line, which is both its first and its last)
        pieces = lines(term, budget - BINARY)
        pieces[0] = _signed(sign, pieces[0])
        out += pieces[:-1]
        current, used = pieces[-1], tex_width(pieces[-1])
    out.append(current)
    return out


def _break_inside(expr, budget: float) -> list[str] | None:
    """Break a product, a sum over an index, a power, ... at the terms of the widest sum inside it that
    is not trapped in a fraction, a script or a function's argument; None when there is none."""
    coefficient, rest = expr.as_coeff_Mul() if isinstance(expr, sp.Mul) else (1, expr)
    if isinstance(coefficient, sp.Rational) and coefficient.q != 1 and not isinstance(rest, sp.Add):
        # ½·tr(A + B), not tr(A + B)/2: the fraction in front leaves the sum free to break
        sign = "- " if coefficient < 0 else ""
        head = sign + r"\frac{%d}{%d} " % (abs(coefficient.p), coefficient.q)
        inner = lines(rest, budget - tex_width(head))
        return [head + inner[0]] + inner[1:] if len(inner) > 1 else None
    candidates = sorted({node for node in sp.preorder_traversal(expr)
                         if node is not expr and isinstance(node, (sp.Add, sp.MatAdd))}, key=width, reverse=True)
    for inner in candidates:
        printed = latex(expr.xreplace({inner: sp.Symbol(_PLACEHOLDER, commutative=inner.is_commutative)})
                        if not inner.is_Matrix else expr.xreplace({inner: sp.MatrixSymbol(_PLACEHOLDER, *inner.shape)}))
        if printed.count(_PLACEHOLDER) != 1:
            continue
        wrapped = _WRAPPED.search(printed)
        if wrapped:
            head, tail, opening, closing = printed[:wrapped.start()], printed[wrapped.end():], r"\Bigl(", r"\Bigr)"
        else:   # the printer wraps a sum in a product in parentheses, but not the name put in its place
            head, _, tail = printed.partition(_PLACEHOLDER)
            opening, closing = r"\Bigl(", r"\Bigr)"
        if not (_balanced(head) and _balanced(tail)):
            continue
        head += opening
        pieces = lines(inner, budget - max(tex_width(head), 2.0))
        if len(pieces) < 2:
            if tail.strip() and tail.strip()[0] not in "^_'" and tex_width(head + pieces[0]) <= budget:
                # the sum fits, what multiplies it does not: continue the product on the next line
                # (a ⊘ b, a ⊙ b: the operator the tail begins with joins it, without a second one)
                joined = tail.strip() if tail.strip().startswith(_OPERATORS) else r"\cdot " + tail.strip()
                return [f"{head} {pieces[0]}{closing}", INDENT + joined]
            continue
        return [head + " " + pieces[0]] + [INDENT + p for p in pieces[1:-1]] + \
            [INDENT + pieces[-1] + closing + " " + tail]
    return None


def _balanced(tex: str) -> bool:
    """Whether a piece of LaTeX closes every brace and \\left it opens, so a line may end (or begin) there."""
    depth = 0
    for char in tex:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and tex.count(r"\left") == tex.count(r"\right")
