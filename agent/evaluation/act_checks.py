"""Script checks for conversation acts: ``act``, ``keeps_likes`` and answers built from catalogue facts.

``act: question`` — the reply's act; a question reply has no picks and its turn does not replace the
previous turn's picks. ``keeps_likes: true`` — liked, disliked and seen are those of the previous reply.
``answer_about: POS | TITLE`` with ``answer_facts: [year, genres, directors, stars, rating, plot]`` — the
reply names each listed fact of that movie that the catalogue holds (a fact it lacks is not required).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.records import Query, Reply
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

ACT_KEYS = frozenset(["act", "keeps_likes", "answer_about", "answer_facts"])
FACTS = frozenset(["year", "genres", "directors", "stars", "rating", "plot"])


def _subject(catalogue: Catalogue, about: object, previous: Sequence[int]) -> Movie | None:
    if isinstance(about, int):
        return catalogue.find(previous[about]) if -len(previous) <= about < len(previous) else None
    want = " ".join(str(about).casefold().split())
    return next((m for m in catalogue if want in (m.title.casefold(), m.label.casefold())), None)


def _fact_text(movie: Movie, fact: str) -> str | None:
    """The text a reply must contain for ``fact`` of ``movie``; None when we do not hold it."""
    if fact == "year":
        return str(movie.year) if movie.year else None
    if fact == "genres":
        return movie.genres[0] if movie.genres else None
    if fact == "directors":
        return movie.directors[0] if movie.directors else None
    if fact == "stars":
        return movie.stars[0] if movie.stars else None
    if fact == "rating":
        return f"{movie.rating_mean:.1f}" if movie.rating_mean is not None and movie.rating_count else None
    if fact == "plot":
        return movie.plot[:40] if movie.plot else None
    raise ValueError(f"unknown fact {fact!r}; expected one of {sorted(FACTS)}")


def check_acts(
    catalogue: Catalogue,
    reply: Reply,
    expect: Mapping[str, Any],
    previous: Sequence[int],
    previous_query: Query | None,
) -> list[str]:
    """Reasons why ``reply`` fails the act expectations (empty: it passes)."""
    why: list[str] = []
    if "act" in expect and reply.act != expect["act"]:
        why.append(f"act is {reply.act!r}, expected {expect['act']!r}")
    if expect.get("act") == "question" and reply.recommendations:
        why.append(f"a question got {len(reply.recommendations)} new picks")
    if expect.get("keeps_likes") and previous_query is not None:
        for key in ("liked", "disliked", "seen"):
            if sorted(getattr(reply.query, key)) != sorted(getattr(previous_query, key)):
                why.append(f"query.{key} changed on a turn that should keep it")
    if "answer_about" in expect:
        movie = _subject(catalogue, expect["answer_about"], previous)
        if movie is None:
            return [*why, f"answer_about {expect['answer_about']!r}: no such movie"]
        for fact in expect.get("answer_facts") or []:
            text = _fact_text(movie, str(fact))
            if text is not None and text.casefold() not in reply.text.casefold():
                why.append(f"the answer lacks {movie.label}'s {fact} ({text!r})")
    return why
