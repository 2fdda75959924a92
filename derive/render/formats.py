"""A derivation as text for the terminal, LaTeX, Markdown, or JSON (DESIGN §4).

Every formula is printed from SymPy (derive.expr.printing), never echoed from user input, so nothing a user
typed can reach a LaTeX document as a command. Steps that share a left-hand side are shown as one chain,
L = … = … = …, the way a textbook writes them.
"""
from __future__ import annotations

import json
import re

from derive.expr.printing import latex, unicode
from derive.expr.prose import Prose

CHECK = "✓"


def _lhs(step):
    return step.lhs if step.lhs is not None else step.before


def _relation_latex(step, continues: bool = False) -> str:
    """The step's displayed formula as LaTeX, with & before the relation for align*; a step continuing
    the previous line's chain (same left-hand side) shows only `= …`, as a textbook does."""
    if step.relation == "":
        return r"& %s" % latex(step.after)
    return r"%s &= %s" % ("" if continues else latex(_lhs(step)), latex(step.after))


def _relation_text(step) -> str:
    if step.relation == "":
        return unicode(step.after)
    return "%s = %s" % (unicode(_lhs(step)), unicode(step.after))


def _sections(derivation):
    """[(heading or None, [steps])] in order."""
    starts = dict(derivation.sections)
    groups, current = [], (None, [])
    for k, step in enumerate(derivation.steps):
        if k in starts:
            if current[1] or current[0]:
                groups.append(current)
            current = (starts[k], [])
        current[1].append(step)
    groups.append(current)
    return groups


def _symbol_lines(derivation, fmt):
    for symbol, description in derivation.symbols:
        yield fmt(symbol), description


# ---------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------
def to_text(derivation) -> str:
    title = f"{derivation.title} ({derivation.form} form)"
    lines = [title, "=" * len(title)]
    if derivation.symbols:
        lines += ["", "Symbols:"] + [f"  {s}: {d}" for s, d in _symbol_lines(derivation, unicode)]
    number = 0
    for heading, steps in _sections(derivation):
        if heading:
            lines += ["", heading, "-" * len(heading)]
        for step in steps:
            number += 1
            mark = CHECK if step.verified else "✗"
            lines += ["", f"{number:>2}. {step.rule}  [{mark} verified]" if step.verified else
                      f"{number:>2}. {step.rule}  [not verified]", f"    {step.explanation}",
                      f"    {_relation_text(step)}"]
    if derivation.results:
        lines += ["", "Results", "-------"] + [f"  {q}: {unicode(e)}" for q, e in derivation.results.items()]
    for note in derivation.notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# LaTeX
# ---------------------------------------------------------------------------------------------------
_UNICODE_TO_LATEX = str.maketrans({
    "β": r"$\beta$", "λ": r"$\lambda$", "σ": r"$\sigma$", "Σ": r"$\Sigma$", "μ": r"$\mu$", "τ": r"$\tau$",
    "∂": r"$\partial$", "∇": r"$\nabla$", "⁻": r"$^{-}$", "¹": r"$^{1}$", "ᵀ": r"$^{\top}$", "²": r"$^{2}$",
    "≥": r"$\geq$", "≠": r"$\neq$", "⇒": r"$\Rightarrow$", "⊙": r"$\odot$", "‖": r"$\|$", "δ": r"$\delta$",
    "∝": r"$\propto$", "→": r"$\to$", "−": "-", "…": r"\ldots{}", "ε": r"$\varepsilon$", "θ": r"$\theta$",
    "π": r"$\pi$", "′": "'", "⪰": r"$\succeq$", "ŷ": r"$\hat{y}$", "𝟏": r"$\mathbf{1}$", "∘": r"$\circ$",
    "ᵢ": r"$_i$", "ⱼ": r"$_j$", "ₖ": r"$_k$", "ₗ": r"$_l$", "₀": r"$_0$", "₁": r"$_1$", "₂": r"$_2$",
    "×": r"$\times$", "≤": r"$\leq$", "∈": r"$\in$", "⁰": r"$^{0}$", "³": r"$^{3}$", "ˣ": r"$^{x}$",
    "ᶻ": r"$^{z}$", "η": r"$\eta$", "α": r"$\alpha$", "γ": r"$\gamma$", "ω": r"$\omega$", "ρ": r"$\rho$",
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    # the likelihood models' prose
    "ℓ": r"$\ell$", "ℝ": r"$\mathbb{R}$", "Π": r"$\Pi$", "Ω": r"$\Omega$", "Δ": r"$\Delta$", "φ": r"$\varphi$",
    "≈": r"$\approx$", "⊗": r"$\otimes$", "←": r"$\leftarrow$", "·": r"$\cdot$", "½": r"$\frac{1}{2}$",
    "ᵈ": r"$^{d}$", "ⁿ": r"$^{n}$", "ᴷ": r"$^{K}$", "ᵘ": r"$^{u}$", "ᵛ": r"$^{v}$", "ʸ": r"$^{y}$", "⁴": r"$^{4}$",
    "⁶": r"$^{6}$",
    # derive.diff's prose (its titles print the user's expression): roots, powers, subscripts, Greek names
    "√": r"$\surd$", "⁵": r"$^{5}$", "⁷": r"$^{7}$", "⁸": r"$^{8}$", "⁹": r"$^{9}$", "₃": r"$_3$", "₄": r"$_4$",
    "₅": r"$_5$", "₆": r"$_6$", "₇": r"$_7$", "₈": r"$_8$", "₉": r"$_9$", "κ": r"$\kappa$", "ν": r"$\nu$",
    "χ": r"$\chi$", "ψ": r"$\psi$", "Γ": r"$\Gamma$", "Θ": r"$\Theta$", "Λ": r"$\Lambda$", "Φ": r"$\Phi$",
    "Ψ": r"$\Psi$",
    # the course derivations' prose (Lagrangians, bounds, the pseudo-inverse)
    "𝓛": r"$\mathcal{L}$", "⇔": r"$\Leftrightarrow$", "⇐": r"$\Leftarrow$", "∫": r"$\int$", "∞": r"$\infty$",
    "⁺": r"$^{+}$", "ᵏ": r"$^{k}$", "ŵ": r"$\hat{w}$", "–": "--",
})
_HATTED = re.compile("(.)\u0302")   # a letter with a combining hat: μ̂, σ̂, p̂


def latex_prose(text: str) -> str:
    """Our own prose (rule names, explanations) as LaTeX text: special characters escaped, symbols as math."""
    if isinstance(text, Prose):   # a sentence built with its formulas knows its own LaTeX
        return text.latex
    def one(ch):
        return ch if ord(ch) < 128 and ch not in "&%$#_{}~^\\" else ch.translate(_UNICODE_TO_LATEX)

    out = []
    for k, part in enumerate(_HATTED.split(text)):   # odd parts are the letters under a hat
        if k % 2:
            base = one(part)
            out.append(r"$\hat{%s}$" % (base[1:-1] if base.startswith("$") else base))
        else:
            out.append("".join(one(ch) for ch in part))
    return "".join(out)


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb,bm}
\usepackage[margin=2.5cm]{geometry}
\allowdisplaybreaks
"""


def latex_body(derivation, heading_command: str = r"\subsection*") -> str:
    out = []
    if derivation.symbols:
        items = ", ".join(f"${s}$: {latex_prose(d)}" for s, d in _symbol_lines(derivation, latex))
        out.append(f"\\noindent Symbols: {items}.\n")
    for heading, steps in _sections(derivation):
        if heading:
            out.append(f"{heading_command}{{{latex_prose(heading)}}}")
        rows, previous = [], None
        for step in steps:
            rule = latex_prose(step.rule)
            continues = step.lhs is not None and step.lhs == previous
            rows.append(f"  {_relation_latex(step, continues)} && \\text{{{rule}}}")
            previous = step.lhs
        out.append("\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}")
        explanations = [f"\\item \\textbf{{{latex_prose(s.rule)}}}: {latex_prose(s.explanation)}"
                        + (" (verified)" if s.verified else "") for s in steps]
        out.append("\\begin{itemize}\\small\n" + "\n".join(explanations) + "\n\\end{itemize}")
    if derivation.results:
        rows = [f"  \\text{{{latex_prose(q)}}} &: {latex(e)}" for q, e in derivation.results.items()]
        out.append(f"{heading_command}{{Results}}\n\\begin{{align*}}\n" + " \\\\\n".join(rows) + "\n\\end{align*}")
    for note in derivation.notes:
        out.append(latex_prose(note) + "\n")
    return "\n\n".join(out) + "\n"


def to_latex(derivation, standalone: bool = False, jupyter: bool = False) -> str:
    if jupyter:  # Jupyter's MathJax shows one display block
        rows = [_relation_latex(s) for s in derivation.steps]
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"
    body = latex_body(derivation)
    if not standalone:
        return body
    title = latex_prose(f"{derivation.title} ({derivation.form} form)")
    return (PREAMBLE + f"\\title{{{title}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n\n"
            + body + "\\end{document}\n")


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------
def to_markdown(derivation) -> str:
    out = [f"## {derivation.title} ({derivation.form} form)"]
    if derivation.symbols:
        out.append("Symbols: " + ", ".join(f"${s}$ {d}" for s, d in _symbol_lines(derivation, latex)))
    number = 0
    for heading, steps in _sections(derivation):
        if heading:
            out.append(f"### {heading}")
        for step in steps:
            number += 1
            mark = " ✓" if step.verified else ""
            out.append(f"{number}. **{step.rule}**{mark}: {step.explanation}\n\n"
                       f"$$\n{_relation_latex(step).replace('&', '')}\n$$")
    if derivation.results:
        out.append("### Results\n" + "\n".join(f"- {q}: ${latex(e)}$" for q, e in derivation.results.items()))
    out += list(derivation.notes)
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------
# JSON (DESIGN §4)
# ---------------------------------------------------------------------------------------------------
def step_dict(step) -> dict:
    return {"rule": step.rule, "explanation": step.explanation,
            "latex": _relation_latex(step).replace("&", "").strip(), "verified": step.verified}


def expression_dict(expr) -> dict:
    from derive.expr.plain import to_plain
    return {"latex": latex(expr), "text": to_plain(expr)}


def to_dict(derivation) -> dict:
    return {
        "model": derivation.model,
        "form": derivation.form,
        "steps": [step_dict(s) for s in derivation.steps],
        "results": {q: expression_dict(e) for q, e in derivation.results.items()},
    }


def to_json(derivation) -> str:
    return json.dumps(to_dict(derivation), ensure_ascii=False, indent=2)


def to_document(derivations, title: str = "Derivations", contents: bool = False) -> str:
    """Several derivations as one standalone LaTeX document, a section each (and a table of contents)."""
    parts = [PREAMBLE, f"\\title{{{latex_prose(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n"]
    if contents:
        parts.append("\\tableofcontents\n\\newpage\n")
    for derivation in derivations:
        parts.append(f"\\section{{{latex_prose(derivation.title)} ({derivation.form} form)}}\n")
        parts.append(latex_body(derivation))
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def formatted(derivations, fmt: str, standalone: bool = False, title: str = "Derivations") -> str:
    """Derivations in one of the output formats: text, latex (a document with `standalone`), markdown, json."""
    if fmt == "json":
        dicts = [d.to_dict() for d in derivations]
        return json.dumps(dicts[0] if len(dicts) == 1 else dicts, ensure_ascii=False, indent=2)
    if fmt == "latex" and standalone and len(derivations) > 1:
        return to_document(derivations, title=title)
    if fmt == "latex":
        return "\n".join(d.to_latex(standalone=standalone) for d in derivations)
    if fmt == "markdown":
        return "\n".join(d.to_markdown() for d in derivations)
    return "\n".join(d.to_text() for d in derivations)
