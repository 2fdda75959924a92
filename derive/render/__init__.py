"""Derivations as documents: text, LaTeX, Markdown and JSON, written from the public Step/Derivation records."""
