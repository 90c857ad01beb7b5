"""Title resolution: which catalogue movie a title string names, by exact, normalised and fuzzy lookup.

The index maps every alias key of every title (see :mod:`retrieval.titles.normalisation`) to its movies
with a weight; scores blend that weight, fuzzy similarity, an optional year and the movie's popularity.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from retrieval.catalogue import Catalogue
from retrieval.titles.normalisation import (
    _ARTICLES,
    _COMMON,
    _W_AKA,
    _W_NO_ARTICLE,
    _W_PARTIAL,
    _YEAR_TAIL_RE,
    _aliases,
    _is_sequel_of,
    _move_trailing_article,
    tokens,
)
from retrieval.types import Movie

if TYPE_CHECKING:
    from retrieval.titles.spotting import TitleSpan

MAX_RESOLVE_CHARS = 300
MAX_NGRAM = 12
AMBIGUITY_MARGIN = 0.1
_MIN_SCORE = 0.7
_FUZZY_FLOOR = 70.0


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """One candidate movie for a title string; ``score`` in 0..1, 1 being an exact popular match."""

    movie_id: int
    title: str
    year: int | None
    score: float


def is_ambiguous(matches: Sequence[TitleMatch], margin: float = AMBIGUITY_MARGIN) -> bool:
    """True when the runner-up is within ``margin`` of the best match."""
    return len(matches) > 1 and matches[1].score >= matches[0].score - margin


def ambiguous_alternatives(
    matches: Sequence[TitleMatch], margin: float = AMBIGUITY_MARGIN
) -> tuple[int, ...]:
    """Ids of the matches after the first that score within ``margin`` of it."""
    if not matches:
        return ()
    floor = matches[0].score - margin
    return tuple(m.movie_id for m in matches[1:] if m.score >= floor)


class TitleResolver:
    """Resolves title strings against a :class:`Catalogue` (built once, then read-only)."""

    def __init__(self, catalogue: Catalogue | Iterable[Movie]) -> None:
        movies = list(catalogue)
        self._movies: dict[int, Movie] = {m.movie_id: m for m in movies}
        top = max((m.rating_count for m in movies), default=0)
        denom = math.log1p(top) if top > 0 else 1.0
        self._pop: dict[int, float] = {m.movie_id: math.log1p(max(m.rating_count, 0)) / denom for m in movies}
        index: dict[str, dict[int, float]] = {}
        for m in movies:
            for key, weight in _aliases(m.title).items():
                slot = index.setdefault(key, {})
                slot[m.movie_id] = max(slot.get(m.movie_id, 0.0), weight)
        self._index: dict[str, tuple[tuple[int, float], ...]] = {
            k: tuple(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in index.items()
        }
        self._keys_by_len: list[str] = sorted(self._index, key=len)
        self._key_lens: list[int] = [len(k) for k in self._keys_by_len]
        self._by_token: dict[str, list[str]] = {}
        for key, hits in self._index.items():
            if max(w for _, w in hits) >= _W_AKA:
                for tok in set(key.split(" ")):
                    self._by_token.setdefault(tok, []).append(key)
        self._memo: dict[tuple[str, int | None], tuple[TitleMatch, ...]] = {}
        self._ngram_len: dict[str, int] = {}
        for key in self._index:
            parts = key.split(" ")
            if len(parts) <= MAX_NGRAM:
                first = parts[0]
                self._ngram_len[first] = max(self._ngram_len.get(first, 0), len(parts))

    # ----------------------------------------------------------------- resolve

    def resolve(self, text: str, limit: int = 5) -> list[TitleMatch]:
        """Best catalogue matches for a title string, best first (empty when nothing is close)."""
        if not isinstance(text, str) or limit <= 0:
            return []
        text = text[:MAX_RESOLVE_CHARS]
        variants: list[tuple[list[str], int | None]] = [(tokens(_move_trailing_article(text)), None)]
        ym = _YEAR_TAIL_RE.search(text)
        if ym and ym.start() > 0:
            head = _move_trailing_article(text[: ym.start()])
            variants.append((tokens(head), int(ym.group(1))))
        best: dict[int, float] = {}
        for toks, year in variants:
            for mid, score in self._rank(toks, year).items():
                if score > best.get(mid, 0.0):
                    best[mid] = score
        return self._finish(best, limit)

    def _match(self, toks: list[str], year: int | None) -> tuple[TitleMatch, ...]:
        """Memoised top matches for a token list (messages repeat titles; the index never changes)."""
        key = (" ".join(toks), year)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) >= 4096:
                self._memo.clear()
            hit = self._memo[key] = tuple(self._finish(self._rank(toks, year), 5))
        return hit

    def _rank(self, toks: list[str], year: int | None, fuzzy: bool = True) -> dict[int, float]:
        """Base scores (before popularity) for a normalised token list."""
        if not toks:
            return {}
        key = " ".join(toks)
        scores: dict[int, float] = {}
        for mid, w in self._index.get(key, ()):
            scores[mid] = max(scores.get(mid, 0.0), w)
        if len(toks) > 1 and toks[0] in _ARTICLES:
            for mid, w in self._index.get(" ".join(toks[1:]), ()):
                scores[mid] = max(scores.get(mid, 0.0), w * _W_NO_ARTICLE)
        if fuzzy:
            for choice, w in self._containing(toks):
                for mid, w2 in self._index[choice]:
                    s = _W_PARTIAL * w * w2
                    if s > scores.get(mid, 0.0):
                        scores[mid] = s
            for choice, ratio in self._fuzzy(key, limit=12):
                if choice == key:
                    continue
                sim = ratio / 100.0
                ctoks = choice.split(" ")
                if _is_sequel_of(ctoks, toks) or _is_sequel_of(toks, ctoks):
                    sim *= 0.9
                for mid, w in self._index[choice]:
                    # a near miss on an obscure title is less plausible than on a well-known one
                    s = sim * w * (0.95 + 0.05 * self._pop[mid])
                    if s > scores.get(mid, 0.0):
                        scores[mid] = s
        if year is not None:
            for mid in scores:
                myear = self._movies[mid].year
                if myear is None:
                    scores[mid] -= 0.1
                elif abs(myear - year) == 1:
                    scores[mid] -= 0.05
                elif myear != year:
                    scores[mid] -= 0.2
        return scores

    def _containing(self, toks: list[str]) -> list[tuple[str, float]]:
        """Longer titles containing the query's words in order ("shawshank" -> "shawshank redemption")."""
        distinctive = [t for t in toks if t not in _COMMON]
        if not distinctive or len("".join(distinctive)) < 4:
            return []
        rarest = min(distinctive, key=lambda t: len(self._by_token.get(t, ())))
        pool = self._by_token.get(rarest, ())
        if len(pool) > 200:
            return []
        needle = f" {' '.join(toks)} "
        out = []
        for key in pool:
            if needle in f" {key} " and key != needle.strip():
                out.append((key, 1.0))
        return out

    def _fuzzy(self, key: str, limit: int, cutoff: float = _FUZZY_FLOOR) -> list[tuple[str, float]]:
        n = len(key)
        if n < 3:
            return []
        # Indel similarity >= cutoff bounds the length ratio, so only keys of similar length can match.
        lo_len = math.floor(n * cutoff / (200 - cutoff))
        hi_len = math.ceil(n * (200 - cutoff) / cutoff)
        lo = bisect_left(self._key_lens, lo_len)
        hi = bisect_right(self._key_lens, hi_len)
        found = process.extract(
            key, self._keys_by_len[lo:hi], scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff
        )
        return [(choice, score) for choice, score, _ in found]

    def _finish(self, scores: dict[int, float], limit: int) -> list[TitleMatch]:
        out = []
        for mid, base in scores.items():
            if base < _MIN_SCORE:
                continue
            score = min(1.0, max(0.0, 0.97 * base + 0.03 * self._pop[mid]))
            m = self._movies[mid]
            out.append(TitleMatch(mid, m.title, m.year, round(score, 4)))
        out.sort(key=lambda t: (-t.score, -self._movies[t.movie_id].rating_count, t.movie_id))
        return out[:limit]

    # ----------------------------------------------------------- find_mentions

    def find_mentions(self, text: str) -> list[TitleSpan]:
        """Title spans in free text, left to right, non-overlapping (first 20,000 characters)."""
        # spotting imports this module, so importing it at the top would be circular
        from retrieval.titles.spotting import find_mentions

        return find_mentions(self, text)
