"""Linear-algebra facts of least squares, derived: projection, eigenvalues, the SVD and conditioning.

>>> import derive
>>> d = derive.derivation("projection")
>>> all(step.verified for step in d.steps), list(d.results)
(True, ['hat_matrix', 'fitted', 'residuals', 'trace'])

- `projection`: the hat matrix H = X(XᵀX)⁻¹Xᵀ is symmetric and idempotent, the residuals are orthogonal to
  the columns of X, tr H = d, and ‖y‖² = ‖ŷ‖² + ‖e‖²;
- `spectral`: a symmetric A = QΛQᵀ is positive semidefinite exactly when its eigenvalues are ≥ 0;
- `svd-least-squares`: with X = UΣVᵀ, XᵀX = VΣ²Vᵀ, β̂ = VΣ⁻¹Uᵀy = X⁺y, and the normal equations square the
  condition number: κ(XᵀX) = κ(X)².

Matrices with a structure (orthonormal columns, a diagonal of positive numbers) are drawn with that structure
at every random point, so each step is checked for every matrix of its kind.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.random_points import Domains, dimension, positive
from derive.core.steps import AtEigenpair, Derivation, Nonnegative
from derive.derivations.abbreviations import Named
from derive.derivations.abbreviations import unfold as unfold_named
from derive.derivations.statements import by_name
from derive.expr.notation import Notation
from derive.expr.symbols import Diag, Eye, X, d, n, y

FULL_RANK = {"n": dimension(6, 9), "d": dimension(2, 5)}   # n > d: X has full column rank



def orthonormal_columns(rng, shape):
    """A matrix with orthonormal columns (QᵀQ = I), square or tall."""
    q, r = np.linalg.qr(rng.standard_normal(shape))
    return q * np.sign(np.diag(r))


# ---------------------------------------------------------------------------------------------------
# projection: H = X(XᵀX)⁻¹Xᵀ
# ---------------------------------------------------------------------------------------------------
def projection() -> Derivation:
    D = Derivation("Least squares is an orthogonal projection", model="projection", form="matrix",
                   domains=Domains(FULL_RANK))
    D.symbols = [(X, "n×d data matrix of full column rank"), (y, "n×1 targets")]
    gram_inverse = sp.Inverse(X.T * X)
    hat = sp.MatMul(X, gram_inverse, X.T)
    H = Named("H", "H", hat)
    D.section("The hat matrix")
    fitted = Notation("ŷ", r"\hat{y}")
    D.step("fitted values", "ŷ = Xβ̂ with β̂ = (XᵀX)⁻¹Xᵀy (derive show ols): the fitted values are a fixed matrix "
           "H = X(XᵀX)⁻¹Xᵀ times y, the hat matrix (it puts the hat on y).", sp.MatMul(X, gram_inverse, X.T, y),
           sp.MatMul(H, y), lhs=fitted)
    D.section("H is symmetric and idempotent")
    transposed = Notation("Hᵀ", r"H^{\top}")
    middle = sp.MatMul(X, sp.Transpose(gram_inverse), X.T)
    D.step("(ABC)ᵀ = CᵀBᵀAᵀ", "Transpose the product factor by factor.", sp.Transpose(hat), middle, lhs=transposed)
    D.step("XᵀX is symmetric", "So is its inverse: ((XᵀX)⁻¹)ᵀ = ((XᵀX)ᵀ)⁻¹ = (XᵀX)⁻¹. H is symmetric.", middle,
           H, lhs=transposed)
    squared = Notation("H²", r"H^{2}")
    product = sp.MatMul(X, gram_inverse, X.T, X, gram_inverse, X.T)
    D.step("multiply out", "H² = X(XᵀX)⁻¹XᵀX(XᵀX)⁻¹Xᵀ.", sp.MatMul(H, H), product, lhs=squared)
    D.step("(XᵀX)⁻¹XᵀX = I", "The middle factors cancel: H² = H, projecting twice changes nothing (idempotent).",
           product, H, lhs=squared)
    D.section("The residuals are orthogonal to the columns of X")
    residual_maker = sp.MatAdd(Eye(n), -H)
    residuals = sp.MatMul(residual_maker, y)
    orthogonal = Notation("Xᵀe", r"X^{\top} e")
    D.step("e = (I − H)y", "The residuals e = y − ŷ = (I − H)y; multiply by Xᵀ.", sp.MatMul(X.T, residuals),
           sp.MatAdd(X.T * y, -sp.MatMul(X.T, X, gram_inverse, X.T, y)), lhs=orthogonal)
    D.step("XᵀX(XᵀX)⁻¹ = I", "Xᵀe = Xᵀy − Xᵀy = 0: the residuals are orthogonal to every column of X, which is "
           "the normal equations Xᵀ(y − Xβ̂) = 0 read geometrically.",
           sp.MatAdd(X.T * y, -sp.MatMul(X.T, X, gram_inverse, X.T, y)), sp.ZeroMatrix(d, 1), lhs=orthogonal)
    complement = Notation("(I − H)²", r"(I - H)^{2}")
    D.step("I − H is a projection too", "(I − H)² = I − 2H + H² = I − H: it projects onto the directions orthogonal "
           "to the columns of X.", sp.MatMul(residual_maker, residual_maker), residual_maker, lhs=complement)
    D.section("Dimension and Pythagoras")
    trace = Notation("tr H", r"\operatorname{tr} H")
    D.step("tr(AB) = tr(BA)", "tr(X(XᵀX)⁻¹Xᵀ) = tr((XᵀX)⁻¹XᵀX) = tr(I_d) = d: H projects onto the d-dimensional "
           "column space of X (d is the number of fitted parameters, the degrees of freedom of the fit).",
           sp.Trace(H), d, lhs=trace)
    fitted_part = sp.MatMul(H, y)
    pythagoras = sp.MatAdd(sp.MatMul(fitted_part.T, fitted_part), sp.MatMul(residuals.T, residuals))
    D.step("Pythagoras", "yᵀy = (Hy + (I − H)y)ᵀ(Hy + (I − H)y), and the cross terms are yᵀH(I − H)y = yᵀ(H − H²)y = 0: "
           "‖y‖² = ‖ŷ‖² + ‖e‖².", sp.MatMul(y.T, y), pythagoras, lhs=Notation("‖y‖²", r"\|y\|^{2}"))
    D.results = {"hat_matrix": hat, "fitted": sp.MatMul(hat, y), "residuals": unfold_named(residuals), "trace": d}
    return D


# ---------------------------------------------------------------------------------------------------
# spectral: A = QΛQᵀ is PSD ⇔ every eigenvalue ≥ 0
# ---------------------------------------------------------------------------------------------------
def spectral() -> Derivation:
    Q = sp.MatrixSymbol("Q", d, d)
    lam = sp.MatrixSymbol("lambda", d, 1)
    v = sp.MatrixSymbol("v", d, 1)
    D = Derivation("Symmetric matrices: eigendecomposition, and PSD ⇔ nonnegative eigenvalues", model="spectral",
                   form="matrix", domains=Domains({"d": dimension(2, 6), "Q": orthonormal_columns, "lambda": positive}))
    D.symbols = [(Q, "d×d orthogonal matrix of eigenvectors (QᵀQ = QQᵀ = I), column k is qₖ"),
                 (lam, "the eigenvalues λₖ, with Λ = diag(λ)"), (v, "any d×1 vector")]
    Lambda = Diag(lam)
    A = Named("A", "A", sp.MatMul(Q, Lambda, Q.T))
    D.section("The spectral theorem")
    D.step("eigenvectors", "A real symmetric A has an orthonormal basis of eigenvectors qₖ, Aqₖ = λₖqₖ; stacked, "
           "AQ = QΛ, and QᵀQ = I gives A = QΛQᵀ.", sp.MatMul(A, Q), sp.MatMul(Q, Lambda),
           lhs=Notation("AQ", "AQ"))
    quadratic = Notation("vᵀAv", r"v^{\top} A v")
    w = sp.MatMul(Q.T, v)
    D.step("rotate into the eigenbasis", "With w = Qᵀv (the coordinates of v in the eigenvectors), vᵀAv = vᵀQΛQᵀv = "
           "wᵀΛw = Σₖ λₖwₖ².", sp.MatMul(v.T, A, v), sp.MatMul(w.T, Lambda, w), lhs=quadratic)
    D.section("PSD ⇔ nonnegative eigenvalues")
    k_value = sp.Symbol("lambda_k", real=True)
    q_k = sp.MatrixSymbol("q_k", d, 1)
    D.step("⇒: test with an eigenvector", "If vᵀAv ≥ 0 for every v, take v = qₖ: qₖᵀAqₖ = λₖqₖᵀqₖ = λₖ, so λₖ ≥ 0.",
           sp.MatMul(q_k.T, A, q_k), k_value, check=AtEigenpair(A, k_value, q_k),
           lhs=Notation("qₖᵀAqₖ", r"q_k^{\top} A q_k"))
    D.step("⇐: a sum of nonnegative terms", "If every λₖ ≥ 0, then Σₖ λₖwₖ² ≥ 0 for every v: A is positive "
           "semidefinite (positive definite when every λₖ > 0).", sp.MatMul(w.T, Lambda, w),
           sp.MatMul(w.T, Lambda, w), check=Nonnegative(), lhs=quadratic)
    D.results = {"decomposition": sp.MatMul(Q, Lambda, Q.T), "quadratic_form": unfold_named(sp.MatMul(w.T, Lambda, w))}
    D.notes.append("So XᵀX, with vᵀXᵀXv = ‖Xv‖² ≥ 0, has eigenvalues ≥ 0: least squares is convex.")
    return D


# ---------------------------------------------------------------------------------------------------
# svd-least-squares: X = UΣVᵀ
# ---------------------------------------------------------------------------------------------------
def svd_least_squares() -> Derivation:
    U = sp.MatrixSymbol("U", n, d)
    V = sp.MatrixSymbol("V", d, d)
    s = sp.MatrixSymbol("s", d, 1)
    D = Derivation("Least squares by the SVD: the pseudo-inverse, and why the normal equations square κ",
                   model="svd-least-squares", form="matrix",
                   domains=Domains({**FULL_RANK, "U": orthonormal_columns, "V": orthonormal_columns, "s": positive}))
    D.symbols = [(U, "n×d with orthonormal columns (UᵀU = I)"), (V, "d×d orthogonal"),
                 (s, "the singular values σₖ > 0, with Σ = diag(s)"), (y, "n×1 targets")]
    Sigma = Named("Σ", r"\Sigma", Diag(s))
    X_svd = Named("X", "X", sp.MatMul(U, Sigma, V.T))
    D.section("The Gram matrix")
    gram = Notation("XᵀX", r"X^{\top} X")
    D.step("X = UΣVᵀ", "Every X of full column rank factors as UΣVᵀ (the thin singular value decomposition); "
           "XᵀX = VΣUᵀUΣVᵀ.", sp.MatMul(X_svd.T, X_svd), sp.MatMul(V, Sigma, U.T, U, Sigma, V.T), lhs=gram)
    D.step("UᵀU = I", "XᵀX = VΣ²Vᵀ: its eigenvalues are the squared singular values σₖ² of X.",
           sp.MatMul(V, Sigma, U.T, U, Sigma, V.T), sp.MatMul(V, Sigma, Sigma, V.T), lhs=gram)
    D.section("The solution and the pseudo-inverse")
    solution = Notation("β̂", r"\hat{\beta}")
    normal = sp.MatMul(sp.Inverse(sp.MatMul(V, Sigma, Sigma, V.T)), V, Sigma, U.T, y)
    D.step("β̂ = (XᵀX)⁻¹Xᵀy", "Put the factors into the normal-equations solution (derive show ols).",
           sp.MatMul(sp.Inverse(sp.MatMul(X_svd.T, X_svd)), X_svd.T, y), normal, lhs=solution)
    pseudo = sp.MatMul(V, sp.Inverse(Sigma), U.T, y)
    D.step("(VΣ²Vᵀ)⁻¹ = VΣ⁻²Vᵀ", "V is orthogonal (V⁻¹ = Vᵀ) and Σ diagonal, so VΣ⁻²VᵀVΣUᵀy = VΣ⁻¹Uᵀy = X⁺y, "
           "with the pseudo-inverse X⁺ = VΣ⁻¹Uᵀ. No XᵀX is formed: only divisions by the σₖ.", normal, pseudo,
           lhs=solution)
    D.step("X⁺X = I", "VΣ⁻¹UᵀUΣVᵀ = VVᵀ = I: X⁺ is a left inverse of X.", sp.MatMul(V, sp.Inverse(Sigma), U.T, X_svd),
           Eye(d), lhs=Notation("X⁺X", r"X^{+} X"))
    D.section("Conditioning")
    D.step("κ(XᵀX) = κ(X)²", "The condition number κ = σ_max/σ_min measures how much relative error a solve can "
           "amplify. XᵀX = VΣ²Vᵀ has singular values σₖ², so κ(XᵀX) = κ(X)²: the error bound of solving the normal "
           "equations is κ(X) times that of a QR or SVD solve.",
           sp.MatMul(V, Sigma, Sigma, V.T), sp.MatMul(V, Diag(sp.HadamardProduct(s, s)), V.T), lhs=gram)
    D.results = {"gram": sp.MatMul(V, Diag(sp.HadamardProduct(s, s)), V.T),
                 "pseudo_inverse": sp.MatMul(V, sp.Inverse(Diag(s)), U.T),
                 "solution": sp.MatMul(V, sp.Inverse(Diag(s)), U.T, y)}
    return D


DERIVATIONS = {"projection": projection, "spectral": spectral, "svd-least-squares": svd_least_squares}

derivation = by_name(DERIVATIONS)

