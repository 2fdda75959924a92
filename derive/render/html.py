"""Derivations as a self-contained HTML page: KaTeX (shipped in assets/katex, MIT licence) inlined with
its woff2 fonts as data: URIs, so the page renders offline, with no network request, and can be mailed.

The layout is the LaTeX document's: each step's equation beside its rule and justification, prose with
its formulas set as mathematics, the verification said once at the top.
"""
from __future__ import annotations

import base64
import html
import re
from functools import lru_cache
from importlib import resources

from derive.expr.printing import latex
from derive.render.latex import equation_rows, step_rows, tight
from derive.render.layout import sections
from derive.render.prose_math import as_html

KATEX = resources.files("derive.render") / "assets" / "katex"
EQUATION_EM = 25   # the equation column (36rem of a 62rem page) in ems of KaTeX's 1.21em math, with a margin

STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
h1 { font-weight: normal; } h2 { font-weight: normal; border-bottom: 1px solid #ccc; }
.step { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.5rem; margin: .2rem 0; }
.equation .katex-display { margin: .3rem 0; text-align: left; } .equation .katex-display > .katex { text-align: left; }
.equation { overflow-x: auto; overflow-y: hidden; } .note { font-size: .92em; } .number { color: #777; font-size: .85em; }
.verified { font-style: italic; color: #444; } figure { margin: 1rem 0; } figure img { max-width: 100%; }
"""

RENDER = """
document.querySelectorAll('.math').forEach(function (e) {
  katex.render(e.textContent, e, {displayMode: e.classList.contains('display'), throwOnError: false});
});
"""


@lru_cache(maxsize=1)
def katex_assets() -> tuple[str, str]:
    """KaTeX's CSS, its woff2 fonts inlined (the woff and ttf fallbacks dropped), and its script."""
    css = (KATEX / "katex.min.css").read_text(encoding="utf-8")

    def inline(match):
        font = (KATEX / "fonts" / match.group(1)).read_bytes()
        return "url(data:font/woff2;base64,%s) format(\"woff2\")" % base64.b64encode(font).decode("ascii")

    css = re.sub(r",url\(fonts/[^)]+\.(?:woff|ttf)\) format\(\"(?:woff|truetype)\"\)", "", css)
    css = re.sub(r"url\(fonts/([^)]+\.woff2)\) format\(\"woff2\"\)", inline, css)
    return css, (KATEX / "katex.min.js").read_text(encoding="utf-8")


def _aligned(rows: list[str]) -> str:
    return "\\begin{aligned}%s\\end{aligned}" % " \\\\ ".join(rows)


def _math(tex: str, display: bool = False) -> str:
    return f'<span class="math{" display" if display else ""}">{html.escape(tex)}</span>'


def fragment(derivation, figures: bool = True) -> str:
    """The derivation as an HTML fragment (for Jupyter, or inside a page): KaTeX renders the spans."""
    out = [f"<h2>{as_html(derivation.title)} ({derivation.form} form)</h2>"]
    if derivation.symbols:
        out.append("<p><b>Symbols.</b> " + "; ".join(f"{_math(tight(latex(s)))}, {as_html(d)}"
                                                     for s, d in derivation.symbols) + ".</p>")
    out.append('<p class="verified">Every step below was checked by the machine before it was printed: both '
               "sides evaluated at random points, with random sizes for the matrix dimensions (a derivative "
               "against complex-step directional derivatives). Steps marked † were also proved symbolically "
               "by SymPy.</p>")
    for heading, steps in sections(derivation):
        if heading:
            out.append(f"<h3>{as_html(heading)}</h3>")
        chain = None
        for number, step in steps:
            rows, chain = step_rows(step, chain, EQUATION_EM)
            mark = " †" if step.symbolic else ""
            out.append(f'<div class="step"><div class="equation">{_math(_aligned(rows), True)}</div>'
                       f'<div class="note"><span class="number">{number}</span> <b>{as_html(step.rule)}</b>'
                       f"{mark}. {as_html(step.explanation)}</div></div>")
    if derivation.results:
        out.append("<h3>Results</h3>")
        out += [f'<div class="step"><div class="equation">{_math(_aligned(equation_rows(None, e, EQUATION_EM)), True)}</div>'
                f'<div class="note"><b>{html.escape(q)}</b></div></div>' for q, e in derivation.displayed_results().items()]
    out += [f"<p>{as_html(note)}</p>" for note in derivation.notes]
    if figures:
        from derive.render.figures import figures_html
        out.append(figures_html(derivation))
    return "\n".join(out)


def page(derivations, title: str = "Derivations") -> str:
    """A whole HTML document, KaTeX inlined: it opens in any browser without a network."""
    css, script = katex_assets()
    body = "\n".join(fragment(d) for d in derivations)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{html.escape(title)}</title>\n"
            f"<style>{css}</style>\n<style>{STYLE}</style>\n</head><body>\n<h1>{html.escape(title)}</h1>\n{body}\n"
            f"<script>{script}</script>\n<script>{RENDER}</script>\n</body></html>\n")
