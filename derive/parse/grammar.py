r"""The input grammar: a Lark LALR(1) grammar over the lexer's tokens, and its tree built into SymPy.

Lark is imported, and the parser made (read from the user's cache, or built), only on first use.  The
tree is evaluated bottom up without recursion, one `derive.parse.builder.Builder` method per rule.
"""
from __future__ import annotations

import functools

import sympy as sp

from derive.core.limits import MAX_NESTING
from derive.errors import LimitExceeded, ParseError
from derive.parse.builder import Builder, ParseContext
from derive.parse.input_text import quote, unexpected, where
from derive.parse.lexer import Lexeme

# LALR(1) over the lexer's tokens.  A product is a flat list of factors, prefix functions (\log x) and
# sums (\sum_i ...); `Builder.product` decides how far each prefix reaches.  Terminals starting with _
# are dropped from the tree.
GRAMMAR = r"""
?start: sum
?sum: signed ((PLUS | MINUS) signed)*
?signed: MINUS signed                              -> neg
       | PLUS signed                               -> pos
       | product
product: lead item*
?lead: factor
     | FUNC SUB?                                   -> bare_function
     | BIGOP SUB? (CARET exponent)?                -> bigop
?item: lead
     | mulop lead                                  -> operation
mulop: (STAR | SLASH | HADAMARD | HDIV) (MINUS | PLUS)*
?factor: postfix
       | postfix CARET exponent                    -> power
       | postfix HPOW exponent                     -> hpower
?exponent: MINUS exponent                          -> neg
         | PLUS exponent                           -> pos
         | factor
?postfix: atom
        | postfix TRANSPOSE                        -> transpose
        | postfix USUP                             -> usup
?atom: NUMBER                                      -> number
     | NAME SUB?                                   -> name
     | _LPAR sum _RPAR
     | _LBRACKET rows _RBRACKET                    -> bracket
     | FUNC SUB? _CALL_LPAR arglist _RPAR          -> call
     | FRAC atom atom                              -> frac
     | SQRT atom                                   -> sqrt
     | _NORM_OPEN sum _NORM_CLOSE SUB?             -> norm
     | _ABS_OPEN sum _ABS_CLOSE                    -> abs
arglist: sum (_COMMA sum)*
rows: row (_SEMI row)*
row: sum (_COMMA sum)*
%declare NUMBER NAME FUNC BIGOP FRAC SQRT SUB CARET HPOW TRANSPOSE USUP PLUS MINUS STAR SLASH HADAMARD HDIV
%declare _LPAR _RPAR _LBRACKET _RBRACKET _CALL_LPAR _COMMA _SEMI _NORM_OPEN _NORM_CLOSE _ABS_OPEN _ABS_CLOSE
"""

_OPERAND_STARTS = {"NUMBER", "NAME", "FUNC", "BIGOP", "FRAC", "SQRT", "_LPAR", "_LBRACKET", "_NORM_OPEN",
                   "_ABS_OPEN"}
_TOKEN_NAMES = {"_RPAR": "')'", "_RBRACKET": "']'", "_COMMA": "','", "_SEMI": "';'", "_CALL_LPAR": "'('",
                "_NORM_CLOSE": "'\\|'", "_ABS_CLOSE": "'|'"}


@functools.lru_cache(maxsize=None)
def lalr_parser():
    """The Lark LALR parser, made on first use (`derive.parse.lark_parser` keeps it between runs)."""
    from derive.parse.lark_parser import load_or_build

    return load_or_build(GRAMMAR)


def build(lexemes: list[Lexeme], context: ParseContext) -> sp.Basic:
    """Parse `lexemes` with the grammar and build the SymPy expression, shapes checked."""
    from lark import Token
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    text = context.text
    if not lexemes:
        raise ParseError(f"empty expression {quote(text, 0)}")
    tokens = [Token(lx.kind, lx.value, start_pos=lx.pos, end_pos=lx.end) for lx in lexemes]
    context.lexemes.update((lx.pos, lx) for lx in lexemes)
    try:
        tree = lalr_parser().parse(tokens)
    except UnexpectedToken as error:
        token = error.token
        if token.type == "$END":
            place, what = max(lx.end for lx in lexemes), "end of input"
        else:
            place, what = token.start_pos, context.lexemes[token.start_pos].quoted(text)
        raise unexpected(text, place, what, _expected(error.expected)) from None
    except UnexpectedInput as error:  # any other grammar failure: still one line with a place
        raise unexpected(text, lexemes[0].pos, "input", str(error).splitlines()[0]) from None
    builder = Builder(context)
    try:
        return builder.finish(_evaluate(tree, builder))
    except RecursionError:
        raise LimitExceeded(f"the expression is nested too deeply {where(text, 0)}") from None


def _expected(terminals) -> str:
    wanted = []
    if set(terminals) & _OPERAND_STARTS:
        wanted.append("a number, a name or '('")
    wanted += [_TOKEN_NAMES[t] for t in sorted(terminals) if t in _TOKEN_NAMES]
    return "expected " + " or ".join(wanted) if wanted else ""


def _evaluate(tree, builder: Builder):
    """Build the tree bottom up without recursion, refusing trees deeper than the nesting limit allows."""
    max_depth = 3 * MAX_NESTING  # each bracket level is at most a few tree levels
    results: list = []
    stack = [(tree, 1, False)]
    while stack:
        node, depth, ready = stack.pop()
        if not hasattr(node, "data"):  # a token
            results.append(node)
        elif ready:
            count = len(node.children)
            children = results[len(results) - count:]
            del results[len(results) - count:]
            results.append(getattr(builder, node.data)(children))
        else:
            if depth > max_depth:
                raise LimitExceeded(f"the expression is nested more than {max_depth} levels deep "
                                    f"{where(builder.context.text, 0)}")
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(node.children))
    return results[0]
