"""Derivations as LaTeX documents that read like a textbook page and never run into the margin.

Each step is one row: its equation on the left (a chain L = … = … keeps its equals signs under one
another), the rule's name and its one-sentence justification beside it on the right. How every step was
verified is said once, at the top; only steps SymPy also proved symbolically carry a mark. Equations are
broken into continuation lines (derive.render.linebreak) to fit the equation column, and prose is set
as mathematics (derive.render.prose_math).
"""
from __future__ import annotations

import sympy as sp

from derive.expr.printing import latex
from derive.render.layout import formula, left_side, sections
from derive.render.linebreak import lines, naming, width
from derive.render.prose_math import as_latex

# The page: A4, 11pt, 2.2cm margins give a 471pt line; the equation column has 60% of it.
LINE_EM = 471 / 11
EQUATION_SHARE, NOTE_SHARE = 0.60, 0.37
SAFETY = 0.9                      # the width estimate errs by up to 10% (see linebreak.CALIBRATION)
EQUATION_EM = LINE_EM * EQUATION_SHARE * SAFETY
WIDE_LHS = 0.4                    # a left-hand side wider than this share of the column gets a line of its own
SYMBOLIC_MARK = r"\dag"

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb,bm}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{microtype}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt plus 2pt}
%% \derivstep{equation}{rule and justification}: the equation column and the note column, side by side
\newcommand{\derivstep}[2]{\par\noindent
  \begin{minipage}[t]{%(equation).2f\linewidth}#1\end{minipage}\hfill
  \begin{minipage}[t]{%(note).2f\linewidth}\small\raggedright #2\end{minipage}\par\medskip}
""" % {"equation": EQUATION_SHARE, "note": NOTE_SHARE}

VERIFIED_NOTE = (r"\emph{Every step below was checked by the machine before it was printed: both sides were "
                 r"evaluated at random points, with random sizes for the matrix dimensions (a derivative "
                 r"against complex-step directional derivatives). Steps marked %s{} were also "
                 r"proved symbolically by SymPy.}" % SYMBOLIC_MARK)


def tight(tex: str) -> str:
    """{\\left(…\\right)} is an ordinary atom: σ(Xβ) with no thin space before (or after) its parenthesis."""
    return tex.replace(r"\left(", r"{\left(").replace(r"\right)", r"\right)}")


def prose(text) -> str:
    """A sentence (plain Unicode or `Prose`) as LaTeX text with its formulas set as mathematics."""
    return tight(as_latex(text))


def _inline(rows: list[str]) -> str:
    """Rows of an aligned formula as inline display-style math, top-aligned for the minipage."""
    if len(rows) == 1:
        return r"$\displaystyle %s$" % rows[0].replace("&", "")
    return "$\\displaystyle\\begin{aligned}[t]\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$"


def _continued(first: str, pieces: list[str], indent: str = r"\quad ") -> list[str]:
    return [first + tight(pieces[0])] + [r"&" + indent + tight(p) for p in pieces[1:]]


def equation_rows(lhs, rhs, budget: float = EQUATION_EM) -> list[str]:
    """`lhs = rhs` as rows of an aligned formula (& before the equals sign), broken to fit `budget` em."""
    if lhs is None:
        return _continued("& ", lines(rhs, budget))
    if width(lhs) > WIDE_LHS * budget:   # the left-hand side on its own line(s), then = … indented
        return _continued("& ", lines(lhs, budget)) + _continued(r"&\quad = ", lines(rhs, budget - 2), r"\qquad ")
    return _continued(f"{tight(latex(lhs))} &= ", lines(rhs, budget - width(lhs) - 1.4))


def continuation_rows(rhs, chain_lhs, budget: float = EQUATION_EM) -> list[str]:
    """`= rhs` continuing a chain, its equals sign under the chain's first one (after an invisible copy of
    the chain's left-hand side, or an indent when that stood on a line of its own)."""
    if width(chain_lhs) > WIDE_LHS * budget:
        return _continued(r"&\quad = ", lines(rhs, budget - 2), r"\qquad ")
    return _continued(r"\phantom{%s} &= " % tight(latex(chain_lhs)), lines(rhs, budget - width(chain_lhs) - 1.4))


def step_rows(step, chain_lhs, budget: float = EQUATION_EM):
    """A step's formula as aligned rows, and the left-hand side of the chain it belongs to (or None)."""
    after = step.after
    if step.relation == "":
        if isinstance(after, sp.Equality):
            return equation_rows(after.lhs, after.rhs, budget), None
        return equation_rows(None, after, budget), None
    if step.lhs is not None and step.lhs == chain_lhs:
        return continuation_rows(after, chain_lhs, budget), chain_lhs
    return equation_rows(left_side(step), after, budget), step.lhs


def _note(number: int, step) -> str:
    mark = r"\,$^{%s}$" % SYMBOLIC_MARK if step.symbolic else ""
    return (r"{\footnotesize %d}\enspace\textbf{%s}%s.\ %s" % (number, prose(step.rule), mark, prose(step.explanation)))


def body(derivation, heading_command: str = r"\subsection*", verified_note: bool = True) -> str:
    """The derivation as LaTeX for inside a document: symbols, the verification note (unless the document
    says it once for all its derivations), a row per step, the results and the closing notes."""
    with naming():   # a part named to shorten a line keeps its name through the derivation
        return _body(derivation, heading_command, verified_note)


def _body(derivation, heading_command, verified_note) -> str:
    out = []
    if derivation.symbols:
        items = "; ".join(f"${tight(latex(s))}$, {prose(d)}" for s, d in derivation.symbols)
        out.append(r"\textbf{Symbols.} " + items + ".")
    if verified_note:
        out.append(VERIFIED_NOTE)
    for heading, steps in sections(derivation):
        if heading:
            out.append(f"{heading_command}{{{prose(heading)}}}")
        chain = None
        for number, step in steps:
            rows, chain = step_rows(step, chain)
            out.append(r"\derivstep{%s}{%s}" % (_inline(rows), _note(number, step)))
    if derivation.results:
        out.append(f"{heading_command}{{Results}}")
        for quantity, expr in derivation.displayed_results().items():
            out.append(r"\derivstep{%s}{\textbf{%s}}" % (_inline(equation_rows(None, expr)), prose(quantity)))
    for note in derivation.notes:
        out.append(prose(note))
    return "\n\n".join(out) + "\n"


def document(derivation) -> str:
    """One derivation as a standalone document that pdflatex compiles."""
    title = prose(f"{derivation.title} ({derivation.form} form)")
    return (PREAMBLE + f"\\title{{{title}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n\n"
            + body(derivation) + "\\end{document}\n")


def jupyter(derivation) -> str:
    """For Jupyter's text/latex (MathJax in the notebook, raw LaTeX in `nbconvert --to latex`): each step
    its number, rule and justification as prose with inline math, then its equation as a display. Only
    what both read alike is used: $…$ and $$…$$, and \\textbf inside math for the numbers."""
    out = []
    for heading, steps in sections(derivation):
        if heading:
            out.append(as_latex(heading))
        for number, step in steps:
            out.append(r"\(\textbf{%d.}\) %s: %s" % (number, as_latex(step.rule), as_latex(step.explanation))
                       + "\n$$%s$$" % formula(step))
    return "\n\n".join(out)


def many(derivations, title: str = "Derivations", contents: bool = False) -> str:
    """Several derivations as one standalone LaTeX document, a section each (and a table of contents)."""
    parts = [PREAMBLE, f"\\title{{{prose(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n"]
    if contents:
        parts.append("\\tableofcontents\n\\newpage\n")
    for derivation in derivations:
        parts.append(f"\\section{{{prose(derivation.title)} ({derivation.form} form)}}\n")
        parts.append(body(derivation))
    parts.append("\\end{document}\n")
    return "\n".join(parts)

