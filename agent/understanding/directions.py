"""Critique directions as axes over catalogue facts, and "movers first" ordering for the next picks.

A critique such as "something funnier" asks the next picks to move along one axis relative to the picks
just shown. Each direction has an axis: a number per movie computed from its genres, MovieLens tags,
year or rating count (:func:`axis_value`). The shown picks' mean on that axis is the reference; a
candidate that lies beyond it in the asked direction is a *mover*. :func:`movers_first` keeps the
ranker's order but puts the movers of the ranked head before the rest, so the next picks move whenever
the ranked head holds enough movers. Some mood words ask for one side of an axis outright ("something
cozy": light movies); :func:`mood_first` puts those first the same way (:data:`MOOD_AXES`).

Axes (higher = further in the asked direction):

- funnier: Comedy 1, Animation/Children .3, humour tags up to .6; Horror/War/Thriller/Crime -.2.
- darker / lighter: a darkness score (Horror .6, Film-Noir .6, Thriller .5, Crime .5, War .5, Mystery .3,
  Drama .2; Children -.7, Comedy -.5, Animation -.5, Musical -.5, Romance -.2; dark tags up to .6,
  light tags down to -.6); "lighter" is its negative.
- less violent: minus a violence score (War .6, Action .5, Horror .5, Crime .4, Thriller .3; violent
  tags up to .8).
- more romantic: Romance 1, love tags up to .6.
- more recent / older: the year, or its negative.
- less famous / more popular: minus / plus log(1 + MovieLens rating count).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from agent.understanding.deltas import Critique
from retrieval.catalogue import Catalogue
from retrieval.types import Movie, ScoredList

_DARK_GENRES = {
    "Horror": 0.6,
    "Film-Noir": 0.6,
    "Thriller": 0.5,
    "Crime": 0.5,
    "War": 0.5,
    "Mystery": 0.3,
    "Drama": 0.2,
    "Children": -0.7,
    "Comedy": -0.5,
    "Animation": -0.5,
    "Musical": -0.5,
    "Romance": -0.2,
}
_DARK_TAGS = (
    "dark",
    "bleak",
    "disturbing",
    "violent",
    "violence",
    "gritty",
    "depressing",
    "psychological",
    "serial killer",
    "murder",
    "brutal",
    "noir",
    "atmospheric",
    "tragedy",
)
_LIGHT_TAGS = ("funny", "feel-good", "feel good", "heartwarming", "cute", "family", "comedy", "light")
_FUNNY_GENRES = {
    "Comedy": 1.0,
    "Animation": 0.3,
    "Children": 0.3,
    "Horror": -0.2,
    "War": -0.2,
    "Thriller": -0.2,
    "Crime": -0.2,
}
_FUNNY_TAGS = ("funny", "hilarious", "comedy", "humor", "humour", "witty", "satire", "parody", "quirky")
_VIOLENT_GENRES = {"War": 0.6, "Action": 0.5, "Horror": 0.5, "Crime": 0.4, "Thriller": 0.3}
_VIOLENT_TAGS = ("violent", "violence", "gore", "gory", "bloody", "brutal", "martial arts", "war", "gun")
_ROMANTIC_GENRES = {"Romance": 1.0}
_ROMANTIC_TAGS = ("romance", "romantic", "love story", "love", "relationships", "wedding")

#: The directions that have an axis (the 8 of the critique benchmark, plus "more popular").
DIRECTIONS: tuple[Critique, ...] = (
    Critique.FUNNIER,
    Critique.DARKER,
    Critique.LIGHTER,
    Critique.LESS_VIOLENT,
    Critique.MORE_ROMANTIC,
    Critique.MORE_RECENT,
    Critique.OLDER,
    Critique.LESS_POPULAR,
    Critique.MORE_POPULAR,
)
#: How far beyond the reference a movie must lie to count as moving (years: one year).
_MARGIN = 1e-6


def _tag_score(tags: Iterable[str], cues: Sequence[str], step: float, cap: float) -> float:
    text = " | ".join(t.casefold() for t in tags)
    if not text:
        return 0.0
    return min(cap, step * sum(1 for c in cues if c in text))


def _genres(movie: Movie, weights: Mapping[str, float]) -> float:
    return sum(weights.get(g, 0.0) for g in movie.genres)


def darkness(movie: Movie) -> float:
    """How dark a movie is by its genres and tags (negative: light)."""
    dark = _tag_score(movie.tags, _DARK_TAGS, 0.2, 0.6)
    light = _tag_score(movie.tags, _LIGHT_TAGS, 0.2, 0.6)
    return _genres(movie, _DARK_GENRES) + dark - light


def axis_value(movie: Movie, direction: Critique) -> float | None:
    """The movie's position on ``direction``'s axis (higher = further that way); None when the direction
    has no axis or the movie lacks the fact (no year)."""
    if direction is Critique.FUNNIER:
        return _genres(movie, _FUNNY_GENRES) + _tag_score(movie.tags, _FUNNY_TAGS, 0.2, 0.6)
    if direction is Critique.DARKER:
        return darkness(movie)
    if direction is Critique.LIGHTER:
        return -darkness(movie)
    if direction is Critique.LESS_VIOLENT:
        return -(_genres(movie, _VIOLENT_GENRES) + _tag_score(movie.tags, _VIOLENT_TAGS, 0.2, 0.8))
    if direction is Critique.MORE_ROMANTIC:
        return _genres(movie, _ROMANTIC_GENRES) + _tag_score(movie.tags, _ROMANTIC_TAGS, 0.2, 0.6)
    if direction in (Critique.MORE_RECENT, Critique.OLDER):
        if movie.year is None:
            return None
        return float(movie.year if direction is Critique.MORE_RECENT else -movie.year)
    if direction in (Critique.LESS_POPULAR, Critique.MORE_POPULAR):
        pop = math.log1p(max(0, movie.rating_count))
        return pop if direction is Critique.MORE_POPULAR else -pop
    return None


def reference(catalogue: Catalogue, direction: Critique, shown: Iterable[int]) -> float | None:
    """The shown picks' mean on ``direction``'s axis; None when none of them has a value."""
    values = [
        v
        for m in shown
        if (movie := catalogue.find(m)) is not None and (v := axis_value(movie, direction)) is not None
    ]
    return sum(values) / len(values) if values else None


def moves(catalogue: Catalogue, movie_id: int, direction: Critique, ref: float) -> bool:
    """Whether ``movie_id`` lies beyond ``ref`` in ``direction`` (strictly)."""
    movie = catalogue.find(movie_id)
    value = axis_value(movie, direction) if movie is not None else None
    return value is not None and value > ref + _MARGIN


def movers_first(
    ranked: ScoredList,
    catalogue: Catalogue,
    directions: Sequence[Critique],
    shown: Sequence[int],
    depth: int = 1000,
) -> ScoredList:
    """``ranked`` with the movers (beyond the shown picks' mean along every one of ``directions``) among
    its first ``depth`` entries moved to the front, each part in the ranker's order; unchanged when no
    direction has an axis or nothing was shown."""
    refs = [(d, r) for d in directions if (r := reference(catalogue, d, shown)) is not None]
    return _front(ranked, catalogue, refs, depth)


#: Mood words that ask for one side of an axis outright ("something cozy" is light whatever was shown):
#: the direction and the point on its axis a movie must lie beyond. Light: a darkness below -0.25, so
#: a comedy (-0.5) or a family film is light, a thriller with a romance in it (-0.2) is not. "Uplifting"
#: and "inspiring" are left out: many inspiring films are dramas.
MOOD_AXES: dict[str, tuple[Critique, float]] = {
    mood: (Critique.LIGHTER, 0.25)
    for mood in ("wholesome", "feel-good", "heartwarming", "light-hearted", "relaxing")
}


def mood_first(
    ranked: ScoredList, catalogue: Catalogue, moods: Sequence[str], depth: int = 1000
) -> ScoredList:
    """``ranked`` with the movies on the asked side of each mood's axis (:data:`MOOD_AXES`: "cozy",
    "feel-good" ask for light ones) among its first ``depth`` entries moved to the front, each part in
    the ranker's order; unchanged when no mood has an axis or no movie qualifies."""
    refs = list(dict.fromkeys(MOOD_AXES[m] for m in moods if m in MOOD_AXES))
    return _front(ranked, catalogue, refs, depth)


def _front(
    ranked: ScoredList, catalogue: Catalogue, refs: Sequence[tuple[Critique, float]], depth: int
) -> ScoredList:
    """The movers of ``ranked``'s head (beyond every reference on its direction's axis) first."""
    if not refs or not ranked.ids:
        return ranked
    head = list(zip(ranked.ids[:depth], ranked.scores[:depth], strict=True))
    movers = [(m, s) for m, s in head if all(moves(catalogue, m, d, r) for d, r in refs)]
    if not movers:
        return ranked
    chosen = {m for m, _ in movers}
    rest = [(m, s) for m, s in head if m not in chosen]
    tail = list(zip(ranked.ids[depth:], ranked.scores[depth:], strict=True))
    order = movers + rest + tail
    return ScoredList(tuple(m for m, _ in order), tuple(s for _, s in order))
