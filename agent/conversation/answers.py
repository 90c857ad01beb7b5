"""Answers to questions about movies (shown picks or named titles), from catalogue facts only.

A question changes nothing: no likes, no new picks. Each answer says only what the catalogue holds
(year, genres, tags, rating, directors, stars, plot) and, for "why", the evidence the pick was chosen on;
a fact we do not hold is said to be missing, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.explain.evidence import EvidenceBuilder
from agent.group.recommend import possessive
from agent.records import Member, counted
from agent.understanding.acts import aspect
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

NO_SUBJECT = 'Which movie do you mean? Ask about one of my picks ("the second one", "#3") or name a title.'
#: Feeling words a question may check, and the genres and tags that answer them.
FEELINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "scary": (("Horror", "Thriller"), ("scary", "creepy", "horror", "suspense", "disturbing", "tense")),
    "creepy": (("Horror",), ("creepy", "scary", "disturbing")),
    "funny": (("Comedy",), ("funny", "hilarious", "comedy", "humorous", "witty")),
    "romantic": (("Romance",), ("romance", "romantic", "love story")),
    "violent": (("Action", "War", "Crime", "Horror"), ("violent", "violence", "gore", "bloody", "brutal")),
    "gory": (("Horror",), ("gore", "gory", "bloody", "violence")),
    "sad": (("Drama",), ("sad", "depressing", "tearjerker", "emotional")),
    "dark": (("Thriller", "Crime", "Horror"), ("dark", "dark comedy", "bleak", "disturbing")),
    "for kids": (("Children", "Animation"), ("family", "kids", "pixar", "disney")),
    "kid-friendly": (("Children", "Animation"), ("family", "kids", "pixar", "disney")),
    "family-friendly": (("Children", "Animation"), ("family", "kids", "pixar", "disney")),
    "animated": (("Animation",), ("animation", "animated", "pixar")),
}


def answer(
    question: str,
    movie_ids: Sequence[int],
    catalogue: Catalogue,
    evidence: EvidenceBuilder,
    state: SessionState | None = None,
) -> str:
    """One paragraph per movie asked about, answering the question's aspect from facts we hold.

    "Why" answers from the conversation's tastes (``state``); in a group, from the tastes of the viewer
    the pick was chosen for (``state.last_served``), saying whose they are."""
    if not movie_ids:
        return NO_SUBJECT
    st = state or SessionState()
    served = dict(zip(st.last_picks, st.last_served, strict=False))
    kind = aspect(question)
    movies = [catalogue.get(m) for m in movie_ids]
    if kind == "length":
        return _no_length(movies)
    if len(movies) > 1 and (best := _superlative(question, movies)):
        return best
    parts = []
    for mid, movie in zip(movie_ids[:3], movies, strict=False):
        if kind == "why":
            taste = (st.liked, st.genres_liked)
            parts.append(_why(movie, evidence, taste, st.text, st.member_list(), served.get(mid)))
        elif kind == "genres" and (feeling := _feeling(question)):
            parts.append(_feeling_answer(movie, feeling))
        else:
            parts.append(_fact(movie, kind))
    return "\n\n".join(parts)


def _no_length(movies: Sequence[Movie]) -> str:
    names = ", ".join(m.label for m in movies[:5])
    return (
        f"I don't hold running times, so I can't say how long {names} {'is' if len(movies) == 1 else 'are'}."
    )


_MOST = (  # (superlative, the fact it compares, the largest value wins, how the answer says it)
    (re.compile(r"\b(?:oldest|earliest)\b", re.I), "year", False, "oldest"),
    (re.compile(r"\b(?:newest|latest|most recent)\b", re.I), "year", True, "newest"),
    (re.compile(r"\b(?:best|highest[- ]rated|top[- ]rated)\b", re.I), "rating", True, "best rated"),
    (re.compile(r"\b(?:worst|lowest[- ]rated)\b", re.I), "rating", False, "lowest rated"),
)


def _superlative(question: str, movies: Sequence[Movie]) -> str | None:
    """Answers "which of those is the oldest / newest / best rated?" over ``movies`` from facts we hold."""
    for pattern, fact, largest, said in _MOST:
        if not pattern.search(question):
            continue
        if fact == "year":
            held = [(float(m.year), m.label) for m in movies if m.year]
        else:
            held = [
                (float(m.rating_mean), f"{m.label}, {m.rating_mean:.1f} out of 5 on MovieLens")
                for m in movies
                if m.rating_mean is not None and m.rating_count
            ]
        if not held:
            return f"I don't hold the {'release years' if fact == 'year' else 'ratings'} of those movies."
        value = (max if largest else min)(v for v, _ in held)
        top = [text for v, text in held if v == value]
        others = [text for v, text in held if v != value]
        line = f"Of those, the {said} is {' and '.join(top)}."
        return line + (f" The others: {'; '.join(others)}." if others else "")
    return None


def _feeling(question: str) -> str | None:
    q = question.lower()
    for word in FEELINGS:
        if re.search(rf"(?<!\w){re.escape(word).replace('-', '[- ]')}(?!\w)", q):
            return word
    return None


def _feeling_answer(movie: Movie, feeling: str) -> str:
    genres, tags = FEELINGS[feeling]
    hit_genres = [g for g in movie.genres if g in genres]
    hit_tags = [t for t in movie.tags if t.lower() in tags]
    facts = _genre_line(movie)
    if hit_genres or hit_tags:
        why = ", ".join([*(f"genre {g}" for g in hit_genres), *(f"tagged '{t}'" for t in hit_tags)])
        return f"Probably yes: {movie.label} is listed with {why}. {facts}"
    return f"Probably not: nothing in what I hold on {movie.label} says {feeling}. {facts}"


def _genre_line(movie: Movie) -> str:
    line = f"Genres: {', '.join(movie.genres) or 'none listed'}."
    if movie.tags:
        line += f" Tags: {', '.join(movie.tags[:5])}."
    return line


def _rating_line(movie: Movie) -> str:
    if movie.rating_mean is None or not movie.rating_count:
        return f"I hold no ratings for {movie.label}."
    return (
        f"{movie.label} averages {movie.rating_mean:.1f} out of 5 "
        f"from {counted(movie.rating_count, 'MovieLens rating')}."
    )


def _fact(movie: Movie, kind: str) -> str:
    label = movie.label
    if kind == "directors":
        if movie.directors:
            return f"{label} was directed by {', '.join(movie.directors[:3])}."
        return f"I don't hold the director of {label}. {_genre_line(movie)}"
    if kind == "stars":
        if movie.stars:
            return f"{label} stars {', '.join(movie.stars[:4])}."
        return f"I don't hold the cast of {label}. {_genre_line(movie)}"
    if kind == "year":
        if movie.year:
            return f"{movie.title} came out in {movie.year}."
        return f"I don't hold the release year of {movie.title}."
    if kind == "rating":
        return _rating_line(movie)
    if kind == "genres":
        return f"{label}: {_genre_line(movie)}"
    return _summary(movie)


def _summary(movie: Movie) -> str:
    lines = [f"**{movie.label}** — {_genre_line(movie)}"]
    if movie.plot:
        lines.append(f"Plot: {movie.plot}")
    if movie.directors:
        lines.append(f"Directed by {', '.join(movie.directors[:3])}.")
    if movie.stars:
        lines.append(f"Starring {', '.join(movie.stars[:4])}.")
    lines.append(_rating_line(movie))
    return " ".join(lines)


def _why(
    movie: Movie,
    evidence: EvidenceBuilder,
    taste: tuple[Sequence[int], Sequence[str]],
    text: str,
    viewers: Sequence[Member] = (),
    served: str | None = None,
) -> str:
    """Why a pick was made, from the evidence it was chosen on; ``taste``: liked movies and genres."""
    chosen_for = next((v for v in viewers if v.name == served), None)
    liked, genres = taste
    if viewers:  # a group: the tastes of the viewer the pick was for, else everyone's
        group = [chosen_for] if chosen_for else viewers
        liked = [m for v in group for m in v.liked]
        genres = list(dict.fromkeys(g for v in group for g in v.genres_liked))
    ev = evidence.build(movie.movie_id, liked, text)
    reasons = []
    if ev.related_liked:
        names = " and ".join(m.label for m in ev.related_liked)
        reasons.append(f"it is close to {names}, which {_whose(ev.related_liked, viewers)} liked")
        if ev.co_liked_count:
            both = counted(ev.co_liked_count, "MovieLens user")
            reasons.append(f"{both} rated both 4 stars or more")
    if ev.matched_genres:
        reasons.append(f"it shares the genres {', '.join(ev.matched_genres)}")
    wanted = [g for g in movie.genres if g in genres and g not in ev.matched_genres]
    if wanted:
        whose = possessive(chosen_for.name) if chosen_for else "your"
        reasons.append(f"it is listed as {' and '.join(wanted)}, on {whose} list of liked genres")
    if ev.reason_tags:
        reasons.append(f"it is tagged {', '.join(repr(t) for t in ev.reason_tags)}")
    if not reasons:
        reasons.append(f"it fits what you asked for ({', '.join(movie.genres) or 'no genre listed'})")
    whom = f" for {served}" if chosen_for is not None else ""
    return f"I picked {movie.label}{whom} because " + "; ".join(reasons) + f". {_rating_line(movie)}"


def _whose(movies: Sequence[Movie], viewers: Sequence[Member]) -> str:
    """Who liked ``movies``: "you" alone, else the viewers who did ("your partner", "you and Sam")."""
    ids = {m.movie_id for m in movies}
    names = [v.name for v in viewers if ids & set(v.liked)] or ["you"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
