"""The `derive` command line: each command reads its arguments, calls one library function, prints.

Exit codes: 0 success (for `check`: correct), 1 a check found the answer wrong, 2 bad input or an
unsupported request, with one line on stderr and never a traceback; with `--json`, the error is also
printed on stdout as ``{"error": {"message", "kind", "position"}}``.

Conventions: a misspelt command, option, choice or model gets a "did you mean"; an argument that begins
with '-' but is no option of its command is an expression (``derive diff "-x^2" --wrt x``); `-o -` is
stdout; files are written whole or not at all; characters the terminal cannot encode come out in ASCII
notation (β as beta, ᵀ as '); every JSON output has one layout.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from derive.errors import DeriveError, NotSupported, did_you_mean
from derive.render.ascii_notation import ERRORS as ASCII_NOTATION
from derive.render.output import write_atomically

FORMATS = ("text", "latex", "markdown", "json", "html")


class UsageError(DeriveError):
    """A command line argparse rejected."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) rather than a usage dump, a misspelt
    choice gets a suggestion, and an expression may begin with '-'."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(repr(choice) for choice in action.choices)
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{did_you_mean(str(value), map(str, action.choices))} "
                        f"(choose from {choices})")

    def _parse_optional(self, arg_string):
        # NOTE: "-x^2" and "-2X'(y-Xb)" are expressions, not options: argparse would refuse them as unknown
        # options. Text after one '-' that does not start with one of this command's short options
        # (-h, -o) is read as a positional argument; "--..." stays an option (misspelt ones get a suggestion).
        if (arg_string.startswith("-") and not arg_string.startswith("--") and len(arg_string) > 1
                and arg_string[:2] not in self._option_string_actions):
            return None
        return super()._parse_optional(arg_string)


def unrecognized(parser: Parser, extras: list[str]) -> UsageError:
    """The error for arguments no option of `parser` takes, suggesting the nearest option."""
    options = [o for o in parser._option_string_actions if o.startswith("--")]
    first_option = next((e.partition("=")[0] for e in extras if e.startswith("-")), "")
    hint = did_you_mean("--" + first_option.lstrip("-"), options) if first_option else ""  # -json: --json
    return UsageError(f"{parser.prog}: unrecognized arguments: {' '.join(extras)}{hint} "
                      f"(see '{parser.prog} --help')")


def print_json(data) -> None:
    """Every command's JSON, in one layout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def emit(text: str, output: str | None) -> None:
    """The text to the file `output` (atomically), or to stdout when there is none or it is "-"."""
    if output and output != "-":
        write_atomically(output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from derive.derivations import description, names, spec
    if args.json:
        print_json({name: {"description": description(name), "spec": spec(name)} for name in names()})
    else:
        width = max(len(n) for n in names())
        for name in names():
            print(f"{name:<{width}}  {description(name)}")
    return 0


def cmd_datasets(args) -> int:
    from derive import datasets
    listing = [datasets.load(name) for name in datasets.names()]
    if args.json:
        print_json([dataset.to_dict() for dataset in listing])
        return 0
    width = max(len(dataset.name) for dataset in listing)
    for dataset in listing:
        print(f"{dataset.name:<{width}}  {dataset.rows} rows; columns {', '.join(dataset.columns)}")
        print(f"{'':<{width}}  source: {dataset.source}")
        print(f"{'':<{width}}  certifies: {dataset.certifies}")
    return 0


def cmd_show(args) -> int:
    from derive import derivation
    from derive.derivations import names
    from derive.render import formats as render
    statement = {k: getattr(args, k) for k in ("loss", "likelihood", "penalty", "prior") if getattr(args, k)}
    if statement:
        from derive import model
        if args.models:
            raise DeriveError("give either MODEL names/files or a one-off model (--loss/--likelihood), not both")
        if not args.wrt:
            raise DeriveError("a one-off model needs --wrt (its parameters), e.g. --wrt b")
        requested = [model(wrt=args.wrt, shapes=args.shapes, **statement)]
    elif not args.models:
        raise DeriveError("derive show: give a MODEL (a name, 'all' or a model file .toml), or --loss/--likelihood")
    else:
        requested = names() if args.models == ["all"] else args.models
    derivations = [derivation(m, form=args.form, dim=args.dim) for m in requested]
    requested = [str(d.model) for d in derivations]
    fmt = "json" if args.json else args.format
    emit(render.formatted(derivations, fmt, args.standalone, title="derive: " + ", ".join(requested)), args.output)
    stopped = [f"{d.model}: {d.stopped}" for d in derivations if getattr(d, "stopped", None)]
    if stopped:   # the verified part is shown; where it stopped is an error of the request
        raise NotSupported("; ".join(stopped))
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
    emit(render.formatted([derivation], "json" if args.json else args.format, args.standalone,
                          title=f"derive diff {args.expression}"), args.output)
    return 0


def report(result, as_json: bool) -> int:
    """Print a check's result (JSON or text) and return its exit code: 0 correct, 1 wrong."""
    if as_json:
        print_json(result.to_dict())
    else:
        print(result.to_text())
    return result.exit_code


CHECK_HELP = """Check a hand-derived answer against the derived result, and say what is wrong with it.
Exit 0 if correct, 1 if wrong, 2 if it cannot be read. The answer may be in any course notation: matrix
form, index form with a free index k (a component: -2\\sum_i (y_i - \\sum_j X_{ij}\\beta_j) X_{ik}), x̄, μ̂,
S and P as the derivation names them (X^TSX), softmax(XW); a pair such as the gaussian solution as
(a, b), [a; b], two lines, or either part alone. Classic mistakes are named (1/(n − 1), XᵀX without S,
σ(1 + σ), λ without I, 2λ for λ, ∂/∂σ for ∂/∂σ², softmax without its normaliser, log for exp, a
missing transpose). Example:
  derive check logistic gradient "X^T(\\sigma(X\\beta) - y)"
"""

CHECK_STEPS_HELP = """Check a derivation line by line and find the first wrong line. Exit 0 if every line
follows, 1 if one does not. The file may be an align* environment (&=, \\\\), plain lines, or Markdown
with $…$ formulas; headings and prose lines are skipped. A line continues the one before (= or &=),
differentiates it (\\nabla_\\beta L = …, dL/db = …, \\frac{\\partial L}{\\partial \\sigma^2} = …), or sets a
derivative to zero and solves (… = 0, X^TX\\beta = X^Ty, \\hat\\beta = …); "so", "hence", "therefore",
\\implies, \\Rightarrow and ⇒ at the start are read as "it follows that", \\text{…} remarks are ignored."""

CHECK_CODE_HELP = """Run your own numpy function (FILE.py:FUNCTION, imported in a separate process with a
time limit) at random inputs, including a large |Xβ| (where a naive sigmoid overflows), and compare it
with the derived formula. Exit 0 if it matches, 1 if not, 2 if it cannot be run.
Calling convention (arguments passed positionally, vectors 1-d):
  ols, logistic, poisson: f(beta, X, y) with beta (d,), X (n, d), y (n,)
  ridge:                  f(beta, X, y, lam) with beta (d,), X (n, d), y (n,), lam a float
  softmax:                f(W, X, Y) with W (d, K), X (n, d), Y (n, K)
  gaussian:               f(mu, sigma2, x) with mu a float, sigma2 a float, x (n,)
  bernoulli:              f(p, x) with p a float, x (n,)
  mvn:                    f(mu, Sigma, X) with mu (d,), Sigma (d, d), X (n, d)
A pair of results (the gaussian or mvn solution) may be returned as a tuple, or one part alone."""


def cmd_check(args) -> int:
    from derive import check
    return report(check(args.model, args.quantity, args.answer), args.json)


def cmd_check_steps(args) -> int:
    from derive import check_steps
    return report(check_steps(read_text(args.file), model=args.model, shapes=args.shapes), args.json)


def cmd_check_code(args) -> int:
    from derive import check_code
    return report(check_code(args.model, args.quantity, args.function), args.json)


def cmd_lambdify(args) -> int:
    import inspect

    from derive import derivation, lambdify
    from derive.derivations import display_name
    from derive.expr.printing import unicode
    from derive.fitting.codegen import standalone_source
    from derive.render.formats import expression_dict
    function = lambdify(args.model, args.quantity)
    result = derivation(args.model).results[args.quantity]
    name = display_name(args.model)
    arguments = getattr(function, "arguments", None) or tuple(inspect.signature(function).parameters)
    module = standalone_source(function.source, arguments)  # runs on its own, with the helpers it calls
    if args.json:
        print_json({"model": name, "quantity": args.quantity, "arguments": list(arguments),
                    "expression": expression_dict(result), "source": function.source, "module": module})
        return 0
    emit(f"# The {args.quantity} of {name},\n#   {unicode(result)},\n# as the numpy code derive generates (solves, "
         f"never inverses; stable forms of σ, softplus, 1 − Φ, log Φ\n# and φ/Φ, the inverse Mills ratio), with the "
         f"helpers it calls: it needs {'numpy and scipy' if 'scipy' in module else 'numpy'}.\n# Call {function.__name__}"
         f"({', '.join(arguments)}); in Python, derive.lambdify({str(args.model)!r}, {args.quantity!r}) returns "
         f"it.\n\n" + module, args.output)
    return 0


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
    from derive.derivations import display_name, names, resolve
    from derive.fitting.data import PER_ROW, dask_design, fits_in_memory, load, sample_columns
    from derive.fitting.design_columns import ValueAtRow
    from derive.fitting.dispatch import fit
    from derive.fitting.model_fit import observes_rows
    # a built-in's name (its fit may be one of its own, as ols's exact arithmetic), or the Model of a model file
    model = args.model.lower() if args.model.lower() in names() else resolve(args.model)
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    rows = observes_rows(model)   # a sample of vector observations (mvn): the --features columns as they are
    if rows:
        if not (features or args.target) or args.formula:
            raise DeriveError(f"{display_name(model)} is fitted to columns: name them with --features A,B")
        sample = sample_columns(args.data, features or [args.target], delimiter=args.delimiter,
                                encoding=args.encoding)
        result = fit(model, sample, names=features or [args.target])
        print_json(result.to_dict()) if args.json else print(result.summary())
        return 0
    values = {"values": _assignments(args.set)} if args.set else {}  # a model file's known scalars
    columns = dict(target=args.target, features=features, intercept=not args.no_intercept, formula=args.formula,
                   per_row={role: getattr(args, role) for role in PER_ROW}, delimiter=args.delimiter,
                   encoding=args.encoding)
    from derive.fitting.model_fit import takes_class_labels
    labels = takes_class_labels(model)   # the target holds class labels (softmax), read as text
    if args.engine == "dask" or args.engine == "auto" and Path(args.data).exists() and not fits_in_memory(args.data):
        from derive.fitting.chunked import fit_data_file
        result = fit_data_file(model, dask_design(args.data, labels=labels, **columns), args.method, args.lam)
        design = None
    else:
        design = load(args.data, labels=labels, **columns)
        try:
            result = fit(model, design.X, design.y, method=args.method, lam=args.lam, names=design.names,
                         exact_data=lambda: design.exact_data, **design.per_row, **values)
        except ValueAtRow as error:  # "at row 3" of the arrays is line 4 of the file
            raise error.located(design.where, design.target) if design.where else error from None
    for warning in result.warnings:
        print(f"derive: warning: {warning}", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.summary())
    if args.plot:  # after the fit is printed: a plot that fails keeps the finished fit
        if design is None:
            raise DeriveError("--plot needs the data in memory (not --engine dask)")
        from derive.fitting.plot import plot
        sys.stdout.flush()
        plot(result, design.X, design.y, args.plot)
    return 0


def _assignments(items) -> dict:
    """--set lam=0.5 --set tau2=2: known scalars of a model, by name."""
    values = {}
    for item in items or ():
        name, equals, number = item.partition("=")
        try:
            values[name.strip()] = float(number)
        except ValueError:
            raise DeriveError(f"--set {item}: write NAME=NUMBER, such as --set lam=0.5") from None
        if not equals or not name.strip():
            raise DeriveError(f"--set {item}: write NAME=NUMBER, such as --set lam=0.5")
    return values


def cmd_notes(args) -> int:
    from derive.notes import compile_pdf, figures_folder, notes_latex
    target = Path(args.output)
    if target.suffix not in (".pdf", ".tex"):
        raise DeriveError(f"-o {args.output}: give a .pdf or a .tex file")
    tex = target.with_suffix(".tex")
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown = [f for f in forms if f not in ("matrix", "index", "components")]
    if unknown or not forms:
        raise DeriveError(f"--forms {args.forms}: give forms from matrix, index, components, e.g. matrix,index")
    write_atomically(str(tex), notes_latex(args.models, forms, figures=figures_folder(tex)))
    if target.suffix == ".pdf":
        compile_pdf(tex, target)
    print(f"wrote {target}" + (f" (and its LaTeX, {tex})" if target != tex else ""))
    return 0


def add_output_options(p) -> None:
    """--format, --standalone, --json and -o: how a derivation is printed, for `show` and `diff`."""
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--standalone", action="store_true", help="with --format latex: a whole document for pdflatex")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically); '-' is stdout")


def add_command(commands, name: str, run, json: str | None = None, **parser_options):
    """One subcommand: its parser, the function it runs, and --json (saying what the JSON holds) where it
    prints results."""
    p = commands.add_parser(name, **parser_options)
    if json:
        p.add_argument("--json", action="store_true", help=json)
    p.set_defaults(run=run)
    return p


class PrintVersion(argparse.Action):
    """`--version`: the installed version is looked up only when asked for (its lookup is slow to import)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from derive import __version__
        print(f"derive {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="derive", description="Step-by-step, machine-verified derivations for the "
                    "mathematics of machine learning.")
    parser.add_argument("--version", action=PrintVersion)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    parser.commands = commands.choices  # name -> the command's parser, for its error messages

    add_command(commands, "models", cmd_models, json="print a JSON list", help="list the models",
                description="List the models derive implements.")
    add_command(commands, "datasets", cmd_datasets, json="print a JSON list",
                help="list the shipped reference datasets",
                description="List the datasets shipped with derive: rows, columns, source and what "
                "their reference results certify. A dataset's name works wherever a data file does: "
                "derive fit ols longley --target y")

    p = add_command(commands, "show", cmd_show, help="show a model's derivation, step by step",
                    description="Show a model's derivation, every step named and verified. "
                    "Example: derive show ridge --format latex --standalone -o ridge.tex")
    p.add_argument("models", nargs="*", metavar="MODEL", help="model name(s), 'all', or model files (.toml)")
    p.add_argument("--loss", help="a one-off model's loss, e.g. \"(y - X b)' W (y - X b)\" (with --wrt, --shapes)")
    p.add_argument("--likelihood", help="a one-off model's likelihood, e.g. \"y_i ~ Bernoulli(sigmoid(x_i' b))\"")
    p.add_argument("--penalty", help="added to the loss, e.g. \"lam ||b||^2\"")
    p.add_argument("--prior", help="a prior on a parameter (MAP), e.g. \"b ~ N(0, tau2 I)\"")
    p.add_argument("--wrt", metavar="PARAMS", help="the one-off model's parameters, e.g. b or \"b, s2\"")
    p.add_argument("--shapes", metavar='"X:nxd, y:n, W:nxn sym"', help="the one-off model's symbols and assumptions")
    p.add_argument("--form", choices=("matrix", "index", "components"), default="matrix",
                   help="vector/matrix notation, summation notation, or explicit components")
    p.add_argument("--dim", type=int, default=None, help="number of components for --form components (default 2)")
    add_output_options(p)

    p = add_command(commands, "diff", cmd_diff, help="differentiate an expression, step by step",
                    description="Differentiate a scalar or matrix expression step by step, every rule "
                    "named and every step verified. Example: derive diff \"x'*A*x\" --wrt x --shapes "
                    "\"x:n, A:nxn\"")
    p.add_argument("expression", metavar="EXPR", help="LaTeX or plain syntax, e.g. \"log(det(S))\" or \"\\sin(x^2)\"")
    p.add_argument("--wrt", required=True, metavar="VAR", help="the variable (or variables: \"x, y\")")
    p.add_argument("--shapes", metavar='"x:n, A:nxn"', help="declare vectors and matrices (undeclared names are scalars)")
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="2 for the Hessian / second derivative")
    add_output_options(p)

    p = add_command(commands, "check", cmd_check, json="print the verdict as JSON",
                    help="check an answer: is it the model's gradient, Hessian, ...?",
                    formatter_class=argparse.RawDescriptionHelpFormatter, description=CHECK_HELP)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("quantity", metavar="QUANTITY", help="loss, gradient, hessian, solution or update")
    p.add_argument("answer", metavar="ANSWER", help="LaTeX or plain syntax, e.g. \"-2X^T(y - X\\beta)\" or \"-2*X'*(y - X*b)\"")

    p = add_command(commands, "check-steps", cmd_check_steps, json="print the lines and verdicts as JSON",
                    help="find the first wrong line of a derivation",
                    formatter_class=argparse.RawDescriptionHelpFormatter, description=CHECK_STEPS_HELP)
    p.add_argument("file", metavar="FILE")
    symbols = p.add_mutually_exclusive_group()
    symbols.add_argument("--model", metavar="MODEL", help="use the model's symbols (X, y, β, λ, ...)")
    symbols.add_argument("--shapes", metavar='"x:n, A:nxn"', help="declare matrices and vectors by shape, with "
                         "assumptions: \"S:dxd pd, W:nxn sym\" (without either, a regression's X, y, β or a "
                         "quadratic form xᵀAx is recognised; other names are scalars, with a warning)")

    p = add_command(commands, "check-code", cmd_check_code, json="print the comparison as JSON",
                    help="check your numpy gradient or Hessian code",
                    formatter_class=argparse.RawDescriptionHelpFormatter, description=CHECK_CODE_HELP)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("quantity", metavar="QUANTITY", help="gradient, hessian, loss or solution")
    p.add_argument("function", metavar="FILE.py:FUNCTION")

    p = add_command(commands, "lambdify", cmd_lambdify,
                    json="print the arguments, expression, source and the self-contained module as JSON",
                    help="the numpy code generated from a derived result",
                    description="Print the numpy function derive generates from a model's derived "
                    "result (the one derive.lambdify(MODEL, QUANTITY) returns and fit uses), with its "
                    "arguments in the model's order and the helpers it calls: the text runs with numpy and "
                    "scipy alone. Example: derive lambdify logistic gradient -o gradient.py")
    p.add_argument("model", metavar="MODEL", help="a built-in model or a model file (.toml)")
    p.add_argument("quantity", metavar="QUANTITY", help="loss, gradient, hessian, solution or update")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically); '-' is stdout")

    p = add_command(commands, "fit", cmd_fit, json="print the fit as JSON",
                    help="fit a model to a CSV file with the derived formulas",
                    description="Fit a model to the columns of a CSV file (with a header line), using "
                    "the derived gradient, Hessian and closed form. Example: derive fit ols "
                    "Longley.csv --target y --json; derive fit ols Filip.csv --formula "
                    "\"y ~ x + x^2 + x^3\"")
    p.add_argument("model", metavar="MODEL", help="ols, ridge, logistic, poisson, softmax (the target holds the classes); "
                   "gaussian, bernoulli (a --target column), mvn (--features columns); wls, gaussian-linear, "
                   "probit, exponential, or a model file (.toml)")
    p.add_argument("data", metavar="DATA", help="a CSV file with a header line, a Parquet file or folder, or a "
                   "shipped dataset's name (see 'derive datasets')")
    p.add_argument("--target", metavar="COL", help="the column to predict")
    p.add_argument("--formula", help='R/patsy-style terms of the columns, e.g. "y ~ a*b + I(x^2) + log(z) + C(g)" '
                   '(a*b = a + b + a:b; C(g): categorical); "- 1" drops the intercept')
    p.add_argument("--features", metavar="A,B", help="the columns to use (default: all but the target)")
    p.add_argument("--no-intercept", action="store_true", help="do not add an intercept column")
    p.add_argument("--method", default="auto", choices=("auto", "exact", "qr", "cholesky", "newton", "gd"),
                   help="auto: exact arithmetic for small decimal data, else QR (ols/ridge); Newton (logistic/poisson)")
    p.add_argument("--lam", type=float, help="the ridge penalty λ (ridge only)")
    p.add_argument("--weights", metavar="COL", help="weighted least squares (ols, ridge): the column of weights wᵢ ≥ 0; a model file's n×n matrix is diag(COL)")
    p.add_argument("--offset", metavar="COL", help="poisson: a column added to Xβ with coefficient 1 (log μ = Xβ + offset)")
    p.add_argument("--exposure", metavar="COL", help="poisson: the exposure tᵢ > 0 of each count (offset log tᵢ)")
    p.add_argument("--delimiter", metavar="CHAR", help="the CSV column separator (default: sniffed from the header: "
                   "comma, tab, semicolon or |)")
    p.add_argument("--encoding", metavar="NAME", help="the CSV file's text encoding (default: UTF-8)")
    p.add_argument("--engine", choices=("auto", "memory", "dask"), default="auto",
                   help="dask: read and fit the data chunk by chunk (out of core); auto: dask when the data "
                   "would not fit in memory")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="a known scalar of a model file (repeatable)")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the fit (needs matplotlib)")

    p = add_command(commands, "notes", cmd_notes, help="every derivation as one document (PDF via pdflatex, or LaTeX)",
                    description="Write the course's derivations as one LaTeX document (a title page, "
                    "introduction, notation, a section per model in the chosen forms, an index of rules) "
                    "and compile it with pdflatex; fails if pdflatex reports an error or an overfull line. "
                    "The .tex is written beside the PDF in any case. Example: derive notes wls.toml "
                    "--forms matrix,index -o notes.pdf")
    p.add_argument("models", nargs="*", metavar="MODEL", help="model files (or names) to add after the built-in models")
    p.add_argument("--forms", default="matrix", metavar="matrix,index",
                   help="the forms of each derivation, comma-separated (default: matrix)")
    p.add_argument("-o", "--output", default="notes.pdf", metavar="notes.pdf|notes.tex",
                   help="the file to write (default: notes.pdf)")
    return parser


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for JSON output (so that an error is JSON too)."""
    return "--json" in argv or "--format=json" in argv or any(
        option == "--format" and value == "json" for option, value in zip(argv, argv[1:]))


def fail(error: DeriveError, as_json: bool) -> int:
    """One line on stderr (and, for --json, the error as JSON on stdout); exit code 2."""
    message = " ".join(str(error).split())
    print(message if message.startswith("derive") else f"derive: error: {message}", file=sys.stderr)
    if as_json:
        print_json({"error": {"message": message, "kind": type(error).__name__, "position": error.position}})
    return 2


@contextlib.contextmanager
def interrupts_recorded():
    """A list that holds the signal once Ctrl-C arrives. An interrupt that lands inside an extension module's
    import can surface as that module's ImportError (numpy's "could not import module 'datetime'") rather than
    as KeyboardInterrupt; the record tells the two apart."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return

    def record(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv=None) -> int:
    with interrupts_recorded() as interrupted:
        try:
            return _main(argv)
        except ImportError:
            if not interrupted:
                raise
    print("derive: interrupted", file=sys.stderr)
    return 130


def _main(argv) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # NOTE: β where the terminal takes only ASCII is beta, not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ASCII_NOTATION)
    try:
        parser = build_parser()
        if argv and argv[0].startswith("-") and argv[0] not in parser._option_string_actions:
            raise unrecognized(parser, argv[:1])  # before the command, only --help and --version
        args, extras = parser.parse_known_args(argv)
        if extras:
            raise unrecognized(parser.commands[args.command], extras)
        return args.run(args)
    except DeriveError as error:
        return fail(error, wants_json(argv))
    except SystemExit as done:  # --help and --version
        return done.code or 0
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
