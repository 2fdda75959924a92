r"""The input grammar's lexer: the user's text to `Lexeme`s, and the vocabulary it knows (Greek letters,
function words, LaTeX commands and decorations)."""
from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass
from typing import Optional

from derive.core.limits import MAX_DECIMAL_EXPONENT, MAX_NESTING, MAX_NUMBER_DIGITS
from derive.errors import LimitExceeded, NotSupported, ParseError
from derive.expr.functions import BY_NAME, BY_WORD, REGISTRY, VECTOR_BY_NAME
from derive.parse.input_text import check_text, unexpected, where

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

# Function words (plain or after a backslash) and the function each one means: the registry's scalar
# functions and vector functions (derive.expr.functions), then the matrix functions and constructors the builder knows.
_MATRIX_FUNCTIONS = {"sqrt": "sqrt", "tr": "tr", "trace": "tr", "Tr": "tr", "det": "det", "logdet": "logdet",
                     "inv": "inv", "diag": "diag", "ones": "ones", "zeros": "zeros", "eye": "eye", "sum": "sum",
                     "kron": "kron", "vec": "vec", "commutation": "commutation", "norm": "norm"}
_FUNCTIONS = {**{word: record.name for word, record in BY_WORD.items()}, **{name: name for name in VECTOR_BY_NAME},
              **_MATRIX_FUNCTIONS}
_LATEX_FUNCTIONS = {word for record in REGISTRY if record.latex_command for word in record.words} | \
    {"ln", "det", "tr", "Tr", "trace"}
LEIBNIZ_HINT = ("an expression is read without derivative signs (d/dx, ∂, ∇): write the function alone and "
                "name the variable separately, as in derive diff \"x^2\" --wrt x")
# One-letter names that are unknown (abstract) functions when an argument follows directly: f(x²).
_ABSTRACT_FUNCTIONS = frozenset("fghFGH")
# Words that mark Python code, refused as such rather than read as products of letters (import·os).
_CODE_WORDS = (frozenset(keyword.kwlist) | {"print", "eval", "exec", "open"}) - {"lambda"}  # λ is Greek
_DECORATED = re.compile(r"([A-Za-z]+)(?:bar|hat|tilde)")  # xbar, muhat: the names \bar x and \hat\mu read as
# Greek letters that are functions when an argument follows directly (σ(z), Φ(z)), unless declared as names.
_GREEK_FUNCTIONS = {"sigma": "sigmoid", "Phi": "Phi", "phi": "phi"}

_DECORATIONS = {"hat", "widehat", "tilde", "widetilde", "mathbf", "boldsymbol", "bm", "vec", "mathrm",
                "mathit", "mathcal", "mathsf", "mathbb", "bar", "overline", "operatorname", "text",
                "textrm", "textit"}
_ESTIMATE_DECORATIONS = {"hat", "widehat", "tilde", "widetilde"}
_SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle", "limits", "nolimits"}
_SIZING = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "biggl", "biggr", "Biggl", "Biggr"}
_OPERATORS = {"cdot": "STAR", "times": "STAR", "ast": "STAR", "div": "SLASH", "odot": "HADAMARD",
              "circ": "HADAMARD"}
_SYMBOL_CHARACTERS = {"*": "STAR", "@": "STAR", "×": "STAR", "·": "STAR", "⋅": "STAR", "÷": "SLASH", "/": "SLASH", "⊙": "HADAMARD",
                      "∘": "HADAMARD", ",": "_COMMA", ";": "_SEMI"}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+"))
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")

# Brackets: the closer of each opener, and how messages show them.
_CLOSER = {"(": ")", "[": "]", "{": "}", "\\{": "\\}", "|": "|", "‖": "\\|", "matrix": "\\end{pmatrix}"}
# \begin{pmatrix} a & b \\ c & d \end{pmatrix} (and bmatrix, matrix): an explicit matrix, like [a, b; c, d]
_MATRIX_ENVIRONMENT = re.compile(r"\\(begin|end)\s*\{\s*([pbBvV]?matrix)\s*\}")
# d/dx, d^2/dx^2, dy/dx written plainly: derivative notation, not a product
_PLAIN_LEIBNIZ = re.compile(r"d[A-Za-z]*(?:\^?\{?[0-9]\}?)?\s*/\s*d\s*[A-Za-z\\]")
# The inverse functions written as powers: \tan^{-1} x is arctan x
_INVERSE_FUNCTIONS = {"sin": "asin", "cos": "acos", "tan": "atan"}
_FUNCTION_POWER = re.compile(r"\^\s*(?:\{\s*(-?\s*[0-9]+)\s*\}|(-?\s*[0-9]+))")


def normalize_name(name: str) -> str:
    r"""``\beta``, ``β`` and ``beta`` are all ``beta``."""
    if name.startswith("\\") and name[1:] in _GREEK_NAMES:
        return _GREEK_NAMES[name[1:]]
    return _GREEK_CHARACTERS.get(name, _GREEK_NAMES.get(name, name))


# ---------------------------------------------------------------------------------------------------
# Lexer: text to tokens
# ---------------------------------------------------------------------------------------------------
@dataclass
class Lexeme:
    """One token: `kind` is a terminal of `derive.parse.grammar.GRAMMAR`, `value` its normalised text, [pos, end)
    its place."""
    kind: str
    value: str
    pos: int
    end: int
    hat: bool = False          # a \hat or \tilde name: an estimate, for equation labels
    words: bool = False        # a subscript whose parts are whole names (\nabla_\beta)
    after_operand: bool = False  # a subscript of a name or norm, rather than of a function or sum
    power: int = 1             # \sin^2 x: the power of the function's value
    root: int = 2              # \sqrt[3]{x}: the root's degree

    @property
    def ends_operand(self) -> bool:
        if self.kind == "SUB":
            return self.after_operand
        return self.kind in ("NUMBER", "NAME", "_RPAR", "_RBRACKET", "_ABS_CLOSE", "_NORM_CLOSE", "TRANSPOSE",
                             "USUP")

    def quoted(self, text: str) -> str:
        """The lexeme as written in `text`, in single quotes, for a message."""
        return "'" + text[self.pos:self.end] + "'"


# A dot followed by a lone T is a transpose (1.T), not a decimal point.
_NUMBER = re.compile(r"(?:[0-9]+(?:\.(?!T(?![A-Za-z0-9_]))[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_WORD_WITH_UNDERSCORES = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
_T = r"(?:T|\\top(?![A-Za-z])|\\intercal(?![A-Za-z])|\\math(?:sf|rm)\s*\{\s*T\s*\}|\\math(?:sf|rm)\s+T)"
_TRANSPOSE = re.compile(r"\^\s*(?:(?P<bare>" + _T + r")|\{\s*(?P<minus>-\s*)?(?P<braced>" + _T + r")\s*\})")
_LEIBNIZ = re.compile(r"\s*\{\s*d\s*[^{}]*\}\s*\{\s*d\s*[A-Za-z\\]")
_SUBSCRIPT_TEXT = re.compile(r"[A-Za-z0-9 ,+\-=']*")


class Lexer:
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
        check_text(self.text)
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
            elif c == "\\" and _MATRIX_ENVIRONMENT.match(text, self.pos):
                self.matrix_environment(_MATRIX_ENVIRONMENT.match(text, self.pos))
            elif c == "\\" and text.startswith("\\\\", self.pos) and self.top() == "matrix":
                self.emit("_SEMI", ";", self.pos, self.pos + 2)
            elif c == "&" and self.top() == "matrix":
                self.emit("_COMMA", ",", self.pos, self.pos + 1)
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
            elif c == ":" or text.startswith("==", self.pos):
                raise unexpected(text, self.pos, f"'{text[self.pos:self.pos + (1 if c == ':' else 2)]}'",
                                 "that is Python (a lambda, a slice, a comparison), not mathematics")
            elif c == "=":
                if self.stack:
                    raise unexpected(text, self.pos, "'='", f"the {self.describe_open()} is not closed")
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
                raise unexpected(text, self.pos, f"'{c}'")
        if self.stack:
            opener, pos = self.stack[-1]
            raise ParseError(f"unbalanced '{opener}' {where(text, pos)}: no '{_CLOSER[opener]}' closes it")
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
        return unexpected(self.text, pos, what or f"'{self.text[pos]}'", expected)

    # -- numbers and names ----------------------------------------------------------------------------
    def number(self, mode: Optional[str]) -> None:
        start = self.pos
        if mode == "char":  # \frac12: one digit per argument
            self.emit("NUMBER", self.text[start], start, start + 1)
            return
        literal = _NUMBER.match(self.text, start).group()
        mantissa, _, exponent = literal.lower().partition("e")
        if sum(c in _DIGITS for c in mantissa) > MAX_NUMBER_DIGITS:
            raise LimitExceeded(f"a number longer than {MAX_NUMBER_DIGITS} digits {where(self.text, start)}")
        if exponent and abs(int(exponent)) > MAX_DECIMAL_EXPONENT:
            raise LimitExceeded(f"a number with an exponent beyond ±{MAX_DECIMAL_EXPONENT} "
                                f"{where(self.text, start)}")
        self.emit("NUMBER", literal, start, start + len(literal))

    def word(self, mode: Optional[str]) -> None:
        start = self.pos
        if self.text[start] == "d" and _PLAIN_LEIBNIZ.match(self.text, start) and not mode:
            raise ParseError(f"derivative notation {where(self.text, start)}: {LEIBNIZ_HINT}")
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
        elif word in _FUNCTIONS and word not in _GREEK_FUNCTIONS:
            self.function(_FUNCTIONS[word], start, end)
        elif word in _GREEK_NAMES:
            self.greek(_GREEK_NAMES[word], start, end)
        else:
            pieces = self.segment(word)
            if pieces:
                for piece, offset in pieces:
                    self.emit("NAME", piece, start + offset, start + offset + len(piece))
            else:
                self.unknown_word(word, start, end)

    def unknown_word(self, word: str, start: int, end: int) -> None:
        """A word that is no declared name, function or Greek letter: a one-letter name (f, g, h followed
        by ( are abstract functions), a decorated name (xbar, muhat), or refused, never guessed: ``ax`` may
        be a·x or a name, ``import`` is code, ``factorial(`` a function derive does not know."""
        called = self.text[self.after_sizing(end):][:1] == "("
        if word[0] == "d" and any(lx.kind == "PARTIAL" for lx in self.out):  # dL in \frac{dL}{d\beta}: a label
            self.name(word, start, end)
            return
        if word in _CODE_WORDS:
            raise ParseError(f"{word!r} {where(self.text, start)} is Python, not mathematics: derive reads "
                             "formulas such as x^2 + 3x or x'*A*x")
        decorated = _DECORATED.fullmatch(word)
        if len(word) == 1 or not word.isalpha() or (decorated and decorated.group(1) in _GREEK_NAMES.keys() | _LETTERS):
            primes = re.match(r"['′]*", self.text[end:]).group()
            if word in _ABSTRACT_FUNCTIONS and self.text[self.after_sizing(end + len(primes)):][:1] == "(":
                self.emit("FUNC", word + "'" * len(primes), start, end + len(primes))  # f(u), f'(u), f''(u)
                self.mark_call(end + len(primes))
            else:
                self.name(word, start, end)
            return
        if called:
            split = next((k for k in range(1, len(word)) if word[k:] in _FUNCTIONS), None)
            product = f": for the product {word[:split]}·{word[split:]}(…) write {word[:split]}*{word[split:]}(…)" \
                if split else ""
            raise ParseError(f"unknown function {word!r} {where(self.text, start)}{product}; derive knows "
                             + ", ".join(sorted([*BY_WORD, *VECTOR_BY_NAME], key=str.lower))
                             + ", and a one-letter name such as f(x) is an unknown function")
        letters = "·".join(word)
        raise ParseError(f"{word!r} {where(self.text, start)} could be the product {letters} or one name "
                         f"{word}: write {' '.join(word)} (or {'*'.join(word)}) for the product, or declare "
                         f"the name ({word}:1 in the shapes)")

    def segment(self, word: str) -> Optional[list]:
        """``Xbeta`` as [X, beta] when every piece is a declared name or a Greek letter, else None; single
        letters may be pieces too when a declared name is one (``SX`` is S·X when X is declared)."""
        pieces_known = self.known | set(_GREEK_NAMES)
        if any(word[k:k + len(name)] == name for name in self.known for k in range(len(word))):
            pieces_known = pieces_known | set(word)

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
        """A Greek letter; σ (Φ, φ) directly followed by ( is the sigmoid (the normal distribution function,
        its density) unless the letter is declared as a name."""
        if name in _GREEK_FUNCTIONS and name not in self.known:
            after = self.after_sizing(end)
            if self.text[after:after + 1] == "(":
                self.function(_GREEK_FUNCTIONS[name], start, end)
                return
        if name == "sigma" and "sigma" not in self.known:
            after = self.after_sizing(end)
            if self.text[after:after + 1] in ("'", "′"):
                raise self.fail(start, f"'{self.text[start:after + 1]}'",
                                "derivative notation is not read; write σ(z)(1 - σ(z)) for σ'(z)")
        self.name(name, start, end)

    def function(self, name: str, start: int, end: int) -> None:
        after = self.after_sizing(end)
        if self.text[after:after + 1] in ("'", "′"):
            raise self.fail(start, f"'{self.text[start:after + 1]}'", "derivative notation is not read")
        power = 1
        m = _FUNCTION_POWER.match(self.text, after)
        if m and name in BY_NAME:  # \sin^2 x is (sin x)², \tan^{-1} x is arctan x
            exponent = int(re.sub(r"\s", "", m.group(1) or m.group(2)))
            if exponent == -1 and name in _INVERSE_FUNCTIONS:
                name = _INVERSE_FUNCTIONS[name]
            elif exponent == -1:
                raise self.fail(start, f"'{self.text[start:m.end()]}'", "derive knows the inverse functions of "
                                f"sin, cos and tan only; for the reciprocal write ({name} x)^{{-1}}")
            elif exponent < 1:
                raise self.fail(after, f"'{m.group()}'", f"write the power after the argument, ({name} x)^{{{exponent}}}")
            else:
                power = exponent
            end = m.end()
        self.emit("FUNC", name, start, end, power=power)
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
            root = 2
            if self.text[after:after + 1] == "[":
                degree = re.match(r"\[\s*([0-9]{1,3})\s*\]", self.text[after:])
                if not degree or int(degree.group(1)) < 2:
                    raise self.fail(after, "'['", r"the degree of a root is a whole number from 2, \sqrt[3]{x}")
                root, end = int(degree.group(1)), after + degree.end()
            self.emit("SQRT", "sqrt", start, end, root=root)
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
            raise ParseError(f"unknown command \\{name} {where(self.text, start)}")

    def matrix_environment(self, m) -> None:
        """\\begin{pmatrix} opens an explicit matrix (its rows end in \\\\, entries are separated by &);
        \\end{pmatrix} closes it."""
        if m.group(1) == "begin":
            self.open("matrix", "_LBRACKET", m.start(), m.end())
        else:
            self.close("matrix", m.start(), m.end())

    def argument_end(self, pos: int) -> int:
        """Where the LaTeX argument starting at `pos` ends: a {group}, a command, or one character."""
        if self.text[pos:pos + 1] == "{":
            depth = 0
            for k in range(pos, len(self.text)):
                depth += {"{": 1, "}": -1}.get(self.text[k], 0)
                if depth == 0:
                    return k + 1
            raise ParseError(f"unbalanced '{{' {where(self.text, pos)}: no '}}' closes it")
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
        estimate = hat or decoration in _ESTIMATE_DECORATIONS
        if estimate and name not in self.known:  # μ̂ is not μ: kept, unless a context says it estimates μ
            name += "tilde" if "tilde" in decoration else "hat"
        self.name(name, start, arg_end, hat=estimate)

    def decoration_content(self, content: str, pos: int, decoration: str, depth: int):
        """(kind, name, hat) for the argument of a decoration; nested decorations are read through."""
        if depth > MAX_NESTING:
            raise LimitExceeded(f"decorations nested too deeply {where(self.text, pos)}")
        word_like = re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", content)
        if decoration in ("operatorname", "mathrm", "text", "textrm") and content in _FUNCTIONS:
            return "FUNC", _FUNCTIONS[content], False
        if decoration == "operatorname":
            raise ParseError(f"unknown function \\operatorname{{{content}}} {where(self.text, pos)}")
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
        if re.match(r"\^\s*(?:\{\s*(?:\+|\\dagger)\s*\}|\\dagger|\+(?![\s0-9A-Za-z\\({]))", self.text[start:]):
            raise NotSupported(f"the pseudo-inverse {where(self.text, start)} is not supported: for a matrix of "
                               "full column rank write (X^TX)^{-1}X^T")
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
                raise ParseError(f"unknown command \\{m.group(1)} {where(self.text, pos + m.start())}")
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
            raise LimitExceeded(f"brackets nested more than {MAX_NESTING} deep {where(self.text, start)}")
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
        self.emit("_RBRACKET" if opener in ("[", "matrix") else "_RPAR", closer, start, end)

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
