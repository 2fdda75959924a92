"""Documents a lecturer would hand out: every model × form and the notes compile with pdflatex with no
overfull box and no missing character; every Markdown math span renders with KaTeX; the HTML page
renders in headless Chromium with all its math and no console error."""
import json
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest
from conftest import require_tool

import derive
from derive.derivations import names
from derive.render.formats import formatted
from derive.render.prose_math import as_latex


@lru_cache(maxsize=1)
def documents():
    """(name, Derivation) for every model in every form it supports (components with d = 3), built once."""
    out = []
    for model in names():
        for form in ("matrix", "index", "components"):
            try:
                out.append((f"{model}-{form}", derive.derivation(model, form=form, dim=3)))
            except derive.NotSupported:
                continue
    return out


def defects(log: str) -> list[str]:
    """What pdflatex reports that a reader would see: overfull lines, errors, missing characters."""
    return [line for line in log.splitlines()
            if line.startswith(("Overfull \\hbox", "!")) or "Missing character" in line]


def compile_latex(pdflatex, folder: Path, name: str, source: str) -> list[str]:
    (folder / f"{name}.tex").write_text(source, encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"{name}.tex"],
                         cwd=folder, capture_output=True, text=True, timeout=300)
    log = (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    return defects(log) + ([] if run.returncode == 0 else [f"pdflatex exited {run.returncode}"])


def test_every_model_and_form_and_the_notes_compile_without_an_overfull_box(tmp_path):
    pdflatex = require_tool("pdflatex")
    from derive.notes import notes_latex
    sources = [(name, d.to_latex(standalone=True)) for name, d in documents()] + [("notes", notes_latex())]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda item: (item[0], compile_latex(pdflatex, tmp_path, *item)), sources))
    failures = {name: found[:3] for name, found in results if found}
    assert not failures, failures


@pytest.mark.parametrize("sentence,expected", [
    ("Write z = xᵢᵀβ − 1.", r"Write $z = x_{i}^{\top}\beta - 1$."),
    ("β ∼ N(0, τ²I)", r"$\beta \sim N(0, \tau^{2}I)$"),
    ("probabilities P_ic", r"probabilities $P_{ic}$"),
    ("(exp(XW)𝟏)^∘-1", r"$(\exp(XW)\mathbf{1})^{\circ-1}$"),
    ("d(AUB) = A(dU)B for constant A, B.", r"$d(AUB) = A(dU)B$ for constant $A$, $B$."),
    ("a term free of v", r"a term free of $v$"),
    ("A is positive definite", r"$A$ is positive definite"),
    ("(a 1×1 matrix equals its transpose)", r"(a $1\times1$ matrix equals its transpose)"),
    ("(∂c/∂v = 0, a term free of v)", r"($\partial c/\partial v = 0$, a term free of $v$)"),
    ("log(1/a) = −log a", r"$\log(1/a) = -\log a$"),
    ("log is increasing, so L and log L agree", r"log is increasing, so $L$ and $\log L$ agree"),
    ("∂Ωⱼⱼ′/∂Ωₖₗ = δⱼₖδⱼ′ₗ", r"$\partial\Omega_{jj'}/\partial\Omega_{kl} = \delta_{jk}\delta_{j'l}$"),
    ("Σᵢxᵢ = np̂, SymPy's own", r"$\sum_{i}x_{i} = n\hat{p}$, SymPy's own"),
    ("the weighted least-squares problem min_b (z − Xb)ᵀS(z − Xb)",
     r"the weighted least-squares problem $\min_{b} (z - Xb)^{\top}S(z - Xb)$"),
])
def test_prose_is_set_as_mathematics(sentence, expected):
    assert as_latex(sentence) == expected


def test_prose_with_its_own_formulas_keeps_them():
    from derive.expr.prose import prose
    from derive.expr.symbols import X
    sentence = prose("when ", X.T * X, " is invertible")
    assert as_latex(sentence) == r"when $X^{\top} X$ is invertible"


def test_no_unicode_mathematics_is_left_in_the_latex():
    for name, d in documents():
        text = d.to_latex(standalone=True)
        stray = set(re.findall(r"[^\x00-\x7f]", text))
        assert not stray, (name, stray)


def katex_errors(spans: list[tuple[str, bool]]) -> list[str]:
    """Render every (LaTeX, display) with the katex npm package in one node process; the failures."""
    node = require_tool("node")
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
    script = ("const katex = require('katex'); const spans = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const bad = []; for (const [tex, display] of spans) { try { katex.renderToString(tex, "
              "{displayMode: display, throwOnError: true}); } catch (e) { bad.push(tex + ' :: ' + e.message); } }"
              "console.log(JSON.stringify(bad));")
    run = subprocess.run([node, "-e", script], input=json.dumps(spans), capture_output=True, text=True,
                         env={**os.environ, "NODE_PATH": root}, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_every_markdown_math_span_renders_with_katex():
    spans = []
    for _, d in documents():
        markdown = d.to_markdown()
        spans += [(m.strip(), True) for m in re.findall(r"\$\$(.+?)\$\$", markdown, re.S)]
        inline = re.sub(r"\$\$(.+?)\$\$", "", markdown, flags=re.S)
        spans += [(m, False) for m in re.findall(r"(?<![\\$])\$([^$]+?)\$", inline)]
    assert len(spans) > 1000
    assert katex_errors(spans) == []


def test_the_html_page_renders_all_its_math_in_chromium(tmp_path):
    chromium = require_tool("chromium")
    page = tmp_path / "logistic.html"
    page.write_text(formatted([derive.derivation("logistic"), derive.derivation("mvn")], "html"), encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?https?:|url\(["']?https?:""", page.read_text())   # nothing fetched
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--disable-component-update", "--disable-sync", "--no-first-run",
                              f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--enable-logging=stderr",
                              "--v=0", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=120)
    dom = run.stdout.split("<body>")[1].split("<script>")[0]   # the rendered body, not KaTeX's own code
    spans = dom.count('class="math')
    assert spans > 100
    assert "katex-error" not in dom
    assert dom.count('class="katex"') + dom.count('class="katex-display"') >= spans
    # the page writes nothing to the console: any message there (an error, an uncaught exception) is a defect
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console[:3]


@pytest.mark.parametrize("fmt", ["html"])
def test_show_writes_html_from_the_command_line(tmp_path, fmt, capsys):
    from derive.cli import main
    target = tmp_path / f"ols.{fmt}"
    assert main(["show", "ols", "--format", fmt, "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "katex.render" in text and "font/woff2" in text


@pytest.mark.parametrize("model", ["logistic", "gaussian"])
def test_the_html_page_has_the_figures_the_derivation_suggests(model):
    pytest.importorskip("matplotlib")   # an optional extra: without it the page simply has no figures
    from derive.render.figures import figures_html
    figure = figures_html(derive.derivation(model))
    assert figure.startswith("<figure><img") and "data:image/png;base64," in figure
