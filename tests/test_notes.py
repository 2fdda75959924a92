"""`derive notes`: the whole course as one document (title page, introduction, notation, every model in the
forms asked for, an index of rules), compiled by pdflatex, refused when pdflatex reports a defect."""
from pathlib import Path

import pytest
from conftest import require_tool

from derive.cli import main
from derive.derivations import names
from derive.errors import DeriveError
from derive.notes import compile_pdf, notes_latex


def test_notes_have_front_matter_every_model_in_every_form_and_a_rule_index():
    text = notes_latex(forms=("matrix", "index"))
    for part in ("\\begin{titlepage}", "\\tableofcontents", "\\section{Introduction}", "\\section{Notation}",
                 "denominator layout", "Index of rules"):
        assert part in text
    assert text.count("\\section{") == len(names()) + 2
    assert text.count("\\subsection{Matrix form}") == text.count("\\subsection{Index form}") == len(names())
    assert "sum rule" in text.split("\\section*{Index of rules}")[1]


def test_the_chapters_follow_the_course_and_hold_every_model_once():
    text = notes_latex()
    chapters = ["Linear algebra", "Multivariable calculus", "Probability", "Optimisation", "Linear regression",
                "Logistic regression and other GLMs"]
    positions = [text.index(f"\\part{{{title}}}") for title in chapters]
    assert positions == sorted(positions)
    # ols is derived in the linear-regression chapter, pca in linear algebra, logistic last
    assert positions[4] < text.index("\\section{Ordinary least squares") < positions[5]
    assert positions[0] < text.index("\\section{Principal components") < positions[1]
    assert text.count("\\section{") == len(names()) + 2


def test_notes_tex_from_the_command_line(tmp_path, capsys):
    target = tmp_path / "notes.tex"
    assert main(["notes", "--forms", "matrix", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").count("\\section{") == len(names()) + 2


@pytest.mark.parametrize("argv,message", [
    (["notes", "no-such-model.toml", "-o", "x.tex"], "no such model file"),
    (["notes", "--forms", "matrix,sideways", "-o", "x.tex"], "--forms"),
    (["notes", "-o", "notes.docx"], "give a .pdf or a .tex"),
])
def test_bad_requests_are_one_line_and_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_pdf_with_an_overfull_line_is_refused(tmp_path):
    require_tool("pdflatex")
    tex = tmp_path / "notes.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\noindent\\rule{2\\textwidth}{1pt} x\\end{document}\n")
    with pytest.raises(DeriveError, match="Overfull"):
        compile_pdf(tex, tmp_path / "notes.pdf")
    assert not (tmp_path / "notes.pdf").exists()


def test_without_pdflatex_the_tex_is_written_and_the_reason_given(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["notes", "-o", str(tmp_path / "notes.pdf")]) == 2
    assert "pdflatex is not installed" in capsys.readouterr().err
    assert (tmp_path / "notes.tex").exists() and not (tmp_path / "notes.pdf").exists()


def test_the_notes_pdf_compiles_cleanly_with_its_figures(tmp_path, capsys):
    require_tool("pdflatex")
    pytest.importorskip("matplotlib")   # the figures are an optional extra
    target = tmp_path / "notes.pdf"
    assert main(["notes", "--forms", "matrix,index", "-o", str(target)]) == 0
    assert Path(target).read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "notes-figures").iterdir()) == ["gaussian.pdf", "logistic.pdf"]
    assert "\\includegraphics" in (tmp_path / "notes.tex").read_text(encoding="utf-8")
