r"""A derivation as a person writes it (``align*``, plain lines, or Markdown with prose), read into numbered lines.

Markdown headings and prose sentences are skipped, a sentence with an inline ``$…$`` formula keeps the
formula, a leading "so", "hence", "therefore" (or ``\text{…}`` of one) joins the line to the one before,
and ``dL/db``, ``\frac{dL}{db}`` on the left are derivatives. `student_text` spells out course notation the
grammar does not know (an estimate's hat, softmax), `answer_parts` splits a pair, `read_shapes` reads
``--shapes`` with assumptions (``S:dxd pd``), and `inferred_shapes` reads a regression's shapes off the text.

Each line becomes a `WrittenLine`: its sides as SymPy, and what kind of line it is: a continuation
(``&= …``), a derivative of the line before (``\nabla_\beta L = …``, ``\frac{\partial L}{\partial\beta}``,
``⇒ gradient: …``), a named function (``L(\beta) = …``) or an estimate (``\hat\beta = …``). What is not
mathematics (environments, ``%`` comments, ``\tag``, a ``\text{…}`` remark at the end, trailing
punctuation) is blanked out, not removed, so that column numbers in messages still point into the input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

import sympy as sp

from derive.checking.diagnosis import explained_shape_error
from derive.core.limits import MAX_INPUT_CHARS
from derive.core.random_points import BY_ASSUMPTION
from derive.errors import DeriveError, LimitExceeded, ParseError, ShapeError
from derive.expr.functions import BY_WORD
from derive.expr.printing import unicode
from derive.parse import Equation, Label, parse_equation, parse_shapes
from derive.parse.lexer import GREEK, normalize_name

MAX_LINES = 200             # lines in a derivation given to check_steps


@dataclass
class WrittenLine:
    number: int                   # 1-based, counting every line of the input
    sides: list
    label: object
    continued: bool
    derivative: Optional[str]     # "gradient" / "hessian" when the line differentiates
    variable_text: Optional[str]  # the variable named in the label (\nabla_\beta, L(\beta)), as text
    source: str
    named: bool = False           # the line starts with a bare name for its value (L = ...)
    shape_error: Optional[ShapeError] = None   # operands that do not fit: the line has no sides
    written: list = field(default_factory=list)   # the sides as written (x̄, S), for display; `sides` are checked

    def with_meanings(self, meanings) -> "WrittenLine":
        """The line with the names it uses for longer expressions (x̄, S) replaced by what they stand for."""
        return replace(self, sides=[side.xreplace(meanings) for side in self.sides], written=list(self.sides))


_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{[A-Za-z*]+\}(?:\{[^}]*\})?|\$\$|\\\[|\\\]")
_IMPLIES = re.compile(r"^(\s*&?\s*)(\\Rightarrow|\\implies|\\Longrightarrow|\\therefore|\\iff|\\Leftrightarrow|⇒|=>|⟹)")
# A word that joins a line to the one before: "so", "hence", "\text{therefore}" (a line that follows from it)
_CONNECTIVE = re.compile(r"^(\s*&?\s*)((?:\\(?:text|textrm|mbox)\{\s*)?(?:so|hence|therefore|thus|then|and|which gives"
                         r"|we get|giving|i\.e\.)\b[,:]?\s*\}?[,:]?)(?=\s)", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s")
_INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$")
# Two plain words in a row that are not mathematics: a sentence ("Setting it to zero gives ...")
# every scalar function's words come from the one registry; the rest are matrix operations and labels
_MATH_WORDS = set(GREEK) | {word.lower() for word in BY_WORD} | {
    "sqrt", "det", "tr", "diag", "inv", "sum", "prod", "softmax", "logdet", "eye", "ones", "zeros", "max", "min",
    "argmax", "argmin", "gradient", "hessian"}
_WORD_PAIR = re.compile(r"(?<![\\A-Za-z_^{])([A-Za-z]{2,})[,;:]?\s+([A-Za-z]{2,})(?![A-Za-z_({])")
_WORD_LABEL = re.compile(r"^(\s*&?\s*)(gradient|hessian|Hessian)\s*(?:[:=])", re.IGNORECASE)
# Leibniz notation on the left, dL/db, d^2L/db^2, \frac{dL}{d\beta} (a derivative, like \nabla_\beta L)
_LEIBNIZ = re.compile(r"^(\s*&?\s*)(?:\\frac\s*\{\s*d\s*(\^\{?2\}?)?\s*(?:\\?[A-Za-z]+|ℓ)\s*\}\s*\{\s*d\s*(\\?[A-Za-z]+)"
                      r"(?:\s*\^\{?2\}?)?\s*\}|d(\^\{?2\}?)?(?:\\?[A-Za-z]|ℓ)\s*/\s*d(\\?[A-Za-z]+)(?:\^\{?2\}?)?)\s*&?\s*=")
_ANNOTATION = re.compile(r"\\(?:tag|label)\{[^}]*\}")
# A remark after the mathematics: `&& \text{definition}`, `\quad (\text{expand, } y^TX\beta = ...)`
_REMARK_TEXT = re.compile(r"\\(?:text|textrm|textit|textbf|mbox)\{(?!(?:tr|det|diag|log|exp|sigmoid)\})")
_NABLA_VARIABLE = re.compile(r"\\nabla(?:\^\{?2\}?)?_\{?\s*(\\?[A-Za-zα-ωΑ-Ω]+)")
_PARTIAL_VARIABLE = re.compile(r"\\partial\s*(\\?[A-Za-zα-ωΑ-Ω]+(?:\^2|\^\{2\})?)")
_FUNCTION_VARIABLE = re.compile(r"\((.*)\)\s*$")
_FUNCTION_LABEL = re.compile(r"^(\s*(\\?[A-Za-z]+|[α-ωℓ])\s*\\?(?:left)?\((?:[^()=]|\([^()=]*\))*\\?(?:right)?\))"
                             r"\s*&?\s*=")
# \nabla^2_\beta as \nabla_\beta^2 (same length, so columns in messages do not move)
_NABLA_SQUARED = re.compile(r"\\nabla(\^\{?2\}?)(_(?:\{[^}]*\}|\\[A-Za-z]+|[A-Za-z]))")


# Student notation the grammar reads differently: an estimate's hat (μ̂ is the estimate, not μ), softmax
_HAT = re.compile(r"\\(?:wide)?hat\s*(?:\{\s*(?:\\(?:boldsymbol|mathbf|bm)\s*)?(?:\{\s*(\\?[A-Za-z]+)\s*\}|(\\?[A-Za-z]+))"
                  r"\s*\}|(\\[A-Za-z]+))|([A-Za-zα-ωΑ-Ω])\u0302")
_BRACED_NAME = re.compile(r"\{(\\?[A-Za-z]+)\}(?=_)")      # {X}_{i,j}, as SymPy's LaTeX writes X_{i,j}
_SOFTMAX = re.compile(r"(?:\\(?:mathrm|operatorname|text|textrm)\s*\{\s*softmax\s*\}|\bsoftmax)\s*(?:\\left\s*)?\(")


def student_text(text: str, names) -> str:
    r"""`text` with the conventions of course notation the grammar does not know spelt out in its terms:
    a hatted name that the context defines as an estimate (``\hat\mu`` is ``muhat`` when `names` has it,
    the sample mean, never silently μ) and ``\mathrm{softmax}(A)``, the row-wise softmax
    ``diag(exp(A)𝟏)⁻¹exp(A)``."""
    def hatted(match):
        name = normalize_name(next(g for g in match.groups() if g))
        estimate = f"{name}hat"
        return estimate.ljust(len(match.group())) if estimate in names else match.group()

    text = _HAT.sub(hatted, text)
    text = _BRACED_NAME.sub(lambda m: "  " + m.group(1), text)
    while True:
        found = _SOFTMAX.search(text)
        if not found:
            return text
        close = _closing(text, found.end() - 1)
        if close is None:
            return text
        argument = text[found.end():close].removesuffix("\\right")
        text = (text[:found.start()] + f"(diag(exp({argument})\\mathbf{{1}})^{{-1}}exp({argument}))"
                + text[close + 1:])


def _closing(text: str, opening: int):
    """The position of the bracket that closes the one at `opening`, or None."""
    depth = 0
    for k in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return None


_OUTER = re.compile(r"^\s*(?:\\left\s*)?([(\[])(.*?)(?:\\right\s*)?([)\]])\s*$", re.DOTALL)


def answer_parts(text: str) -> list[str]:
    r"""An answer split into the parts of a pair as people write one: on two lines (or separated by ``\\``),
    ``(a, b)``, ``[a; b]``; a part's label (``\hat\mu =``) is left out. One part for anything else."""
    lines = [line for line in re.split(r"\n|\\\\", text) if line.strip()]
    if len(lines) > 1:
        return [_value_of(line.strip().rstrip(",;")) for line in lines]
    outer = _OUTER.match(text)
    if outer and {outer.group(1), outer.group(3)} in ({"(", ")"}, {"[", "]"}):
        pieces = _split_top_level(outer.group(2))
        matrix = len(_split_top_level(outer.group(2), ",")) > 1 and len(_split_top_level(outer.group(2), ";")) > 1
        if len(pieces) > 1 and all(p.strip() for p in pieces) and not matrix:
            return [_value_of(p) for p in pieces]
    return [_value_of(text)] if _split_top_level(text, "=")[1:] else [text]


def _split_top_level(text: str, separators: str = ",;") -> list[str]:
    pieces, depth, start = [], 0, 0
    for k, c in enumerate(text):
        depth += 1 if c in "([{" else -1 if c in ")]}" else 0
        if depth == 0 and c in separators:
            pieces.append(text[start:k])
            start = k + 1
    return pieces + [text[start:]]


def _value_of(piece: str) -> str:
    r"""A part without its label: the right side of ``\hat\sigma^2 = …``."""
    return _split_top_level(piece, "=")[-1]


def read_as(expr) -> str:
    """How an expression was read, for the `read as: …` echo (the textbook printer of the parsed expression)."""
    if isinstance(expr, (list, tuple)):
        return ", ".join(read_as(e) for e in expr)
    return unicode(expr)


def _normal_name(name: str) -> str:
    """A name as the symbols know it: \\beta is beta."""
    return name.lstrip("\\")


def _blank(match) -> str:
    return " " * len(match.group())


def _without_remark(line: str) -> str:
    """The line with a prose remark at its end blanked out, from the separator before it (&&, \\quad)."""
    remark = _REMARK_TEXT.search(line)
    if not remark:
        return line
    separators = [m.start() for m in re.finditer(r"&&|\\qquad|\\quad", line[:remark.start()])]
    start = separators[-1] if separators else remark.start()
    if not separators and line[:start].rstrip().endswith("("):   # (\text{...})
        start = line[:start].rstrip().rfind("(")
    return line[:start] + " " * (len(line) - start)


def _mathematics(line: str) -> Optional[str]:
    """The mathematics of a line as a person writes a derivation in Markdown or prose: None for a heading
    or a sentence; the formula of a sentence with inline math (``Expanding, $L = …$``), the rest blanked;
    the line without a leading "so", "hence", "\\text{therefore}"."""
    if _HEADING.match(line):
        return None
    formulas = list(_INLINE_MATH.finditer(line))
    if formulas:
        chosen = next((m for m in formulas if "=" in m.group()), max(formulas, key=lambda m: len(m.group())))
        group = 1 if chosen.group(1) is not None else 2
        start, end = chosen.span(group)
        line = " " * start + line[start:end] + " " * (len(line) - end)
    joined = _CONNECTIVE.match(line)
    if joined:
        line = line[:joined.start(2)] + " " * len(joined.group(2)) + line[joined.end(2):]
    if not formulas and _is_prose(line):
        return None
    return line


def _is_prose(line: str) -> bool:
    without_text = re.sub(r"\\(?:text|textrm|mbox|operatorname|mathrm)\{[^}]*\}", " ", line)
    return any(a.lower() not in _MATH_WORDS and b.lower() not in _MATH_WORDS
               for a, b in _WORD_PAIR.findall(without_text))


def _uncomment(line: str) -> str:
    m = re.search(r"(?<!\\)%", line)
    return line[:m.start()] + " " * (len(line) - m.start()) if m else line


# ---------------------------------------------------------------------------------------------------
# Shapes: declared (with assumptions), or read off the derivation
# ---------------------------------------------------------------------------------------------------
_ASSUMPTION = re.compile(r"(?:(?<=:)|\s+)(sym|pd|spd|diag|pos)\b\s*(?=,|$)")


def read_shapes(text) -> tuple[dict, dict]:
    """``--shapes`` text (or a dict) as (shapes, samplers): ``S:dxd pd`` declares S d×d and draws it
    symmetric positive definite (`sym`, `diag`, `pos` likewise), so ``log det S`` is taken where it is real."""
    if not isinstance(text, str):
        return dict(text or {}), {}
    entries, samplers = [], {}
    for entry in _top_level(text):
        assumption = _ASSUMPTION.search(entry)
        name = entry.split(":")[0].strip()
        if assumption:
            samplers[name] = BY_ASSUMPTION[assumption.group(1)]
            entry = entry[:assumption.start()] + entry[assumption.end():]
        if entry.strip().endswith(":"):   # "s2:pos", a scalar
            continue
        entries.append(entry)
    return parse_shapes(", ".join(entries)) if entries else {}, samplers


def _top_level(text: str) -> list[str]:
    return [e for e in _split_top_level(text, ",") if e.strip()]


_REGRESSION = re.compile(r"(?<![A-Za-z\\])X\s*\*?\s*(\\beta|β|beta|\\theta|θ|theta|b|w)(?![A-Za-z])")
_TRANSPOSED = re.compile(r"(\\?[A-Za-zα-ωΑ-Ω]+)\s*(?:\^\s*\{?\s*(?:T|\\top|\\intercal)\s*\}?|'|\.T\b|ᵀ)")


_QUADRATIC_FORM = re.compile(r"(?<![A-Za-z\\])([a-z])\s*(?:\^\s*\{?\s*(?:T|\\top)\s*\}?|')\s*\*?\s*([A-Z])\s*\*?\s*\1(?![A-Za-z])")


def inferred_shapes(text: str) -> tuple[Optional[dict], Optional[str]]:
    """Shapes read off a derivation without --model or --shapes: (shapes, None) when it is unambiguous
    (a regression: X times β, b, w or θ, with y: X n×d, the parameter d×1, y n×1); else (None, a warning
    naming what looks like a matrix or vector but is taken as a scalar), or (None, None). A quadratic form
    xᵀAx gives x n×1 and A n×n."""
    regression = _REGRESSION.search(text)
    if regression and re.search(r"(?<![A-Za-z\\])y(?![A-Za-z])", text):
        parameter = normalize_name(regression.group(1))
        return {"X": ("n", "d"), "y": ("n", 1), parameter: ("d", 1)}, None
    quadratic = _QUADRATIC_FORM.search(text)
    if quadratic:
        vector, matrix = (normalize_name(g) for g in quadratic.groups())
        return {vector: ("n", 1), matrix: ("n", "n")}, None
    transposed = sorted({normalize_name(m.group(1)) for m in _TRANSPOSED.finditer(text)})
    if transposed:
        one = len(transposed) == 1
        return None, (f"{', '.join(transposed)} {'is' if one else 'are'} transposed but taken as "
                      f"{'a scalar' if one else 'scalars'} (no --model or --shapes): declare matrices and vectors "
                      "with --shapes, such as \"X:nxd, y:n\"")
    return None, None


def read_lines(text: str, shapes, symbols) -> list[WrittenLine]:
    """The derivation's lines as parsed equations, with their line numbers; ParseError names the line."""
    if len(text) > MAX_LINES * MAX_INPUT_CHARS:
        raise LimitExceeded(f"the derivation is longer than {MAX_LINES * MAX_INPUT_CHARS} characters")
    raw_lines = text.splitlines()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if len(raw) > MAX_INPUT_CHARS:   # before any regular expression sees it
            raise LimitExceeded(f"line {number} is longer than {MAX_INPUT_CHARS} characters")
        line = _mathematics(_uncomment(raw))
        if line is None:
            continue
        line = _ENVIRONMENT.sub(_blank, line)
        line = _ANNOTATION.sub(_blank, line)
        line = _without_remark(line)
        line = re.sub(r"[,.;]\s*(\\\\)?\s*$", lambda m: " " * len(m.group()), line)
        squared = bool(_NABLA_SQUARED.search(line))
        line = _NABLA_SQUARED.sub(lambda m: r"\nabla" + m.group(2) + m.group(1), line)
        if not line.strip() or line.strip() == "\\\\":
            continue
        if len(lines) >= MAX_LINES:
            raise LimitExceeded(f"the derivation has more than {MAX_LINES} lines")
        derivative = None
        implied = _IMPLIES.match(line)
        if implied:
            line = line[:implied.start(2)] + " " * len(implied.group(2)) + line[implied.end(2):]
        word = _WORD_LABEL.match(line)
        if word:
            derivative = word.group(2).lower()
            line = line[:word.start(2)] + " " * (word.end() - word.start(2)) + line[word.end():]
        leibniz = _LEIBNIZ.match(line)
        leibniz_variable = None
        if leibniz:
            derivative = "hessian" if leibniz.group(2) or leibniz.group(4) else "gradient"
            leibniz_variable = leibniz.group(3) or leibniz.group(5)
            leibniz_text = line[leibniz.end(1):leibniz.end()].rstrip("=& ")
            line = " " * leibniz.end() + line[leibniz.end():]
        function_label = _FUNCTION_LABEL.match(line)
        if function_label and _normal_name(function_label.group(2)) not in {**(shapes or {}), **(symbols or {})}:
            # f(x, σ²) = …: a label the grammar reads only for plain names inside the brackets
            line = " " * function_label.end(1) + line[function_label.end(1):]
        else:
            function_label = None
        try:
            equation = parse_equation(line, shapes, symbols=symbols)
            if function_label:
                equation = Equation(equation.sides, Label("function", function_label.group(1).strip()), False)
            elif leibniz:
                equation = Equation(equation.sides, Label(derivative, leibniz_text), False)
        except ShapeError as error:
            lines.append(WrittenLine(number, [], None, line.lstrip().startswith(("=", "&")), derivative, None, raw,
                                     shape_error=explained_shape_error(error)))
            continue
        except DeriveError as error:
            raise type(error)(f"line {number}: {error}") from None
        label, sides = equation.label, list(equation.sides)
        variable_text, named = leibniz_variable, False
        if label is not None and label.kind in ("gradient", "hessian"):
            derivative = "hessian" if squared else label.kind
            found = _NABLA_VARIABLE.findall(label.text) or _PARTIAL_VARIABLE.findall(label.text)
            if found:
                variable_text = found[-1]
        elif label is not None and label.kind == "function":
            arguments = _FUNCTION_VARIABLE.search(label.text)
            if arguments and "," not in arguments.group(1) and arguments.group(1).strip():
                variable_text = arguments.group(1).strip()
        elif label is None and len(sides) >= 2 and _is_bare_name(sides[0], sides[1:], shapes, symbols):
            sides, named = sides[1:], True   # "L = ...": L names the value, like L(β) = ...
        if derivative and not sides:
            raise ParseError(f"line {number}: nothing after the {derivative}")
        lines.append(WrittenLine(number, sides, label, equation.continued, derivative, variable_text, raw, named))
    return lines


def _is_bare_name(first, rest, shapes, symbols) -> bool:
    """A left side that only names the value: an undeclared scalar name used nowhere else on the line."""
    if not isinstance(first, sp.Symbol) or first.is_integer:
        return False
    if first.name in (shapes or {}) or first.name in (symbols or {}):
        return False
    return not any(isinstance(side, sp.Basic) and side.has(first) for side in rest)
