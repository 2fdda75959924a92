"""Prose set as mathematics: the formulas in a sentence found and written as LaTeX, the words as text.

Explanations built with `derive.expr.prose.prose` carry their formulas (`.latex`); older ones are plain
Unicode sentences with the mathematics typed in ("y | xᵢ ∼ Bernoulli(σ(xᵢᵀβ))"). For those the runs of
mathematics are found token by token: Greek letters, scripts (ᵀ, ⁻¹, ᵢ), operators, single-letter
variables, function names before a parenthesis, and the digits, brackets and spaces between them; words
end a run. Each run becomes LaTeX (italic variables, a real minus, `x_{i}^{\\top}\\beta`, `P_{ic}`,
`\\sim`), so every format sets it as mathematics:

    >>> as_latex("Write z = xᵢᵀβ − 1 for the score.")
    'Write $z = x_{i}^{\\\\top}\\\\beta - 1$ for the score.'
"""
from __future__ import annotations

import html
import re

from derive.expr.prose import Prose, escape_text

GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "η": r"\eta",
    "θ": r"\theta", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "π": r"\pi", "ρ": r"\rho",
    "σ": r"\sigma", "τ": r"\tau", "φ": r"\varphi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "ℓ": r"\ell",
    "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Σ": r"\Sigma", "Π": r"\Pi",
    "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega", "ŷ": r"\hat{y}", "𝟏": r"\mathbf{1}", "ℝ": r"\mathbb{R}",
    "𝓛": r"\mathcal{L}", "ŵ": r"\hat{w}",
}
OPERATORS = {
    "=": "=", "+": "+", "-": "-", "−": "-", "×": r"\times", "⊙": r"\odot", "⊗": r"\otimes", "·": r"\cdot",
    "∈": r"\in", "≥": r"\geq", "≤": r"\leq", "≠": r"\neq", "≈": r"\approx", "∝": r"\propto", "⇒": r"\Rightarrow",
    "→": r"\to", "←": r"\leftarrow", "~": r"\sim", "∼": r"\sim", "⪰": r"\succeq", "∂": r"\partial",
    "∇": r"\nabla", "‖": r"\|", "|": r"\mid", "∘": r"\circ", "…": r"\ldots", "/": "/", "<": "<", ">": ">",
    "′": "'", "'": "'", "½": r"\tfrac{1}{2}", "√": r"\surd", "!": "!", "*": "*",
    "⇔": r"\Leftrightarrow", "⇐": r"\Leftarrow", "∫": r"\int", "∞": r"\infty",
}
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀⁿᵈᴷˣᶻᵘᵛʸ⊤ᵏ⁺", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "-", r"\top",
                                                     "n", "d", "K", "x", "z", "u", "v", "y", r"\top", "k", "+"]))
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₗ", "0123456789ijkl"))
FUNCTIONS = {"log": r"\log", "exp": r"\exp", "det": r"\det", "min": r"\min", "max": r"\max", "sin": r"\sin",
             "cos": r"\cos", "tanh": r"\tanh", "diag": r"\operatorname{diag}", "tr": r"\operatorname{tr}",
             "softplus": r"\operatorname{softplus}", "argmin": r"\operatorname{arg\,min}", "Var": r"\operatorname{Var}",
             "Bernoulli": r"\operatorname{Bernoulli}", "Poisson": r"\operatorname{Poisson}", "sgn": r"\operatorname{sgn}",
             "Cov": r"\operatorname{Cov}"}
TWO_LETTER_WORDS = {"is", "of", "to", "by", "as", "so", "at", "in", "be", "on", "or", "if", "an", "it", "we", "no",
                    "do", "up", "us", "me", "my", "he", "go", "am", "vs", "th"}
HAT = "\u0302"

_TOKEN = re.compile(r"""
    (?P<identifier>[A-Za-z]{2,}(?:_[A-Za-z]{2,})+)                # a name such as posterior_mean: words
  | (?P<subscript>_(?:max|min|MAP|MLE|OLS|new|old)\b)            # a named subscript: σ_max, λ_min
  | (?P<word>[A-Za-z]+(?:-[A-Za-z]+)+|[A-Za-z]+(?:['’][a-z]+)?)   # a word, or letters written together (Xb)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<space>\s+)
  | (?P<punct>[,;:.?])
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<other>.)""", re.X | re.S)

MATH, TEXT, SPACE, PUNCT = "math", "text", "space", "punct"


def _tokens(text: str):
    """(kind, token) pairs: letters written together split into a word or single letters."""
    out = []
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "word":
            previous = text[match.start() - 1] if match.start() else " "
            following = text[match.end()] if match.end() < len(text) else " "
            out += _word(token, previous, following)
        elif kind == "identifier":
            out.append((TEXT, token))
        elif kind == "subscript":
            out.append((MATH, r"_{\mathrm{%s}}" % token[1:]))
        elif kind == "space":
            out.append((SPACE, token))
        elif kind == "punct":
            out.append((PUNCT, token))
        elif kind == "other" and token == HAT and out:
            kind, last = out.pop()
            if len(last) > 1 and last.isalpha():   # np̂: the hat is on the p
                out.append((kind, last[:-1]))
                last = last[-1]
            out.append((MATH, r"\hat{%s}" % _math(last)))
        else:
            out.append((MATH, token))
    return out


def _word(token: str, previous: str, following: str):
    """A run of letters: an English word (text), a function name (math before '(' or '_'), or a product
    of single-letter variables written together (Xb, dU, AUB)."""
    attached = following in "(_^" or not following.isascii() and not following.isspace()
    if token in FUNCTIONS and (attached or following == " "):
        return [(MATH if attached else "function", token)]
    capitals = sum(c.isupper() for c in token)
    if "-" in token or token.lower() in TWO_LETTER_WORDS and token[1:].islower() or (len(token) >= 3 and capitals < 2) or len(token) > 4:
        return [(TEXT, token)]   # a word; SXv, XWb, AUB are products of variables
    if len(token) >= 3 and not (previous in "(" or not previous.isascii() or following in ")ᵀ⁻"):
        return [(TEXT, token)]   # IRLS, MLE: an abbreviation, unless written into a formula: d(AUB)
    if len(token) == 1 and token in "aAI" and previous in " (" and following == " ":
        return [("article", token)]   # the article, or the pronoun, when a word follows
    return [(MATH, token)]


VERBS = TWO_LETTER_WORDS | {"has", "and", "was", "are", "can", "must", "will", "does", "with"}


def _math(token: str) -> str:
    """One token of a formula as LaTeX."""
    if token in FUNCTIONS:
        return FUNCTIONS[token]
    for table in (GREEK, OPERATORS):
        if token in table:
            return table[token]
    return escape_text(token) if token in "&%$#" else token


def _resolve_functions(tokens):
    """A function name followed by a space is mathematics only when a formula follows (log L, log aᵢ);
    a, A and I are words when a word follows (a term, A is), variables otherwise (for constant A, B)."""
    out = []   # from the right, so that in "log det Σ" det is known to be mathematics before log is
    for kind, token in reversed(tokens):
        if kind in ("function", "article"):
            following = next((t for t in out if t[0] != SPACE), (TEXT, ""))
            if kind == "function":
                kind = MATH if following[0] == MATH else TEXT
            else:   # an article comes before a word or a number (a term, a 1×1 matrix), never before a verb
                article = following[0] == TEXT and following[1] and following[1] not in VERBS \
                    or following[1][:1].isdigit()
                kind = TEXT if article else MATH
        out.insert(0, (kind, token))
    return out


def segments(text) -> list[tuple[bool, str]]:
    """The sentence as (is_math, content) pieces: words as plain text, formulas as LaTeX."""
    if isinstance(text, Prose):
        return _prose_segments(text.latex)
    tokens = _resolve_functions(_tokens(str(text)))
    out, k = [], 0
    while k < len(tokens):
        if tokens[k][0] != MATH:
            out.append((False, tokens[k][1]))
            k += 1
            continue
        end = k
        while end < len(tokens) and tokens[end][0] in (MATH, SPACE, PUNCT) and not _ends_clause(tokens, end):
            end += 1
        lead, run = _trimmed(tokens[k:end])
        out += [(False, token) for _, token in tokens[k:k + lead]]
        k += lead
        run = run or tokens[k:k + 1]
        if any(_strong(token) for _, token in run):
            out.append((True, _latex_run(run)))
        else:   # digits and brackets alone, (0, 1) or (69), are not a formula worth setting
            out.append((False, "".join(token for _, token in run)))
        k += len(run)
    return _merged(out)


def _strong(token: str) -> bool:
    return not (token.isdigit() or token in "()[]{}.,;: " or token.replace(".", "").isdigit())


def _ends_clause(tokens, k) -> bool:
    """`; `, `: ` and `. ` (and a final `.`) separate clauses: a formula never runs across them."""
    kind, token = tokens[k]
    if kind != PUNCT or k + 1 < len(tokens) and tokens[k + 1][0] != SPACE:
        return False
    if token == ",":   # "A, B" is two formulas; "p(y | x, β)" one
        before = [t for _, t in tokens[:k]]
        start = max((j for j, t in enumerate(tokens[:k]) if t[0] not in (MATH, SPACE, PUNCT)), default=-1)
        inside = before[start + 1:]
        return sum(t in "([{" for t in inside) <= sum(t in ")]}" for t in inside)
    return True


def _trimmed(run):
    """The run without trailing spaces, punctuation, or a bracket it does not open (nor a leading one
    it does not close: the parenthesis of a remark in words)."""
    while run:
        kind, token = run[-1]
        opened = sum(t in "([{" for _, t in run) - sum(t in ")]}" for _, t in run)
        if kind in (SPACE, PUNCT) or (token in ")]}" and opened < 0) or (token in "([{" and len(run) > 1
                                                                             and run[-2][0] == SPACE):
            run = run[:-1]
        else:
            break
    lead = 0
    while len(run) > 1 and run[0][1] in "([{" and \
            sum(t in "([{" for _, t in run) > sum(t in ")]}" for _, t in run):
        run, lead = run[1:], lead + 1
    return lead, run


def _latex_run(run) -> str:
    """A run of formula tokens as LaTeX: scripts gathered into one ^{…} or _{…}, ^{…} groups kept."""
    out, k = [], 0
    while k < len(run):
        kind, token = run[k]
        if token in SUPERSCRIPTS or token in SUBSCRIPTS:
            table, mark = (SUPERSCRIPTS, "^") if token in SUPERSCRIPTS else (SUBSCRIPTS, "_")
            group = []
            while k < len(run) and (run[k][1] in table or mark == "_" and run[k][1] in "′'"):
                group.append(table.get(run[k][1], "'"))   # Ωⱼⱼ′, δⱼ′ₗ: the prime is on the subscript
                k += 1
            out.append("%s{%s}" % (mark, "".join(g + " " if g[-1].isalpha() and g.startswith("\\") else g
                                                for g in group).strip()))
            continue
        if token in "^_" and k + 1 < len(run):   # typed scripts: e^{xᵢᵀβ}, P_ic, ^∘-1
            script, k = _typed_script(run, k + 1)
            if out and out[-1].startswith(token + "{"):   # uᵢ_c: one subscript, u_{ic}
                out[-1] = out[-1][:-1] + script + "}"
            else:
                out.append("%s{%s}" % (token, script))
            continue
        if kind == SPACE:
            out.append(" ")
        elif kind == PUNCT:
            out.append(token)
        elif token == "{":
            out.append(r"\{")
        elif token == "}":
            out.append(r"\}")
        elif token in "ΣΠ" and k + 1 < len(run) and (run[k + 1][1] in SUBSCRIPTS or run[k + 1][1] == "_"):
            out.append(r"\sum " if token == "Σ" else r"\prod ")
        elif token.isdigit() and k and (run[k - 1][1] in GREEK or run[k - 1][1] in SUBSCRIPTS):
            # β0, Xᵢ2 in the components form: the digit is a subscript
            if out[-1].startswith("_{"):
                out[-1] = out[-1][:-1] + token + "}"
            else:
                out.append("_{%s}" % token)
        else:
            tex = _math(token)
            out.append(tex + (" " if re.search(r"\\[A-Za-z]+$", tex) else ""))
        k += 1
    return re.sub(r"(\\[A-Za-z]+) (?=[^A-Za-z])", r"\1", "".join(out)).strip()


def _typed_script(run, k):
    """The script after a typed ^ or _: a {…} group, or the tokens up to a space or a bracket."""
    if run[k][1] == "{":
        depth, end = 0, k
        for end in range(k, len(run)):
            depth += {"{": 1, "}": -1}.get(run[end][1], 0)
            if depth == 0:
                break
        return _latex_run(run[k + 1:end]), end + 1
    end = k
    while end < len(run) and run[end][0] == MATH and run[end][1] not in "()[]{}=+,/":
        end += 1
        last, following = run[end - 1][1], run[end][1] if end < len(run) else " "
        # ^∘-1 and _j′l are one script each; in x^2 y the script is 2
        if not (last in "∘-−" or following in "′'" or last in "′'" and following.isalnum()
                or following.isdigit() and last in "∘-−"):
            break
    return _latex_run(run[k:end]), end


def _merged(pieces):
    out = []
    for is_math, content in pieces:
        if out and out[-1][0] == is_math and not is_math:
            out[-1] = (False, out[-1][1] + content)
        else:
            out.append((is_math, content))
    return out


_UNESCAPE = {r"\&": "&", r"\%": "%", r"\$": "$", r"\#": "#", r"\_": "_", r"\{": "{", r"\}": "}",
             r"\textasciitilde{}": "~", r"\textasciicircum{}": "^", r"\textbackslash{}": "\\"}


def _prose_segments(tex: str):
    """A `Prose`'s LaTeX split at its unescaped $ into words (unescaped back) and formulas."""
    parts = re.split(r"(?<!\\)\$", tex)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append((True, part))
        elif part:
            out.append((False, re.sub("|".join(map(re.escape, _UNESCAPE)), lambda m: _UNESCAPE[m.group()], part)))
    return out


# ---------------------------------------------------------------------------------------------------
# One sentence per format
# ---------------------------------------------------------------------------------------------------
def as_latex(text) -> str:
    """LaTeX text: words escaped, formulas in $…$."""
    return "".join(f"${c}$" if is_math else escape_text(c) for is_math, c in segments(text))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def as_markdown(text) -> str:
    """Markdown: words with Markdown's special characters escaped, formulas in $…$ (KaTeX)."""
    return "".join(f"${c}$" if is_math else _MARKDOWN_SPECIAL.sub(r"\\\1", c) for is_math, c in segments(text))


def as_html(text) -> str:
    """HTML: words escaped, formulas as <span class="math"> holding their LaTeX, for KaTeX to render."""
    return "".join(f'<span class="math">{html.escape(c)}</span>' if is_math else html.escape(c)
                   for is_math, c in segments(text))
