"""The Lark LALR parser for the input grammar, built once and then kept in the user's cache.

Building the LALR tables takes longer than reading them back, and every `derive` command that reads a
formula (a model file, `diff`, `check`) needs them, so the built parser is saved with Lark's own `save`
and loaded with `Lark.load` on later runs (`derive.core.user_cache`: named by the grammar, the Lark
version and the Python version, written atomically, ignored when missing or unreadable).  The entry is
a pickle, as Lark's own cache is; it lives in the user's own cache directory, never in the package.

This module imports Lark, so `derive.parse.grammar` imports it only when a formula is first parsed.
"""
from __future__ import annotations

import io
import sys

import lark
from lark import Lark
from lark.lexer import Lexer

from derive.core import user_cache


class TokenStream(Lexer):
    """Lark's side of derive's lexer (`derive.parse.lexer`): the tokens are made already.

    It is a module-level class so that a saved parser can name it."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, tokens, *args):
        return iter(tokens)


def load_or_build(grammar: str) -> Lark:
    """The LALR parser for `grammar` over ready-made tokens: from the cache if it holds one, else built."""
    name = user_cache.entry_name("lark-parser", grammar, lark.__version__, sys.version, __name__)
    saved = user_cache.read(name)
    if saved is not None:
        try:
            return Lark.load(io.BytesIO(saved))
        except Exception:  # a corrupt or foreign entry is no entry: build it afresh and overwrite it
            pass
    parser = Lark(grammar, parser="lalr", lexer=TokenStream)
    buffer = io.BytesIO()
    parser.save(buffer)
    user_cache.write(name, buffer.getvalue())
    return parser
