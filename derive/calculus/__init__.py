"""Differentiation, step by step: scalar rules, matrix differentials and their read-off, identity tables,
index (Σ) form, components, the textbook form of results, and the `diff` front end."""
