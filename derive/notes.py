"""Course notes: every model's derivation in one LaTeX document, compiled to PDF when pdflatex is there.

`derive notes -o notes.pdf` writes notes.tex beside the PDF in any case, so a missing TeX installation
costs the PDF, never the notes.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from derive.errors import DeriveError
from derive.render.formats import to_document

TITLE = "The mathematics of machine learning, derived step by step"


def notes_latex(models=None) -> str:
    """The whole course (or the given models: names, model files, `Model`s) as one standalone document:
    a table of contents, a section per model."""
    from derive.derivations import build, names
    return to_document([build(m) for m in (models or names())], title=TITLE, contents=True)


def compile_pdf(tex_path: Path, pdf_path: Path) -> None:
    """Run pdflatex twice (the second pass fills in the table of contents) in a scratch folder."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise DeriveError(f"pdflatex is not installed, so no PDF was made; the LaTeX is in {tex_path} "
                          "(install texlive-latex-base, or compile it elsewhere)")
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(tex_path, Path(scratch) / "notes.tex")
        for _ in range(2):
            run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                                  "notes.tex"], cwd=scratch, capture_output=True, text=True, timeout=300)
            if run.returncode != 0:
                last = [line for line in run.stdout.splitlines() if line.startswith("!")][:1]
                raise DeriveError(f"pdflatex failed on {tex_path}: {last[0] if last else 'see its log'}")
        partial = pdf_path.with_name(f".{pdf_path.name}.tmp")
        shutil.copy(Path(scratch) / "notes.pdf", partial)
        partial.replace(pdf_path)
