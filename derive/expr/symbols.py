"""The course's standard symbols, shared by every model, the input grammar and the fitting code.

Data matrix X (n×d), targets y (n×1), parameter vector β (d×1), ridge penalty λ. Dimensions are
positive integer symbols so that every result holds for any size.
"""
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

n, d, K = sp.symbols("n d K", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
beta = sp.MatrixSymbol("beta", d, 1)
lam = sp.Symbol("lambda", positive=True)

# Spellings of the parameter vector people use (DESIGN §5), all meaning β in a model context.
PARAMETER_ALIASES = ("beta", "b", "w", "theta")


class Eye(sp.Identity):
    """The identity matrix I, which becomes an explicit matrix under `.doit()` once its size is a number.

    (SymPy keeps `Identity(2)` symbolic, and `Matrix + 1.0*Identity(2)` then fails in `.evalf()`.)
    """

    def doit(self, **hints):
        rows = self.rows.doit(**hints) if hasattr(self.rows, "doit") else self.rows
        return sp.ImmutableMatrix.eye(int(rows)) if getattr(rows, "is_Integer", False) else Eye(rows)

    def _numpycode(self, printer):
        """numpy.eye(d), its size a symbol like any other argument (SymPy's printer refuses a symbolic size)."""
        return "%s(%s)" % (printer._module_format(printer._module + ".eye"), printer._print(self.rows))


class Ones(sp.OneMatrix):
    """The all-ones matrix 𝟏, explicit under `.doit()` once its shape is numbers (SymPy's stays symbolic)."""

    def doit(self, **hints):
        rows, cols = (sp.sympify(k).doit(**hints) for k in self.shape)
        if rows.is_Integer and cols.is_Integer:
            return sp.ImmutableMatrix.ones(int(rows), int(cols))
        return Ones(rows, cols)


class Diag(DiagMatrix):
    """diag(v), explicit under `.doit()` once v is (SymPy's DiagMatrix only evaluates an explicit v)."""

    def doit(self, **hints):
        vector = self.args[0].doit(**hints)
        if isinstance(vector, sp.MatrixBase):
            return sp.ImmutableMatrix.diag(*vector)
        return Diag(vector)

    def _eval_derivative(self, s):
        """d/ds diag(v) = diag(dv/ds) for a scalar s (SymPy's matrix derivatives handle matrices and vectors)."""
        return Diag(self.args[0].diff(s))

    def _numpycode(self, printer):
        """numpy.diagflat: the diagonal matrix of a column or a row alike (lambdify's numpy printer)."""
        return "%s(%s)" % (printer._module_format(printer._module + ".diagflat"), printer._print(self.args[0]))


class SymmetricMatrix(sp.MatrixSymbol):
    """A matrix declared symmetric (``W:nxn sym``): Wᵀ is W, so results read 2W(y − Xβ), not (W + Wᵀ)(y − Xβ)."""

    assumption = "sym"

    def _eval_transpose(self):
        return self


class PositiveDefiniteMatrix(SymmetricMatrix):
    """A matrix declared symmetric positive definite (``S:nxn pd``): S⁻ᵀ is S⁻¹, log det S is defined."""

    assumption = "pd"


class DiagonalMatrixSymbol(SymmetricMatrix):
    """A matrix declared diagonal (``D:nxn diag``)."""

    assumption = "diag"


class ProbabilityMatrix(sp.MatrixSymbol):
    """Probabilities (``y:n prob``, ``Y:nxK prob``): a column vector whose entries are ≥ 0 and sum to 1, or a
    matrix each of whose rows does (one-hot labels, class probabilities), as softmax makes them: 𝟏ᵀy = 1,
    Y𝟏 = 𝟏. Results use it: the cross-entropy gradient is softmax(z) − y, not (𝟏ᵀy)softmax(z) − y."""

    assumption = "prob"


# The assumptions a declaration may carry after its shape (DESIGN §5), and the matrix each one makes.
MATRIX_ASSUMPTIONS = {cls.assumption: cls for cls in (SymmetricMatrix, PositiveDefiniteMatrix, DiagonalMatrixSymbol,
                                                      ProbabilityMatrix)}
# The assumptions said of a square matrix only.
SQUARE_ASSUMPTIONS = frozenset({"sym", "pd", "diag"})


def evaluable(expr):
    """`expr` with 𝟏, I and diag(·) in the forms above, so that substituting numbers for every symbol and
    calling `.doit()` gives an explicit matrix (DESIGN §3) instead of SymPy leaving them symbolic."""
    if not isinstance(expr, sp.Basic) or isinstance(expr, sp.MatrixBase):
        return expr  # explicit matrices (components written out) hold scalars only: nothing to replace
    return expr.replace(lambda e: type(e) is sp.OneMatrix, lambda e: Ones(*e.shape)) \
        .replace(lambda e: type(e) is sp.Identity, lambda e: Eye(e.rows)) \
        .replace(lambda e: type(e) is DiagMatrix, lambda e: Diag(e.args[0]))

