"""Claim checks for generated explanations: genres, years, people and awards must hold for the pick
itself, nothing may contradict the user's stated constraints, and the text must not talk about "the
user". Also the word tokens the checks share. :func:`agent.explain.grounding.check` runs them.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from retrieval.catalogue import Catalogue
from retrieval.types import Movie

_I = TypeVar("_I")
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_DECADE_RE = re.compile(r"(?<!\d)(1[89]\d0|20[0-2]0)['’]?s\b")
_YEAR_RE = re.compile(
    r"(?<!\d)(18[89]\d|19\d\d|20[0-2]\d|2030)(?!\d|['’]?s\b)"
    r"(?!\s+(?:users|people|ratings|fans|votes|viewers|members)\b)"  # a count, not a year
)
_THIRD_PERSON_RE = re.compile(r"\b(?:the|this|our|that)\s+(?:user|viewer|customer)\b", re.IGNORECASE)
# the model speaking as the user ("I enjoyed Deadpool because..."), a confusion from "I liked: ..." facts
_AS_USER_RE = re.compile(r"\bI\s+(?:really\s+|also\s+)?(?:enjoyed|loved|liked|enjoy|love|like|watched)\b")
_AWARD_RE = re.compile(
    r"\b(?:oscars?|academy awards?|golden globes?|baftas?|emmys?|palme d['’]or|cannes|"
    r"award[- ]winning|awards?|nominat\w*|prize[- ]?winning)\b",
    re.IGNORECASE,
)
_DIRECTED_BY = (("directed", "by"), ("director",), ("filmmaker",))


# words that name a genre inside a tag ("scary", "gory" name Horror): such a tag never supports a pick
# when the user excluded that genre
_GENRE_TAG_WORDS: dict[str, tuple[str, ...]] = {
    "Horror": ("horror", "scary", "gore", "gory", "slasher", "zombie", "zombies"),
    "Comedy": ("comedy", "funny", "comedic", "comic"),
    "Romance": ("romance", "romantic", "love story"),
    "Sci-Fi": ("sci-fi", "scifi", "science fiction"),
    "Animation": ("animation", "animated", "anime", "cartoon"),
    "Children": ("kids", "children", "family"),
    "Musical": ("musical",),
    "Film-Noir": ("noir",),
    "Documentary": ("documentary",),
}


def excluded_tag(tag: str, excluded: Sequence[str]) -> bool:
    """Whether ``tag`` names a genre the user excluded (``"scary"`` when Horror is excluded)."""
    low = f" {tag.lower()} "
    return any(
        f" {w} " in low or f"-{w} " in low or f" {w}-" in low
        for g in excluded
        for w in (*_GENRE_TAG_WORDS.get(g, ()), g.lower())
    )


# MovieLens users tag what they disliked too; such a tag is never quoted as a reason
_PEJORATIVE = frozenset(
    {
        *("annoying", "awful", "bad", "boring", "disappointing", "dull", "overrated", "pointless"),
        *("predictable", "pretentious", "stupid", "terrible", "waste", "worst"),
    }
)


@dataclass(frozen=True, slots=True)
class Constraints:
    """What the user asked for that an explanation must not contradict."""

    excluded_genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None

    def year_ok(self, year: int) -> bool:
        """Whether ``year`` lies inside the requested range."""
        return (self.year_min is None or year >= self.year_min) and (
            self.year_max is None or year <= self.year_max
        )

    def admits_tag(self, tag: str) -> bool:
        """Whether ``tag`` names no excluded genre and is no complaint ("stupid ending", "boring"): tags are
        offered as reasons to watch."""
        low = tag.lower()
        if _PEJORATIVE.intersection({*low.replace("-", " ").split(), *low.replace("-", "").split()}):
            return False
        return not excluded_tag(tag, self.excluded_genres)

    def decade_ok(self, decade: int) -> bool:
        """Whether some year of the decade starting at ``decade`` lies inside the requested range."""
        return any(self.year_ok(y) for y in range(decade, decade + 10))


NO_CONSTRAINTS = Constraints()


@dataclass(frozen=True, slots=True)
class Tok:
    """One word of a text."""

    key: str  # lower-case, accents and apostrophes removed
    case: str  # as written, accents and apostrophes removed
    initial: bool  # starts the text or a sentence


def fold(text: str) -> str:
    """Accents removed, ``&`` spelled out."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).replace("&", " and ")


def tokens(text: str) -> list[Tok]:
    """The words of ``text``, each marked when it starts a sentence."""
    folded = fold(text)
    out: list[Tok] = []
    prev_end = 0
    for m in _TOKEN_RE.finditer(folded):
        gap = folded[prev_end : m.start()]
        initial = not out or any(c in '.!?:;\n"“' for c in gap)
        word = m.group().replace("'", "").replace("’", "")
        out.append(Tok(word.lower(), word, initial))
        prev_end = m.end()
    return out


def keys(text: str) -> tuple[str, ...]:
    """The lower-case word keys of ``text``."""
    return tuple(t.key for t in tokens(text))


def fact_text(movies: Iterable[Movie]) -> str:
    """Space-padded token keys of every fact we hold, for whole-phrase containment tests."""
    fields: list[str] = []
    for m in movies:
        fields.extend((m.title, *m.tags, *m.directors, *m.stars, m.plot or ""))
    return " " + " | ".join(" ".join(keys(f)) for f in fields) + " "


def has_phrase(facts: str, words: Iterable[str]) -> bool:
    """Whether the words appear, in a row, in ``facts`` (from :func:`fact_text`)."""
    return f" {' '.join(words)} " in facts


def third_person_problem(text: str) -> str | None:
    """Talk about "the user" instead of to them, or speaking as the user ("I enjoyed it")."""
    m = _THIRD_PERSON_RE.search(text)
    if m:
        return f"third person: {m.group(0)}"
    m = _AS_USER_RE.search(text)
    return f"speaks as the user: {m.group(0)}" if m else None


def award_problem(text: str, pick_facts: str) -> str | None:
    """An award claim, unless the pick's own facts (a tag such as "oscar (best picture)") carry it."""
    for m in _AWARD_RE.finditer(text):
        if not has_phrase(pick_facts, keys(m.group(0))):
            return f"award not held: {m.group(0)}"
    return None


def year_problem(text: str, pick: Movie, allowed: Sequence[Movie], constraints: Constraints) -> str | None:
    """A year or decade that is not the pick's (or in its facts), or outside the requested years.

    A liked movie's label ("The Thing (1982)") names that movie, not a year claim, and is skipped.
    """
    for m in allowed:
        text = text.replace(m.label, m.title)
    pick_facts = fact_text((pick,))
    years = {pick.year} if pick.year else set()
    years |= {int(y) for y in re.findall(r"\b\d{4}\b", pick_facts)}
    for match in _YEAR_RE.finditer(text):
        year = int(match.group(1))
        if not constraints.year_ok(year):
            return f"contradicts the request: {year}"
        if year not in years:
            return f"year not held: {year}"
    for match in _DECADE_RE.finditer(text):
        decade = int(match.group(1))
        if not constraints.decade_ok(decade):
            return f"contradicts the request: {match.group(0)}"
        if not any(decade <= y < decade + 10 for y in years):
            return f"decade not held: {match.group(0)}"
    return None


class PeopleIndex:
    """Directors' and stars' full names in a catalogue, as word-key tuples."""

    def __init__(self, movies: Iterable[Movie]) -> None:
        names = {n for m in movies for n in (*m.directors, *m.stars)}
        self.names: dict[tuple[str, ...], str] = {}
        for name in names:
            k = keys(name)
            if len(k) >= 2:
                self.names[k] = name
        self.max_len = max((len(k) for k in self.names), default=2)

    def spans(self, toks: Sequence[Tok]) -> list[tuple[int, str]]:
        """``(start, name)`` for each capitalised catalogue person named in ``toks``."""
        hits: list[tuple[int, str]] = []
        i = 0
        while i < len(toks):
            for n in range(min(self.max_len, len(toks) - i), 1, -1):
                name = self.names.get(tuple(t.key for t in toks[i : i + n]))
                if name and toks[i].case[:1].isupper():
                    hits.append((i, name))
                    i += n - 1
                    break
            i += 1
        return hits


class PerCatalogue(Generic[_I]):
    """One ``build(catalogue)`` result per live catalogue, built once (thread-safe)."""

    def __init__(self, build: Callable[[Catalogue], _I]) -> None:
        self._build = build
        self._cache: weakref.WeakKeyDictionary[Catalogue, _I] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, catalogue: Catalogue) -> _I:
        with self._lock:
            index = self._cache.get(catalogue)
            if index is None:
                index = self._cache[catalogue] = self._build(catalogue)
            return index


people_index = PerCatalogue(PeopleIndex)  # the (cached) people index of a catalogue


def person_problem(toks: Sequence[Tok], pick: Movie, catalogue: Catalogue) -> str | None:
    """A catalogue person who is not among the pick's directors and stars, or a star called its director."""
    people = {keys(n) for n in (*pick.directors, *pick.stars)}
    directors = {keys(n) for n in pick.directors}
    for start, name in people_index(catalogue).spans(toks):
        k = keys(name)
        if k not in people:
            return f"person not held: {name}"
        before = tuple(t.key for t in toks[max(0, start - 2) : start])
        if k not in directors and any(before[-len(p) :] == p for p in _DIRECTED_BY):
            return f"person not held as director: {name}"
    return None


__all__ = [
    "NO_CONSTRAINTS",
    "Constraints",
    "PeopleIndex",
    "Tok",
    "award_problem",
    "fact_text",
    "fold",
    "has_phrase",
    "keys",
    "people_index",
    "person_problem",
    "third_person_problem",
    "tokens",
    "year_problem",
]
