"""Matrix Cookbook identities, each derived by `derive.diff` and checked against finite differences.

Every row gives an expression in derive's input syntax and, independently, the same function written by
hand in numpy. The derived result is evaluated as DESIGN §3 promises (sizes, matrices and scalars put in,
`.doit()`, `.evalf()`), at two random sizes, and compared with central differences of the numpy function:
no part of derive's own numerics (its complex-step checker) is used as the reference.

Equation numbers are those of K. B. Petersen & M. S. Pedersen, *The Matrix Cookbook*, version of
November 15, 2012 ("MC (n)"). The Cookbook states some identities for symmetric W; derive and these tests
use general matrices, so a row checks the general form (the finite differences decide, not the formula).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from finite_differences import Case, agrees, sigmoid, softplus

import derive

SIZE_DRAWS = 2


N, M = ("n",), ("m",)
CASES = [
    # --- linear and quadratic forms in a vector ------------------------------------------------------
    Case("MC (69)", "a'*x", "x", {"a": N, "x": N}, lambda v: v["a"].T @ v["x"], textbook="a"),
    Case("MC (69)", "x'*a", "x", {"a": N, "x": N}, lambda v: v["x"].T @ v["a"], textbook="a"),
    Case("MC (81)", "x'*B*x", "x", {"x": N, "B": ("n", "n")}, lambda v: v["x"].T @ v["B"] @ v["x"],
         textbook="(B + Bᵀ)x"),
    Case("MC (81), Hessian", "x'*B*x", "x", {"x": N, "B": ("n", "n")}, lambda v: v["x"].T @ v["B"] @ v["x"],
         order=2, kind="hessian", textbook="B + Bᵀ"),
    Case("MC (78)", "(B*x + b)'*C*(D*x + e)", "x",
         {"x": N, "B": ("m", "n"), "b": M, "C": ("m", "m"), "D": ("m", "n"), "e": M},
         lambda v: (v["B"] @ v["x"] + v["b"]).T @ v["C"] @ (v["D"] @ v["x"] + v["e"])),
    Case("MC (86)", "(x - A*s)'*W*(x - A*s)", "s", {"x": N, "A": ("n", "m"), "s": M, "W": ("n", "n")},
         lambda v: (v["x"] - v["A"] @ v["s"]).T @ v["W"] @ (v["x"] - v["A"] @ v["s"])),
    Case("MC (88)", "(x - s)'*W*(x - s)", "x", {"x": N, "s": N, "W": ("n", "n")},
         lambda v: (v["x"] - v["s"]).T @ v["W"] @ (v["x"] - v["s"])),
    Case("MC (89)", "(x - s)'*W*(x - s)", "s", {"x": N, "s": N, "W": ("n", "n")},
         lambda v: (v["x"] - v["s"]).T @ v["W"] @ (v["x"] - v["s"])),
    Case("MC (90)", "(x - A*s)'*W*(x - A*s)", "x", {"x": N, "A": ("n", "m"), "s": M, "W": ("n", "n")},
         lambda v: (v["x"] - v["A"] @ v["s"]).T @ v["W"] @ (v["x"] - v["A"] @ v["s"])),
    Case("MC (91)", "(x - A*s)'*W*(x - A*s)", "A", {"x": N, "A": ("n", "m"), "s": M, "W": ("n", "n")},
         lambda v: (v["x"] - v["A"] @ v["s"]).T @ v["W"] @ (v["x"] - v["A"] @ v["s"])),
    Case("least squares ‖Ax − b‖² (MC (84) squared)", "(A*x - b)'*(A*x - b)", "x",
         {"A": ("m", "n"), "x": N, "b": M}, lambda v: np.sum((v["A"] @ v["x"] - v["b"]) ** 2),
         textbook="2Aᵀ(Ax − b)"),
    Case("least squares, Hessian", "(A*x - b)'*(A*x - b)", "x", {"A": ("m", "n"), "x": N, "b": M},
         lambda v: np.sum((v["A"] @ v["x"] - v["b"]) ** 2), order=2, kind="hessian", textbook="2AᵀA"),
    # --- linear and quadratic forms in a matrix -------------------------------------------------------
    Case("MC (70)", "a'*X*b", "X", {"a": N, "X": ("n", "m"), "b": M}, lambda v: v["a"].T @ v["X"] @ v["b"],
         textbook="abᵀ"),
    Case("MC (71)", "a'*X'*b", "X", {"a": M, "X": ("n", "m"), "b": N}, lambda v: v["a"].T @ v["X"].T @ v["b"],
         textbook="baᵀ"),
    Case("MC (72)", "a'*X*a", "X", {"a": N, "X": ("n", "n")}, lambda v: v["a"].T @ v["X"] @ v["a"]),
    Case("MC (77)", "b'*X'*X*c", "X", {"b": M, "c": M, "X": ("n", "m")},
         lambda v: v["b"].T @ v["X"].T @ v["X"] @ v["c"]),
    Case("MC (82)", "b'*X'*D*X*c", "X", {"b": M, "c": M, "X": ("n", "m"), "D": ("n", "n")},
         lambda v: v["b"].T @ v["X"].T @ v["D"] @ v["X"] @ v["c"]),
    Case("MC (83)", "(X*b + c)'*D*(X*b + c)", "X", {"b": M, "c": N, "X": ("n", "m"), "D": ("n", "n")},
         lambda v: (v["X"] @ v["b"] + v["c"]).T @ v["D"] @ (v["X"] @ v["b"] + v["c"])),
    # --- traces ---------------------------------------------------------------------------------------
    Case("MC (99)", "tr(X)", "X", {"X": ("n", "n")}, lambda v: np.trace(v["X"])),
    Case("MC (100)", "tr(X*A)", "X", {"X": ("n", "m"), "A": ("m", "n")}, lambda v: np.trace(v["X"] @ v["A"]),
         textbook="Aᵀ"),
    Case("MC (101)", "tr(A*X*B)", "X", {"A": ("m", "n"), "X": ("n", "m"), "B": ("m", "m")},
         lambda v: np.trace(v["A"] @ v["X"] @ v["B"]), textbook="AᵀBᵀ"),
    Case("MC (102)", "tr(A*X'*B)", "X", {"A": ("n", "m"), "X": ("n", "m"), "B": ("n", "n")},
         lambda v: np.trace(v["A"] @ v["X"].T @ v["B"])),
    Case("MC (103)", "tr(X'*A)", "X", {"X": ("n", "m"), "A": ("n", "m")}, lambda v: np.trace(v["X"].T @ v["A"])),
    Case("MC (104)", "tr(A*X')", "X", {"X": ("n", "m"), "A": ("n", "m")}, lambda v: np.trace(v["A"] @ v["X"].T)),
    Case("MC (106)", "tr(X^2)", "X", {"X": ("n", "n")}, lambda v: np.trace(v["X"] @ v["X"]), textbook="2Xᵀ"),
    Case("MC (107)", "tr(X^2*B)", "X", {"X": ("n", "n"), "B": ("n", "n")},
         lambda v: np.trace(v["X"] @ v["X"] @ v["B"])),
    Case("MC (108)", "tr(X'*B*X)", "X", {"X": ("n", "m"), "B": ("n", "n")},
         lambda v: np.trace(v["X"].T @ v["B"] @ v["X"]), textbook="(B + Bᵀ)X"),
    Case("MC (111)", "tr(X*B*X')", "X", {"X": ("n", "m"), "B": ("m", "m")},
         lambda v: np.trace(v["X"] @ v["B"] @ v["X"].T)),
    Case("MC (114)", "tr(A*X*B*X)", "X", {"X": ("n", "n"), "A": ("n", "n"), "B": ("n", "n")},
         lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"])),
    Case("MC (115)", "tr(X'*X)", "X", {"X": ("n", "m")}, lambda v: np.trace(v["X"].T @ v["X"]), textbook="2X"),
    Case("MC (116)", "tr(B'*X'*C*X*B)", "X", {"X": ("n", "m"), "B": ("m", "m"), "C": ("n", "n")},
         lambda v: np.trace(v["B"].T @ v["X"].T @ v["C"] @ v["X"] @ v["B"])),
    Case("MC (117)", "tr(X'*B*X*C)", "X", {"X": ("n", "m"), "B": ("n", "n"), "C": ("m", "m")},
         lambda v: np.trace(v["X"].T @ v["B"] @ v["X"] @ v["C"])),
    Case("MC (118)", "tr(A*X*B*X'*C)", "X", {"X": ("n", "m"), "A": ("n", "n"), "B": ("m", "m"), "C": ("n", "n")},
         lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"].T @ v["C"])),
    Case("MC (119)", "tr((A*X*B + C)*(A*X*B + C)')", "X",
         {"X": ("n", "m"), "A": ("n", "n"), "B": ("m", "m"), "C": ("n", "m")},
         lambda v: np.sum((v["A"] @ v["X"] @ v["B"] + v["C"]) ** 2)),
    Case("MC (121), k = 3", "tr(X^3)", "X", {"X": ("n", "n")}, lambda v: np.trace(v["X"] @ v["X"] @ v["X"])),
    # --- inverses and determinants (the matrix drawn symmetric positive definite) ---------------------
    Case("MC (61)", "a'*inv(X)*b", "X", {"a": N, "b": N, "X": ("n", "n")},
         lambda v: v["a"].T @ np.linalg.inv(v["X"]) @ v["b"], spd=("X",), textbook="−X⁻ᵀabᵀX⁻ᵀ"),
    Case("MC (124)", "tr(A*inv(X)*B)", "X", {"A": ("n", "n"), "B": ("n", "n"), "X": ("n", "n")},
         lambda v: np.trace(v["A"] @ np.linalg.inv(v["X"]) @ v["B"]), spd=("X",)),
    Case("MC (49)", "det(X)", "X", {"X": ("n", "n")}, lambda v: np.linalg.det(v["X"]), spd=("X",),
         textbook="det(X)X⁻ᵀ"),
    Case("MC (51)", "det(A*X*B)", "X", {"A": ("n", "n"), "B": ("n", "n"), "X": ("n", "n")},
         lambda v: np.linalg.det(v["A"] @ v["X"] @ v["B"]), spd=("X", "A", "B")),
    Case("MC (57)", "log(det(X))", "X", {"X": ("n", "n")}, lambda v: np.log(np.linalg.det(v["X"])), spd=("X",),
         textbook="X⁻ᵀ"),
    Case("MC (55), square X", "log(det(X'*X))", "X", {"X": ("n", "n")},
         lambda v: np.log(np.linalg.det(v["X"].T @ v["X"]))),
    # --- entrywise functions summed: the logistic and Poisson losses ---------------------------------
    Case("𝟏ᵀexp(Ax)", "ones(m,1)'*exp(A*x)", "x", {"A": ("m", "n"), "x": N},
         lambda v: np.sum(np.exp(v["A"] @ v["x"])), textbook="Aᵀexp(Ax)"),
    Case("𝟏ᵀσ(Ax)", "ones(m,1)'*sigmoid(A*x)", "x", {"A": ("m", "n"), "x": N},
         lambda v: np.sum(sigmoid(v["A"] @ v["x"])), textbook="Aᵀ(σ(Ax) ⊙ (𝟏 − σ(Ax)))"),
    Case("𝟏ᵀσ(Ax), Hessian", "ones(m,1)'*sigmoid(A*x)", "x", {"A": ("m", "n"), "x": N},
         lambda v: np.sum(sigmoid(v["A"] @ v["x"])), order=2, kind="hessian"),
    Case("𝟏ᵀsoftplus(Ax)", "ones(m,1)'*log(1 + exp(A*x))", "x", {"A": ("m", "n"), "x": N},
         lambda v: np.sum(softplus(v["A"] @ v["x"])), textbook="Aᵀσ(Ax)"),
    Case("logistic loss, PRML (4.91)", "ones(n,1)'*log(1 + exp(X*beta)) - y'*X*beta", "beta",
         {"X": ("n", "d"), "beta": ("d",), "y": N},
         lambda v: np.sum(softplus(v["X"] @ v["beta"])) - v["y"].T @ v["X"] @ v["beta"],
         textbook="Xᵀ(σ(Xβ) − y)"),
    Case("logistic loss, PRML (4.97)", "ones(n,1)'*log(1 + exp(X*beta)) - y'*X*beta", "beta",
         {"X": ("n", "d"), "beta": ("d",), "y": N},
         lambda v: np.sum(softplus(v["X"] @ v["beta"])) - v["y"].T @ v["X"] @ v["beta"], order=2, kind="hessian",
         textbook="Xᵀdiag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))X"),
    Case("cross-entropy form, PRML (4.90)-(4.91)",
         "-y'*log(sigmoid(X*beta)) - (ones(n,1) - y)'*log(ones(n,1) - sigmoid(X*beta))", "beta",
         {"X": ("n", "d"), "beta": ("d",), "y": N},
         lambda v: -(v["y"].T @ np.log(sigmoid(v["X"] @ v["beta"]))
                     + (1 - v["y"]).T @ np.log(1 - sigmoid(v["X"] @ v["beta"]))), textbook="Xᵀ(σ(Xβ) − y)"),
    Case("Poisson loss", "ones(n,1)'*exp(X*beta) - y'*X*beta", "beta", {"X": ("n", "d"), "beta": ("d",), "y": N},
         lambda v: np.sum(np.exp(v["X"] @ v["beta"])) - v["y"].T @ v["X"] @ v["beta"], order=2, kind="hessian",
         textbook="Xᵀdiag(exp(Xβ))X"),
    # --- Jacobians of vector functions -----------------------------------------------------------------
    Case("∂(Ax)/∂xᵀ = A", "A*x + b", "x", {"A": ("m", "n"), "x": N, "b": M}, lambda v: v["A"] @ v["x"] + v["b"],
         kind="jacobian", textbook="A"),
    Case("∂σ(Ax)/∂xᵀ", "sigmoid(A*x)", "x", {"A": ("m", "n"), "x": N}, lambda v: sigmoid(v["A"] @ v["x"]),
         kind="jacobian", textbook="diag(σ(Ax) ⊙ (𝟏 − σ(Ax)))A"),
    Case("∂(x ⊙ x)/∂xᵀ", "x .* x", "x", {"x": N}, lambda v: v["x"] * v["x"], kind="jacobian"),
    # --- softmax and log-sum-exp (Bishop, PRML §4.3.4; Boyd & Vandenberghe §3.1.5) ----------------------
    Case("log-sum-exp, BV (3.1.5)", "log(sum(exp(x)))", "x", {"x": N}, lambda v: np.log(np.sum(np.exp(v["x"]))),
         textbook="softmax(x)"),
    Case("log-sum-exp Hessian, BV (3.1.5)", "log(sum(exp(x)))", "x", {"x": N},
         lambda v: np.log(np.sum(np.exp(v["x"]))), order=2, kind="hessian",
         textbook="diag(softmax(x)) − softmax(x)softmax(x)ᵀ"),
    Case("logsumexp, Hessian", "logsumexp(x)", "x", {"x": N}, lambda v: np.log(np.sum(np.exp(v["x"]))), order=2,
         kind="hessian", textbook="diag(softmax(x)) − softmax(x)softmax(x)ᵀ"),
    Case("softmax Jacobian", "softmax(x)", "x", {"x": N}, lambda v: np.exp(v["x"]) / np.sum(np.exp(v["x"])),
         kind="jacobian", textbook="diag(softmax(x)) − softmax(x)softmax(x)ᵀ"),
    Case("softmax Jacobian, written out", "exp(x)/sum(exp(x))", "x", {"x": N},
         lambda v: np.exp(v["x"]) / np.sum(np.exp(v["x"])), kind="jacobian",
         textbook="diag(softmax(x)) − softmax(x)softmax(x)ᵀ"),
    Case("softmax cross-entropy, PRML (4.108)", "-y'*log(softmax(z))", "z", {"z": N, "y": ("n", "prob")},
         lambda v: -v["y"].T @ np.log(np.exp(v["z"]) / np.sum(np.exp(v["z"]))), textbook="softmax(z) − y"),
    Case("softmax cross-entropy, no assumption", "-y'*log(softmax(z))", "z", {"z": N, "y": N},
         lambda v: -v["y"].T @ np.log(np.exp(v["z"]) / np.sum(np.exp(v["z"]))), textbook="(𝟏ᵀy)softmax(z) − y"),
    Case("softmax cross-entropy Hessian", "-y'*log(softmax(z))", "z", {"z": N, "y": ("n", "prob")},
         lambda v: -v["y"].T @ np.log(np.exp(v["z"]) / np.sum(np.exp(v["z"]))), order=2, kind="hessian",
         textbook="diag(softmax(z)) − softmax(z)softmax(z)ᵀ"),
    Case("multinomial regression, PRML (4.109)", "-tr(Y'*log(softmax(X*W)))", "W",
         {"X": ("n", "d"), "W": ("d", "K"), "Y": ("n", "K", "prob")},
         lambda v: -np.sum(v["Y"] * np.log(np.exp(v["X"] @ v["W"]) / np.sum(np.exp(v["X"] @ v["W"]), 1, keepdims=True))),
         textbook="Xᵀ(softmax(XW) − Y)"),
    # --- norms and exponentials of linear forms ------------------------------------------------------------
    Case("MC (129), ‖x‖⁴", "||x||^4", "x", {"x": N}, lambda v: np.sum(v["x"] ** 2) ** 2, textbook="4‖x‖²x"),
    Case("MC (129), ‖x‖⁴ Hessian", "||x||^4", "x", {"x": N}, lambda v: np.sum(v["x"] ** 2) ** 2, order=2,
         kind="hessian", textbook="4‖x‖²I + 8xxᵀ"),
    Case("‖Ax − b‖", "||A*x - b||", "x", {"A": ("m", "n"), "x": N, "b": M},
         lambda v: np.linalg.norm(v["A"] @ v["x"] - v["b"]), textbook="Aᵀ(Ax − b)/‖Ax − b‖"),
    Case("exp(aᵀx), Hessian", "exp(a'*x)", "x", {"a": N, "x": N}, lambda v: np.exp(v["a"].T @ v["x"]), order=2,
         kind="hessian", textbook="exp(aᵀx)aaᵀ"),
    Case("x/‖x‖, Jacobian", "x/||x||", "x", {"x": N}, lambda v: v["x"] / np.linalg.norm(v["x"]), kind="jacobian",
         textbook="I/‖x‖ − xxᵀ/‖x‖³"),
    # --- Hessians with respect to a matrix, d vec(∇f) = H d vec(X) (Magnus & Neudecker ch. 10) ---------------
    Case("MC (108), Hessian", "tr(X'*A*X)", "X", {"X": ("n", "m"), "A": ("n", "n")},
         lambda v: np.trace(v["X"].T @ v["A"] @ v["X"]), order=2, kind="hessian", textbook="Iₘ ⊗ (A + Aᵀ)"),
    Case("MC (113), Hessian", "tr(X*A*X')", "X", {"X": ("n", "m"), "A": ("m", "m")},
         lambda v: np.trace(v["X"] @ v["A"] @ v["X"].T), order=2, kind="hessian", textbook="(A + Aᵀ) ⊗ Iₙ"),
    Case("MC (106), Hessian", "tr(X^2)", "X", {"X": ("n", "n")}, lambda v: np.trace(v["X"] @ v["X"]), order=2,
         kind="hessian", textbook="2K"),
    Case("MC (115), Hessian", "tr(X'*X)", "X", {"X": ("n", "m")}, lambda v: np.trace(v["X"].T @ v["X"]), order=2,
         kind="hessian", textbook="2I"),
    Case("MC (116), Hessian", "tr(X*B*X'*A)", "X", {"X": ("n", "m"), "A": ("n", "n"), "B": ("m", "m")},
         lambda v: np.trace(v["X"] @ v["B"] @ v["X"].T @ v["A"]), order=2, kind="hessian", textbook="B ⊗ Aᵀ + Bᵀ ⊗ A"),
    Case("MC (77), Hessian", "b'*X'*X*b", "X", {"X": ("n", "m"), "b": M},
         lambda v: v["b"].T @ v["X"].T @ v["X"] @ v["b"], order=2, kind="hessian", textbook="2(bbᵀ ⊗ Iₙ)"),
    Case("MC (57), Hessian", "log(det(X))", "X", {"X": ("n", "n")}, lambda v: np.log(np.linalg.det(v["X"])),
         order=2, kind="hessian", spd=("X",), textbook="−(X⁻¹ ⊗ X⁻ᵀ)K"),
    Case("MC (49), Hessian", "det(X)", "X", {"X": ("n", "n")}, lambda v: np.linalg.det(v["X"]), order=2,
         kind="hessian", spd=("X",)),
    Case("𝟏ᵀexp(X)𝟏, Hessian", "sum(exp(X))", "X", {"X": ("n", "m")}, lambda v: np.sum(np.exp(v["X"])), order=2,
         kind="hessian", textbook="diag(vec(exp(X)))"),
    Case("Poisson scores, Hessian", "sum(exp(A*X))", "X", {"X": ("n", "m"), "A": ("k", "n")},
         lambda v: np.sum(np.exp(v["A"] @ v["X"])), order=2, kind="hessian",
         textbook="(Iₘ ⊗ Aᵀ)diag(vec(exp(AX)))(Iₘ ⊗ A)"),
    Case("MC (70), Hessian", "a'*X*b", "X", {"X": ("n", "m"), "a": N, "b": M},
         lambda v: v["a"].T @ v["X"] @ v["b"], order=2, kind="hessian", textbook="0"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.source}: {c.text}" + (" (order 2)" if c.order == 2 else "")
                                             for c in CASES])
def test_identity_matches_finite_differences(case: Case):
    shapes = {k: v for k, v in case.shapes.items()}
    r = derive.diff(case.text, wrt=case.wrt, shapes=shapes, order=case.order)
    assert all(step.verified for step in r.steps)
    assert case.kind in r.results
    rng = np.random.default_rng(zlib.crc32(f"{case.text} {case.wrt}".encode()))
    problem = agrees(case, r.results[case.kind], rng, SIZE_DRAWS)
    assert problem is None, f"{case.source} {problem}"


@pytest.mark.parametrize("case", [c for c in CASES if c.textbook], ids=lambda c: f"{c.source}: {c.textbook}")
def test_identity_in_textbook_form(case: Case):
    r = derive.diff(case.text, wrt=case.wrt, shapes=case.shapes, order=case.order)
    assert derive.expr.printing.unicode(r.results[case.kind]) == case.textbook


def test_the_table_is_large_enough():
    assert len({c.source for c in CASES}) >= 30
