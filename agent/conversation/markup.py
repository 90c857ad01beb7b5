"""HTML in a message is markup, not words: tags are dropped, script and style blocks with their code.

A message like ``<script>alert(1)</script>`` holds nothing to understand; reading its code as search words
("script alert 1 script") would answer with picks for gibberish. :func:`strip_markup` keeps the words a
user wrote between tags (``<b>comedy</b> please`` → ``comedy please``) and says whether it dropped any
markup, so a message of markup alone gets a clear one-line reply and changes nothing. Only real HTML tag
names count as markup: "movies like <Heat>" or "I <3 romcoms" keep their text.

SQL statements are code too (``'; DROP TABLE users; --``): they are dropped when the message also holds
SQL punctuation (a ``;``, a ``--`` comment or a ``/* */`` comment), so plain English such as "select a
movie from 1995" or "the drop" is read as words. Messages are stored as bound parameters, never run as
SQL; this only keeps statement words out of the search.
"""

from __future__ import annotations

import re

MARKUP_REPLY = (
    "Your message held only code or markup, so there was nothing for me to read. "
    "Tell me about movies you like, or what you're in the mood for."
)

_TAGS = (
    "a|abbr|applet|audio|b|base|basefont|big|blink|blockquote|body|br|button|canvas|center|code|col|div|"
    "em|embed|font|form|frame|frameset|h[1-6]|head|hr|html|i|iframe|img|image|input|isindex|kbd|label|"
    "link|li|marquee|math|meta|noscript|object|ol|option|p|param|pre|q|s|script|select|small|source|span|"
    "strike|strong|style|sub|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|"
    "video|xml|xmp"
)
_BLOCK_RE = re.compile(  # a script or style element with its content (to the end when never closed)
    r"<\s*(script|style)\b[^>]*>.*?(?:<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_TAG_RE = re.compile(
    rf"<\s*/?\s*(?:{_TAGS})\b[^>]*>|<!--.*?(?:-->|$)|<!\[CDATA\[.*?(?:\]\]>|$)|<!doctype[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
_SQL_RE = re.compile(  # one statement, to its ";" or to the end of the message
    r"\b(?:(?:drop|truncate|alter)\s+(?:table|database|schema|view|index|user)"
    r"|delete\s+from|insert\s+into|update\s+\w+\s+set|union\s+(?:all\s+)?select"
    r"|select\s+(?:\*|[\w.]+(?:\s*,\s*[\w.]+)*)\s+from\s+[\w.]+\s*(?=;|--|$|where\b|limit\b|order\b|union\b)"
    r"|exec(?:ute)?\s+\w+|shutdown)\b[^;]*(?:;|$)",
    re.IGNORECASE | re.DOTALL,
)
_SQL_PUNCT_RE = re.compile(r";|--|/\*")
# comments, ";", and the injection's opening token ("x'", "Robert');"): a word ending in a quote
_SQL_LEFTOVER_RE = re.compile(r"/\*.*?(?:\*/|$)|--|(?<!\S)\S*['\"`][)\s]*(?:;|(?=\s|$))|;", re.DOTALL)


def strip_sql(text: str) -> tuple[str, bool]:
    """``text`` without SQL statements (and their quotes, ``;`` and comments) when it holds SQL punctuation;
    whether any were there."""
    if not _SQL_PUNCT_RE.search(text) or not _SQL_RE.search(text):
        return text, False
    out = " ".join(_SQL_LEFTOVER_RE.sub(" ", _SQL_RE.sub(" ", text)).split())
    return ("" if not any(ch.isalnum() for ch in out) else out), True


def strip_markup(text: str) -> tuple[str, bool]:
    """``text`` without HTML tags, comments and script/style blocks; whether any were there."""
    out = _TAG_RE.sub(" ", _BLOCK_RE.sub(" ", text))
    out = strip_sql(out)[0]
    if out == text:
        return text, False
    return " ".join(out.split()), True
