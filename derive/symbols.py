"""The course's standard symbols, shared by every model, the input grammar and the fitting code.

Data matrix X (n×d), targets y (n×1), parameter vector β (d×1), ridge penalty λ. Dimensions are
positive integer symbols so that every result holds for any size.
"""
import sympy as sp

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
