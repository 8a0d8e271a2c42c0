"""CQL2 text parsed with pygeofilter's own grammar and transformer, three rules mended.

Why not pygeofilter's parser as it ships (0.4): its string literal ends at the first quote, so CQL2's
doubled quote (``name = 'N''Diaye'``, a common Senegalese name) is a syntax error; ``NOT`` takes only a
predicate, so ``NOT ((population > 1))`` is one too; and a property name must be two characters or more,
starting with a letter, so a Kobo export's ``_index`` must be double-quoted. The grammar is read from the
installed pygeofilter and each mend checks that the rule it replaces is still there, so an upgrade that
changes them fails the tests instead of parsing differently.

``cql-text`` (the draft name GDAL's OAPIF driver sends, up to 3.12) is the same grammar with ``ILIKE``,
which GDAL writes for a case-insensitive LIKE.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, v_args
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

_MENDS = (
    ('SINGLE_QUOTED: "\'" /.*?/ "\'"', 'SINGLE_QUOTED: "\'" /(?:[^\']|\'\')*/ "\'"'),
    (('            | "NOT"i predicate                                               -> not_\n'
      '            | "NOT"i "(" predicate ")"                                       -> not_\n'),
     '            | "NOT"i condition_1                                             -> not_\n'),
    ("attribute: /[a-zA-Z][a-zA-Z_:0-9.]+/", "attribute: /[a-zA-Z_][a-zA-Z_:0-9.]*/"),
)
_ILIKE = ('          | expression "NOT"i "LIKE"i expression                          -> not_like\n',
          ('          | expression "NOT"i "LIKE"i expression                          -> not_like\n'
           '          | expression "ILIKE"i expression                                -> ilike\n'
           '          | expression "NOT"i "ILIKE"i expression                         -> not_ilike\n'))


@v_args(meta=False, inline=True)
class _Transformer(CQLTransformer):
    def SINGLE_QUOTED(self, token):  # lark names the method after the terminal
        return token[1:-1].replace("''", "'")


@lru_cache(maxsize=2)
def _parser(ilike: bool) -> Lark:
    package = resources.files("pygeofilter.parsers")
    grammar = (package / "cql2_text" / "grammar.lark").read_text(encoding="utf-8")
    for old, new in (*_MENDS, *((_ILIKE,) if ilike else ())):
        if old not in grammar:
            raise RuntimeError(f"pygeofilter's CQL2 grammar changed: {old.strip()!r} is gone")
        grammar = grammar.replace(old, new)
    return Lark(grammar, parser="lalr", maybe_placeholders=False, transformer=_Transformer(),
                import_paths=[str(Path(str(package)))])


def parse_text(text: str, ilike: bool = False):
    """pygeofilter's AST of CQL2 text (``ilike``: GDAL's draft cql-text, with ILIKE)."""
    return _parser(ilike).parse(text)
