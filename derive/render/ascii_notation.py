"""The textbook notation in ASCII, for a terminal or pipe that cannot show Unicode (PYTHONIOENCODING=ascii).

    >>> to_ascii("∇L(β) = 2XᵀXβ − 2Xᵀy")
    "grad L(beta) = 2X'X beta - 2X'y"
    >>> to_ascii("β̂ = (XᵀX)⁻¹Xᵀy, S⁻ᵀ, σᵢ(1 − σᵢ), ‖y − Xβ‖², n×d  [✓ verified]")
    "beta_hat = (X'X)^-1X'y, S^-T, sigma_i(1 - sigma_i), ||y - X beta||^2, nxd  [ok verified]"
    >>> to_ascii("Σ_{i=1..n} log det(Σ), Πᵢ aᵢ")
    'sum_{i=1..n} log det(Sigma), prod_i a_i'

Registered as the codec error handler "derive.ascii_notation": a stream reconfigured with it writes every
character it can encode as it is and only the others in ASCII notation. No replacement holds a double quote
or a backslash, so JSON text stays JSON.
"""
from __future__ import annotations

import codecs
import unicodedata

ERRORS = "derive.ascii_notation"

# Symbols with an ASCII spelling of their own (what `unicodedata` decomposition does not give).
SYMBOLS = {
    "−": "-", "–": "-", "—": "--", "×": "x", "·": "*", "⋅": "*", "∗": "*", "⊙": ".*", "∘": "o", "⊗": "(x)",
    "‖": "||", "∇": "grad ", "∂": "d", "∑": "sum", "∏": "prod", "√": "sqrt", "∞": "inf", "±": "+/-",
    "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~=", "≡": "==", "∝": " propto ", "⪰": ">=", "⪯": "<=", "≻": ">",
    "≺": "<", "⇒": "=>", "⟹": "=>", "⇔": "<=>", "→": "->", "←": "<-", "↦": "|->", "∈": " in ", "∉": " not in ",
    "⊂": " subset ", "⊆": " subset ", "∀": "for all ", "∃": "there is ", "∧": " and ", "∨": " or ",
    "⟨": "<", "⟩": ">", "⊤": "'", "ᵀ": "'", "✓": "ok", "✔": "ok", "✗": "x", "✘": "x", "•": "*",
    "‘": "'", "’": "'", "“": "'", "”": "'", "«": "'", "»": "'", "′": "'", "″": "''", "°": " deg",
    "\u0302": "_hat", "\u0304": "_bar", "\u0303": "_tilde", "\u0307": "_dot",  # combining accents: β̂, x̄
}
GREEK_NAMES = {"lamda": "lambda"}  # Unicode's spelling of λ
BIG_OPERATORS = {"Σ": "sum", "Π": "prod"}  # the Greek capitals, as the printers write a sum or a product


def _greek(char: str) -> str | None:
    """β -> "beta", Σ -> "Sigma"; None for a character that is not a Greek letter."""
    words = unicodedata.name(char, "").split()
    if len(words) < 3 or words[0] != "GREEK" or not ("LETTER" in words or words[-1] == "SYMBOL"):
        return None
    name = GREEK_NAMES.get(words[-2 if words[-1] == "SYMBOL" else -1].lower(),
                           words[-2 if words[-1] == "SYMBOL" else -1].lower())
    return name.capitalize() if "CAPITAL" in words else name


def _script(char: str) -> tuple[str, str] | None:
    """("^", "2") for ², ("_", "i") for ᵢ; None for a character that is neither a superscript nor a subscript."""
    tag, _, code = unicodedata.decomposition(char).partition(" ")
    if tag not in ("<super>", "<sub>") or not code:
        return None
    base = chr(int(code, 16))
    return ("^" if tag == "<super>" else "_"), SYMBOLS.get(base, base)


def _spelled(char: str, before: str, after: str) -> str:
    """One character in ASCII, given its neighbours (for a Greek name's spacing and a run of superscripts)."""
    if char.isascii():
        return char
    script = _script(char)
    if script and char != "ᵀ":
        mark, base = script
        return base if before and _script(before) and _script(before)[0] == mark else mark + base
    if char == "ᵀ" and before and _script(before) and _script(before)[0] == "^":
        return "T"  # S⁻ᵀ: inside a superscript T is the letter
    if char in SYMBOLS:
        return SYMBOLS[char]
    if char in BIG_OPERATORS and (after == "_" or (_script(after) or ("",))[0] == "_"):
        return BIG_OPERATORS[char]  # Σᵢ, Σ_{i=1..n}: a sum, not the covariance matrix Σ
    name = _greek(char)
    if name:
        space_before = " " if before.isalpha() or before == "∂" else ""
        space_after = " " if after.isascii() and after.isalnum() else ""  # a Greek neighbour spaces itself
        return space_before + name + space_after
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return plain or "?"


def to_ascii(text: str, start: int = 0, end: int | None = None) -> str:
    """text[start:end] in ASCII notation (the characters around the slice decide spacing and superscripts)."""
    end = len(text) if end is None else end
    return "".join(_spelled(text[i], text[i - 1] if i > 0 else "", text[i + 1] if i + 1 < len(text) else "")
                   for i in range(start, end))


def _handler(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return to_ascii(error.object, error.start, error.end), error.end


codecs.register_error(ERRORS, _handler)
