"""Grounding check for generated explanations: only facts we hold about the pick may appear.

A text is rejected when it names another catalogue movie; states a genre, year, person or award that
does not hold for the pick itself (:mod:`agent.explain.claims`); contradicts the user's constraints
(an excluded genre, a year outside the asked range); talks about "the user"; carries URLs, markup or
prompt text; or is empty, too long or mostly unprintable. :func:`sanitise` trims a text to at most two
sentences first; :func:`check` returns the sanitised text with its verdict.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from agent.explain import claims
from agent.explain.claims import NO_CONSTRAINTS, Constraints, Tok, fact_text, has_phrase, keys, tokens
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MAX_CHARS = 400
MAX_SENTENCES = 2
MIN_WORDS = 3
_MAX_TITLE_TOKENS = 12
_SHINGLE = 6  # words in a row shared with the prompt that count as a leak

_SENTENCE_RE = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"'“(]?[A-Z0-9])")
_ABBREV_END = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|St|Jr|Sr|vs|Vol|No|Pt)\.$")
_URL_RE = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|ly|co|tv|html?)\b", re.IGNORECASE)
_MARKUP_RE = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&#?\w+;|```|\*\*|__|\[[^\]]*\]\([^)]*\)|<\||\|>|^\s*#")
_INJECTION_RE = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above)|disregard|system prompt|instructions?\b|"
    r"as an ai|language model|im_start|im_end|\b(?:assistant|user|system)\s*:",
    re.IGNORECASE,
)
_ARTICLES = ("the", "a", "an")
_TRAILING_ARTICLE = re.compile(r"^(.*?),\s*(The|A|An)$")
_PAREN = re.compile(r"\s*\(([^()]*)\)")

# Words naming a MovieLens genre; tuples are token phrases. A hit is fine when every genre it names is
# held for the pick, or when the phrase is in the pick's facts ("dark comedy" tag), and none is excluded.
_GENRE_WORDS: dict[tuple[str, ...], frozenset[str]] = {
    **{(w,): frozenset({"Action"}) for w in ("action",)},
    **{(w,): frozenset({"Adventure"}) for w in ("adventure", "adventures")},
    **{(w,): frozenset({"Animation"}) for w in ("animation", "animated", "cartoon", "anime")},
    ("childrens",): frozenset({"Children"}),
    ("kids", "movie"): frozenset({"Children"}),
    ("family", "film"): frozenset({"Children"}),
    ("family", "friendly"): frozenset({"Children"}),
    **{(w,): frozenset({"Comedy"}) for w in ("comedy", "comedies", "comedic", "comic", "funny")},
    ("rom", "com"): frozenset({"Comedy", "Romance"}),
    ("romcom",): frozenset({"Comedy", "Romance"}),
    **{(w,): frozenset({"Crime"}) for w in ("crime", "gangster")},
    **{(w,): frozenset({"Documentary"}) for w in ("documentary", "documentaries", "docudrama")},
    **{(w,): frozenset({"Drama"}) for w in ("drama", "dramas", "melodrama", "dramatic")},
    ("fantasy",): frozenset({"Fantasy"}),
    **{(w,): frozenset({"Film-Noir"}) for w in ("noir",)},
    **{(w,): frozenset({"Horror"}) for w in ("horror", "slasher", "scary")},
    **{(w,): frozenset({"Musical"}) for w in ("musical", "musicals")},
    **{(w,): frozenset({"Mystery"}) for w in ("mystery", "mysteries", "whodunit")},
    **{(w,): frozenset({"Romance"}) for w in ("romance", "romantic")},
    ("love", "story"): frozenset({"Romance"}),
    **{p: frozenset({"Sci-Fi"}) for p in (("sci", "fi"), ("scifi",), ("science", "fiction"))},
    **{(w,): frozenset({"Thriller"}) for w in ("thriller", "thrillers")},
    **{("war", w): frozenset({"War"}) for w in ("film", "films", "movie", "drama", "epic", "story")},
    **{(w,): frozenset({"Western"}) for w in ("western", "westerns")},
}
_GENRE_MAX = max(len(k) for k in _GENRE_WORDS)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# "musical score", "Western Europe": adjective uses that claim no genre.
_NOT_GENRE_AFTER = {
    "musical": _words("score scores talent number numbers soundtrack cues style theme"),
    "western": _words("europe world culture society civilization front australia u s"),
    "action": _words("sequences sequence scenes scene figure hero heroes star stars"),
    "comic": _words("book books strip strips"),
}


@dataclass(frozen=True, slots=True)
class GroundingResult:
    """Verdict on one text; ``text`` is the sanitised text (what to show when ``ok``)."""

    ok: bool
    reason: str | None = None
    text: str = ""


def sanitise(text: str) -> str:
    """Strip, collapse whitespace and drop surrounding quotes; keep at most two sentences."""
    text = " ".join(str(text).split()).strip()
    if len(text) >= 2 and text[0] in "\"'“" and text[-1] in "\"'”":
        text = text[1:-1].strip()
    parts: list[str] = []
    for piece in _SENTENCE_RE.split(text):
        if parts and _ABBREV_END.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return " ".join(parts[:MAX_SENTENCES]).strip()


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    raw = (
        resources.files("agent.explain").joinpath("prompts", "grounding_common_words.txt").read_text("utf-8")
    )
    return frozenset(w for line in raw.splitlines() if not line.startswith("#") for w in line.split())


@lru_cache(maxsize=1)
def _prompt_shingles() -> frozenset[tuple[str, ...]]:
    """Word runs of the explanation prompts (placeholders removed), to spot prompt leaks."""
    files = resources.files("agent.explain").joinpath("prompts")
    out: set[tuple[str, ...]] = set()
    for name in ("explain_system.txt", "explain_user.txt"):
        for chunk in re.split(r"\{[^}]*\}", files.joinpath(name).read_text("utf-8")):
            words = keys(chunk)
            out.update(words[i : i + _SHINGLE] for i in range(len(words) - _SHINGLE + 1))
    return frozenset(out)


def _lowercase_vocabulary(movies: Sequence[Movie], min_count: int = 2) -> frozenset[str]:
    """Words the catalogue's plots and tags use in lower case: ordinary words, not names."""
    counts: Counter[str] = Counter()
    for m in movies:
        seen = {t.key for t in tokens(m.plot or "") if t.case.islower()}
        seen.update(w for tag in m.tags for w in keys(tag) if w.isalpha())
        counts.update(seen)
    return frozenset(w for w, c in counts.items() if c >= min_count)


def _title_variants(title: str) -> set[str]:
    """The display title, and without its article, alternative-title brackets and subtitle."""
    variants: set[str] = set()
    main = _PAREN.sub("", title).strip() or title
    for alt in _PAREN.findall(title):
        alt = re.sub(r"^\s*(?:a\.k\.a\.|aka)\s+", "", alt, flags=re.IGNORECASE).strip()
        if alt and not alt.isdigit():
            variants.add(alt)
    variants.add(main)
    m = _TRAILING_ARTICLE.match(main)
    if m:
        variants.add(f"{m.group(2)} {m.group(1)}")
    for v in list(variants):
        if ":" in v:
            variants.add(v.split(":", 1)[0].strip())
        for art in _ARTICLES:
            if v.lower().startswith(art + " "):
                variants.add(v[len(art) + 1 :])
    return {v for v in variants if v}


class TitleIndex:
    """Normalised catalogue titles for whole-n-gram spotting in generated text.

    Titles with at least one uncommon word match case-insensitively; titles made only of everyday
    words match only as written (``The Thing``), and single everyday words only mid-sentence.
    """

    def __init__(self, movies: Iterable[Movie]) -> None:
        movies = list(movies)
        common = _common_words() | _lowercase_vocabulary(movies)
        strong: dict[tuple[str, ...], set[int]] = {}
        weak: dict[tuple[str, ...], set[int]] = {}
        for movie in movies:
            for variant in _title_variants(movie.title):
                toks = tokens(variant)[:_MAX_TITLE_TOKENS]
                if not toks or (len(toks) == 1 and (toks[0].key.isdigit() or len(toks[0].key) < 3)):
                    continue
                if all(t.key in common for t in toks):
                    weak.setdefault(tuple(t.case for t in toks), set()).add(movie.movie_id)
                else:
                    strong.setdefault(tuple(t.key for t in toks), set()).add(movie.movie_id)
        self.strong = {k: frozenset(v) for k, v in strong.items()}
        self.weak = {k: frozenset(v) for k, v in weak.items()}
        self.max_len = max((len(k) for k in (*self.strong, *self.weak)), default=1)

    def spans(self, toks: list[Tok]) -> list[tuple[int, int, frozenset[int]]]:
        """Longest non-overlapping title hits as ``(start, end, movie_ids)`` token spans."""
        hits: list[tuple[int, int, frozenset[int]]] = []
        i = 0
        while i < len(toks):
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                window = toks[i : i + n]
                ids = self.strong.get(tuple(t.key for t in window))
                if ids is not None and n == 1 and not window[0].case[:1].isupper():
                    ids = None  # single-word titles are written capitalised ("Inception")
                if ids is None and (n > 1 or not window[0].initial):
                    ids = self.weak.get(tuple(t.case for t in window))
                if ids is not None:
                    hits.append((i, i + n, ids))
                    i += n
                    break
            else:
                i += 1
        return hits


title_index = claims.PerCatalogue(TitleIndex)  # the (cached) title index of a catalogue


def _printable_share(text: str) -> float:
    good = sum(1 for c in text if c.isprintable() and unicodedata.category(c) not in ("Co", "Cs", "Cn"))
    return good / max(len(text), 1)


def _genre_problem(toks: list[Tok], held: set[str], facts: str, excluded: Collection[str]) -> str | None:
    """A genre word the pick does not hold (unless its facts carry the phrase) or the user excluded."""
    i = 0
    while i < len(toks):
        for n in range(min(_GENRE_MAX, len(toks) - i), 0, -1):
            phrase = tuple(t.key for t in toks[i : i + n])
            genres = _GENRE_WORDS.get(phrase)
            if genres is None:
                continue
            after = toks[i + n].key if i + n < len(toks) else ""
            if n == 1 and after in _NOT_GENRE_AFTER.get(phrase[0], ()):
                genres = frozenset()
            if genres & set(excluded):
                return f"contradicts the request: {' '.join(phrase)}"
            if not genres <= held and not has_phrase(facts, phrase):
                return f"genre not held: {' '.join(phrase)}"
            i += n - 1
            break
        i += 1
    return None


def check(
    text: str,
    pick: Movie,
    allowed: Collection[Movie],
    catalogue: Catalogue,
    constraints: Constraints = NO_CONSTRAINTS,
) -> GroundingResult:
    """Accept ``text`` as an explanation of ``pick`` only if it states nothing beyond our facts.

    ``allowed`` are the user's liked movies the explanation may name; every genre, year, person or
    award claim must hold for ``pick`` itself, and none may contradict ``constraints``.
    """
    clean = sanitise(text)
    if not clean:
        return GroundingResult(False, "empty", clean)
    if len(clean) > MAX_CHARS:
        return GroundingResult(False, "too long", clean)
    if _printable_share(clean) < 0.98 or sum(c.isalpha() for c in clean) < 0.5 * len(clean):
        return GroundingResult(False, "not printable text", clean)
    toks = tokens(clean)
    if len(toks) < MIN_WORDS:
        return GroundingResult(False, "too short", clean)
    if _URL_RE.search(clean):
        return GroundingResult(False, "url", clean)
    if _MARKUP_RE.search(clean):
        return GroundingResult(False, "markup", clean)
    if _INJECTION_RE.search(clean):
        return GroundingResult(False, "instruction text", clean)
    kk = tuple(t.key for t in toks)
    shingles = _prompt_shingles()
    if any(kk[i : i + _SHINGLE] in shingles for i in range(len(kk) - _SHINGLE + 1)):
        return GroundingResult(False, "prompt leak", clean)

    known = (pick, *allowed)
    facts = fact_text(known)
    known_ids = {m.movie_id for m in known}
    for start, end, ids in title_index(catalogue).spans(toks):
        if not ids & known_ids and not has_phrase(facts, kk[start:end]):
            names = " ".join(t.case for t in toks[start:end])
            return GroundingResult(False, f"names another movie: {names}", clean)

    problem = (
        claims.third_person_problem(clean)
        or claims.year_problem(clean, pick, tuple(allowed), constraints)
        or _genre_problem(toks, set(pick.genres), fact_text((pick,)), constraints.excluded_genres)
        or claims.person_problem(toks, pick, catalogue)
        or claims.award_problem(clean, fact_text((pick,)))
    )
    if problem:
        return GroundingResult(False, problem, clean)
    return GroundingResult(True, None, clean)


__all__ = [
    "MAX_CHARS",
    "NO_CONSTRAINTS",
    "Constraints",
    "GroundingResult",
    "TitleIndex",
    "check",
    "sanitise",
    "title_index",
]
