r"""A derivation as a person writes it (``align*`` or plain lines), read into numbered lines.

Each line becomes a `WrittenLine`: its sides as SymPy, and what kind of line it is: a continuation
(``&= …``), a derivative of the line before (``\nabla_\beta L = …``, ``\frac{\partial L}{\partial\beta}``,
``⇒ gradient: …``), a named function (``L(\beta) = …``) or an estimate (``\hat\beta = …``). What is not
mathematics (environments, ``%`` comments, ``\tag``, a ``\text{…}`` remark at the end, trailing
punctuation) is blanked out, not removed, so that column numbers in messages still point into the input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import sympy as sp

from derive.checking.diagnosis import explained_shape_error
from derive.core.limits import MAX_INPUT_CHARS
from derive.errors import DeriveError, LimitExceeded, ParseError, ShapeError
from derive.parse import Equation, Label, parse_equation

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


_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{[A-Za-z*]+\}(?:\{[^}]*\})?|\$\$|\\\[|\\\]")
_IMPLIES = re.compile(r"^(\s*&?\s*)(\\Rightarrow|\\implies|\\Longrightarrow|\\therefore|⇒|=>)")
_WORD_LABEL = re.compile(r"^(\s*&?\s*)(gradient|hessian|Hessian)\s*(?:[:=])", re.IGNORECASE)
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


def _uncomment(line: str) -> str:
    m = re.search(r"(?<!\\)%", line)
    return line[:m.start()] + " " * (len(line) - m.start()) if m else line


def read_lines(text: str, shapes, symbols) -> list[WrittenLine]:
    """The derivation's lines as parsed equations, with their line numbers; ParseError names the line."""
    if len(text) > MAX_LINES * MAX_INPUT_CHARS:
        raise LimitExceeded(f"the derivation is longer than {MAX_LINES * MAX_INPUT_CHARS} characters")
    raw_lines = text.splitlines()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if len(raw) > MAX_INPUT_CHARS:   # before any regular expression sees it
            raise LimitExceeded(f"line {number} is longer than {MAX_INPUT_CHARS} characters")
        line = _ENVIRONMENT.sub(_blank, _uncomment(raw))
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
        except ShapeError as error:
            lines.append(WrittenLine(number, [], None, line.lstrip().startswith(("=", "&")), derivative, None, raw,
                                     shape_error=explained_shape_error(error)))
            continue
        except DeriveError as error:
            raise type(error)(f"line {number}: {error}") from None
        label, sides = equation.label, list(equation.sides)
        variable_text, named = None, False
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
