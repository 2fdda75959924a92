"""The scalar functions derive knows, each declared once, and their elementwise application to matrices.

`REGISTRY` is the one table of scalar functions.  A record says everything every part of derive needs:
how it is read (plain words and LaTeX commands), its SymPy class, its numeric value for the verifier
(exact under a complex step), its numpy form for fitted code (stable where the naive form overflows),
its derivative and how that step is worded, and how it prints in text and LaTeX.  The parser, the
numeric evaluator, the code generator, the printers, the component writer and the scalar rules all read
this table; `tests/test_registry.py` walks it through each of them.  A new function is one record here.

Functions SymPy lacks are classes here: σ (`sigmoid`), `softplus`, `relu` (and its derivative `step`),
Φ and φ (`Phi`, `phi`, the standard normal distribution function and density), ψ and ψ′ (`digamma`,
`trigamma`, the derivatives of log Γ, which SymPy writes as `polygamma(k, z)`).

Matrices: `Elementwise("sigmoid", Xβ)` is σ applied entry by entry. It is a first-class matrix expression
with the shape of its argument, so σ(Xβ) prints as σ(Xβ), never as a SymPy `Lambda` or array object;
`.doit()` on an explicit matrix applies the scalar function to every entry, `.diff(t)` by a scalar is
f′(U) ⊙ dU/dt, and SymPy's numpy printers (`sympy.lambdify`, `NumPyPrinter`) write it as the entrywise
numpy call (plain `sympy.pycode`, which has no matrices, refuses it).  `lift` turns a scalar formula in
z (such as σ'(z) = σ(z)(1 − σ(z))) into the same formula applied entrywise (σ(U) ⊙ (1 − σ(U))).

Vector functions act on a whole vector, not entry by entry: `VECTOR_REGISTRY` declares softmax(z) =
exp(z)/𝟏ᵀexp(z) and logsumexp(z) = log 𝟏ᵀexp(z) the same way (reading, max-shifted numeric value, explicit
entries, differential), and `VectorApplication("softmax", z)` is the node. Of an n×K matrix they act on each
row, as softmax(XW) gives the class probabilities of multinomial regression.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.errors import NotSupported

SQRT_2PI = math.sqrt(2 * math.pi)


# ---------------------------------------------------------------------------------------------------
# The functions of machine learning that SymPy lacks
# ---------------------------------------------------------------------------------------------------
class _Defined(sp.Function):
    """A function with a definition in SymPy's own functions (`definition`): it evaluates numerically,
    rewrites to that definition, and prints for SymPy's code printers through it. Its derivative is its
    registry record's (one place for it); `at_zero` is its exact value at 0, where that is a simple number."""

    at_zero = None

    @classmethod
    def eval(cls, z):
        if cls.at_zero is not None and z.is_zero:
            return cls.at_zero

    @classmethod
    def definition(cls, z):
        raise NotImplementedError

    def fdiff(self, argindex=1):
        return BY_CLASS[type(self)].derivative(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return self.definition(z)

    def _eval_evalf(self, prec):
        return self.definition(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _code(self, printer):
        return printer._print(self.definition(self.args[0]))

    _numpycode = _pythoncode = _code


class sigmoid(_Defined):
    """σ(z) = 1 / (1 + e^{−z}), the logistic function; σ'(z) = σ(z)(1 − σ(z))."""

    at_zero = sp.S.Half

    @classmethod
    def definition(cls, z):
        return 1 / (1 + sp.exp(-z))


class softplus(_Defined):
    """softplus(z) = log(1 + e^z), the logistic loss's building block; softplus'(z) = σ(z)."""

    @classmethod
    def definition(cls, z):
        return sp.log(1 + sp.exp(z))

    _eval_rewrite_as_log = _Defined._eval_rewrite_as_exp


class step(_Defined):
    """step(z) = 1 for z > 0 and 0 for z < 0: the derivative of relu away from 0 (where its own is 0)."""

    @classmethod
    def definition(cls, z):
        return sp.Heaviside(z)


class relu(_Defined):
    """relu(z) = max(z, 0); relu'(z) = step(z) for z ≠ 0 (relu has no derivative at 0)."""

    @classmethod
    def definition(cls, z):
        return z * sp.Heaviside(z)


class Phi(_Defined):
    """Φ(z), the standard normal distribution function; Φ'(z) = φ(z)."""

    at_zero = sp.S.Half

    @classmethod
    def definition(cls, z):
        return sp.erfc(-z / sp.sqrt(2)) / 2


class phi(_Defined):
    """φ(z) = e^{−z²/2}/√(2π), the standard normal density; φ'(z) = −zφ(z)."""

    @classmethod
    def definition(cls, z):
        return sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)


class _Polygamma(_Defined):
    """ψ⁽ᵏ⁾(z) = polygamma(k, z) as a one-argument function (the registry's functions take one argument)."""

    order = 0

    @classmethod
    def definition(cls, z):
        return sp.polygamma(cls.order, z)

    def _code(self, printer):
        # SymPy's plain Python printer has no polygamma; generated code calls scipy's
        return "%s(%d, %s)" % (printer._module_format("scipy.special.polygamma"), self.order,
                               printer._print(self.args[0]))

    _numpycode = _pythoncode = _code


class digamma(_Polygamma):
    """ψ(z) = d/dz log Γ(z), the digamma function (Gamma and Beta likelihoods); ψ'(z) is the trigamma ψ′(z)."""

    order = 0


class trigamma(_Polygamma):
    """ψ′(z) = d²/dz² log Γ(z), the trigamma function (the Hessians of Gamma and Beta likelihoods)."""

    order = 1


# ---------------------------------------------------------------------------------------------------
# Numeric forms.  `numpy` forms are exact under a complex step (f(x + ih) = f(x) + ih·f'(x) to rounding),
# which is how derive verifies derivatives; `stable` forms are for fitting on real data.
# ---------------------------------------------------------------------------------------------------
def _real(z):
    return np.real(z) if np.iscomplexobj(z) else z


def _first_order(value, derivative):
    """A function of a complex-step point z = x + ih from its value and derivative at x: f(x) + ih·f'(x).
    For functions (|z|, relu, Φ) whose numpy forms are real-only or not analytic."""
    def evaluate(z):
        if not np.iscomplexobj(z):
            return value(z)
        x = np.real(z)
        return value(x) + 1j * np.imag(z) * derivative(x)
    return evaluate


def _normal_cdf(x):
    from scipy.special import ndtr
    return ndtr(x)


_erfc = np.vectorize(math.erfc, otypes=[float])


def _normal_cdf_by_erfc(x):
    """Φ(x) = erfc(−x/√2)/2, entry by entry (accurate in both tails): for the verifier, whose arrays are a
    few entries, where importing scipy.special for `ndtr` (the fitted form, for a million rows) costs more
    than every evaluation of a derivation put together."""
    return 0.5 * _erfc(-np.asarray(x, dtype=float) / math.sqrt(2))


def _normal_pdf(z):
    return np.exp(-z * z / 2) / SQRT_2PI


def _log_normal_cdf(x):
    """log Φ(x), accurate where Φ(x) underflows (x < −38) and where it rounds to 1 (log Φ(9) = −1.1e-19)."""
    from scipy.special import log_ndtr
    return log_ndtr(x)


def _log_normal_pdf(z):
    return -z * z / 2 - np.log(SQRT_2PI)


def _normal_pdf_over_cdf(x):
    """φ(x)/Φ(x), the inverse Mills ratio at −x, to a few units of rounding for every x (mpmath at 50 digits:
    1.3e-16 at x = −40). For x ≤ 0 as √(2/π)/erfcx(−x/√2) (erfcx(t) = e^{t²}erfc(t): the e^{−x²/2} of φ and Φ
    cancel exactly), where both underflow below x = −38 and exp(log φ(x) − log Φ(x)) subtracts two logs of
    size x²/2 (9e-14 at x = −40); for x > 0, where Φ(x) ≥ 1/2, as the quotient itself."""
    from scipy.special import erfcx, ndtr
    x = np.asarray(x, dtype=float)
    ratio = np.empty_like(x)
    left = x <= 0
    ratio[left] = np.sqrt(2 / np.pi) / erfcx(-x[left] / np.sqrt(2))
    right = x[~left]
    ratio[~left] = _normal_pdf(right) / ndtr(right)
    return ratio


def _sigmoid_naive(z):
    return 1 / (1 + np.exp(-z))


def _sigmoid_stable(z):
    """σ(z) = 1/(1 + e^{−z}), accurate in relative terms for every z; e^{−z} is capped at e^709 so it
    never overflows (σ(z) < 1e-307 there anyway)."""
    return 1.0 / (1.0 + np.exp(np.minimum(-z, 709.0)))


def _softplus_naive(z):
    return np.log(1 + np.exp(z))


def _softplus_stable(z):
    """log(1 + e^z) without overflow, as max(z, 0) + log1p(e^−|z|): exact to rounding for every z, and
    several times faster than np.logaddexp(0, z), which a Newton fit calls once per row per iteration."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _log_sigmoid_stable(z):
    """log σ(z) = −softplus(−z), accurate where σ(z) underflows."""
    return -_softplus_stable(-z)


def _step(z):
    return np.where(_real(z) > 0, 1.0, 0.0)


def _relu_real(z):
    return np.maximum(z, 0.0)


_relu = _first_order(_relu_real, _step)
_abs = _first_order(np.abs, lambda x: np.sign(x))
_sign = _first_order(np.sign, lambda x: np.zeros_like(x))
_Phi = _first_order(_normal_cdf_by_erfc, _normal_pdf)


# log Γ and its derivatives ψ, ψ′, ψ″ (Gamma and Beta likelihoods), from scipy.special (imported when used)
def _log_gamma_real(x):
    from scipy.special import gammaln
    return gammaln(x)


def _polygamma(order: int, x):
    from scipy.special import polygamma, psi
    return psi(x) if order == 0 else polygamma(order, x)   # psi is the ufunc; polygamma a wrapper around zeta


def _digamma_real(x):
    return _polygamma(0, x)


def _trigamma_real(x):
    return _polygamma(1, x)


_log_gamma = _first_order(_log_gamma_real, _digamma_real)
_digamma = _first_order(_digamma_real, _trigamma_real)
_trigamma = _first_order(_trigamma_real, functools.partial(_polygamma, 2))


# ---------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalarFunction:
    """One scalar function, declared once: everything derive does with it."""

    name: str                       # its plain spelling (what `to_plain` prints and the parser reads)
    sympy: type                     # its SymPy class
    derivative: Callable            # u ↦ f′(u)
    rule: str                       # the derivative in words, in u: "d/du eᵘ = eᵘ"
    numpy: Callable                 # numeric value for the verifier, exact under a complex step
    text: str                       # its head in Unicode: "σ"
    latex: str                      # its head in LaTeX: r"\sigma"
    stable: Optional[Callable] = None   # numeric value for fitted code; `numpy` when None
    stable_log: Optional[Callable] = None         # log f(u) for fitted code, where f(u) underflows
    stable_log_derivative: Optional[Callable] = None  # f′(u)/f(u) for fitted code, where f′ and f underflow
    spellings: tuple = ()           # other plain words that read as it ("ln", "arcsin")
    latex_command: bool = False     # whether \name is a LaTeX command for it (\sin; not \relu)
    called: str = ""                # how a sentence names it: "the logistic function σ"
    caveat: str = ""                # where the derivative rule does not hold
    domain: str = "real"            # where it is defined: "real", "positive" (u > 0), "unit" (|u| < 1)

    @property
    def words(self) -> tuple:
        return (self.name,) + self.spellings

    @property
    def fitted(self) -> Callable:
        return self.stable or self.numpy

    def describe(self) -> str:
        return self.called or self.name


REGISTRY: tuple[ScalarFunction, ...] = (
    ScalarFunction("exp", sp.exp, lambda u: sp.exp(u), "d/du eᵘ = eᵘ", np.exp, "exp", r"\exp",
                   latex_command=True, called="the exponential"),
    ScalarFunction("log", sp.log, lambda u: 1 / u, "d/du ln u = 1/u", np.log, "log", r"\log",
                   spellings=("ln",), latex_command=True, called="the natural logarithm", domain="positive"),
    ScalarFunction("sin", sp.sin, lambda u: sp.cos(u), "d/du sin u = cos u", np.sin, "sin", r"\sin",
                   latex_command=True),
    ScalarFunction("cos", sp.cos, lambda u: -sp.sin(u), "d/du cos u = −sin u", np.cos, "cos", r"\cos",
                   latex_command=True),
    ScalarFunction("tan", sp.tan, lambda u: 1 + sp.tan(u) ** 2, "d/du tan u = 1 + tan² u", np.tan, "tan",
                   r"\tan", latex_command=True, domain="unit"),
    ScalarFunction("sinh", sp.sinh, lambda u: sp.cosh(u), "d/du sinh u = cosh u", np.sinh, "sinh", r"\sinh",
                   latex_command=True),
    ScalarFunction("cosh", sp.cosh, lambda u: sp.sinh(u), "d/du cosh u = sinh u", np.cosh, "cosh", r"\cosh",
                   latex_command=True),
    ScalarFunction("tanh", sp.tanh, lambda u: 1 - sp.tanh(u) ** 2, "d/du tanh u = 1 − tanh² u", np.tanh,
                   "tanh", r"\tanh", latex_command=True),
    ScalarFunction("asin", sp.asin, lambda u: 1 / sp.sqrt(1 - u ** 2), "d/du arcsin u = 1/√(1 − u²)",
                   np.arcsin, "asin", r"\arcsin", spellings=("arcsin",), latex_command=True, domain="unit"),
    ScalarFunction("acos", sp.acos, lambda u: -1 / sp.sqrt(1 - u ** 2), "d/du arccos u = −1/√(1 − u²)",
                   np.arccos, "acos", r"\arccos", spellings=("arccos",), latex_command=True, domain="unit"),
    ScalarFunction("atan", sp.atan, lambda u: 1 / (1 + u ** 2), "d/du arctan u = 1/(1 + u²)", np.arctan,
                   "atan", r"\arctan", spellings=("arctan",), latex_command=True),
    ScalarFunction("abs", sp.Abs, lambda u: sp.sign(u), "d/du |u| = sign(u)", _abs, "abs", r"\operatorname{abs}",
                   stable=np.abs, caveat="|u| has no derivative at u = 0; this holds for u ≠ 0"),
    ScalarFunction("sign", sp.sign, lambda u: sp.S.Zero, "d/du sign(u) = 0", _sign, "sign",
                   r"\operatorname{sign}", stable=np.sign, latex_command=True,
                   caveat="sign(u) jumps at u = 0; this holds for u ≠ 0"),
    ScalarFunction("sigmoid", sigmoid, lambda u: sigmoid(u) * (1 - sigmoid(u)), "d/du σ(u) = σ(u)(1 − σ(u))",
                   _sigmoid_naive, "σ", r"\sigma", stable=_sigmoid_stable, spellings=("expit",),
                   stable_log=_log_sigmoid_stable,
                   called="the logistic function σ"),
    ScalarFunction("softplus", softplus, lambda u: sigmoid(u), "d/du softplus(u) = σ(u)", _softplus_naive,
                   "softplus", r"\operatorname{softplus}", stable=_softplus_stable),
    ScalarFunction("relu", relu, lambda u: step(u), "d/du relu(u) = step(u) (1 for u > 0, 0 for u < 0)",
                   _relu, "relu", r"\operatorname{relu}", stable=_relu_real,
                   caveat="relu has no derivative at u = 0; this holds for u ≠ 0"),
    ScalarFunction("step", step, lambda u: sp.S.Zero, "d/du step(u) = 0", _step, "step", r"\operatorname{step}",
                   caveat="step(u) jumps at u = 0; this holds for u ≠ 0"),
    ScalarFunction("Phi", Phi, lambda u: phi(u), "d/du Φ(u) = φ(u)", _Phi, "Φ", r"\Phi", stable=_normal_cdf,
                   stable_log=_log_normal_cdf, stable_log_derivative=_normal_pdf_over_cdf,
                   called="the standard normal distribution function Φ"),
    ScalarFunction("phi", phi, lambda u: -u * phi(u), "d/du φ(u) = −u·φ(u)", _normal_pdf, "φ", r"\phi",
                   stable_log=_log_normal_pdf,
                   called="the standard normal density φ"),
    # Gamma and Beta likelihoods: log Γ and its derivatives (scipy.special in fitted code)
    ScalarFunction("loggamma", sp.loggamma, lambda u: digamma(u), "d/du log Γ(u) = ψ(u), the digamma function",
                   _log_gamma, "log Γ", r"\log\Gamma", stable=_log_gamma_real, spellings=("lgamma", "gammaln"),
                   called="the log-gamma function log Γ", domain="positive"),
    ScalarFunction("digamma", digamma, lambda u: trigamma(u), "d/du ψ(u) = ψ′(u), the trigamma function",
                   _digamma, "ψ", r"\psi", stable=_digamma_real, called="the digamma function ψ", domain="positive"),
    ScalarFunction("trigamma", trigamma, lambda u: sp.polygamma(2, u), "d/du ψ′(u) = ψ″(u)", _trigamma, "ψ′",
                   r"\psi'", stable=_trigamma_real, called="the trigamma function ψ′", domain="positive"),
)

BY_NAME: dict[str, ScalarFunction] = {record.name: record for record in REGISTRY}
BY_CLASS: dict[type, ScalarFunction] = {record.sympy: record for record in REGISTRY}
BY_WORD: dict[str, ScalarFunction] = {word: record for record in REGISTRY for word in record.words}


def record_of(expr) -> Optional[ScalarFunction]:
    """The record of a scalar function application f(u) (or of Elementwise f(U)), else None."""
    if isinstance(expr, Elementwise):
        return expr.record
    return BY_CLASS.get(type(expr)) if isinstance(expr, sp.Function) and len(expr.args) == 1 else None


# ---------------------------------------------------------------------------------------------------
# Elementwise application
# ---------------------------------------------------------------------------------------------------
class _Applied(MatrixExpr):
    """A registry's function applied to a matrix, by name: the arguments are (Str(name), the matrix), and
    `records` is the registry it is looked up in."""

    is_commutative = False
    records: dict = {}
    on_a_scalar = ""       # why a scalar argument is refused

    def __new__(cls, name, arg):
        if isinstance(name, Str):
            name = name.name
        if name not in cls.records:
            raise ValueError(f"no {cls.__name__} function named {name!r}")
        arg = sp.sympify(arg)
        if not arg.is_Matrix:
            raise TypeError(f"{name} {cls.on_a_scalar}")
        return super().__new__(cls, Str(name), arg)

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def record(self):
        return self.records[self.name]

    @property
    def arg(self):
        return self.args[1]

    def _latex(self, printer):
        return r"%s\left(%s\right)" % (self.record.latex, printer._print(self.arg))

    def _sympystr(self, printer):
        return "%s(%s)" % (self.name, printer._print(self.arg))


class Elementwise(_Applied):
    """f(A): the scalar function named `name` applied to every entry of the matrix A."""

    records = BY_NAME
    on_a_scalar = "applies entrywise to a matrix; use the scalar function on a scalar"

    @property
    def function(self):
        return self.record.sympy

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        return self.function(self.arg._entry(i, j, **kwargs))

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(self.function)
        return Elementwise(self.name, arg)

    def _eval_evalf(self, prec):
        arg = self.arg.evalf(prec)
        return arg.applyfunc(self.function).evalf(prec) if isinstance(arg, sp.MatrixBase) else \
            Elementwise(self.name, arg)

    def _eval_transpose(self):
        return Elementwise(self.name, sp.Transpose(self.arg))

    def _eval_derivative(self, s):
        """d f(U)/ds = f′(U) ⊙ dU/ds for a scalar s (the chain rule entry by entry); 0 where U does not hold s."""
        if not self.arg.has(s):
            return sp.ZeroMatrix(*self.shape)
        outer = elementwise_derivative(self.name, self.arg)
        factors = outer.args if isinstance(outer, HadamardProduct) else (outer,)   # one flat product, f′(U) first
        return HadamardProduct(*factors, self.arg.diff(s))

    def _numpycode(self, printer):
        """numpy's functions act entrywise on arrays: f(A) is the scalar function's code with A inside."""
        z = sp.Dummy("z")
        scalar = printer._print(self.function(z))
        return scalar.replace(printer._print(z), "(%s)" % printer._print(self.arg))

    def _pythoncode(self, printer):
        # NOTE: plain Python (sympy.pycode) writes math.exp and `*`, which on arrays would fail or multiply
        # entrywise where the formula means a matrix product: refuse rather than print code that misleads
        raise NotSupported(f"plain Python code has no matrices for {self.name}(…) entrywise: print it with "
                           "sympy.printing.numpy.NumPyPrinter, or use sympy.lambdify(…, modules='numpy') "
                           "or derive.lambdify")


def apply(function, arg):
    """f(arg): the scalar function on a scalar, entrywise on a matrix."""
    if getattr(arg, "is_Matrix", False):
        return Elementwise(BY_CLASS[function].name, arg)
    return function(arg)


def lift(formula: sp.Expr, z: sp.Symbol, U: MatrixExpr) -> MatrixExpr:
    """The scalar formula f(z) applied entrywise to U, written with ⊙, so σ(z)(1 − σ(z)) ↦ σ(U) ⊙ (1 − σ(U))."""
    ones = sp.OneMatrix(*U.shape)

    def go(e):
        if e == z:
            return U
        if not e.has(z):
            return e * ones
        if isinstance(e, sp.Add):
            return sp.MatAdd(*[go(a) for a in e.args])
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_independent(z, as_Add=False)
            # σ(U) ⊙ (1 − σ(U)), not the other way round: plain applications first, as textbooks write them
            factors = sorted((go(a) for a in sp.Mul.make_args(rest)), key=lambda f: isinstance(f, sp.MatAdd))
            product = factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors)
            return product if coeff == 1 else coeff * product
        if isinstance(e, sp.Pow) and not e.exp.has(z):
            return sp.HadamardPower(go(e.base), e.exp)
        if record_of(e) is not None:
            return Elementwise(record_of(e).name, go(e.args[0]))
        raise ValueError(f"cannot apply {e} entrywise")

    return go(formula)


def elementwise_derivative(name: str, U: MatrixExpr) -> MatrixExpr:
    """f'(U) entrywise, from the scalar derivative: the ⊙-factor in d f(U) = f'(U) ⊙ dU."""
    z = sp.Dummy("z")
    derivative = BY_NAME[name].derivative(z)
    try:
        return lift(derivative, z, U)
    except ValueError:  # ψ′'s derivative ψ″ = polygamma(2, z) is no record: there is no entrywise ψ″ to write
        raise NotSupported(f"cannot differentiate {name} entrywise: its derivative {derivative.subs(z, sp.Symbol('u'))} "
                           "is not a function derive applies entrywise") from None


def with_registry_functions(expr):
    """`expr` with SymPy's polygamma(0, u) and polygamma(1, u) (what SymPy's diff of log Γ gives) written as
    the registry's ψ(u) and ψ′(u), which every walker (printers, fitted code) knows."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.polygamma):
        return expr
    by_order = {0: digamma, 1: trigamma}
    return expr.replace(lambda e: isinstance(e, sp.polygamma) and e.args[0] in by_order,
                        lambda e: by_order[int(e.args[0])](e.args[1]))


# Φ(−u) = 1 − Φ(u): 1 − Φ(u) is computed as Φ(−u), which keeps its digits where Φ(u) rounds to 1 (1 − Φ(9) is
# 0 in floating point, Φ(−9) is 1.1e-19). (σ has the same symmetry, but its derived forms are softplus and
# σ(1 − σ), where the cancellation is harmless, and σ(−u) would cost a second pass over Xβ.)
SYMMETRIC = (Phi,)


def with_stable_complements(expr):
    """`expr` with every 1 − Φ(u) (and 𝟏 − Φ(U) entrywise) written as Φ(−u): the same value, computed without
    the cancellation that makes a probit's 1/(1 − Φ(xᵢᵀβ)) infinite for xᵢᵀβ > 8.3."""
    if not isinstance(expr, sp.Basic) or not expr.has(*SYMMETRIC, Elementwise):
        return expr

    def complement(e):
        ones = [t for t in e.args if isinstance(t, sp.OneMatrix) or t == 1]
        rest = [t for t in e.args if t not in ones]
        if len(ones) != 1 or len(rest) != 1:
            return None
        coefficient, applied = rest[0].as_coeff_Mul() if not rest[0].is_Matrix else \
            (rest[0].as_coeff_mmul()[0], sp.MatMul(*rest[0].as_coeff_mmul()[1].args))
        applied = applied.args[0] if isinstance(applied, sp.MatMul) and len(applied.args) == 1 else applied
        if coefficient != -1:
            return None
        if isinstance(applied, Elementwise) and applied.function in SYMMETRIC:
            return Elementwise(applied.name, -applied.arg)
        if isinstance(applied, SYMMETRIC):
            return type(applied)(-applied.args[0])
        return None

    return expr.replace(lambda e: isinstance(e, (sp.Add, sp.MatAdd)) and complement(e) is not None, complement)


# ---------------------------------------------------------------------------------------------------
# Vector functions: of a whole vector, or of each row of a matrix
# ---------------------------------------------------------------------------------------------------
def _max_shift(Z, axis):
    """The largest real part along `axis`: subtracted before exp so that nothing overflows. A real constant,
    so the shifted forms stay analytic in Z (exact under a complex step) and equal the textbook ones."""
    return np.max(np.real(Z), axis=axis, keepdims=True)


def _softmax(Z, axis):
    e = np.exp(Z - _max_shift(Z, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(Z, axis):
    shift = _max_shift(Z, axis)
    return shift + np.log(np.sum(np.exp(Z - shift), axis=axis, keepdims=True))


def _softmax_explicit(entries):
    exps = [sp.exp(e) for e in entries]
    return [e / sp.Add(*exps) for e in exps]


def _logsumexp_explicit(entries):
    return [sp.log(sp.Add(*[sp.exp(e) for e in entries]))]


def _softmax_differential(U, dU):
    """d softmax(z) = (diag(p) − ppᵀ)dz with p = softmax(z); row by row, dP = P ⊙ dU − diag((P ⊙ dU)𝟏)P."""
    P = VectorApplication("softmax", U)
    if U.cols == 1:
        return sp.MatMul(DiagMatrix(P), dU) - sp.MatMul(P, P.T, dU)
    weighted = HadamardProduct(P, dU)
    return weighted - sp.MatMul(DiagMatrix(sp.MatMul(weighted, sp.OneMatrix(U.cols, 1))), P)


def _logsumexp_differential(U, dU):
    """d logsumexp(z) = softmax(z)ᵀdz; row by row, (softmax(U) ⊙ dU)𝟏."""
    P = VectorApplication("softmax", U)
    if U.cols == 1:
        return sp.MatMul(P.T, dU)
    return sp.MatMul(HadamardProduct(P, dU), sp.OneMatrix(U.cols, 1))


@dataclass(frozen=True)
class VectorFunction:
    """A function of a whole vector, declared once. Of a column vector z it acts on z's entries together; of
    an n×K matrix, on each row (a row per example, as softmax(XW) in multinomial regression)."""

    name: str                       # its plain spelling, which the parser reads
    numpy: Callable                 # (values, axis) ↦ value, max-shifted: stable and exact under a complex step
    explicit: Callable              # the entries of one vector (SymPy) ↦ the entries of the value
    differential: Callable          # (U, dU) ↦ d f(U)
    rule: str                       # the differential in words
    scalar: bool                    # one number per vector (logsumexp) rather than a vector (softmax)
    called: str                     # how a sentence names it

    @property
    def text(self) -> str:
        return self.name

    @property
    def latex(self) -> str:
        return r"\operatorname{%s}" % self.name

    def shape(self, arg) -> tuple:
        rows, cols = arg.shape
        if not self.scalar:
            return rows, cols
        return (1, 1) if cols == 1 else (rows, 1)


VECTOR_REGISTRY: tuple[VectorFunction, ...] = (
    VectorFunction("softmax", _softmax, _softmax_explicit, _softmax_differential,
                   "d softmax(z) = (diag(p) − ppᵀ)dz with p = softmax(z) = exp(z)/𝟏ᵀexp(z)", scalar=False,
                   called="the softmax"),
    VectorFunction("logsumexp", _logsumexp, _logsumexp_explicit, _logsumexp_differential,
                   "d logsumexp(z) = softmax(z)ᵀdz, with logsumexp(z) = log 𝟏ᵀexp(z)", scalar=True,
                   called="the log-sum-exp"),
)
VECTOR_BY_NAME: dict[str, VectorFunction] = {record.name: record for record in VECTOR_REGISTRY}


class VectorApplication(_Applied):
    """f(z) for the vector function named `name`: of the column vector z, or of each row of the matrix Z."""

    records = VECTOR_BY_NAME
    on_a_scalar = "applies to a vector or a matrix, not to a scalar"
    prints_as_symbol = True   # a call: softmax(z)ᵀ, not (softmax(z))ᵀ

    @property
    def rowwise(self) -> bool:
        """Whether it acts on each row (a matrix argument) rather than on the whole column vector."""
        return self.arg.cols != 1

    @property
    def axis(self) -> int:
        return 1 if self.rowwise else 0

    @property
    def shape(self):
        return self.record.shape(self.arg)

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if not isinstance(arg, sp.MatrixBase):
            return VectorApplication(self.name, arg)
        if not self.rowwise:
            return sp.ImmutableMatrix(self.record.explicit(list(arg)))
        return sp.ImmutableMatrix([self.record.explicit(list(arg.row(i))) for i in range(arg.rows)])

    def _eval_evalf(self, prec):
        value = self.doit()
        return value.evalf(prec) if isinstance(value, sp.MatrixBase) else value
