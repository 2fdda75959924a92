"""vec notation, for derivatives with respect to a matrix (Magnus & Neudecker, ch. 2): vec(A) stacks the
columns of A into one column, and the commutation matrix K turns vec(A) into vec(Aᵀ). A Hessian with
respect to an m×n matrix X is the mn×mn matrix H with d vec(∇f) = H d vec(X).
"""
import sympy as sp


class Vec(sp.MatrixExpr):
    """vec(A): the columns of A stacked into one column (mn×1 for an m×n A)."""

    prints_as_symbol = True   # vec(A)ᵀ, not (vec(A))ᵀ

    def __new__(cls, arg):
        return super().__new__(cls, sp.sympify(arg))

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.arg.rows * self.arg.cols, 1)

    def doit(self, **hints):
        arg = self.arg.doit(**hints)
        if isinstance(arg, sp.MatrixBase):
            return sp.ImmutableMatrix([arg[i, j] for j in range(arg.cols) for i in range(arg.rows)])
        return Vec(arg)

    def _latex(self, printer):
        return r"\operatorname{vec}\left(%s\right)" % printer._print(self.arg)

    def _unicode(self, printer):
        return "vec(%s)" % printer._print(self.arg)

    def _sympystr(self, printer):
        return "vec(%s)" % printer._print(self.arg)


class Commutation(sp.MatrixExpr):
    """K, the commutation matrix of an m×n matrix A: K vec(A) = vec(Aᵀ) (Magnus & Neudecker, ch. 3.7), with
    vec stacking the columns. It is mn×mn; `.doit()` writes it out once m and n are numbers."""

    def __new__(cls, rows, cols):
        return super().__new__(cls, sp.sympify(rows), sp.sympify(cols))

    @property
    def shape(self):
        return (self.args[0] * self.args[1], self.args[0] * self.args[1])

    def explicit(self, m: int, n: int):
        entries = sp.zeros(m * n, m * n)
        for i in range(m):
            for j in range(n):
                entries[i * n + j, j * m + i] = 1  # vec(Aᵀ) holds A[i, j] at i·n + j; vec(A) at j·m + i
        return sp.ImmutableMatrix(entries)

    def doit(self, **hints):
        m, n = (sp.sympify(k).doit(**hints) for k in self.args)
        return self.explicit(int(m), int(n)) if m.is_Integer and n.is_Integer else Commutation(m, n)

    def _latex(self, printer):
        return "K"

    def _unicode(self, printer):
        return "K"

    def _sympystr(self, printer):
        return "commutation(%s, %s)" % tuple(printer._print(k) for k in self.args)  # as derive reads it
