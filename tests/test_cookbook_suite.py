"""A suite of derivative problems, written from the Matrix Cookbook §2.1–2.8 and textbook exercises, each
derived by `derive.diff` and checked against central differences of the same function written by hand in
numpy (tests/finite_differences.py: the result evaluated as DESIGN §3 promises, never by derive's own
checker or code generator).

Every problem ends one of four ways: right (it matches the finite differences), refused (`NotSupported`
with its reason: allowed only for the problems listed in REFUSED, each of which must still be refused),
wrong or crash (never allowed).  `python tests/test_cookbook_suite.py` prints the counts.

Sources: "MC (n)" is equation n of Petersen & Pedersen, *The Matrix Cookbook* (November 15, 2012);
"calculus" problems are the standard exercises of a first calculus course (Stewart, ch. 3), "ML" the
losses of machine learning (Bishop, *Pattern Recognition and Machine Learning*, ch. 3–4).
"""
from __future__ import annotations

import math
import re
import zlib
from typing import Optional

import numpy as np
import pytest
import sympy as sp
from finite_differences import Case, agrees, sigmoid, softplus

import derive
from derive.errors import NotSupported
from derive.expr.algebra import split_product
from derive.expr.printing import unicode

N, M, D = ("n",), ("m",), ("d",)
SQ = ("n", "n")
S = ()  # a scalar


def scalar(source, text, f, order=1, scalars=(0.3, 1.5), extra=None):
    """A textbook exercise in x (and constants a, b, c): f(x) by hand with numpy."""
    shapes = {"x": S, **{name: S for name in (extra or ())}}
    return Case(source, text, "x", shapes, lambda v: f(v["x"], v), order=order, scalars=scalars,
                kind="derivative" if order == 1 else "second derivative")


# ---------------------------------------------------------------------------------------------------
# Textbook calculus: d/dx and d²/dx² of functions of one variable
# ---------------------------------------------------------------------------------------------------
_SCALAR = [
    ("x^5 - 3x^2 + 7", lambda x, v: x ** 5 - 3 * x ** 2 + 7),
    ("(3x + 1)^4", lambda x, v: (3 * x + 1) ** 4),
    ("sqrt(x)", lambda x, v: np.sqrt(x)),
    ("x^(1/3)", lambda x, v: x ** (1 / 3)),
    (r"\sqrt[3]{x^2 + 1}", lambda x, v: (x * x + 1) ** (1 / 3)),
    ("1/x^2", lambda x, v: 1 / x ** 2),
    ("x/(x + 1)", lambda x, v: x / (x + 1)),
    ("(x^2 + 1)/(x^2 - 4)", lambda x, v: (x * x + 1) / (x * x - 4)),
    ("x^2*sin(x)", lambda x, v: x * x * np.sin(x)),
    ("sin(x)*cos(x)", lambda x, v: np.sin(x) * np.cos(x)),
    (r"\sin^2 x", lambda x, v: np.sin(x) ** 2),
    (r"\cos^{2}(3x)", lambda x, v: np.cos(3 * x) ** 2),
    ("tan(2x)", lambda x, v: np.tan(2 * x)),
    (r"\tan^{-1} x", lambda x, v: np.arctan(x)),
    ("asin(x/2)", lambda x, v: np.arcsin(x / 2)),
    ("acos(x/2)", lambda x, v: np.arccos(x / 2)),
    ("atan(x^2)", lambda x, v: np.arctan(x * x)),
    ("exp(-x^2)", lambda x, v: np.exp(-x * x)),
    ("x*exp(2x)", lambda x, v: x * np.exp(2 * x)),
    ("e^{3x}", lambda x, v: np.exp(3 * x)),
    ("2^x", lambda x, v: 2 ** x),
    ("x^x", lambda x, v: x ** x),
    ("log(x^2 + 1)", lambda x, v: np.log(x * x + 1)),
    (r"\ln(\sin x + 2)", lambda x, v: np.log(np.sin(x) + 2)),
    ("log(x)/x", lambda x, v: np.log(x) / x),
    ("x*log(x) - x", lambda x, v: x * np.log(x) - x),
    (r"\log_2 x", lambda x, v: np.log2(x)),
    ("sinh(x)", lambda x, v: np.sinh(x)),
    ("cosh(2x)", lambda x, v: np.cosh(2 * x)),
    ("tanh(x)", lambda x, v: np.tanh(x)),
    ("tanh(3x)^2", lambda x, v: np.tanh(3 * x) ** 2),
    ("sigmoid(x)", lambda x, v: sigmoid(x)),
    (r"\sigma(2x - 1)", lambda x, v: sigmoid(2 * x - 1)),
    ("softplus(x)", lambda x, v: softplus(x)),
    ("log(1 + exp(-x))", lambda x, v: np.log1p(np.exp(-x))),
    ("Phi(x)", lambda x, v: (1 + np.vectorize(math.erf)(x / math.sqrt(2))) / 2),
    ("phi(x)", lambda x, v: np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    ("x*Phi(x) + phi(x)", lambda x, v: x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) / 2
     + np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    ("relu(x - 0.1)", lambda x, v: np.maximum(x - 0.1, 0)),
    ("abs(x - 2)", lambda x, v: np.abs(x - 2)),
    ("|x^3 - 8|", lambda x, v: np.abs(x ** 3 - 8)),
    ("sin(exp(x))", lambda x, v: np.sin(np.exp(x))),
    ("exp(sin(x))", lambda x, v: np.exp(np.sin(x))),
    ("log(cos(x))", lambda x, v: np.log(np.cos(x))),
    ("sqrt(1 - x^2)", lambda x, v: np.sqrt(1 - x * x), (0.1, 0.9)),
    ("1/sqrt(x^2 + 1)", lambda x, v: 1 / np.sqrt(x * x + 1)),
    ("(x^2 + 1)^(3/2)", lambda x, v: (x * x + 1) ** 1.5),
    ("exp(x)/(1 + exp(x))", lambda x, v: np.exp(x) / (1 + np.exp(x))),
    ("sin(x)/x", lambda x, v: np.sin(x) / x),
    ("x^2*exp(-x)*cos(x)", lambda x, v: x * x * np.exp(-x) * np.cos(x)),
    ("log(log(x + 2))", lambda x, v: np.log(np.log(x + 2))),
    ("1.702x", lambda x, v: 1.702 * x),
    ("x*sigmoid(1.702x)", lambda x, v: x * sigmoid(1.702 * x)),
    ("0.5x(1 + tanh(x))", lambda x, v: 0.5 * x * (1 + np.tanh(x))),
    ("x*tanh(softplus(x))", lambda x, v: x * np.tanh(softplus(x))),
]
_SCALAR_WITH_CONSTANTS = [
    ("a*x^2 + b*x + c", lambda x, v: v["a"] * x * x + v["b"] * x + v["c"]),
    ("a*exp(b*x)", lambda x, v: v["a"] * np.exp(v["b"] * x)),
    ("sin(a*x + b)", lambda x, v: np.sin(v["a"] * x + v["b"])),
    ("log(a + b*x^2)", lambda x, v: np.log(v["a"] + v["b"] * x * x)),
    ("(x - a)^2/(2*b)", lambda x, v: (x - v["a"]) ** 2 / (2 * v["b"])),
    ("-log(b)/2 - (x - a)^2/(2*b)", lambda x, v: -np.log(v["b"]) / 2 - (x - v["a"]) ** 2 / (2 * v["b"])),
    ("a^x", lambda x, v: v["a"] ** x),
    ("x^a", lambda x, v: x ** v["a"]),
    ("sigmoid(a*x + b)", lambda x, v: sigmoid(v["a"] * x + v["b"])),
    ("c*log(sigmoid(a*x)) + (1 - c)*log(1 - sigmoid(a*x))",
     lambda x, v: v["c"] * np.log(sigmoid(v["a"] * x)) + (1 - v["c"]) * np.log(1 - sigmoid(v["a"] * x))),
]

SCALAR_CASES = [scalar("calculus", t, f, order, *domain) for t, f, *domain in _SCALAR for order in (1, 2)] + \
    [scalar("calculus", t, f, order, extra="abc") for t, f in _SCALAR_WITH_CONSTANTS for order in (1, 2)]


# ---------------------------------------------------------------------------------------------------
# Vectors: gradients and Hessians (MC §2.4.1–2.4.2, 2.6), written in plain and in LaTeX syntax
# ---------------------------------------------------------------------------------------------------
def vector(source, plain, latex, shapes, f, orders=(1, 2), **options):
    """One function of the vector x, both spellings, gradient and (where listed) Hessian."""
    return [Case(source, text, "x", shapes, f, order=order, kind="gradient" if order == 1 else "hessian", **options)
            for text in (plain, latex) for order in orders]


_V = {"x": N, "a": N, "b": N}
_A = {"x": N, "a": N, "A": SQ}
_LS = {"x": N, "A": ("m", "n"), "b": M}
VECTOR_CASES = [
    *vector("MC (69)", "a'*x", r"a^\top x", _V, lambda v: v["a"].T @ v["x"]),
    *vector("MC (69)", "x'*a", r"x^T a", _V, lambda v: v["x"].T @ v["a"]),
    *vector("MC (81)", "x'*A*x", r"x^{\top} A x", _A, lambda v: v["x"].T @ v["A"] @ v["x"]),
    *vector("MC (80)", "x'*A'*x + a'*x", r"x^T A^T x + a^T x", _A,
            lambda v: v["x"].T @ v["A"].T @ v["x"] + v["a"].T @ v["x"]),
    *vector("MC (84)", "(A*x - b)'*(A*x - b)", r"\|Ax - b\|^2", _LS, lambda v: np.sum((v["A"] @ v["x"] - v["b"]) ** 2)),
    *vector("MC (129)", "||x||^2", r"\|x\|_2^2", {"x": N}, lambda v: np.sum(v["x"] ** 2)),
    *vector("MC (129)", "||x - a||^2", r"\|x - a\|^2", _V, lambda v: np.sum((v["x"] - v["a"]) ** 2)),
    *vector("MC (129), norm", "||x - a||", r"\|x - a\|", _V, lambda v: np.linalg.norm(v["x"] - v["a"])),
    *vector("norm", "||x||", r"\|x\|_2", {"x": N}, lambda v: np.linalg.norm(v["x"])),
    *vector("norm⁴", "||x||^4", r"\|x\|^4", {"x": N}, lambda v: np.sum(v["x"] ** 2) ** 2),
    *vector("‖Ax − b‖", "||A*x - b||", r"\|Ax - b\|", _LS, lambda v: np.linalg.norm(v["A"] @ v["x"] - v["b"])),
    *vector("exp(aᵀx)", "exp(a'*x)", r"e^{a^T x}", _V, lambda v: np.exp(v["a"].T @ v["x"])),
    *vector("ML: logistic loss of one example", "log(1 + exp(x'*a))", r"\log(1 + e^{x^T a})", _V,
            lambda v: np.log1p(np.exp(v["x"].T @ v["a"]))),
    *vector("σ(aᵀx)", "sigmoid(a'*x)", r"\sigma(a^T x)", _V, lambda v: sigmoid(v["a"].T @ v["x"])),
    *vector("(aᵀx)²", "(a'*x)^2", r"(a^T x)^2", _V, lambda v: (v["a"].T @ v["x"]) ** 2),
    *vector("(aᵀx)(bᵀx)", "(a'*x)*(b'*x)", r"(a^T x)(b^T x)", _V, lambda v: (v["a"].T @ v["x"]) * (v["b"].T @ v["x"])),
    *vector("Σ exp", "sum(exp(x))", r"\mathbf{1}^T \exp(x)", {"x": N}, lambda v: np.sum(np.exp(v["x"]))),
    *vector("Σ softplus", "sum(softplus(x))", r"\mathbf{1}^T \log(1 + e^{x})", {"x": N},
            lambda v: np.sum(softplus(v["x"]))),
    *vector("log-sum-exp", "log(sum(exp(x)))", r"\log \mathbf{1}^T e^{x}", {"x": N},
            lambda v: np.log(np.sum(np.exp(v["x"])))),
    *vector("ML: softmax cross-entropy", "log(sum(exp(x))) - a'*x", r"\log(\mathbf{1}^T e^{x}) - a^T x", _V,
            lambda v: np.log(np.sum(np.exp(v["x"]))) - v["a"].T @ v["x"]),
    *vector("Σ xᵢ²", "sum(x .* x)", r"\mathbf{1}^T (x \odot x)", {"x": N}, lambda v: np.sum(v["x"] ** 2)),
    *vector("Σ xᵢ³", "x'*diag(x)*x", r"x^T \operatorname{diag}(x) x", {"x": N}, lambda v: np.sum(v["x"] ** 3)),
    *vector("Σ aᵢxᵢ²", "x'*diag(a)*x", r"x^T \operatorname{diag}(a) x", _V, lambda v: np.sum(v["a"] * v["x"] ** 2)),
    *vector("Σ sin", "sum(sin(x))", r"\mathbf{1}^T \sin(x)", {"x": N}, lambda v: np.sum(np.sin(v["x"]))),
    *vector("Σ tanh", "sum(tanh(a .* x))", r"\mathbf{1}^T \tanh(a \odot x)", _V,
            lambda v: np.sum(np.tanh(v["a"] * v["x"]))),
    *vector("MC (81), squared", "(x'*A*x)^2", r"(x^T A x)^2", _A, lambda v: (v["x"].T @ v["A"] @ v["x"]) ** 2),
    *vector("log xᵀAx", "log(x'*A*x)", r"\log(x^T A x)", _A, lambda v: np.log(v["x"].T @ v["A"] @ v["x"]),
            spd=("A",)),
    *vector("√(xᵀAx)", "sqrt(x'*A*x)", r"\sqrt{x^T A x}", _A, lambda v: np.sqrt(v["x"].T @ v["A"] @ v["x"]),
            spd=("A",)),
    *vector("√(xᵀy)", "sqrt(x'*a)", r"\sqrt{x^T a}", _V, lambda v: np.sqrt(v["x"].T @ v["a"]),
            positive=("x", "a")),
    *vector("Rayleigh quotient", "(x'*A*x)/(x'*x)", r"\frac{x^T A x}{x^T x}", _A,
            lambda v: (v["x"].T @ v["A"] @ v["x"]) / (v["x"].T @ v["x"])),
    *vector("ML: ridge", "||A*x - b||^2 + c*||x||^2", r"\|Ax - b\|^2 + c\|x\|^2", {**_LS, "c": S},
            lambda v: np.sum((v["A"] @ v["x"] - v["b"]) ** 2) + v["c"] * np.sum(v["x"] ** 2)),
    *vector("ML: Σ log σ", "sum(log(sigmoid(x)))", r"\mathbf{1}^T \log\sigma(x)", {"x": N},
            lambda v: np.sum(np.log(sigmoid(v["x"])))),
    *vector("ML: Gaussian log-density in μ", "-(x - a)'*A*(x - a)/2", r"-\frac{1}{2}(x - a)^T A (x - a)", _A,
            lambda v: -(v["x"] - v["a"]).T @ v["A"] @ (v["x"] - v["a"]) / 2),
    *vector("Σ Φ", "sum(Phi(x))", r"\mathbf{1}^T \Phi(x)", {"x": N},
            lambda v: np.sum((1 + np.vectorize(math.erf)(v["x"] / math.sqrt(2))) / 2)),
]


# ---------------------------------------------------------------------------------------------------
# Regression losses in β (ML): gradients and Hessians
# ---------------------------------------------------------------------------------------------------
_REG = {"X": ("n", "d"), "y": N, "b": D}


def _xb(v):
    return v["X"] @ v["b"]


LOSS_CASES = [
    *vector("ML: OLS", "(y - X*b)'*(y - X*b)", r"(y - X b)^T (y - X b)", _REG,
            lambda v: np.sum((v["y"] - _xb(v)) ** 2)),
    *vector("ML: WLS", "(y - X*b)'*W*(y - X*b)", r"(y - Xb)^T W (y - Xb)", {**_REG, "W": SQ},
            lambda v: (v["y"] - _xb(v)).T @ v["W"] @ (v["y"] - _xb(v))),
    *vector("ML: logistic", "sum(softplus(X*b)) - y'*X*b", r"\mathbf{1}^T \log(1 + e^{Xb}) - y^T X b", _REG,
            lambda v: np.sum(softplus(_xb(v))) - v["y"].T @ _xb(v)),
    *vector("ML: Poisson", "sum(exp(X*b)) - y'*X*b", r"\mathbf{1}^T e^{Xb} - y^T X b", _REG,
            lambda v: np.sum(np.exp(_xb(v))) - v["y"].T @ _xb(v)),
    *vector("ML: probit", "-y'*log(Phi(X*b)) - (ones(n,1) - y)'*log(ones(n,1) - Phi(X*b))",
            r"-y^T \log\Phi(Xb) - (\mathbf{1} - y)^T \log(\mathbf{1} - \Phi(Xb))", _REG,
            lambda v: -(v["y"].T @ np.log((1 + np.vectorize(math.erf)(_xb(v) / math.sqrt(2))) / 2)
                        + (1 - v["y"]).T @ np.log(1 - (1 + np.vectorize(math.erf)(_xb(v) / math.sqrt(2))) / 2)),
            orders=(1,)),
]
LOSS_CASES = [Case(c.source, c.text, "b", c.shapes, c.f, c.order, c.spd, c.kind, c.textbook, c.positive)
              for c in LOSS_CASES]


# ---------------------------------------------------------------------------------------------------
# Matrices: gradients (MC §2.1–2.3, 2.5, 2.7), written in plain and in LaTeX syntax
# ---------------------------------------------------------------------------------------------------
def matrix(source, plain, latex, shapes, f, **options):
    return [Case(source, text, "X", shapes, f, **options) for text in (plain, latex)]


_SQ = {"X": SQ}
_SQA = {"X": SQ, "A": SQ, "B": SQ}
_REC = {"X": ("n", "m"), "A": ("m", "n"), "B": ("m", "m"), "a": N, "b": M}
MATRIX_CASES = [
    *matrix("MC (99)", "tr(X)", r"\operatorname{tr}(X)", _SQ, lambda v: np.trace(v["X"])),
    *matrix("MC (100)", "tr(X*A)", r"\operatorname{tr}(XA)", _REC, lambda v: np.trace(v["X"] @ v["A"])),
    *matrix("MC (100)", "tr(A*X)", r"\operatorname{tr}(AX)", _REC, lambda v: np.trace(v["A"] @ v["X"])),
    *matrix("MC (101)", "tr(A*X*B)", r"\operatorname{tr}(AXB)", {"X": ("n", "m"), "A": ("m", "n"), "B": ("m", "m")},
            lambda v: np.trace(v["A"] @ v["X"] @ v["B"])),
    *matrix("MC (103)", "tr(X'*A')", r"\operatorname{tr}(X^T A^T)", _REC, lambda v: np.trace(v["X"].T @ v["A"].T)),
    *matrix("MC (106)", "tr(X^2)", r"\operatorname{tr}(X^2)", _SQ, lambda v: np.trace(v["X"] @ v["X"])),
    *matrix("MC (108)", "tr(X'*A*X)", r"\operatorname{tr}(X^T A X)", _SQA, lambda v: np.trace(v["X"].T @ v["A"] @ v["X"])),
    *matrix("MC (113)", "tr(X*A*X')", r"\operatorname{tr}(X A X^T)", _SQA, lambda v: np.trace(v["X"] @ v["A"] @ v["X"].T)),
    *matrix("MC (115)", "tr(X'*X)", r"\operatorname{tr}(X^T X)", {"X": ("n", "m")}, lambda v: np.trace(v["X"].T @ v["X"])),
    *matrix("MC (121)", "tr(X^3)", r"\operatorname{tr}(X^3)", _SQ, lambda v: np.trace(v["X"] @ v["X"] @ v["X"])),
    *matrix("MC (70)", "a'*X*b", r"a^T X b", _REC, lambda v: v["a"].T @ v["X"] @ v["b"]),
    *matrix("MC (71)", "b'*X'*a", r"b^T X^T a", _REC, lambda v: v["b"].T @ v["X"].T @ v["a"]),
    *matrix("MC (77)", "b'*X'*X*b", r"b^T X^T X b", _REC, lambda v: v["b"].T @ v["X"].T @ v["X"] @ v["b"]),
    *matrix("MC (49)", "det(X)", r"\det(X)", _SQ, lambda v: np.linalg.det(v["X"]), spd=("X",)),
    *matrix("MC (51)", "det(A*X*B)", r"\det(AXB)", _SQA, lambda v: np.linalg.det(v["A"] @ v["X"] @ v["B"]),
            spd=("X", "A", "B")),
    *matrix("MC (57)", "log(det(X))", r"\log\det X", _SQ, lambda v: np.log(np.linalg.det(v["X"])), spd=("X",)),
    *matrix("MC (57), |det|", "log(abs(det(X)))", r"\log|\det X|", _SQ,
            lambda v: np.log(np.abs(np.linalg.det(v["X"]))), spd=("X",)),
    *matrix("MC (55)", "log(det(X'*X))", r"\log\det(X^T X)", {"X": ("n", 2)},
            lambda v: np.log(np.linalg.det(v["X"].T @ v["X"]))),
    *matrix("MC (61)", "a'*inv(X)*b", r"a^T X^{-1} b", {"X": SQ, "a": N, "b": N},
            lambda v: v["a"].T @ np.linalg.inv(v["X"]) @ v["b"], spd=("X",)),
    *matrix("MC (124)", "tr(A*inv(X)*B)", r"\operatorname{tr}(A X^{-1} B)", _SQA,
            lambda v: np.trace(v["A"] @ np.linalg.inv(v["X"]) @ v["B"]), spd=("X",)),
    *matrix("MC (124), A = I", "tr(inv(X))", r"\operatorname{tr}(X^{-1})", _SQ,
            lambda v: np.trace(np.linalg.inv(v["X"])), spd=("X",)),
    *matrix("MC (57) + MC (124): Gaussian in Σ", "log(det(X)) + tr(inv(X)*A)",
            r"\log\det X + \operatorname{tr}(X^{-1} A)", _SQA,
            lambda v: np.log(np.linalg.det(v["X"])) + np.trace(np.linalg.inv(v["X"]) @ v["A"]), spd=("X", "A")),
    *matrix("MC (70) + MC (99)", "a'*X*b + tr(X)", r"a^T X b + \operatorname{tr}(X)", {"X": SQ, "a": N, "b": N},
            lambda v: v["a"].T @ v["X"] @ v["b"] + np.trace(v["X"])),
    *matrix("MC (145)", "||X||_F^2", r"\|X\|_F^2", {"X": ("n", "m")}, lambda v: np.sum(v["X"] ** 2)),
    *matrix("MC (145), residual", "||A*X - B||_F^2", r"\|AX - B\|_F^2", {"X": ("n", "m"), "A": SQ, "B": ("n", "m")},
            lambda v: np.sum((v["A"] @ v["X"] - v["B"]) ** 2)),
    *matrix("entrywise", "sum(X .* X)", r"\mathbf{1}^T (X \odot X) \mathbf{1}", {"X": ("n", "m")},
            lambda v: np.sum(v["X"] ** 2)),
    *matrix("entrywise", "tr(A .* X)", r"\operatorname{tr}(A \odot X)", _SQA, lambda v: np.trace(v["A"] * v["X"])),
    *matrix("entrywise", "tr(sin(X))", r"\operatorname{tr}(\sin X)", _SQ, lambda v: np.trace(np.sin(v["X"]))),
    *matrix("entrywise", "sum(exp(X))", r"\mathbf{1}^T e^{X} \mathbf{1}", {"X": ("n", "m")},
            lambda v: np.sum(np.exp(v["X"]))),
    *matrix("ML: multinomial scores", "sum(log(sigmoid(X*b)))", r"\mathbf{1}^T \log\sigma(X b)",
            {"X": ("n", "m"), "b": M}, lambda v: np.sum(np.log(sigmoid(v["X"] @ v["b"])))),
    *matrix("MC (83)", "(X*b + a)'*A'*A*(X*b + a)", r"(Xb + a)^T A^T A (Xb + a)",
            {"X": ("n", "m"), "b": M, "a": N, "A": SQ},
            lambda v: np.sum((v["A"] @ (v["X"] @ v["b"] + v["a"])) ** 2)),
]

# ---------------------------------------------------------------------------------------------------
# Jacobians of vector functions (MC §2.4)
# ---------------------------------------------------------------------------------------------------
JACOBIAN_CASES = [Case(source, text, "x", shapes, f, kind="jacobian") for source, text, shapes, f in [
    ("MC (69), Jacobian", "A*x", {"x": N, "A": ("m", "n")}, lambda v: v["A"] @ v["x"]),
    ("Jacobian", r"A x + b", {"x": N, "A": ("m", "n"), "b": M}, lambda v: v["A"] @ v["x"] + v["b"]),
    ("Jacobian", "exp(x)", {"x": N}, lambda v: np.exp(v["x"])),
    ("Jacobian", "sigmoid(A*x)", {"x": N, "A": ("m", "n")}, lambda v: sigmoid(v["A"] @ v["x"])),
    ("Jacobian", "a .* x", {"x": N, "a": N}, lambda v: v["a"] * v["x"]),
    ("Jacobian", "tanh(x)", {"x": N}, lambda v: np.tanh(v["x"])),
    ("Jacobian", "(a'*x)*x", {"x": N, "a": N}, lambda v: (v["a"].T @ v["x"]) * v["x"]),
    ("Jacobian", "x/||x||", {"x": N}, lambda v: v["x"] / np.linalg.norm(v["x"])),
    ("Jacobian", "(x - a)/||x - a||", {"x": N, "a": N}, lambda v: (v["x"] - v["a"]) / np.linalg.norm(v["x"] - v["a"])),
    ("Jacobian: softmax", "exp(x)/sum(exp(x))", {"x": N}, lambda v: np.exp(v["x"]) / np.sum(np.exp(v["x"]))),
    ("Jacobian", "A*sigmoid(x)", {"x": N, "A": ("m", "n")}, lambda v: v["A"] @ sigmoid(v["x"])),
    ("Jacobian", "x .* x", {"x": N}, lambda v: v["x"] ** 2),
]]

# ---------------------------------------------------------------------------------------------------
# Softmax and log-sum-exp, named (Bishop, PRML §4.3.4; Boyd & Vandenberghe §3.1.5)
# ---------------------------------------------------------------------------------------------------
def _softmax(z, axis=0):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(z, axis=0):
    top = np.max(z, axis=axis, keepdims=True)
    return top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))


_P = {"x": N, "y": ("n", "prob")}
_PA = {"x": N, "A": ("m", "n"), "y": ("m", "prob")}
SOFTMAX_CASES = [
    *vector("BV (3.1.5): log-sum-exp", "logsumexp(x)", r"\operatorname{logsumexp}(x)", {"x": N},
            lambda v: np.sum(_logsumexp(v["x"]))),
    *vector("log-sum-exp of a linear map", "logsumexp(A*x)", r"\operatorname{logsumexp}(Ax)", {"x": N, "A": ("m", "n")},
            lambda v: np.sum(_logsumexp(v["A"] @ v["x"]))),
    *vector("PRML (4.108): softmax cross-entropy", "-y'*log(softmax(x))", r"-y^T \log \operatorname{softmax}(x)", _P,
            lambda v: -np.sum(v["y"] * np.log(_softmax(v["x"])))),
    *vector("softmax cross-entropy, no assumption on y", "-a'*log(softmax(x))",
            r"-a^T \log \operatorname{softmax}(x)", {"x": N, "a": N}, lambda v: -np.sum(v["a"] * np.log(_softmax(v["x"])))),
    *vector("PRML (4.108): scores Ax", "-y'*log(softmax(A*x))", r"-y^T \log \operatorname{softmax}(A x)", _PA,
            lambda v: -np.sum(v["y"] * np.log(_softmax(v["A"] @ v["x"])))),
    *vector("cross-entropy with log-sum-exp", "logsumexp(x) - y'*x", r"\operatorname{logsumexp}(x) - y^T x", _P,
            lambda v: np.sum(_logsumexp(v["x"])) - np.sum(v["y"] * v["x"])),
    *vector("expected score under softmax", "a'*softmax(x)", r"a^T \operatorname{softmax}(x)", {"x": N, "a": N},
            lambda v: np.sum(v["a"] * _softmax(v["x"])), orders=(1,)),
    *[Case("softmax Jacobian", text, "x", shapes, f, kind="jacobian") for text, shapes, f in [
        ("softmax(x)", {"x": N}, lambda v: _softmax(v["x"])),
        (r"\operatorname{softmax}(A x)", {"x": N, "A": ("m", "n")}, lambda v: _softmax(v["A"] @ v["x"])),
        ("exp(A*x)/sum(exp(A*x))", {"x": N, "A": ("m", "n")}, lambda v: _softmax(v["A"] @ v["x"]))]],
    *matrix("row-wise log-sum-exp", "sum(logsumexp(X))", r"\mathbf{1}^T \operatorname{logsumexp}(X)",
            {"X": ("n", "m")}, lambda v: np.sum(_logsumexp(v["X"], axis=1))),
    *matrix("PRML (4.109): multinomial cross-entropy", "-tr(A'*log(softmax(X)))",
            r"-\operatorname{tr}(A^T \log \operatorname{softmax}(X))", {"X": ("n", "m"), "A": ("n", "m", "prob")},
            lambda v: -np.sum(v["A"] * np.log(_softmax(v["X"], axis=1)))),
    *matrix("PRML (4.109): multinomial regression in W", "-tr(A'*log(softmax(B*X)))",
            r"-\operatorname{tr}(A^T \log \operatorname{softmax}(B X))",
            {"X": ("m", "k"), "B": ("n", "m"), "A": ("n", "k", "prob")},
            lambda v: -np.sum(v["A"] * np.log(_softmax(v["B"] @ v["X"], axis=1)))),
]

# ---------------------------------------------------------------------------------------------------
# Hessians with respect to a matrix, d vec(∇f) = H d vec(X) (MC §2.5 with Magnus & Neudecker ch. 10)
# ---------------------------------------------------------------------------------------------------
MATRIX_HESSIAN_CASES = [Case(source, text, "X", shapes, f, order=2, kind="hessian", spd=spd)
                        for source, text, shapes, f, spd in [
    ("MC (108)", "tr(X'*A*X)", {"X": ("n", "m"), "A": SQ}, lambda v: np.trace(v["X"].T @ v["A"] @ v["X"]), ()),
    ("MC (113)", "tr(X*A*X')", {"X": ("n", "m"), "A": ("m", "m")}, lambda v: np.trace(v["X"] @ v["A"] @ v["X"].T), ()),
    ("MC (106)", "tr(X^2)", _SQ, lambda v: np.trace(v["X"] @ v["X"]), ()),
    ("MC (115)", "tr(X'*X)", {"X": ("n", "m")}, lambda v: np.trace(v["X"].T @ v["X"]), ()),
    ("MC (116)", "tr(X*B*X'*A)", {"X": ("n", "m"), "A": SQ, "B": ("m", "m")},
     lambda v: np.trace(v["X"] @ v["B"] @ v["X"].T @ v["A"]), ()),
    ("MC (77)", "b'*X'*X*b", _REC, lambda v: v["b"].T @ v["X"].T @ v["X"] @ v["b"], ()),
    ("MC (70)", "a'*X*b", _REC, lambda v: v["a"].T @ v["X"] @ v["b"], ()),
    ("MC (101)", "tr(A*X*B)", {"X": ("n", "m"), "A": ("m", "n"), "B": ("m", "m")},
     lambda v: np.trace(v["A"] @ v["X"] @ v["B"]), ()),
    ("MC (145), residual", "||A*X - B||_F^2", {"X": ("n", "m"), "A": SQ, "B": ("n", "m")},
     lambda v: np.sum((v["A"] @ v["X"] - v["B"]) ** 2), ()),
    ("MC (121)", "tr(X^3)", _SQ, lambda v: np.trace(v["X"] @ v["X"] @ v["X"]), ()),
    ("MC (57)", "log(det(X))", _SQ, lambda v: np.log(np.linalg.det(v["X"])), ("X",)),
    ("MC (124)", "tr(A*inv(X)*B)", _SQA, lambda v: np.trace(v["A"] @ np.linalg.inv(v["X"]) @ v["B"]), ("X",)),
    ("MC (49)", "det(X)", _SQ, lambda v: np.linalg.det(v["X"]), ("X",)),
    ("entrywise", "sum(exp(X))", {"X": ("n", "m")}, lambda v: np.sum(np.exp(v["X"])), ()),
    ("entrywise", "tr(sin(X))", _SQ, lambda v: np.trace(np.sin(v["X"])), ()),
    ("ML: Poisson scores", "sum(exp(A*X))", {"X": ("n", "m"), "A": ("k", "n")},
     lambda v: np.sum(np.exp(v["A"] @ v["X"])), ()),
    ("ML: logistic scores", "sum(softplus(A*X)) - tr(B'*A*X)", {"X": ("n", "m"), "A": ("k", "n"), "B": ("k", "m")},
     lambda v: np.sum(np.logaddexp(0, v["A"] @ v["X"])) - np.trace(v["B"].T @ v["A"] @ v["X"]), ()),
]]

PROBLEMS = SCALAR_CASES + VECTOR_CASES + LOSS_CASES + MATRIX_CASES + JACOBIAN_CASES + SOFTMAX_CASES + \
    MATRIX_HESSIAN_CASES

# Refused, with the reason derive gives; each must still be refused (an answer would need its own row).
REFUSED: set = set()


def problem_id(case: Case) -> str:
    return f"{case.source}: {case.text} [{case.kind}]"


_OUTCOMES: dict = {}  # by problem id: each problem is derived once, for its own test and for the counts


def outcome(case: Case) -> tuple[str, str, object]:
    """("right" | "refused" | "wrong" | "crash", detail, the derived result or None)."""
    key = problem_id(case)
    if key not in _OUTCOMES:
        _OUTCOMES[key] = _derive_and_compare(case)
    return _OUTCOMES[key]


def _derive_and_compare(case: Case) -> tuple[str, str, object]:
    try:
        r = derive.diff(case.text, wrt=case.wrt, shapes=case.shapes, order=case.order)
    except NotSupported as error:
        return "refused", str(error), None
    except Exception as error:  # noqa: BLE001 - anything else escaping is a crash, which this suite counts
        return "crash", f"{type(error).__name__}: {error}", None
    if not all(step.verified for step in r.steps) or case.kind not in r.results:
        return "wrong", f"unverified steps or no {case.kind} in {list(r.results)}", None
    result = r.results[case.kind]
    rng = np.random.default_rng(zlib.crc32(problem_id(case).encode()))
    try:
        problem = agrees(case, result, rng)
    except Exception as error:  # noqa: BLE001 - a result that cannot be evaluated is a crash too
        return "crash", f"evaluating the result: {type(error).__name__}: {error}", result
    return ("right", "", result) if problem is None else ("wrong", problem, result)


# What a textbook never prints: SymPy's class names, a sign written twice, an entrywise negative power
# (1/u is written as a division), equal terms of a sum left uncollected.
_SYMPY_NOTATION = re.compile(r"\b(?:Kronecker\w*|Hadamard\w*|Trace|Mat(?:Mul|Add|Pow)|Lambda|Array\w*|PermuteDims|"
                             r"Elementwise|VectorApplication|Dummy|Str)\b|_\d")


def textbook_issue(result) -> Optional[str]:
    """Why the printed result is not as a textbook writes it, or None."""
    text = unicode(result)
    if any(twice in text for twice in ("+ −", "− −", "−−", "+ -")):
        return f"a sign written twice: {text}"
    if _SYMPY_NOTATION.search(text):
        return f"SymPy's notation: {text}"
    if "^∘−" in text or "^∘-" in text:
        return f"a negative entrywise power: {text}"
    for node in sp.preorder_traversal(result):
        if isinstance(node, (sp.Add, sp.MatAdd)):
            shapes = [tuple(split_product(t)[1]) if node.is_Matrix else t.as_coeff_Mul()[1] for t in node.args]
            if len(shapes) != len(set(shapes)):
                return f"equal terms not collected: {text}"
    return None


@pytest.mark.parametrize("case", PROBLEMS, ids=problem_id)
def test_problem(case: Case):
    result, detail, _ = outcome(case)
    if problem_id(case) in REFUSED:
        assert result == "refused", f"{problem_id(case)} is answered now ({result}): take it off REFUSED"
    else:
        assert result == "right", f"{problem_id(case)}: {result}: {detail}"


def test_the_suite_is_large_and_answers_at_least_96_percent():
    ids = [problem_id(c) for c in PROBLEMS]
    assert len(ids) == len(set(ids)) and len(ids) >= 300
    assert REFUSED <= set(ids)
    assert 1 - len(REFUSED) / len(ids) >= 0.96


def test_at_least_96_percent_are_answered_in_textbook_form():
    answers = [outcome(case) for case in PROBLEMS]
    textbook = [a for a in answers if a[0] == "right" and textbook_issue(a[2]) is None]
    assert len(textbook) / len(PROBLEMS) >= 0.96, [textbook_issue(a[2]) for a in answers if a[0] == "right"
                                                   and textbook_issue(a[2])][:10]


if __name__ == "__main__":  # the counts: python tests/test_cookbook_suite.py
    counts: dict = {}
    in_textbook_form = 0
    for case in PROBLEMS:
        result, detail, expr = outcome(case)
        counts[result] = counts.get(result, 0) + 1
        if result != "right":
            print(f"{result}: {problem_id(case)}: {detail.splitlines()[0] if detail else ''}")
        elif textbook_issue(expr) is not None:
            print(f"not in textbook form: {problem_id(case)}: {textbook_issue(expr)}")
        else:
            in_textbook_form += 1
    print(f"{len(PROBLEMS)} problems: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in
                                                   ("right", "refused", "wrong", "crash"))
          + f"; {in_textbook_form} ({in_textbook_form / len(PROBLEMS):.1%}) in textbook form")
