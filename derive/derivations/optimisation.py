"""Optimisation facts, derived: the descent lemma, gradient descent's rate on a quadratic, SGD's unbiased step.

>>> import derive
>>> d = derive.derivation("descent-lemma")
>>> all(step.verified for step in d.steps), list(d.results)
(True, ['step_size', 'decrease'])

- `descent-lemma`: for an L-smooth f, one gradient step of size 1/L decreases f by at least ‖∇f‖²/(2L);
- `gd-quadratic`: on f(x) = ½xᵀAx − bᵀx the error is multiplied by I − ηA each step, so it converges for
  0 < η < 2/λ_max, at the rate 1 − λ_min/λ_max = 1 − 1/κ with η = 1/λ_max;
- `sgd-unbiased`: the gradient of one uniformly drawn observation's loss is an unbiased estimate of the
  gradient of the average loss.

The smoothness inequality holds for every L-smooth f; its steps are checked on the L-smooth functions whose
value, gradient and curvature the machine can compute exactly at any point: quadratics ½xᵀAx − bᵀx with A
symmetric positive semidefinite and L its largest eigenvalue (drawn at random at every check).
"""
from __future__ import annotations

import sympy as sp

from derive.core.moments import Moments
from derive.core.random_points import Domains, dimension, positive, spd
from derive.core.steps import AtEigenpair, Derivation, ExpectedValues, Holds, IsGradient, Solves
from derive.derivations.abbreviations import Abbreviation, Named
from derive.derivations.statements import by_name
from derive.expr.expectation import AtMost, E
from derive.expr.notation import Notation
from derive.expr.symbols import Eye, Ones, X, beta, d, n, y

L = sp.Symbol("L", positive=True)
eta = sp.Symbol("eta", positive=True)
A = sp.MatrixSymbol("A", d, d)
b = sp.MatrixSymbol("b", d, 1)
x = sp.MatrixSymbol("x", d, 1)
z = sp.MatrixSymbol("z", d, 1)
g = sp.MatrixSymbol("g", d, 1)



def _quadratic(at):
    """f(v) = ½vᵀAv − bᵀv, the L-smooth functions the steps are checked on."""
    return sp.MatAdd(sp.MatMul(sp.Rational(1, 2), at.T, A, at), -sp.MatMul(b.T, at))


def descent_lemma() -> Derivation:
    D = Derivation("The descent lemma: a gradient step of size 1/L decreases an L-smooth loss", model="descent-lemma",
                   form="matrix", domains=Domains({"d": dimension(2, 6), "A": spd}))
    D.symbols = [(x, "the current point"), (L, "a Lipschitz constant of ∇f: ‖∇f(u) − ∇f(v)‖ ≤ L‖u − v‖")]
    gradient = Named("∇f(x)", r"\nabla f(x)", sp.MatAdd(A * x, -b))
    f_x = Abbreviation("f(x)", "f(x)", _quadratic(x))
    f_z = Abbreviation("f(z)", "f(z)", _quadratic(z))
    largest = AtEigenpair(A, L, inner=Holds(), largest=True)   # L = λ_max(A): the smallest valid constant
    D.section("The smoothness bound")
    step = sp.MatAdd(z, -x)
    bound = f_x + Abbreviation("∇f(x)ᵀ(z − x)", r"\nabla f(x)^{\top}(z - x)", sp.MatMul(gradient.T, step)) \
        + L / 2 * Abbreviation("‖z − x‖²", r"\|z - x\|^{2}", sp.MatMul(step.T, step))
    D.step("L-smooth ⇒ quadratic upper bound", "f(z) − f(x) − ∇f(x)ᵀ(z − x) = ∫₀¹(∇f(x + t(z − x)) − ∇f(x))ᵀ(z − x)dt "
           "≤ ∫₀¹ tL‖z − x‖²dt = (L/2)‖z − x‖²: f lies below a parabola of curvature L around every point.",
           f_z, AtMost(f_z, bound, evaluate=False), check=largest, relation="")
    D.section("One gradient step")
    moved = sp.MatAdd(x, -sp.MatMul(1 / L, gradient))
    f_moved = Abbreviation("f(x − ∇f(x)/L)", r"f\left(x - \tfrac{1}{L}\nabla f(x)\right)", _quadratic(
        sp.MatAdd(x, -sp.MatMul(1 / L, sp.MatAdd(A * x, -b)))))
    squared = Abbreviation("‖∇f(x)‖²", r"\|\nabla f(x)\|^{2}", sp.MatMul(gradient.T, gradient))
    at_step = sp.Add(f_x, -squared / L, sp.Mul(L / 2, squared / L ** 2, evaluate=False), evaluate=False)
    label = Notation("bound at z = x − ∇f(x)/L", r"\text{bound at } z = x - \tfrac{1}{L}\nabla f(x)")
    D.step("put z = x − ∇f(x)/L", "z − x = −∇f(x)/L, so ∇f(x)ᵀ(z − x) = −‖∇f(x)‖²/L and ‖z − x‖² = ‖∇f(x)‖²/L².",
           bound.subs(z, moved), at_step, lhs=label)
    decrease = D.step("simplify", "−1/L + (L/2)(1/L²) = −1/(2L).", at_step, f_x - squared / (2 * L), lhs=label)
    D.step("the descent lemma", "f(x − ∇f(x)/L) ≤ f(x) − ‖∇f(x)‖²/(2L): every step decreases f, by at least "
           "‖∇f(x)‖²/(2L), unless ∇f(x) = 0 (x is stationary). Summed over k steps, min ‖∇f‖² ≤ 2L(f(x₀) − f*)/k.",
           f_moved, AtMost(f_moved, decrease, evaluate=False), check=largest, relation="")
    D.results = {"step_size": 1 / L, "decrease": sp.MatMul(1 / (2 * L), g.T, g)}
    D.notes.append("In the results g stands for ∇f(x): the guaranteed decrease is gᵀg/(2L) = ‖∇f(x)‖²/(2L).")
    D.notes.append("For least squares ‖y − Xβ‖², ∇²f = 2XᵀX, so L = 2λ_max(XᵀX) (derive show ols).")
    return D


def gd_quadratic() -> Derivation:
    D = Derivation("Gradient descent on a quadratic: the rate from the Hessian's eigenvalues", model="gd-quadratic",
                   form="matrix", domains=Domains({"d": dimension(2, 6), "A": spd, "eta": positive}))
    D.symbols = [(A, "the Hessian, d×d symmetric positive definite"), (b, "d×1"), (x, "the current iterate"),
                 (eta, "the step size η > 0")]
    objective = _quadratic(x)
    gradient = D.step("the gradient", "∇(½xᵀAx) = Ax for symmetric A, and ∇(bᵀx) = b.", objective,
                      sp.MatAdd(A * x, -b), check=IsGradient(x), lhs=Notation("∇f(x)", r"\nabla f(x)"))
    minimiser = sp.MatMul(sp.Inverse(A), b)
    D.step("the minimiser", "∇f(x*) = 0 ⇔ Ax* = b.", sp.Eq(gradient, sp.ZeroMatrix(d, 1), evaluate=False), minimiser,
           check=Solves(x), lhs=Notation("x*", "x^{*}"))
    optimum = Named("x*", "x^{*}", minimiser)
    update = sp.MatAdd(x, -sp.MatMul(eta, gradient))
    error = Notation("x − η∇f(x) − x*", r"x - \eta \nabla f(x) - x^{*}")
    D.step("the error after one step", "b = Ax*, so x − η(Ax − b) − x* = (x − x*) − ηA(x − x*).",
           sp.MatAdd(update, -optimum), sp.MatMul(sp.MatAdd(Eye(d), sp.MatMul(-1, eta, A, evaluate=False)), sp.MatAdd(x, -optimum)),
           lhs=error)
    value = sp.Symbol("lambda_k", real=True)
    q = sp.MatrixSymbol("q_k", d, 1)
    iteration = sp.MatAdd(Eye(d), sp.MatMul(-1, eta, A, evaluate=False))
    D.step("along each eigenvector", "An eigenvector qₖ of A (eigenvalue λₖ) is multiplied by 1 − ηλₖ: the error "
           "shrinks in every direction when |1 − ηλₖ| < 1 for all k, that is 0 < η < 2/λ_max. With η = 1/λ_max the "
           "slowest direction, λ_min, keeps the factor 1 − λ_min/λ_max = 1 − 1/κ(A).", sp.MatMul(iteration, q),
           sp.MatMul(sp.Add(1, -eta * value, evaluate=False), q), check=AtEigenpair(A, value, q), lhs=Notation("(I − ηA)qₖ", r"(I - \eta A) q_k"))
    D.results = {"gradient": gradient, "solution": minimiser, "iteration_matrix": iteration}
    D.notes.append("After k steps the error is (I − ηA)ᵏ(x₀ − x*): about κ(A)·ln(1/ε) steps of size 1/λ_max reach "
                   "accuracy ε. Newton's method, x − A⁻¹∇f(x) = x*, takes one.")
    return D


def sgd_unbiased() -> Derivation:
    e = sp.MatrixSymbol("e", n, 1)
    D = Derivation("Stochastic gradient descent: one observation's gradient is unbiased", model="sgd-unbiased",
                   form="matrix", domains=Domains({"n": dimension(3, 9), "d": dimension(2, 5)}))
    D.symbols = [(X, "n×d data"), (y, "n×1 targets"),
                 (e, "the indicator of the observation drawn: eᵢ (1 in row i, 0 elsewhere), i uniform on 1…n")]
    residual = sp.MatAdd(y, -X * beta)
    one = sp.MatMul(e.T, residual)
    loss_i = sp.MatMul(one.T, one)
    stochastic = D.step("the loss of observation i", "ℓᵢ(β) = (yᵢ − xᵢᵀβ)² = (eᵢᵀ(y − Xβ))²; its gradient, by the chain "
                        "rule, is −2xᵢ(yᵢ − xᵢᵀβ).", loss_i, sp.MatMul(-2, X.T, e, e.T, residual), check=IsGradient(beta),
                        lhs=Notation("∇ℓᵢ(β)", r"\nabla \ell_i(\beta)"))
    uniform = ExpectedValues(Moments(e, sp.MatMul(sp.Rational(1, 1) / n, Ones(n, 1)),
                                     sp.MatAdd(sp.MatMul(1 / n, Eye(n)), -sp.MatMul(1 / n ** 2, Ones(n, 1), Ones(n, 1).T))))
    label = Notation("E[∇ℓᵢ(β)]", r"\mathbb{E}[\nabla \ell_i(\beta)]")
    D.step("linearity of expectation", "Only eᵢ is random.", E(stochastic), sp.MatMul(-2, X.T, E(e * e.T), residual),
           check=uniform, lhs=label)
    average = sp.MatMul(-2 / n, X.T, residual)
    D.step("E[eᵢeᵢᵀ] = I/n", "eᵢeᵢᵀ has a single 1, at (i, i), with probability 1/n for each i.",
           sp.MatMul(-2, X.T, E(e * e.T), residual), average, check=uniform, lhs=label)
    full = sp.MatMul(1 / n, residual.T, residual)
    D.step("the full gradient", "−(2/n)Xᵀ(y − Xβ) is the gradient of the average loss (1/n)‖y − Xβ‖²: the stochastic "
           "gradient is unbiased, so SGD follows gradient descent on average, with noise that a decreasing step size "
           "averages out.", full, average, check=IsGradient(beta),
           lhs=Notation("∇(1/n)‖y − Xβ‖²", r"\nabla \tfrac{1}{n}\|y - X\beta\|^{2}"))
    D.results = {"stochastic_gradient": stochastic, "expected_gradient": average}
    return D


DERIVATIONS = {"descent-lemma": descent_lemma, "gd-quadratic": gd_quadratic, "sgd-unbiased": sgd_unbiased}

derivation = by_name(DERIVATIONS)

