"""Movie title resolution: exact, normalised and fuzzy lookup, and title spotting in free text.

``TitleResolver.resolve`` answers "which movie is this string?"; ``TitleResolver.find_mentions``
scans a chat message for title spans. Titles made of everyday words ("Up", "Her", "Crash", "Kids")
are only taken from free text when the writing signals a title: capitals mid-sentence, quotes, a
following year, or a cue such as "loved"/"like"/"seen" right before them.

The modules build on each other in one direction: :mod:`~retrieval.titles.normalisation` (tokens and
aliases) <- :mod:`~retrieval.titles.resolver` (:class:`TitleResolver`) <- :mod:`~retrieval.titles.spotting`
(:class:`TitleSpan`, mentions in free text).
"""

from retrieval.titles.normalisation import normalize, tokens
from retrieval.titles.resolver import (
    AMBIGUITY_MARGIN,
    MAX_NGRAM,
    MAX_RESOLVE_CHARS,
    TitleMatch,
    TitleResolver,
    ambiguous_alternatives,
    is_ambiguous,
)
from retrieval.titles.spotting import MAX_FUZZY_CALLS, MAX_MENTIONS, MAX_SCAN_CHARS, TitleSpan

__all__ = [
    "AMBIGUITY_MARGIN",
    "MAX_FUZZY_CALLS",
    "MAX_MENTIONS",
    "MAX_NGRAM",
    "MAX_RESOLVE_CHARS",
    "MAX_SCAN_CHARS",
    "TitleMatch",
    "TitleResolver",
    "TitleSpan",
    "ambiguous_alternatives",
    "is_ambiguous",
    "normalize",
    "tokens",
]
