"""Deterministic reply text: what was understood and why there are fewer picks."""

from __future__ import annotations

from agent.records import Query
from agent.understanding.deltas import Understanding
from retrieval.catalogue import Catalogue


def describe_constraints(catalogue: Catalogue, q: Query) -> list[str]:
    parts = []
    if q.liked:
        parts.append("like " + _titles(catalogue, q.liked))
    if q.disliked:
        parts.append("unlike " + _titles(catalogue, q.disliked))
    if q.genres_required:
        parts.append(" and ".join(q.genres_required))
    if q.genres_excluded:
        parts.append("no " + ", no ".join(q.genres_excluded))
    if q.genres_liked:
        parts.append("leaning to " + " or ".join(q.genres_liked))
    if q.year_min is not None and q.year_max is not None:
        parts.append(f"from {q.year_min} to {q.year_max}")
    elif q.year_min is not None:
        parts.append(f"from {q.year_min} on")
    elif q.year_max is not None:
        parts.append(f"up to {q.year_max}")
    if q.text:
        parts.append(f'"{q.text[:80]}"')
    return parts


def _titles(catalogue: Catalogue, ids: tuple[int, ...], limit: int = 3) -> str:
    labels = [catalogue.get(i).label for i in ids[-limit:] if i in catalogue]
    more = len(ids) - len(labels)
    return ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def compose_header(catalogue: Catalogue, q: Query, n: int, u: Understanding) -> str:
    parts = describe_constraints(catalogue, q)
    what = "; ".join(parts)
    if n == 0:
        if parts:
            return f"I found no movie that fits all of: {what}. Try removing a constraint."
        return "I found nothing new to suggest. Tell me a movie you like or a genre to explore."
    noun = "pick" if n == 1 else "picks"
    if not parts:
        return f"Here {'is' if n == 1 else 'are'} {n} popular {noun} to start with:"
    return f"Here {'is' if n == 1 else 'are'} {n} {noun} ({what}):"


def compose_notices(notices: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for n in notices:
        if n not in seen:
            seen.add(n)
            out.append(f"_{n}_")
    return out
