"""Spotting movie titles in free text: the title spans of a chat message, resolved against the catalogue.

Titles made of everyday words ("Up", "Her", "Crash", "Kids") are only taken from free text when the
writing signals a title: capitals mid-sentence, quotes, a following year, or a cue such as
"loved"/"like"/"seen" right before them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.titles.normalisation import _ARTICLES, _COMMON, _STOPWORDS, _TOKEN_RE, _norm_token, _words
from retrieval.titles.resolver import TitleMatch, TitleResolver, ambiguous_alternatives

MAX_SCAN_CHARS = 20_000
MAX_FUZZY_CALLS = 40
MAX_MENTIONS = 50
_MENTION_FUZZY_MIN = 0.82

_CONNECTORS = _words("the a an of and in on to for with at from by or vs")
_SENTENCE_END = frozenset(".!?\n")
_QUOTES = '"“”«»„'
_CUE_WORDS = _words(
    """loved love loves like liked likes enjoyed enjoy enjoys adored adore hated hate hates disliked
    dislike seen saw watched watch rewatched rewatch than including include includes favourite favorite
    favourites favorites recommend except unlike vs versus dug dig despise despised rewatching watching
    adore"""
)
_PREDICATE_STARTS = _words("was is were are sucked sucks rocks rocked rules ruled bored")
_SEQUEL_WORDS = _words("vol volume part pt chapter episode")
_CUE_PAIRS = frozenset(
    (
        ("fan", "of"),
        ("similar", "to"),
        ("such", "as"),
        ("me", "of"),
        ("vein", "of"),
        ("lines", "of"),
        ("style", "of"),
        ("same", "as"),
        ("into", "into"),
        ("is", "into"),
        ("m", "into"),
        ("not", "into"),
        ("other", "than"),
        ("apart", "from"),
        ("tired", "of"),
        ("sick", "of"),
        ("favourite", "is"),
        ("favorite", "is"),
        ("favourite", "was"),
        ("favorite", "was"),
        ("favourites", "are"),
        ("favorites", "are"),
        ("like", "the"),
    )
)


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and 1874 <= int(token) <= 2049


@dataclass(frozen=True, slots=True)
class TitleSpan:
    """A stretch ``text[start:end]`` of a message naming a movie; ``matches`` empty when unresolved."""

    start: int
    end: int
    text: str
    matches: tuple[TitleMatch, ...] = ()
    year: int | None = None

    @property
    def movie_id(self) -> int | None:
        return self.matches[0].movie_id if self.matches else None

    @property
    def score(self) -> float:
        return self.matches[0].score if self.matches else 0.0

    @property
    def alternatives(self) -> tuple[int, ...]:
        """Other close candidates when the span is ambiguous, best first."""
        return ambiguous_alternatives(self.matches)


def find_mentions(resolver: TitleResolver, text: str) -> list[TitleSpan]:
    """Title spans of ``text`` resolved by ``resolver``, left to right, non-overlapping.

    Only the first ``MAX_SCAN_CHARS`` characters are scanned; :meth:`TitleResolver.find_mentions` calls this.
    """
    if not isinstance(text, str) or not text.strip():
        return []
    return _Scan(resolver, text[:MAX_SCAN_CHARS]).run()


class _Scan:
    """One left-to-right pass of :meth:`TitleResolver.find_mentions` over a message."""

    def __init__(self, resolver: TitleResolver, text: str) -> None:
        self.r = resolver
        self.text = text
        self.spans = [(m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
        self.norm = [_norm_token(text[s:e]) for s, e in self.spans]
        letters = [c for c in text if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        # All-caps or all-lowercase writing carries no capitalisation signal.
        self.case_info = 0 < upper < 0.6 * len(letters)
        self.quoted = self._quoted_regions()
        self.fuzzy_calls = 0
        self.out: list[TitleSpan] = []
        self.last_end_tok = -10

    def _quoted_regions(self) -> list[tuple[int, int]]:
        regions = []
        for m in re.finditer(r"[\"“”«»„]([^\"“”«»„\n]{1,120})[\"“”«»„]", self.text):
            regions.append((m.start(1), m.end(1)))
        for m in re.finditer(r"(?:(?<=\s)|^)'([^'\n]{1,120})'(?=[\s.,!?;:)]|$)", self.text):
            regions.append((m.start(1), m.end(1)))
        return regions

    def run(self) -> list[TitleSpan]:
        i, n = 0, len(self.norm)
        while i < n and len(self.out) < MAX_MENTIONS:
            nxt = self._exact_at(i) or self._fuzzy_at(i)
            if nxt is None:
                i += 1
                continue
            span, end_tok = nxt
            self.out.append(span)
            self.last_end_tok = end_tok
            i = end_tok
        return self.out

    # context tests ---------------------------------------------------------

    def _is_capitalised(self, i: int) -> bool:
        c = self.text[self.spans[i][0]]
        return c.isupper() or c.isdigit()

    def _sentence_initial(self, i: int) -> bool:
        s = self.spans[i][0]
        k = s - 1
        while k >= 0 and (self.text[k].isspace() or self.text[k] in _QUOTES + "'*-(•"):
            if self.text[k] == "\n":
                return True
            k -= 1
        return k < 0 or self.text[k] in _SENTENCE_END or self.text[k] == ":"

    def _quoted(self, i: int, j: int) -> bool:
        s, e = self.spans[i][0], self.spans[j - 1][1]
        return any(qs <= s and e <= qe for qs, qe in self.quoted)

    def _cue_before(self, i: int) -> bool:
        if i == 0:
            return False
        prev = self.norm[i - 1]
        if prev in _CUE_WORDS or (i > 1 and (self.norm[i - 2], prev) in _CUE_PAIRS):
            return True
        # a list continuing an accepted title: "Alien, Heat and Up"
        gap = self.text[self.spans[self.last_end_tok - 1][1] : self.spans[i][0]] if self.out else ""
        return bool(self.out) and (
            (self.last_end_tok == i and gap.strip() in {",", "&", "/", ";", "+"})
            or (self.last_end_tok == i - 1 and prev in {"and", "or", "nor", "plus"})
        )

    def _year_after(self, j: int) -> tuple[int | None, int]:
        """A release year written right after token ``j - 1``: (year, index after it)."""
        if j < len(self.norm) and len(self.norm[j]) == 4 and self.norm[j].isdigit():
            gap = self.text[self.spans[j - 1][1] : self.spans[j][0]]
            if gap.strip().lstrip("!?").strip() in {"", "(", "[", ","}:  # "Mother! (2017)"
                y = int(self.norm[j])
                if 1874 <= y <= 2049:
                    return y, j + 1
        return None, j

    def _accept(self, i: int, j: int, year: int | None) -> bool:
        words = self.norm[i:j]
        core = words[1:] if len(words) > 1 and words[0] in _ARTICLES else words
        if not all(w in _COMMON for w in core) and len(core) > 1:
            return True
        if year is not None or self._quoted(i, j):
            return True
        stop_only = all(w in _STOPWORDS for w in core)
        first_core = i + len(words) - len(core)
        content = [k for k in range(first_core, j) if self.norm[k] not in _CONNECTORS]
        caps = (
            self.case_info
            and bool(content)
            and not all(self.norm[k].isdigit() for k in content)
            and all(self._is_capitalised(k) for k in content)
        )
        if caps and not self._sentence_initial(i):
            return True
        if stop_only:
            return False
        common = all(w in _COMMON for w in core)
        if caps and not common:
            return True
        if self._cue_before(i):
            return True
        after = self.norm[j] if j < len(self.norm) else ""
        whole = i == 0 and j == len(self.norm)
        return (whole and not common) or (after in _PREDICATE_STARTS and (caps or not common))

    # matchers --------------------------------------------------------------

    def _exact_at(self, i: int) -> tuple[TitleSpan, int] | None:
        longest = self.r._ngram_len.get(self.norm[i], 0)
        n = len(self.norm)
        for length in range(min(longest, n - i), 0, -1):
            j = i + length
            key = " ".join(self.norm[i:j])
            if key not in self.r._index:
                continue
            year, end = self._year_after(j)
            if not self._accept(i, j, year):
                continue
            return (None if year else self._subtitle_at(i, j)) or (self._make(i, j, end, year), end)
        return None

    def _subtitle_at(self, i: int, j: int) -> tuple[TitleSpan, int] | None:
        """A longer title that starts with the exact one: "John Wick: Chapter 2 (2017)", "Kill Bill Volume 2",
        taken when a colon or a sequel word follows and the longer words resolve well (longest first)."""
        n = len(self.norm)
        if j >= n:
            return None
        gap = self.text[self.spans[j - 1][1] : self.spans[j][0]]
        if gap.strip() != ":" and self.norm[j] not in _SEQUEL_WORDS:
            return None
        k = j
        while k < n and k - j < 5 and not _is_year(self.norm[k]):
            if k > j:
                between = self.text[self.spans[k - 1][1] : self.spans[k][0]]
                dotted = between.strip() == "." and self.norm[k - 1] in _SEQUEL_WORDS  # "Vol. 2"
                if any(c in between for c in ',.;!?()\n"“”') and not dotted:
                    break
            k += 1
        for e in range(k, j, -1):
            if self.fuzzy_calls >= MAX_FUZZY_CALLS:
                return None
            self.fuzzy_calls += 1
            year, end = self._year_after(e)
            matches = self.r._match(self.norm[i:e], year)
            if matches and matches[0].score >= _MENTION_FUZZY_MIN:
                return self._make(i, e, end, year), end
        return None

    def _fuzzy_at(self, i: int) -> tuple[TitleSpan, int] | None:
        if self.fuzzy_calls >= MAX_FUZZY_CALLS:
            return None
        quoted = self._quoted_region_starting(i)
        if quoted is not None:
            return self._quoted_span(i, quoted)
        if self.norm[i] in _STOPWORDS and self.norm[i] not in _ARTICLES:
            return None
        if self._cue_before(i):
            stop = self._window_end(i, 6, caps_only=False)
        elif self.case_info and self._is_capitalised(i) and self.norm[i] not in _COMMON:
            stop = self._window_end(i, 6, caps_only=True)
        else:
            return None
        best: tuple[float, int, tuple[TitleMatch, ...]] | None = None
        for j in range(stop, i, -1):
            words = self.norm[i:j]
            if words[-1] in _STOPWORDS or all(w in _COMMON for w in words) or len(" ".join(words)) < 5:
                continue
            if self.fuzzy_calls >= MAX_FUZZY_CALLS:
                break
            self.fuzzy_calls += 1
            year, _ = self._year_after(j)
            matches = self.r._match(words, year)
            if (
                matches
                and matches[0].score >= _MENTION_FUZZY_MIN
                and (best is None or matches[0].score > best[0] + 1e-9)
            ):
                best = (matches[0].score, j, matches)
        if best is None:
            return None
        j = best[1]
        year, end = self._year_after(j)
        return self._make(i, j, end, year), end

    def _window_end(self, i: int, width: int, caps_only: bool) -> int:
        j = i
        n = len(self.norm)
        while j < n and j - i < width:
            if j > i:
                gap = self.text[self.spans[j - 1][1] : self.spans[j][0]]
                if any(c in gap for c in ',.;!?()\n"“”'):
                    break
                if self.norm[j] in {"and", "or", "but", "was", "is", "were", "are"}:
                    break
                if caps_only and not self._is_capitalised(j) and self.norm[j] not in _CONNECTORS:
                    break
            j += 1
        while caps_only and j > i + 1 and self.norm[j - 1] in _CONNECTORS:
            j -= 1
        return j

    def _quoted_region_starting(self, i: int) -> tuple[int, int] | None:
        s = self.spans[i][0]
        for qs, qe in self.quoted:
            if qs == s:
                return qs, qe
        return None

    def _quoted_span(self, i: int, region: tuple[int, int]) -> tuple[TitleSpan, int]:
        qs, qe = region
        j = i
        while j < len(self.spans) and self.spans[j][1] <= qe:
            j += 1
        j = max(j, i + 1)
        self.fuzzy_calls += 1
        year, end = self._year_after(j)
        matches: Sequence[TitleMatch] = self.r._match(self.norm[i:j], year)
        if matches and matches[0].score < _MENTION_FUZZY_MIN:
            matches = []
        return TitleSpan(
            qs, self.spans[end - 1][1] if year else qe, self.text[qs:qe], tuple(matches), year
        ), end

    def _make(self, i: int, j: int, end: int, year: int | None) -> TitleSpan:
        start, stop = self.spans[i][0], self.spans[end - 1][1]
        if year is not None and stop < len(self.text) and self.text[stop] in ")]":
            stop += 1
        matches = self.r._match(self.norm[i:j], year)
        return TitleSpan(start, stop, self.text[start:stop], tuple(matches), year)
