r"""A person's numpy function as LaTeX, by latexify-py, with what latexify does not read as mathematics
rewritten first: a reduction written as a method, ``(r ** 2).sum()``, is ``np.sum(r ** 2)`` (latexify
would drop its receiver, printing ``\sum()``), and a transpose ``X.T`` is ``X^{\top}`` (latexify prints
``X.T``).

This module runs in the child process that imports the person's code (`derive.checking.code`), so it
imports nothing of derive's: only the standard library and latexify.
"""
from __future__ import annotations

import ast
import re

REDUCTIONS = {"sum", "mean", "prod", "max", "min", "dot"}   # methods that are numpy functions of the receiver
MODULES = {"np", "numpy", "math", "scipy", "special", "sp"}
_TRANSPOSE = r"\mathrm{transpose\_\_}"   # how latexify prints the name transpose__


class MethodsAsFunctions(ast.NodeTransformer):
    """``a.sum()`` => ``np.sum(a)``; ``a.dot(b)`` => ``np.dot(a, b)``; ``a.T`` => ``transpose__(a)``."""

    def visit_Call(self, node):
        self.generic_visit(node)
        method = node.func
        if isinstance(method, ast.Attribute) and method.attr in REDUCTIONS and not (
                isinstance(method.value, ast.Name) and method.value.id in MODULES):
            function = ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=method.attr, ctx=ast.Load())
            return ast.copy_location(ast.Call(func=function, args=[method.value, *node.args],
                                              keywords=node.keywords), node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if node.attr == "T":
            return ast.copy_location(ast.Call(func=ast.Name(id="transpose__", ctx=ast.Load()), args=[node.value],
                                              keywords=[]), node)
        return node


def function_latex(function) -> str:
    """The LaTeX of `function` (latexify's function style, with math symbols), receivers and transposes kept."""
    from latexify import codegen, parser, transformers
    tree = parser.parse_function(function)
    tree = MethodsAsFunctions().visit(tree)
    tree = transformers.AugAssignReplacer().visit(tree)
    latex = transposes(codegen.FunctionCodegen(use_math_symbols=True).visit(tree))
    return re.sub(r"\\mathrm\{(?:np|numpy)\}\.\\mathrm\{([A-Za-z]+)\}", r"\\operatorname{\1}", latex)


def transposes(latex: str) -> str:
    r"""``\mathrm{transpose__} \mathopen{}\left( X \mathclose{}\right)`` => ``X^{\top}``, and a longer
    argument => ``\left( … \right)^{\top}``."""
    opening, closing = r"\mathopen{}\left(", r"\mathclose{}\right)"
    while _TRANSPOSE in latex:
        start = latex.index(_TRANSPOSE)
        inner_start = latex.index(opening, start) + len(opening)
        depth, k = 1, inner_start
        while depth:
            next_open, next_close = latex.find(opening, k), latex.find(closing, k)
            if next_close < 0:
                return latex
            if 0 <= next_open < next_close:
                depth, k = depth + 1, next_open + len(opening)
            else:
                depth, k = depth - 1, next_close + len(closing)
        inner = latex[inner_start:k - len(closing)].strip()
        simple = re.fullmatch(r"\\?[A-Za-z]+(?:_\{?[A-Za-z0-9]+\}?)?", inner)
        shown = f"{inner}^{{\\top}}" if simple else f"\\mathopen{{}}\\left( {inner} \\mathclose{{}}\\right)^{{\\top}}"
        latex = latex[:start] + shown + latex[k:]
    return latex
