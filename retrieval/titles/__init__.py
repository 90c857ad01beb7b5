"""Movie title resolution: exact, normalised and fuzzy lookup, and title spotting in free text.

``TitleResolver.resolve`` answers "which movie is this string?"; ``TitleResolver.find_mentions``
scans a chat message for title spans. Titles made of everyday words ("Up", "Her", "Crash", "Kids")
are only taken from free text when the writing signals a title: capitals mid-sentence, quotes, a
following year, or a cue such as "loved"/"like"/"seen" right before them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from retrieval.catalogue import Catalogue
from retrieval.types import Movie


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_RESOLVE_CHARS = 300
MAX_SCAN_CHARS = 20_000
MAX_NGRAM = 12
MAX_FUZZY_CALLS = 40
MAX_MENTIONS = 50
AMBIGUITY_MARGIN = 0.1
_MIN_SCORE = 0.7
_FUZZY_FLOOR = 70.0
_MENTION_FUZZY_MIN = 0.82

# Alias weights: how strongly a key identifies its movie.
_W_FULL = 1.0
_W_NO_ARTICLE = 0.97
_W_AKA = 0.95
_W_SUBTITLE = 0.92
_W_SERIES = 0.85
_W_PARTIAL = 0.86

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
_YEAR_TAIL_RE = re.compile(r"[\s,]*[(\[]?\s*((?:18[89]|19\d|20[0-4])\d)\s*[)\]]?\s*$")
_PAREN_YEAR_RE = re.compile(r"\s*\(\d{4}\)\s*$")
_TRAILING_ARTICLE_RE = re.compile(
    r"^(.*?),\s*(the|a|an|le|la|les|l'|il|der|die|das|el|los|las|lo|i|gli|un|une)\s*$", re.IGNORECASE
)
_PAREN_RE = re.compile(r"\s*\(([^()]*)\)")
_AKA_RE = re.compile(r"^\s*(?:a\.k\.a\.|aka)\s+", re.IGNORECASE)
_ROMAN = _words("i ii iii iv v vi vii viii ix x")
_ARTICLES = frozenset(("the", "a", "an"))
_CONNECTORS = _words("the a an of and in on to for with at from by or vs")
_SENTENCE_END = frozenset(".!?\n")
_QUOTES = '"“”«»„'

# Function words: a title made only of these ("It", "Her", "Up", "The One") needs capitals mid-sentence,
# quotes or a year; a cue word alone is not enough ("I loved it").
_STOPWORDS = _words(
    """a about above after again against all am an and any anything are as at be because been before
    being below between both but by can could did do does doing down during each either else even ever
    every everything few first for from further get got had has have having he her here hers herself him
    himself his how i if in into is it its itself just last let me more most much my myself next no nor
    not nothing now of off on once one only or other others our ours out over own same second she should
    so some something somebody someone still such than that the their them then there these they third
    this those through to too under until up us very was we were what when where which while who whom
    why will with would yes yet you your yours yourself another anyone everyone none nobody whatever
    again always never maybe ok okay oh hey hi hello please thanks thank two three four five six seven
    eight nine ten many may might must shall us go going gone come came"""
)
# Everyday content words, including the genre/mood/control vocabulary users type around titles.
_COMMON = _STOPWORDS | _words(
    """action adventure animation animated anime cartoon cartoons children kids kid family comedy comedies
    crime documentary documentaries doc drama dramas fantasy noir film films horror imax musical musicals
    mystery mysteries romance romantic romcom sci fi scifi science fiction thriller thrillers war western
    westerns movie movies show shows series funny scary dark light lighter darker feel good bad great best
    better worse worst new old older newer recent classic classics modern love loved like liked hate hated
    watch watched seen saw see enjoy enjoyed want need give show tell recommend suggest something fun
    space twist heist time travel mind bending crash heat speed drive safe smoke friday kids big home
    sweet life man men woman women girl girls boy boys day night days nights world city house money
    game games story stories way people family friends friend school high wild heart dream dreams war
    run fire water blue red black white green gold star stars sun moon king queen true lost found end
    beginning last first second third top ten one two alone together away back little long short
    hard easy real fake free love happy sad happiness true lies truth right wrong side dead alive
    power fast slow strange weird cool nice fine sure yes still gone taken split signs brave frozen
    cars rush network arrival contact sunshine twister psycho scream halloween christmas holiday
    summer winter spring fall rain snow ice storm road trip drive ride run chase hunt kill killer
    murder death life living dead zombie zombies vampire vampires monster monsters robot robots ghost
    ghosts witch alien aliens hero heroes superhero villain animal animals dog dogs cat cats horse
    music dance song songs art book books mother father brother sister son daughter wife husband baby
    enough more less please also really very pretty kinda quite rather similar same different else
    start over reset search forget everything any year years decade era century recent older
    hidden gem gems popular known obscure underrated mainstream upbeat serious intense violent gory
    date weekend evening morning tonight office job work party wedding
    sappy cheesy quirky clever smart twisted epic gritty cozy wholesome emotional uplifting"""
)
_CUE_WORDS = _words(
    """loved love loves like liked likes enjoyed enjoy enjoys adored adore hated hate hates disliked
    dislike seen saw watched watch rewatched rewatch than including include includes favourite favorite
    favourites favorites recommend except unlike vs versus dug dig despise despised rewatching watching
    adore"""
)
_PREDICATE_STARTS = _words("was is were are sucked sucks rocks rocked rules ruled bored")
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


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """One candidate movie for a title string; ``score`` in 0..1, 1 being an exact popular match."""

    movie_id: int
    title: str
    year: int | None
    score: float


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


@lru_cache(maxsize=65_536)
def _norm_token(token: str) -> str:
    if token == "&":
        return "and"
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def tokens(text: str) -> list[str]:
    """Normalised word tokens: case, accents and apostrophes folded, ``&`` read as "and"."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        t = _norm_token(m.group())
        if t:
            out.append(t)
    return out


def normalize(text: str) -> str:
    """Comparable form of a title: ``"Amélie & Co."`` -> ``"amelie and co"``."""
    return " ".join(tokens(text))


def _move_trailing_article(text: str) -> str:
    m = _TRAILING_ARTICLE_RE.match(text.strip())
    if not m:
        return text
    article = m.group(2)
    sep = "" if article.endswith("'") else " "
    return f"{article}{sep}{m.group(1)}"


def _aliases(title: str) -> dict[str, float]:
    """Lookup keys for a display title with their weights."""
    keys: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        toks = tokens(_move_trailing_article(text))
        if not toks or (weight < _W_FULL and all(t in _STOPWORDS for t in toks)):
            return
        key = " ".join(toks)
        keys[key] = max(keys.get(key, 0.0), weight)
        if len(toks) > 1 and toks[0] in _ARTICLES:
            bare = " ".join(toks[1:])
            keys[bare] = max(keys.get(bare, 0.0), weight * _W_NO_ARTICLE)

    title = _PAREN_YEAR_RE.sub("", title) or title
    main = _PAREN_RE.sub("", title).strip() or title
    add(main, _W_FULL)
    if main != title:
        add(title, _W_AKA)
        for inner in _PAREN_RE.findall(title):
            add(_AKA_RE.sub("", inner), _W_AKA)
    if ":" in main:
        head, _, tail = main.partition(":")
        add(head, _W_SERIES)
        add(tail, _W_SUBTITLE)
        if " - " in tail:
            add(tail.rsplit(" - ", 1)[1], _W_SUBTITLE)
    return keys


def _is_sequel_of(longer: list[str], shorter: list[str]) -> bool:
    """``longer`` is ``shorter`` plus a sequel number ("toy story 2" vs "toy story")."""
    return (
        len(longer) == len(shorter) + 1
        and longer[:-1] == shorter
        and (longer[-1].isdigit() or longer[-1] in _ROMAN)
    )


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
        if not isinstance(text, str) or not text.strip():
            return []
        return _Scan(self, text[:MAX_SCAN_CHARS]).run()


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
            if gap.strip() in {"", "(", "[", ","}:
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
            return self._make(i, j, end, year), end
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
