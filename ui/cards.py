"""Pure rendering of agent records: recommendation cards, chat text and API JSON. No recommendation logic."""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any

from agent.records import Query, Recommendation, Reply

#: Card badge text for each feedback signal a user can give on a card.
MARKS: dict[str, str] = {"liked": "♥ You liked this", "disliked": "✕ Not for you", "seen": "✓ Already seen"}


def esc(text: object) -> str:
    """HTML-escape any value (quotes included) for safe use in element text and attributes."""
    return html.escape("" if text is None else str(text), quote=True)


def chat_text(text: str) -> str:
    """A chat message for the Markdown chatbot: all HTML escaped, Markdown emphasis kept."""
    return esc(text)


def _rating(rec: Recommendation) -> str:
    if rec.rating_mean is None or rec.rating_count <= 0:
        return '<span class="rc-rating rc-muted">No ratings yet</span>'
    noun = "rating" if rec.rating_count == 1 else "ratings"
    return (
        f'<span class="rc-rating"><span class="rc-star">★</span> {rec.rating_mean:.1f}'
        f'<span class="rc-muted"> / 5 · {rec.rating_count:,} {noun}</span></span>'
    )


def card_html(rec: Recommendation, rank: int, mark: str | None = None) -> str:
    """One recommendation card; every field that comes from data or the LLM is escaped."""
    genres = "".join(f'<span class="rc-genre">{esc(g)}</span>' for g in rec.genres) or (
        '<span class="rc-genre rc-muted">no genre listed</span>'
    )
    links = " · ".join(
        f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(name)} ↗</a>'
        for name, url in rec.links.items()
    )
    year = f' <span class="rc-year">{esc(rec.year)}</span>' if rec.year else ""
    badge = f'<div class="rc-badge rc-badge-{esc(mark)}">{esc(MARKS[mark])}</div>' if mark in MARKS else ""
    return (
        f'<div class="rc-card" data-movie-id="{esc(rec.movie_id)}">'
        f'<div class="rc-head"><span class="rc-rank">{rank}</span>'
        f'<span class="rc-title">{esc(rec.title)}</span>{year}</div>'
        f'<div class="rc-genres">{genres}</div>'
        f"{_rating(rec)}"
        f'<p class="rc-expl">{esc(rec.explanation)}</p>'
        f'<div class="rc-links">{links}</div>{badge}</div>'
    )


def recommendation_dict(rec: Recommendation) -> dict[str, Any]:
    """A JSON-ready view of one recommendation, links included."""
    out = asdict(rec)
    out["genres"] = list(rec.genres)
    out["label"] = rec.label
    out["links"] = rec.links
    return out


def query_dict(query: Query) -> dict[str, Any]:
    """A JSON-ready view of the understood query."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(query).items()}


def reply_details(reply: Reply | None) -> dict[str, Any]:
    """The transparency panel's JSON: understood query, pipeline steps and notices of the last reply."""
    if reply is None:
        return {}
    return {
        "query": query_dict(reply.query),
        "steps": [{"kind": s.kind, "summary": s.summary, "ms": round(s.duration_ms, 1)} for s in reply.steps],
        "notices": list(reply.notices),
        "error": reply.error,
    }


def status_html(kind: str, message: str) -> str:
    """The loading/ready/failed status banner (message escaped)."""
    icon = {"loading": '<span class="rc-spinner"></span>', "ready": "✓", "failed": "⚠"}.get(kind, "")
    return f'<div class="rc-status rc-status-{esc(kind)}">{icon} {esc(message)}</div>'


def note_html(message: str) -> str:
    """A short one-line confirmation (feedback noted, constraint removed)."""
    return f'<div class="rc-note">{esc(message)}</div>' if message else ""


def turn_marker(turns: int, busy: bool) -> str:
    """An invisible element telling scripts and tests how many turns finished and whether one runs."""
    return f'<span class="rc-turn" data-turn="{int(turns)}" data-busy="{int(busy)}"></span>'
