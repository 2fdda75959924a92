"""The `derive` command line: each command reads its arguments, calls one library function, prints.

Exit codes (DESIGN §4): 0 success (for `check`: correct), 1 a check found the answer wrong, 2 bad input
or an unsupported request, with one line on stderr and never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from derive.errors import DeriveError

FORMATS = ("text", "latex", "markdown", "json")


class UsageError(DeriveError):
    """A command line argparse rejected."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) rather than a usage dump."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def write_atomically(path: str, text: str) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, then an atomic rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise DeriveError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise DeriveError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the result is an ordinary file
        os.replace(temporary, target)
    except OSError as error:
        os.unlink(temporary)
        raise DeriveError(f"cannot write {path}: {error.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from derive.derivations import DESCRIPTIONS, names
    if args.json:
        print(json.dumps(names()))
    else:
        width = max(len(n) for n in names())
        for name in names():
            print(f"{name:<{width}}  {DESCRIPTIONS.get(name, '')}")
    return 0


def cmd_show(args) -> int:
    from derive import derivation
    from derive.derivations import names
    from derive.render import formats as render
    requested = names() if args.models == ["all"] else args.models
    derivations = [derivation(m, form=args.form, dim=args.dim) for m in requested]
    fmt = "json" if args.json else args.format
    emit(render.formatted(derivations, fmt, args.standalone, title="derive: " + ", ".join(requested)), args.output)
    return 0


def cmd_diff(args) -> int:
    from derive import diff
    from derive.parse import parse_shapes, reading
    from derive.render import formats as render
    shapes = parse_shapes(args.shapes) if args.shapes else None
    derivation = diff(args.expression, args.wrt, shapes, order=args.order)
    if not args.json:  # how the input was read, first (JSON has it as "read_as"); documents stay clean
        echo = "read as: " + reading(derivation.expression)
        print(echo, file=sys.stdout if args.format == "text" and not args.output else sys.stderr)
    emit(render.formatted([derivation], "json" if args.json else args.format, args.standalone), args.output)
    return 0


def report(result, as_json: bool) -> int:
    """Print a check's result (JSON or text) and return its exit code: 0 correct, 1 wrong."""
    print(json.dumps(result.to_dict(), ensure_ascii=False) if as_json else result.to_text())
    return result.exit_code


def cmd_check(args) -> int:
    from derive.checking.answers import check
    return report(check(args.model, args.quantity, args.answer), args.json)


def cmd_check_steps(args) -> int:
    from derive.checking.answers import check_steps
    return report(check_steps(read_text(args.file), model=args.model, shapes=args.shapes), args.json)


def cmd_check_code(args) -> int:
    from derive.checking.code import check_code
    return report(check_code(args.model, args.quantity, args.function), args.json)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeriveError(f"no file {path!r}") from None
    except UnicodeDecodeError:
        raise DeriveError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise DeriveError(f"cannot read {path}: {error.strerror}") from None


def cmd_fit(args) -> int:
    from derive.fitting.data import load
    from derive.fitting.dispatch import fit
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    design = load(args.data, target=args.target, features=features, intercept=not args.no_intercept,
                  formula=args.formula)
    result = fit(args.model, design.X, design.y, method=args.method, lam=args.lam, names=design.names,
                 exact_data=design.exact_data)
    for warning in result.warnings:
        print(f"derive: warning: {warning}", file=sys.stderr)
    if args.plot:
        from derive.fitting.plot import plot
        plot(result, design.X, design.y, args.plot)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.summary())
    return 0


def cmd_notes(args) -> int:
    from derive.notes import compile_pdf, notes_latex
    target = Path(args.output)
    if target.suffix not in (".pdf", ".tex"):
        raise DeriveError(f"-o {args.output}: give a .pdf or a .tex file")
    tex = target.with_suffix(".tex")
    write_atomically(str(tex), notes_latex())
    if target.suffix == ".pdf":
        compile_pdf(tex, target)
    print(f"wrote {target}" + (f" (and its LaTeX, {tex})" if target != tex else ""))
    return 0


def add_output_options(p) -> None:
    """--format, --standalone, --json and -o: how a derivation is printed, for `show` and `diff`."""
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--standalone", action="store_true", help="with --format latex: a whole document for pdflatex")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="derive", description="Step-by-step, machine-verified derivations for the "
                    "mathematics of machine learning.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    p = commands.add_parser("models", help="list the models", description="List the models derive implements.")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=cmd_models)

    p = commands.add_parser("show", help="show a model's derivation, step by step",
                            description="Show a model's derivation, every step named and verified. "
                            "Example: derive show ridge --format latex --standalone -o ridge.tex")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model name(s), or 'all'")
    p.add_argument("--form", choices=("matrix", "index", "components"), default="matrix",
                   help="vector/matrix notation, summation notation, or explicit components")
    p.add_argument("--dim", type=int, default=None, help="number of components for --form components (default 2)")
    add_output_options(p)
    p.set_defaults(run=cmd_show)

    p = commands.add_parser("diff", help="differentiate an expression, step by step",
                            description="Differentiate a scalar or matrix expression step by step, every rule "
                            "named and every step verified. Example: derive diff \"x'*A*x\" --wrt x --shapes "
                            "\"x:n, A:nxn\"")
    p.add_argument("expression", metavar="EXPR", help="LaTeX or plain syntax, e.g. \"log(det(S))\" or \"\\sin(x^2)\"")
    p.add_argument("--wrt", required=True, metavar="VAR", help="the variable (or variables: \"x, y\")")
    p.add_argument("--shapes", metavar='"x:n, A:nxn"', help="declare vectors and matrices (undeclared names are scalars)")
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="2 for the Hessian / second derivative")
    add_output_options(p)
    p.set_defaults(run=cmd_diff)

    p = commands.add_parser("check", help="check an answer: is it the model's gradient, Hessian, ...?",
                            description="Check a hand-derived answer against the derived result, and say what "
                            "is wrong with it. Exit 0 if correct, 1 if wrong, 2 if it cannot be read. Example: "
                            "derive check logistic gradient \"X^T(\\sigma(X\\beta) - y)\"")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("quantity", metavar="QUANTITY", help="loss, gradient, hessian, solution or update")
    p.add_argument("answer", metavar="ANSWER", help="LaTeX or plain syntax, e.g. \"-2X^T(y - X\\beta)\" or \"-2*X'*(y - X*b)\"")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(run=cmd_check)

    p = commands.add_parser("check-steps", help="find the first wrong line of a derivation",
                            description="Check a derivation line by line (an align* environment or plain lines, "
                            "each after the first starting with = or &=). Exit 0 if every line follows, 1 if one "
                            "does not.")
    p.add_argument("file", metavar="FILE")
    symbols = p.add_mutually_exclusive_group()
    symbols.add_argument("--model", metavar="MODEL", help="use the model's symbols (X, y, β, λ, ...)")
    symbols.add_argument("--shapes", metavar='"x:n, A:nxn"', help="declare matrices and vectors by shape")
    p.add_argument("--json", action="store_true", help="print the lines and verdicts as JSON")
    p.set_defaults(run=cmd_check_steps)

    p = commands.add_parser("check-code", help="check your numpy gradient or Hessian code",
                            description="Run your own function (FILE.py:FUNCTION, imported in a separate process "
                            "with a time limit) at random inputs and compare it with the derived formula.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("quantity", metavar="QUANTITY", help="gradient or hessian (or loss)")
    p.add_argument("function", metavar="FILE.py:FUNCTION")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(run=cmd_check_code)

    p = commands.add_parser("fit", help="fit a model to a CSV file with the derived formulas",
                            description="Fit a model to the columns of a CSV file (with a header line), using "
                            "the derived gradient, Hessian and closed form. Example: derive fit ols "
                            "Longley.csv --target y --json; derive fit ols Filip.csv --formula "
                            "\"y ~ x + x^2 + x^3\"")
    p.add_argument("model", metavar="MODEL", help="ols, ridge, logistic or poisson")
    p.add_argument("data", metavar="DATA.csv", help="a CSV file with a header line")
    p.add_argument("--target", metavar="COL", help="the column to predict")
    p.add_argument("--formula", help='terms of the columns, e.g. "y ~ x + x^2 + log(z)"; "- 1" drops the intercept')
    p.add_argument("--features", metavar="A,B", help="the columns to use (default: all but the target)")
    p.add_argument("--no-intercept", action="store_true", help="do not add an intercept column")
    p.add_argument("--method", default="auto", choices=("auto", "exact", "qr", "cholesky", "newton", "gd"),
                   help="auto: exact arithmetic for small decimal data, else QR (ols/ridge); Newton (logistic/poisson)")
    p.add_argument("--lam", type=float, help="the ridge penalty λ (ridge only)")
    p.add_argument("--json", action="store_true", help="print the fit as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the fit (needs matplotlib)")
    p.set_defaults(run=cmd_fit)

    p = commands.add_parser("notes", help="every derivation as one document (PDF via pdflatex, or LaTeX)",
                            description="Write the course's derivations as one LaTeX document with a table "
                            "of contents, one section per model, and compile it with pdflatex. The .tex is "
                            "written beside the PDF in any case.")
    p.add_argument("-o", "--output", default="notes.pdf", metavar="notes.pdf|notes.tex",
                   help="the file to write (default: notes.pdf)")
    p.set_defaults(run=cmd_notes)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except DeriveError as error:
        message = " ".join(str(error).split())
        print(message if message.startswith("derive") else f"derive: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
