"""Formulas in textbook notation: LaTeX for documents, Unicode for the terminal.

Both printers override only what differs from SymPy's: transposes as ᵀ / ^{\\top}, the ones vector 𝟏,
diag(·), ⊙, X⁻ᵀ, σ(·), and sums ordered with their positive terms first (y − Xβ, not −Xβ + y).
The plain, re-parseable syntax (the JSON "text" field) is `derive.expr.plain`.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from derive.expr.functions import record_of

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Sigma": "Σ", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


_SUBSCRIPT_LETTERS = dict(zip("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


def _subscript(text: str) -> str:
    """ₘ, ₙ₁; a size with other characters after an underscore: _(d)."""
    return "".join(_SUBSCRIPT_LETTERS[c] for c in text) if all(c in _SUBSCRIPT_LETTERS for c in text) \
        else "_(%s)" % text


def _superscript(text: str) -> str:
    """⁻¹, ³; a power with other characters in brackets: ^(1/2)."""
    return text.translate(SUPERSCRIPTS) if all(c in "0123456789-−" for c in text) else "^(%s)" % text
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# x̄, μ̂, β̃: the names the parser gives \bar x, \hat\mu, \tilde\beta, shown with the accent again
_DECORATED = re.compile(r"([A-Za-z]+)(bar|hat|tilde)")
_COMBINING = {"bar": "\u0304", "hat": "\u0302", "tilde": "\u0303"}


def norm_of(expr):
    """v when expr is the 1×1 matrix vᵀv (a squared norm, as ‖v‖² parses), else None: (xᵀ − aᵀ)(x − a) is
    ‖x − a‖²."""
    if isinstance(expr, sp.MatMul) and expr.shape == (1, 1):
        coefficient, factors = expr.as_coeff_matrices()
        if coefficient == 1 and len(factors) >= 2:
            for k in range(1, len(factors)):
                left, right = factors[:k], factors[k:]
                column = right[0] if len(right) == 1 else sp.MatMul(*right)
                row = left[0] if len(left) == 1 else sp.MatMul(*left)
                if column.shape[1] == 1 and sp.Transpose(column).doit() == row.doit():
                    return column
    return None


def _is_number_of_1x1(expr) -> bool:
    """tr(s) of a 1×1 s: it prints as s in brackets already, (xᵀAx), so it is not bracketed twice."""
    return isinstance(expr, sp.Trace) and _is_1x1(expr.arg)


def _one_group(text: str, opening: str, closing: str) -> bool:
    """Whether text is one bracketed group: (a)(b) is two, (a + b) one."""
    if not (text.startswith(opening) and text.endswith(closing)):
        return False
    depth = 0
    for k in range(len(text)):
        if text.startswith(opening, k):
            depth += 1
        elif text.startswith(closing, k):
            depth -= 1
            if depth == 0 and k + len(closing) < len(text):
                return False
    return True


def entrywise_quotient(expr):
    """(numerator factors, denominator factors) of a ⊙ product with entrywise negative powers, a ⊙ b^∘−1 ⊙ c^∘−2
    as (a) ⊘ (b ⊙ c^∘2): 1/u is written as a division, as a textbook does; None when no factor divides."""
    factors = expr.args if isinstance(expr, HadamardProduct) else (expr,)
    below = [f for f in factors if isinstance(f, HadamardPower) and f.exp.is_negative and norm_of(f.base) is None]
    if not below:
        return None
    above = [f for f in factors if f not in below]
    divisors = []
    for f in below:   # a ./ (b .* c) is a ⊘ (b ⊙ c): the divisor's own factors, not one bracketed factor
        divisors += list(f.base.args) if f.exp == -1 and isinstance(f.base, HadamardProduct) else \
            [f.base if f.exp == -1 else HadamardPower(f.base, -f.exp)]
    return above, divisors



def _is_quotient(factor) -> bool:
    """Whether a factor of ⊙ prints as a ⊘ b (and so takes brackets: (a ⊘ b) ⊙ c)."""
    return isinstance(factor, (HadamardProduct, HadamardPower)) and not _is_1x1(factor) \
        and entrywise_quotient(factor) is not None


def _is_call(expr) -> bool:
    """f(u) for a function of derive's registry applied to a matrix, or a norm: printed without brackets."""
    return type(expr).__name__ in ("Elementwise", "VectorApplication") or \
        isinstance(expr, HadamardPower) and norm_of(expr.base) is not None


def _is_sum_or_negative(m) -> bool:
    """Whether a factor of ⊗ needs brackets: a sum or a negated product (a product binds tighter than ⊗)."""
    return isinstance(m, sp.MatAdd) or isinstance(m, sp.MatMul) and m.could_extract_minus_sign()


def scalar_divisor(coefficient):
    """(numerator, denominator) of a matrix product's coefficient when it divides by a number a matrix holds
    (Aᵀr/‖r‖, A/(xᵀAx)), else None: a quotient of scalars stays a coefficient, (σ²/τ²)I."""
    numerator, denominator = coefficient.as_numer_denom()
    return (numerator, denominator) if denominator.has(sp.Trace) else None


def decimal(r) -> "str | None":
    """851/500 as "1.702": a rational whose denominator is a multiple of 10 (so the user wrote a decimal);
    None for the fractions people write as fractions (1/2, 1/3, 3/4, 1/10)."""
    if not isinstance(r, sp.Rational) or r.is_Integer or r.q % 10 or abs(r.p) == 1:
        return None  # 1/10 stays x/10
    q, twos, fives = r.q, 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q != 1:
        return None
    digits = max(twos, fives)
    return f"{float(r):.{digits}f}"


def negate(term):
    """−term without SymPy's evaluation (which would push transposes into sums)."""
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        return sp.MatMul(*matrices) if coefficient == -1 else sp.MatMul(-coefficient, *matrices)
    return -term


def positive_first(terms):
    """Order a sum's terms as people write them: those without a leading minus sign first."""
    return sorted(terms, key=lambda t: t.could_extract_minus_sign())


def _is_1x1(expr) -> bool:
    return expr.shape == (1, 1)


def _without_unit_ones(coefficient, matrices):
    """c·𝟏 with 𝟏 the 1×1 ones matrix is the number c (a scalar loss −tr(·) as a 1×1 matrix): drop the factor
    where a coefficient remains to print."""
    kept = [m for m in matrices if not (isinstance(m, sp.OneMatrix) and _is_1x1(m))]
    return (coefficient, kept) if kept or coefficient not in (1, -1) else (coefficient, matrices)


def _is_atom(expr) -> bool:
    # `prints_as_symbol`: an abbreviation shown by its name (S, P in derive.derivations.abbreviations.Named)
    return isinstance(expr, (sp.MatrixSymbol, sp.Symbol, sp.Indexed, sp.OneMatrix, sp.Identity)) \
        or getattr(expr, "prints_as_symbol", False)


class TextbookLatexPrinter(LatexPrinter):
    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, sp.Inverse):
            return r"%s^{-\top}" % self._wrap(arg.arg)
        if isinstance(arg, sp.OneMatrix):
            return r"\mathbf{1}^{\top}"
        return r"%s^{\top}" % self._wrap(arg)

    def _print_Inverse(self, expr):
        if isinstance(expr.arg, sp.Transpose):
            return r"%s^{-\top}" % self._wrap(expr.arg.arg)
        return r"%s^{-1}" % self._wrap(expr.arg)

    def _wrap(self, arg):
        text = self._print(arg)
        if _is_atom(arg) or _is_number_of_1x1(arg) and _one_group(text, r"\left(", r"\right)"):
            return text
        return r"\left(%s\right)" % text

    def _print_OneMatrix(self, expr):
        if _is_1x1(expr):
            return "1"
        return r"\mathbf{1}^{\top}" if expr.rows == 1 and expr.cols != 1 else r"\mathbf{1}"

    def _print_Identity(self, expr):
        return "1" if _is_1x1(expr) else "I"

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}"

    def _print_DiagMatrix(self, expr):
        return r"\operatorname{diag}\left(%s\right)" % self._print(expr.args[0])

    def _print_KroneckerProduct(self, expr):
        r"""I_{m} \otimes (A + A^{\top}): an identity with its size, which the Kronecker product does not show."""
        return r" \otimes ".join(r"I_{%s}" % self._print(a.rows) if isinstance(a, sp.Identity) else
                                  r"\left(%s\right)" % self._print(a) if _is_sum_or_negative(a)
                                  else self._print(a) for a in expr.args)

    def _print_HadamardProduct(self, expr):
        if _is_1x1(expr):  # for 1×1 factors ⊙ is the ordinary product
            return " ".join(r"\left(%s\right)" % self._print(a) if isinstance(a, sp.MatAdd) else self._print(a)
                            for a in expr.args)
        quotient = entrywise_quotient(expr)
        if quotient is not None:
            return self._hadamard_quotient(*quotient)
        return r" \odot ".join(self._wrap_hadamard(a) for a in expr.args)

    def _hadamard_quotient(self, above, below):
        numerator = r" \odot ".join(self._wrap_hadamard(a) for a in above) if above else r"\mathbf{1}"
        denominator = r" \odot ".join(self._wrap_hadamard(a) for a in below)
        if len(below) > 1:
            denominator = r"\left(%s\right)" % denominator
        return r"%s \oslash %s" % (numerator, denominator)

    def _wrap_hadamard(self, arg):
        text = self._print(arg)
        return r"\left(%s\right)" % text if isinstance(arg, (sp.MatAdd, sp.MatMul)) and len(arg.args) > 1 \
            and (isinstance(arg, sp.MatAdd) or arg.could_extract_minus_sign()) or _is_quotient(arg) else text

    def _print_HadamardPower(self, expr):
        v = norm_of(expr.base)
        if v is not None:  # (vᵀv)^{∘k} is ‖v‖^{2k}
            power = 2 * expr.exp
            return r"\left\|%s\right\|" % self._print(v) + ("" if power == 1 else "^{%s}" % self._print(power))
        if entrywise_quotient(expr) is not None and not _is_1x1(expr):
            return self._hadamard_quotient(*entrywise_quotient(expr))
        return r"%s^{\circ %s}" % (self._wrap(expr.base), self._print(expr.exp))

    def _print_Trace(self, expr):
        if _is_1x1(expr.arg):  # the trace of a 1×1 matrix is the number it holds: xᵀx, not tr(xᵀx)
            v = norm_of(expr.arg)
            if v is not None:
                return r"\left\|%s\right\|^{2}" % self._print(v)
            return self._print(expr.arg) if _is_call(expr.arg) else self._wrap(expr.arg)
        return r"\operatorname{tr}\left(%s\right)" % self._print(expr.arg)

    def _print_Determinant(self, expr):
        return r"\det\left(%s\right)" % self._print(expr.arg)

    def _print_Function(self, expr, exp=None):
        record = record_of(expr)
        # σ(z), Φ(z), arcsin(z): the registry's head where SymPy's would differ (\operatorname{sigmoid})
        if record is not None and record.latex != "\\" + type(expr).__name__ and not isinstance(expr, sp.Abs):
            text = r"%s\left(%s\right)" % (record_of(expr).latex, self._print(expr.args[0]))
            return text if exp is None else r"%s^{%s}" % (text, exp)  # σ(z)^{y}, as SymPy's Pow printer asks
        return super()._print_Function(expr, exp)

    def _print_log(self, expr, exp=None):
        if isinstance(expr.args[0], sp.Determinant):
            return r"\log\det\left(%s\right)" % self._print(expr.args[0].arg)
        return super()._print_log(expr, exp)

    def _print_MatAdd(self, expr):
        terms = positive_first(expr.args)
        out = self._print(terms[0])
        for t in terms[1:]:
            if t.could_extract_minus_sign():
                out += " - " + self._print(negate(t))
            else:
                out += " + " + self._print(t)
        return out

    def _print_Add(self, expr, order=None):
        if any(a.is_Matrix for a in expr.args):
            return self._print_MatAdd(expr)
        return super()._print_Add(expr, order)

    def _as_ordered_terms(self, expr, order=None):
        # the terms in the order the text printer writes them: log(1 + e^{z}) and x_i − μ in both
        if isinstance(expr, sp.Add):
            return positive_first(expr.args)
        return super()._as_ordered_terms(expr, order)

    def _print_Mul(self, expr):
        coefficient, rest = expr.as_coeff_Mul()
        if decimal(abs(coefficient)) and not rest.is_Number:  # 1.702 x as written, not \frac{851 x}{500}
            return ("- " if coefficient < 0 else "") + decimal(abs(coefficient)) + " " + self._print(rest)
        return super()._print_Mul(expr)

    def _print_Rational(self, expr):
        return decimal(expr) or super()._print_Rational(expr)

    def _print_Pow(self, expr):
        v = norm_of(expr.base.arg) if isinstance(expr.base, sp.Trace) else None
        if v is not None:  # (vᵀv)^k, a number: ‖v‖^{2k}
            power = 2 * expr.exp
            return r"\left\|%s\right\|" % self._print(v) + ("" if power == 1 else "^{%s}" % self._print(power))
        return super()._print_Pow(expr)

    def _print_MatMul(self, expr):
        coefficient, matrices = _without_unit_ones(*expr.as_coeff_matrices())
        divided = scalar_divisor(coefficient)
        if divided is not None:  # \frac{A^{\top} r}{\|r\|}
            return r"\frac{%s}{%s}" % (self._print(sp.MatMul(divided[0], *matrices)), self._print(divided[1]))
        parts = []
        for m in matrices:
            text = self._print(m)
            parts.append(r"\left(%s\right)" % text if isinstance(m, (sp.MatAdd, sp.MatMul, HadamardProduct, sp.KroneckerProduct)) else text)
        body = " ".join(parts)
        if coefficient == 1:
            return body
        if coefficient == -1:
            return "- " + body
        c = self._print(coefficient)
        if isinstance(coefficient, sp.Add):
            c = r"\left(%s\right)" % c
        return c + " " + body


class TextbookTextPrinter(StrPrinter):
    """One-line Unicode, as a person writes it in a terminal: 2XᵀXβ − 2Xᵀy, σ(Xβ) ⊙ (𝟏 − σ(Xβ))."""

    printmethod = "_unicode"  # not _sympystr: the classes' own str() forms are the plain ones

    def _print_Notation(self, expr):
        return expr.text

    def _print_Differential(self, expr):
        inner = self._print(expr.arg)
        return "d" + inner if expr.is_leaf else "d(%s)" % inner

    _print_ScalarDifferential = _print_Differential

    def _print_Symbol(self, expr):
        return self._name(expr.name)

    _print_MatrixSymbol = _print_Symbol
    _print_Dummy = _print_Symbol

    def _name(self, name):
        name, _, power = name.partition("^")
        base, _, sub = name.partition("_")
        decorated = _DECORATED.fullmatch(base)
        if decorated and (len(decorated.group(1)) == 1 or decorated.group(1) in GREEK):
            base = GREEK.get(decorated.group(1), decorated.group(1)) + _COMBINING[decorated.group(2)]
        text = GREEK.get(base, base) + power.translate(SUPERSCRIPTS)
        if sub:
            text += sub.translate(SUBSCRIPTS) if sub.isdigit() else "_" + sub
        return text

    def _print_IndexedBase(self, expr):
        return self._name(str(expr.label))

    def _print_Indexed(self, expr):
        return "%s_%s" % (self._print(expr.base), "".join(self._print(i) for i in expr.indices))

    def _wrap(self, arg):
        text = self._print(arg)
        return text if _is_atom(arg) or _is_number_of_1x1(arg) and _one_group(text, "(", ")") else "(%s)" % text

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, sp.Inverse):
            return "%s⁻ᵀ" % self._wrap(expr.arg.arg)
        if isinstance(expr.arg, sp.OneMatrix):
            return "𝟏ᵀ"
        return "%sᵀ" % self._wrap(expr.arg)

    def _print_Inverse(self, expr):
        if isinstance(expr.arg, sp.Transpose):
            return "%s⁻ᵀ" % self._wrap(expr.arg.arg)
        return "%s⁻¹" % self._wrap(expr.arg)

    def _print_OneMatrix(self, expr):
        if _is_1x1(expr):
            return "1"
        return "𝟏ᵀ" if expr.rows == 1 and expr.cols != 1 else "𝟏"

    def _print_Identity(self, expr):
        return "1" if _is_1x1(expr) else "I"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_DiagMatrix(self, expr):
        return "diag(%s)" % self._print(expr.args[0])

    def _print_KroneckerProduct(self, expr):
        """Iₘ ⊗ (A + Aᵀ): an identity with its size, which the Kronecker product does not show."""
        return " ⊗ ".join("I" + _subscript(self._print(a.rows)) if isinstance(a, sp.Identity) else
                          "(%s)" % self._print(a) if _is_sum_or_negative(a) else self._print(a)
                          for a in expr.args)

    def _print_HadamardProduct(self, expr):
        if _is_1x1(expr):  # for 1×1 factors ⊙ is the ordinary product
            return "".join("(%s)" % self._print(a) if isinstance(a, sp.MatAdd) else self._print(a)
                           for a in expr.args)
        quotient = entrywise_quotient(expr)
        if quotient is not None:
            return self._hadamard_quotient(*quotient)
        return " ⊙ ".join(self._wrap_hadamard(a) for a in expr.args)

    def _wrap_hadamard(self, arg):
        return "(%s)" % self._print(arg) if isinstance(arg, sp.MatAdd) or _is_quotient(arg) or \
            isinstance(arg, sp.MatMul) and arg.could_extract_minus_sign() else self._print(arg)

    def _hadamard_quotient(self, above, below):
        numerator = " ⊙ ".join(self._wrap_hadamard(a) for a in above) if above else "𝟏"
        denominator = " ⊙ ".join(self._wrap_hadamard(a) for a in below)
        return "%s ⊘ %s" % (numerator, denominator if len(below) == 1 else "(%s)" % denominator)

    def _print_HadamardPower(self, expr):
        v = norm_of(expr.base)
        if v is not None:  # (vᵀv)^{∘k} is ‖v‖^{2k}
            power = 2 * expr.exp
            return "‖%s‖" % self._print(v) + ("" if power == 1 else _superscript(self._print(power)))
        if entrywise_quotient(expr) is not None and not _is_1x1(expr):
            return self._hadamard_quotient(*entrywise_quotient(expr))
        return "%s^∘%s" % (self._wrap(expr.base), self._print(expr.exp))

    def _print_Trace(self, expr):
        if _is_1x1(expr.arg):  # the trace of a 1×1 matrix is the number it holds: xᵀx, not tr(xᵀx)
            v = norm_of(expr.arg)
            if v is not None:
                return "‖%s‖²" % self._print(v)
            return self._print(expr.arg) if _is_call(expr.arg) else self._wrap(expr.arg)
        return "tr(%s)" % self._print(expr.arg)

    def _print_Determinant(self, expr):
        return "det(%s)" % self._print(expr.arg)

    def _print_Function(self, expr):
        record = record_of(expr)
        name = record.text if record is not None else type(expr).__name__
        if name == "log" and isinstance(expr.args[0], sp.Determinant):
            return "log det(%s)" % self._print(expr.args[0].arg)
        return "%s(%s)" % (name, ", ".join(self._print(a) for a in expr.args))

    _print_log = _print_Function
    _print_exp = _print_Function

    def _print_Abs(self, expr):
        return "|%s|" % self._print(expr.args[0])

    def _print_Elementwise(self, expr):
        return "%s(%s)" % (expr.record.text, self._print(expr.arg))

    _print_VectorApplication = _print_Elementwise

    def _print_Pi(self, expr):
        return "π"

    def _print_MatrixBase(self, expr):
        """[a, b; c, d]: rows separated by semicolons, as derive's input grammar writes matrices."""
        return "[%s]" % "; ".join(", ".join(self._print(e) for e in expr.row(i)) for i in range(expr.rows))

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_MatPow(self, expr):
        exp = expr.exp
        power = str(exp).translate(SUPERSCRIPTS) if exp.is_Integer else "^(%s)" % self._print(exp)
        return "%s%s" % (self._wrap(expr.base), power)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.base, expr.exp
        v = norm_of(base.arg) if isinstance(base, sp.Trace) else None
        if v is not None:  # (vᵀv)^k, a number: ‖v‖^{2k}
            return "‖%s‖" % self._print(v) + ("" if 2 * exp == 1 else _superscript(self._print(2 * exp)))
        if isinstance(base, sp.Symbol) and "^" in base.name and exp != sp.S.Half:
            return self._print_Pow_wrapped(self._print(base), exp)  # (σ²)², not σ²²
        if exp == -1:
            return "1/%s" % self._wrap(base)
        if exp == sp.S.Half:
            return "√%s" % self._wrap(base)
        if exp.is_Integer:
            return "%s%s" % (self._wrap(base), str(exp).translate(SUPERSCRIPTS))
        return "%s^(%s)" % (self._wrap(base), self._print(exp))

    def _print_Pow_wrapped(self, base_text, exp):
        if exp == -1:
            return "1/(%s)" % base_text
        if exp.is_Integer:
            return "(%s)%s" % (base_text, str(exp).translate(SUPERSCRIPTS))
        return "(%s)^(%s)" % (base_text, self._print(exp))

    def _print_Add(self, expr, order=None):
        terms = positive_first(expr.args)
        out = self._print(terms[0])
        for t in terms[1:]:
            text = self._print(negate(t)) if t.could_extract_minus_sign() else self._print(t)
            if t.could_extract_minus_sign():
                out += " − " + text
            elif text.startswith("−"):  # a term whose sign sits inside its coefficient: never "+ −"
                out += " − " + text[1:]
            else:
                out += " + " + text
        return out

    def _print_Rational(self, expr):
        return decimal(expr) or super()._print_Rational(expr)

    _print_MatAdd = _print_Add

    def _print_Mul(self, expr):
        if expr.could_extract_minus_sign():
            return "−" + self._print(-expr)
        coefficient, rest = expr.as_coeff_Mul()
        if decimal(coefficient):  # 1.702x as written, not 851x/500
            return decimal(coefficient) + ("·" if rest.is_Number else "") + self._print(rest)
        numer, denom = expr.as_numer_denom()
        if denom != 1:
            return "%s/%s" % (self._wrap(numer) if isinstance(numer, sp.Add) else self._print(numer),
                              self._print(denom) if denom.is_Integer or isinstance(denom, (sp.Pow, sp.Function))
                              else self._wrap(denom))  # n/2 and 1/(1 + x²)², not n/(2) or 1/((1 + x²)²)
        # d/dx[u] last, as Leibniz wrote it: cos(x²)·d/dx[x²]
        factors = sorted(sp.Mul.make_args(expr), key=lambda f: isinstance(f, sp.Derivative))
        return "·".join(self._wrap(f) if isinstance(f, sp.Add) else self._print(f) for f in factors) \
            if not all(len(self._print(f)) == 1 or f.is_Number for f in factors) else \
            "".join(self._wrap(f) if isinstance(f, sp.Add) else self._print(f) for f in factors)

    def _print_MatMul(self, expr):
        coefficient, matrices = _without_unit_ones(*expr.as_coeff_matrices())
        sign = ""
        if coefficient.could_extract_minus_sign():
            sign, coefficient = "−", -coefficient
        divided = scalar_divisor(coefficient)
        if divided is not None:  # Aᵀ(Ax − b)/‖Ax − b‖
            denominator = self._print(divided[1])
            if isinstance(divided[1], (sp.Add, sp.Mul)):
                denominator = "(%s)" % denominator
            return sign + self._print(sp.MatMul(divided[0], *matrices)) + "/" + denominator
        number, rest = coefficient.as_coeff_Mul()
        # 4‖x‖²x, not 4·‖x‖²x; a fraction stays whole: (n/2)Σ⁻¹, never 1/2nΣ⁻¹ (which reads as 1/(2n))
        if number.is_Integer and number != 1 and rest != 1 and not isinstance(rest, sp.Add):
            return sign + self._print(number) + self._print(sp.MatMul(rest, *matrices))
        parts = ["(%s)" % self._print(m) if isinstance(m, (sp.MatAdd, sp.MatMul, HadamardProduct, sp.KroneckerProduct))
                 else self._print(m) for m in matrices]
        c = "" if coefficient == 1 else (self._wrap(coefficient) if isinstance(coefficient, sp.Add)
                                         else self._numbers_of_matrices(coefficient) or self._print(coefficient))
        if "/" in c and parts:
            c = "(%s)" % c  # (1/n)Xᵀ𝟏, not 1/nXᵀ𝟏
        body = parts[0] if parts else ""
        for m, part in zip(matrices[1:], parts[1:]):
            # a·cos(aᵀx), not acos(aᵀx): a function's name written after a letter would merge with it
            merges = type(m).__name__ in ("Elementwise", "VectorApplication") and body[-1:].isascii() and body[-1:].isalpha() \
                and part[:1].isascii() and part[:1].isalpha()
            body += ("·" if merges else "") + part
        return sign + c + body

    def _numbers_of_matrices(self, coefficient) -> str:
        """σ(aᵀx)(1 − σ(aᵀx)) for a product of the numbers 1×1 matrices hold, as a textbook orders it (a sum
        after the plain factors, no ·); "" for any other coefficient."""
        factors = sp.Mul.make_args(coefficient)
        if len(factors) < 2 or not coefficient.has(sp.Trace) or \
                not all(isinstance(f, (sp.Add, sp.Trace, sp.Function)) for f in factors):
            return ""
        ordered = sorted(factors, key=lambda f: isinstance(f, sp.Add))
        return "".join(self._wrap(f) if isinstance(f, sp.Add) else self._print(f) for f in ordered)

    def _print_Sum(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = "(%s)" % body
        for index, low, high in reversed(expr.limits):
            body = "Σ_{%s=%s..%s} %s" % (self._print(index), self._print(low), self._print(high), body)
        return body

    def _print_Product(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, (sp.Add, sp.Mul)) or getattr(expr.function, "prints_as_product", False):
            body = "(%s)" % body
        for index, low, high in reversed(expr.limits):
            body = "Π_{%s=%s..%s} %s" % (self._print(index), self._print(low), self._print(high), body)
        return body

    def _print_factorial(self, expr):
        return "%s!" % self._wrap(expr.args[0])

    def _print_gamma(self, expr):   # Γ(a) and B(a, b), as the Gamma and Beta densities write them
        return "Γ(%s)" % self._print(expr.args[0])

    def _print_beta(self, expr):
        return "B(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_KroneckerDelta(self, expr):
        return "δ_%s%s" % tuple(self._print(a) for a in expr.args[:2])

    def _print_Derivative(self, expr):
        """Leibniz notation, d/dx[u], ∂²/∂y∂x[u]; ∂ when u has other variables (held fixed)."""
        from sympy.printing.conventions import requires_partial
        d = "∂" if requires_partial(expr) else "d"
        power = lambda k: str(k).translate(SUPERSCRIPTS) if k != 1 else ""
        order = sum(int(k) for _, k in expr.variable_count)
        head = "%s%s/%s" % (d, power(order), "".join("%s%s%s" % (d, self._print(v), power(k))
                                                      for v, k in reversed(expr.variable_count)))
        return "%s[%s]" % (head, self._print(expr.expr))

    def _print_Equality(self, expr):
        return "%s = %s" % (self._print(expr.lhs), self._print(expr.rhs))


_LATEX = TextbookLatexPrinter({"mat_symbol_style": "plain", "mul_symbol": None})
_TEXT = TextbookTextPrinter()


def latex(expr) -> str:
    return _LATEX.doprint(expr)


def unicode(expr) -> str:
    return _TEXT.doprint(expr)
