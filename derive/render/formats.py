"""A derivation as text for the terminal, LaTeX, Markdown, or JSON (DESIGN §4).

Every formula is printed from SymPy (derive.expr.printing), never echoed from user input, so nothing a user
typed can reach a LaTeX document as a command. Steps that share a left-hand side are shown as one chain,
L = … = … = …, the way a textbook writes them.
"""
from __future__ import annotations

import json

from derive.expr.printing import latex, unicode
from derive.render import html
from derive.render import latex as documents
from derive.render.layout import formula, left_side, sections

CHECK = "✓"


def _relation_text(step) -> str:
    if step.relation == "":
        return unicode(step.after)
    return "%s = %s" % (unicode(left_side(step)), unicode(step.after))


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
    for heading, steps in sections(derivation):
        if heading:
            lines += ["", heading, "-" * len(heading)]
        for number, step in steps:
            mark = CHECK if step.verified else "✗"
            lines += ["", f"{number:>2}. {step.rule}  [{mark} verified]" if step.verified else
                      f"{number:>2}. {step.rule}  [not verified]", f"    {step.explanation}",
                      f"    {_relation_text(step)}"]
    if derivation.results:
        lines += ["", "Results", "-------"] + [f"  {q}: {unicode(e)}" for q, e in derivation.displayed_results().items()]
    for note in derivation.notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# LaTeX (derive.render.latex)
# ---------------------------------------------------------------------------------------------------
def to_latex(derivation, standalone: bool = False) -> str:
    return documents.document(derivation) if standalone else documents.body(derivation)


def to_document(derivations, title: str = "Derivations", contents: bool = False) -> str:
    """Several derivations as one standalone LaTeX document, a section each (and a table of contents)."""
    return documents.many(derivations, title=title, contents=contents)


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------
def to_markdown(derivation) -> str:
    """Markdown with KaTeX math: a numbered item per step (rule, justification), its equation displayed."""
    from derive.render.prose_math import as_markdown
    out = [f"## {as_markdown(derivation.title)} ({derivation.form} form)"]
    if derivation.symbols:
        out.append("Symbols: " + "; ".join(f"${latex(s)}$, {as_markdown(d)}" for s, d in derivation.symbols))
    out.append("*Every step was checked by the machine at random points with random matrix sizes; "
               "† marks steps SymPy also proved symbolically.*")
    for heading, steps in sections(derivation):
        if heading:
            out.append(f"### {as_markdown(heading)}")
        for number, step in steps:
            mark = " †" if step.symbolic else ""
            out.append(f"{number}. **{as_markdown(step.rule)}**{mark}: {as_markdown(step.explanation)}\n\n"
                       f"$$\n{formula(step)}\n$$")
    if derivation.results:
        out.append("### Results\n" + "\n".join(f"- {q}: ${latex(e)}$" for q, e in derivation.displayed_results().items()))
    out += [as_markdown(note) for note in derivation.notes]
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------
# JSON (DESIGN §4)
# ---------------------------------------------------------------------------------------------------
def step_dict(step) -> dict:
    return {"rule": step.rule, "explanation": step.explanation,
            "latex": formula(step), "verified": step.verified}


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


def formatted(derivations, fmt: str, standalone: bool = False, title: str = "Derivations") -> str:
    """Derivations in one of the output formats: text, latex (a document with `standalone`), markdown, json,
    html (a self-contained page)."""
    if fmt == "json":
        dicts = [d.to_dict() for d in derivations]
        return json.dumps(dicts[0] if len(dicts) == 1 else dicts, ensure_ascii=False, indent=2)
    if fmt == "latex" and standalone and len(derivations) > 1:
        return to_document(derivations, title=title)
    if fmt == "latex":
        return "\n".join(d.to_latex(standalone=standalone) for d in derivations)
    if fmt == "markdown":
        return "\n".join(d.to_markdown() for d in derivations)
    if fmt == "html":
        return html.page(derivations, title=title)
    return "\n".join(d.to_text() for d in derivations)
