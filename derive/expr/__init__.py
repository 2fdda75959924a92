"""What expressions are: the model symbols, the scalar functions, notation nodes, the algebra a person does
on paper, and the printers that write expressions as a textbook does (Unicode text, LaTeX, plain input)."""

import derive.expr.sympy_interop  # noqa: F401  (registers derive's nodes with SymPy's .diff and .evalf)
