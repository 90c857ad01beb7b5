"""An independent audit of explanation texts against the catalogue (evaluation only).

It shares no code with the grounding filter (:mod:`agent.explain.claims`, :mod:`agent.explain.grounding`)
on purpose: a bug there must not hide here. Each claim it finds in a text is checked against the
catalogue entry of the pick and of the liked movies the evidence relates it to:

- **titles**: a catalogue title written with its capitals (several words), or any title followed by its
  year in parentheses, must be the pick or a related liked movie;
- **genres**: a genre word outside quotes must be a genre of the pick (or of a title named in the same
  sentence); a quoted tag must be one of the pick's or the related movies' tags;
- **constraints**: no genre the user excluded may be named at all, quoted or not;
- **years and decades**: must be the pick's (or a named title's) year;
- **people**: a catalogue person's name, or "directed by NAME", must be one of the pick's or the related
  movies' directors and stars;
- **numbers**: "N MovieLens users/ratings" and "X out of 5" must match the counts and the mean rating;
- **awards**: the catalogue holds none, so any award claim is unsupported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from agent.explain.explainer import Evidence
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

# genre words, lower-case, one or two words, each naming one MovieLens genre
GENRE_TERMS: dict[str, str] = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure", "animated": "Animation",
    "animation": "Animation", "cartoon": "Animation", "anime": "Animation", "family film": "Children",
    "kids movie": "Children", "children's": "Children", "comedy": "Comedy", "comedies": "Comedy",
    "comic": "Comedy", "comedic": "Comedy", "funny": "Comedy", "crime": "Crime", "gangster": "Crime",
    "documentary": "Documentary", "drama": "Drama", "dramas": "Drama", "dramatic": "Drama",
    "fantasy": "Fantasy", "noir": "Film-Noir", "horror": "Horror", "scary": "Horror", "musical": "Musical",
    "mystery": "Mystery", "romance": "Romance", "romantic": "Romance", "love story": "Romance",
    "sci-fi": "Sci-Fi", "scifi": "Sci-Fi", "science fiction": "Sci-Fi", "thriller": "Thriller",
    "thrillers": "Thriller", "war film": "War", "war movie": "War", "war drama": "War", "western": "Western",
    "westerns": "Western",
}  # fmt: skip
_NOT_GENRE_AFTER = {"comic": ("book", "books", "strip")}  # "comic book" is no comedy claim
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_QUOTED = re.compile(r"(?<![\w])['‘\"“]([^'’\"”]{1,60})['’\"”](?![\w])")
_YEAR = re.compile(
    r"(?<![\d.])(1[89]\d\d|20[0-3]\d)(?![\d]|['’]?s\b)(?!\s+(?:MovieLens\s+)?(?:users|ratings))"
)
_DECADE = re.compile(r"(?<!\d)(?:(1[89]|20)(\d)0|['’]?(\d)0)['’]?s\b")
_COUNT = re.compile(r"\b(\d[\d,]*)\s+(?:MovieLens\s+)?(users?|ratings?|people|fans|viewers)\b", re.IGNORECASE)
_SCORE = re.compile(r"\b(\d(?:\.\d+)?)\s*(?:out of 5|/\s*5\b|stars?\b)", re.IGNORECASE)
_AWARD = re.compile(
    r"\b(?:oscars?|academy awards?|golden globes?|baftas?|emmys?|palme d['’]or|award[- ]winning|awards?|"
    r"nominat(?:ed|ions?)|prize[- ]winning)\b",
    re.IGNORECASE,
)
_DIRECTED_BY = re.compile(
    r"\b(?:directed by|director|from director|filmmaker)\s+((?:[A-Z][\w'’.\-]*\s?){1,4})"
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'll|you'd)\b", re.IGNORECASE)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


@dataclass(frozen=True, slots=True)
class Claim:
    """One checked claim: its kind, the words that make it, and whether the catalogue supports it."""

    kind: str  # title | genre | tag | constraint | year | person | number | award
    text: str
    supported: bool


@dataclass(frozen=True, slots=True)
class Audit:
    """Every claim found in one explanation."""

    claims: tuple[Claim, ...] = ()

    @property
    def unsupported(self) -> tuple[Claim, ...]:
        """The claims the catalogue does not support."""
        return tuple(c for c in self.claims if not c.supported)

    @property
    def ok(self) -> bool:
        return not self.unsupported


@dataclass
class ClaimAuditor:
    """Audits explanation texts against one catalogue (indexes built once, on first use)."""

    catalogue: Catalogue
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @cached_property
    def _titles(self) -> dict[str, list[tuple[tuple[str, ...], int]]]:
        """First word → (title words, movie id), longest titles first."""
        index: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for m in self.catalogue:
            words = tuple(_words(m.title))
            if words:
                index.setdefault(words[0], []).append((words, m.movie_id))
        for entries in index.values():
            entries.sort(key=lambda e: -len(e[0]))
        return index

    @cached_property
    def _people(self) -> dict[str, set[str]]:
        """First word → full names (folded) of every director and star in the catalogue."""
        people: dict[str, set[str]] = {}
        for m in self.catalogue:
            for name in (*m.directors, *m.stars):
                words = _words(name)
                if len(words) >= 2:
                    people.setdefault(words[0], set()).add(" ".join(words))
        return people

    # -- titles --------------------------------------------------------------------------------------------
    def named_titles(self, text: str) -> list[tuple[tuple[int, ...], int, int]]:
        """(movie ids, first word, end word) of catalogue titles named in ``text``: several words written
        with the title's capitals (one not starting a sentence), or any title followed by its year. Without
        a year a title names every movie that has it (remakes)."""
        words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(_fold(text))]
        folded = _fold(text)
        found: list[tuple[tuple[int, ...], int, int]] = []
        i = 0
        while i < len(words):
            hit = self._title_at(words, folded, i)
            if hit is None:
                i += 1
                continue
            found.append(hit)
            i = hit[2]
        return found

    def _title_at(
        self, words: list[tuple[str, int, int]], folded: str, i: int
    ) -> tuple[tuple[int, ...], int, int] | None:
        initial = i == 0 or re.search(r"[.!?:]\s*['\"“‘]?$", folded[: words[i][1]]) is not None
        for title, _ in self._titles.get(words[i][0], ()):
            n = len(title)
            if tuple(w for w, _, _ in words[i : i + n]) != title:
                continue
            same = [mid for t, mid in self._titles[words[i][0]] if t == title]
            after = folded[words[i + n - 1][2] :]
            dated = [mid for mid in same if re.match(rf"\s*\({self.catalogue.get(mid).year}\)", after)]
            capitals = sum(1 for w in title[1 if initial else 0 :] if w[:1].isupper())
            if dated:
                return tuple(dated), i, i + n
            if n >= 2 and capitals >= 1 and all(w[:1].isupper() or len(w) <= 3 for w in title):
                return tuple(same), i, i + n
        return None

    # -- the audit -----------------------------------------------------------------------------------------
    def audit(self, text: str, ev: Evidence) -> Audit:
        """Every claim in ``text`` about ``ev.pick``, checked against the catalogue."""
        pick = ev.pick
        claims: list[Claim] = []
        allowed = {pick.movie_id, *(m.movie_id for m in ev.related_liked)}
        titled = self.named_titles(text)
        named = []
        for ids, _, _ in titled:
            ok = [mid for mid in ids if mid in allowed]
            movie = self.catalogue.get((ok or list(ids))[0])
            named.append(movie)
            claims.append(Claim("title", movie.title, bool(ok)))
        masked = self._mask(text, titled)
        claims += self._genre_claims(masked, pick, ev, named)
        claims += self._year_claims(text, pick, named)
        claims += self._person_claims(masked, pick, ev)
        claims += self._number_claims(text, pick, ev)
        claims += [Claim("award", m.group(0), False) for m in _AWARD.finditer(masked)]
        return Audit(tuple(claims))

    @staticmethod
    def _mask(text: str, titled: Sequence[tuple[tuple[int, ...], int, int]]) -> str:
        """``text`` with named titles blanked (their words are no genre or person claims)."""
        spans = [(m.start(), m.end()) for m in _WORD.finditer(_fold(text))]
        folded = list(_fold(text))
        for _, a, b in titled:
            for j in range(spans[a][0], spans[b - 1][1]):
                folded[j] = " "
        return "".join(folded)

    def _genre_claims(self, masked: str, pick: Movie, ev: Evidence, named: Sequence[Movie]) -> list[Claim]:
        claims: list[Claim] = []
        excluded = set(ev.constraints.excluded_genres)
        tags = {t.lower() for m in (pick, *ev.related_liked) for t in m.tags}
        for q in _QUOTED.finditer(masked):
            tag = q.group(1).strip().lower()
            claims.append(Claim("tag", tag, tag in tags))
        unquoted = _QUOTED.sub(" ", masked)
        held = set(pick.genres) | {g for m in named for g in m.genres}
        for genre, term in _genre_terms(masked):
            if genre in excluded:
                claims.append(Claim("constraint", term, False))
        for genre, term in _genre_terms(unquoted):
            claims.append(Claim("genre", term, genre in held))
        return claims

    @staticmethod
    def _year_claims(text: str, pick: Movie, named: Sequence[Movie]) -> list[Claim]:
        years = {m.year for m in (pick, *named) if m.year}
        claims = [Claim("year", m.group(1), int(m.group(1)) in years) for m in _YEAR.finditer(text)]
        for m in _DECADE.finditer(text):
            digit = m.group(2) or m.group(3)
            century = m.group(1)
            ok = any(
                str(y)[2] == digit and (century is None or str(y)[:2] == century) for y in years if y >= 1000
            )
            claims.append(Claim("year", m.group(0), ok))
        return claims

    def _person_claims(self, masked: str, pick: Movie, ev: Evidence) -> list[Claim]:
        held = {" ".join(_words(p)) for m in (pick, *ev.related_liked) for p in (*m.directors, *m.stars)}
        directors = {" ".join(_words(p)) for p in pick.directors}
        claims: list[Claim] = []
        words = _words(masked)
        for i, w in enumerate(words):
            for full in self._people.get(w, ()):
                n = full.count(" ") + 1
                if " ".join(words[i : i + n]) == full:
                    claims.append(Claim("person", full, full in held))
        for m in _DIRECTED_BY.finditer(masked):
            name = " ".join(_words(m.group(1)))
            if name and not any(name.startswith(d) or d.startswith(name) for d in directors):
                claims.append(Claim("person", f"directed by {name}", False))
        return claims

    @staticmethod
    def _number_claims(text: str, pick: Movie, ev: Evidence) -> list[Claim]:
        counts = {pick.rating_count, ev.co_liked_count or -1}
        claims = [
            Claim("number", m.group(0), int(m.group(1).replace(",", "")) in counts)
            for m in _COUNT.finditer(text)
        ]
        for m in _SCORE.finditer(text):
            ok = pick.rating_mean is not None and abs(float(m.group(1)) - pick.rating_mean) < 0.051
            claims.append(Claim("number", m.group(0), ok))
        return claims


def _genre_terms(text: str) -> Iterable[tuple[str, str]]:
    """(genre, term) for each genre word or two-word phrase in ``text``."""
    words = [w.lower() for w in _words(text)]
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if i + 1 < len(words) and pair in GENRE_TERMS:
            yield GENRE_TERMS[pair], pair
            i += 2
            continue
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in GENRE_TERMS and nxt not in _NOT_GENRE_AFTER.get(w, ()):
            yield GENRE_TERMS[w], w
        i += 1


def second_person(text: str) -> bool:
    """Whether ``text`` speaks to the reader as "you"."""
    return _SECOND_PERSON.search(text) is not None


def uses_evidence(text: str, ev: Evidence, request: str = "") -> bool:
    """Whether ``text`` states at least one piece of the pick's evidence: a related liked movie, the
    co-liking count, a reason tag, the director or a star, the rating, a genre shared with a liked
    movie, or a word of the request that the pick's tags or genres match."""
    low = _fold(text).lower()
    said = set(_words(low))
    pick = ev.pick
    pieces: list[str] = [m.title for m in ev.related_liked] + list(ev.reason_tags)
    pieces += [*pick.directors, *pick.stars]
    if ev.co_liked_count:
        pieces.append(str(ev.co_liked_count))
    if pick.rating_mean is not None and pick.rating_count >= 10:
        pieces += [f"{pick.rating_mean:.1f}", str(pick.rating_count)]
    if any(" ".join(_words(p.lower())) in " ".join(_words(low)) for p in pieces if p.strip()):
        return True
    shared = set(ev.matched_genres)
    if any(GENRE_TERMS.get(w) in shared for w in said):
        return True
    asked = set(_words(_fold(request).lower())) - _STOP
    facts = {t.lower() for t in pick.tags} | {g.lower() for g in pick.genres}
    return bool(asked & said & {w for f in facts for w in _words(f)})


_STOP = frozenset(
    ("a", "an", "and", "the", "of", "to", "in", "on", "for", "with", "me", "i", "my", "like", "movie")
)

__all__ = ["GENRE_TERMS", "Audit", "Claim", "ClaimAuditor", "second_person", "uses_evidence"]
