"""Rendering: JSON per DESIGN §4, LaTeX that pdflatex compiles, Markdown and text."""
import json
import subprocess

import pytest
from conftest import require_tool

import derive
from derive.render.prose_math import as_latex

MODELS = ["ols", "ridge"]


@pytest.mark.parametrize("model", MODELS)
def test_json_schema(model):
    data = json.loads(json.dumps(derive.derivation(model).to_dict()))
    assert set(data) == {"model", "form", "steps", "results"}
    assert data["model"] == model and data["form"] == "matrix"
    for step in data["steps"]:
        assert set(step) == {"rule", "explanation", "latex", "verified"} and step["verified"] is True
    assert {"loss", "gradient", "hessian", "solution"} <= set(data["results"])
    for result in data["results"].values():
        assert set(result) == {"latex", "text"}


def test_markdown_and_text_show_every_step():
    d = derive.derivation("ols")
    markdown, text = d.to_markdown(), d.to_text()
    assert markdown.count("$$") == 2 * len(d.steps)
    assert text.count("✓ verified") == len(d.steps)
    assert d._repr_markdown_() == markdown


def test_jupyter_displays_keep_rule_names_and_repr_is_short():
    d = derive.derivation("logistic")
    shown = d._repr_latex_()
    assert all(as_latex(step.rule) in shown and as_latex(step.explanation) in shown for step in d.steps)
    assert len(repr(d)) < 200 and "steps" in repr(d)
    assert d._repr_html_().count('class="step"') == len(d.steps) + len(d.results)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("form", ["matrix", "index", "components"])
def test_standalone_latex_compiles(model, form, tmp_path):
    pdflatex = require_tool("pdflatex")
    tex = tmp_path / f"{model}.tex"
    tex.write_text(derive.derivation(model, form=form).to_latex(standalone=True), encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / f"{model}.pdf").stat().st_size > 1000


@pytest.mark.parametrize("text, expected", [
    ("x ./ y", "x ⊘ y"),
    ("a .* x ./ (b .* c)", "a ⊙ x ⊘ (b ⊙ c)"),
    ("(x ./ y) .* (a + b)", "x ⊙ (a + b) ⊘ y"),
])
def test_an_entrywise_quotient_is_written_as_a_division(text, expected):
    from derive.expr.printing import latex, unicode
    from derive.parse import parse
    shapes = {name: ("n", 1) for name in "abcxy"}
    expr = parse(text, shapes=shapes)
    assert unicode(expr) == expected and "circ -" not in latex(expr) and r"\oslash" in latex(expr)
    assert parse(derive.diff(text, wrt="x", shapes=shapes).to_dict()["expression"]["text"], shapes=shapes) == expr


def test_the_probit_derivation_compiles_with_its_quotients(tmp_path):
    pdflatex = require_tool("pdflatex")
    tex = tmp_path / "probit.tex"
    tex.write_text(derive.derivation("probit").to_latex(standalone=True), encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
