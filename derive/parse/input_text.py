"""The user's text as the input grammar's messages show it: quoted, a place in it named by column, and
refused outright when it is not text the grammar should read at all."""
from __future__ import annotations

import unicodedata

from derive.core.limits import MAX_INPUT_CHARS
from derive.errors import LimitExceeded, ParseError


def quote(text: str, pos: int, width: int = 80) -> str:
    """The text in double quotes for a message, cut around `pos` when long, control characters escaped."""
    start = 0
    if len(text) > width:
        start = max(0, min(pos - width // 2, len(text) - width))
    shown = text[start:start + width]
    shown = "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in shown)
    return '"' + ("…" if start > 0 else "") + shown + ("…" if start + width < len(text) else "") + '"'


def where(text: str, pos: int) -> str:
    """``at column 14 in "..."``, or ``at line 2, column 3`` in text of several lines."""
    line = text.count("\n", 0, pos)
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    place = f"line {line + 1}, column {column}" if "\n" in text else f"column {column}"
    return f"at {place} in {quote(text, pos)}"


def unexpected(text: str, pos: int, what: str, expected: str = "") -> ParseError:
    return ParseError(f"unexpected {what} {where(text, pos)}" + (f": {expected}" if expected else ""))


def check_text(text: str) -> None:
    """Refuse input that is not text, too long, or holds control or invisible formatting characters."""
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise LimitExceeded(f"the input is {len(text)} characters long; the limit is {MAX_INPUT_CHARS}")
    for pos, c in enumerate(text):
        if unicodedata.category(c)[0] == "C" and c not in "\t\n\r":
            raise ParseError(f"control character U+{ord(c):04X} {where(text, pos)}")
