"""The structure of a model formula, as in R and patsy: `y ~ a*b + I(x^2) + C(g) - 1`.

`parse_formula(text)` reads the formula operators and leaves each factor's text to `derive.parse` (which
never evaluates anything): `+` adds terms, `-` removes them (`- 1` or `+ 0` removes the intercept),
`a:b` is the interaction (the product) of a and b, `a*b` is `a + b + a:b`, parentheses group terms
(`(a + b)*c`). A factor is an expression of the columns: `x`, `x^2`, `log(z)`, `I(x*z)` (inside `I()`
every operator is arithmetic), or `C(g)`, a categorical column. Each term appears once; unlike R, `x^2` is the square of x
(R would read it as the interaction of x with itself). The terms come out as written; the design orders
them as patsy does (`derive.fitting.data.patsy_order`).
"""
from __future__ import annotations

from dataclasses import dataclass

from derive.errors import DataError

Term = tuple  # the factors (their texts) whose product a term is; () is the intercept


@dataclass
class Formula:
    target: str
    terms: list[Term]  # without the intercept, as written
    intercept: bool

    @property
    def factors(self) -> list[str]:
        return list(dict.fromkeys(f for term in self.terms for f in term))


def parse_formula(text: str) -> Formula:
    """The target, terms and intercept of `target ~ right-hand side`."""
    if text.count("~") != 1:
        raise DataError(f"a formula has the form 'target ~ term + term ...': {text!r}")
    left, right = (side.strip() for side in text.split("~"))
    if not left:
        raise DataError(f"the formula names no target before '~': {text!r}")
    tokens = _tokens(right)
    parser = _Parser(tokens, right)
    terms = parser.sum()
    if parser.position != len(tokens):
        raise DataError(f"unexpected {tokens[parser.position][1]!r} in the formula {right!r}")
    intercept = () in terms
    return Formula(left, [t for t in terms if t != ()], intercept)


def _tokens(side: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: kind is an operator `+ - * : ( )` or "factor" (any other text at depth 0)."""
    tokens, start, depth, i = [], None, 0, 0
    previous = ""

    def close_factor(end):
        nonlocal start
        if start is not None:
            tokens.append(("factor", side[start:end].strip()))
            start = None

    while i < len(side):
        ch = side[i]
        if depth == 0 and ch == "(" and start is None and _is_group(side, i):
            tokens.append(("(", ch))
        elif depth == 0 and ch == ")":  # brackets inside a factor are at depth ≥ 1: this closes a group
            close_factor(i)
            tokens.append((")", ch))
        elif ch in "([{":
            depth += 1
            start = i if start is None else start
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "+-*:" and not _belongs_to_factor(side, i, previous):
            close_factor(i)
            tokens.append((ch, ch))
        elif not ch.isspace() and start is None:
            start = i
        if not ch.isspace():
            previous = ch
        i += 1
    if depth:
        raise DataError(f"unbalanced '(' in the formula {side!r}")
    close_factor(len(side))
    return tokens


def _belongs_to_factor(side, i, previous) -> bool:
    """A sign after ^, * or / (x^-1), or in a number's exponent (1e-3), and `**`, are arithmetic."""
    ch = side[i]
    if not previous:
        return False
    if ch == "*" and (side[i + 1:i + 2] == "*" or previous == "*" and side[i - 1] == "*"):
        return True
    if ch in "+-":
        if previous in "^/" or previous == "*" and side[i - 1] == "*":
            return True
        return previous in "eE" and i >= 2 and (side[i - 2].isdigit() or side[i - 2] == ".")
    return False


def _is_group(side, i) -> bool:
    """Whether the bracket at i groups terms, `(a + b)*c`, rather than starting a factor, `(x + 1)^2`."""
    depth = 0
    for k in range(i, len(side)):
        depth += side[k] == "("
        depth -= side[k] == ")"
        if depth == 0:
            rest = side[k + 1:].lstrip()
            return not rest or rest[0] in "+-*:)"
    return False


class _Parser:
    """sum := product (('+' | '-') product)* ; product := interaction ('*' interaction)* ;
    interaction := atom (':' atom)* ; atom := factor | '(' sum ')'. Each rule returns a list of terms."""

    def __init__(self, tokens, text):
        self.tokens, self.text, self.position = tokens, text, 0

    def peek(self):
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self):
        token = self.tokens[self.position]
        self.position += 1
        return token

    def sum(self):
        terms = [()]  # the intercept, unless removed
        sign = "+"
        if self.peek() in ("+", "-"):
            sign = self.take()[0]
        while True:
            part = self.product()
            if part == "0":
                part, sign = [()], "-" if sign == "+" else "+"
            if sign == "+":
                terms += [t for t in part if t not in terms]
            else:
                terms = [t for t in terms if t not in part]
            if self.peek() not in ("+", "-"):
                return terms
            sign = self.take()[0]

    def product(self):
        result = self.interaction()
        while self.peek() == "*":
            self.take()
            right = self.interaction()
            result = _union(_union(result, right), _interact(result, right))
        return result

    def interaction(self):
        result = self.atom()
        while self.peek() == ":":
            self.take()
            result = _interact(result, self.atom())
        return result

    def atom(self):
        kind = self.peek()
        if kind is None:
            raise DataError(f"the formula ends without a term: {self.text!r}")
        if kind == "(":
            self.take()
            inner = [t for t in self.sum() if t != ()]
            if self.peek() != ")":
                raise DataError(f"unbalanced '(' in the formula {self.text!r}")
            self.take()
            return inner
        if kind != "factor":
            raise DataError(f"a term is missing before {kind!r} in the formula {self.text!r}")
        text = self.take()[1]
        if text == "1":
            return [()]
        if text == "0":
            return "0"
        return [(text,)]


def _union(a, b):
    return list(a) + [t for t in b if t not in a]


def _interact(a, b):
    if a == "0" or b == "0":
        raise DataError("0 cannot take part in an interaction")
    result = []
    for s in a:
        for t in b:
            term = tuple(dict.fromkeys(s + t))
            if term not in result:
                result.append(term)
    return result
