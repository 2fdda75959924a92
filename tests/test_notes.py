"""`derive notes`: the whole course as one document with a table of contents, compiled by pdflatex."""
from conftest import require_tool

from derive.cli import main
from derive.derivations import names


def test_notes_tex_has_contents_and_a_section_per_model(tmp_path, capsys):
    target = tmp_path / "notes.tex"
    assert main(["notes", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "\\tableofcontents" in text
    assert text.count("\\section{") == len(names())


def test_notes_pdf_compiles(tmp_path, capsys):
    require_tool("pdflatex")
    target = tmp_path / "notes.pdf"
    assert main(["notes", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"%PDF") and (tmp_path / "notes.tex").exists()


def test_without_pdflatex_the_tex_is_written_and_the_reason_given(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["notes", "-o", str(tmp_path / "notes.pdf")]) == 2
    assert "pdflatex is not installed" in capsys.readouterr().err
    assert (tmp_path / "notes.tex").exists() and not (tmp_path / "notes.pdf").exists()
