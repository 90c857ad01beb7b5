"""A conversation as JSON: what replicas store so that any of them can continue it.

:func:`snapshot` captures a session's query state (likes, filters, shown picks, group viewers...), its
turn history and pending notices; :func:`restore` puts them back into a fresh session with the same id.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Protocol

from agent.understanding.state import SessionState

FORMAT = 1


class Snapshottable(Protocol):
    """What a session exposes to be saved and restored (the real and the fake session both do)."""

    session_id: str
    user_id: str | None
    state: SessionState
    history: list[dict[str, str]]


def state_to_dict(state: SessionState) -> dict[str, Any]:
    """Every field of ``state``; group viewers recursively."""
    out: dict[str, Any] = {}
    for f in fields(state):
        value = getattr(state, f.name)
        if f.name == "members":
            value = {name: state_to_dict(st) for name, st in value.items()}
        elif isinstance(value, list):
            value = list(value)
        out[f.name] = value
    return out


def state_from_dict(data: dict[str, Any]) -> SessionState:
    """The inverse of :func:`state_to_dict`; unknown keys (a newer format) are ignored."""
    state = SessionState()
    known = {f.name for f in fields(state)}
    for name, value in data.items():
        if name not in known:
            continue
        if name == "members":
            value = {str(k): state_from_dict(v) for k, v in value.items()}
        setattr(state, name, value)
    return state


def snapshot(session: Snapshottable) -> dict[str, Any]:
    """A JSON-ready copy of the conversation (not its owner: the store keeps that apart)."""
    return {
        "format": FORMAT,
        "state": state_to_dict(session.state),
        "history": [dict(m) for m in session.history],
        "notices": list(getattr(session, "notices", [])),
    }


def restore(session: Snapshottable, data: dict[str, Any]) -> None:
    """Replace ``session``'s state, history and pending notices by those of ``data``."""
    session.state = state_from_dict(data.get("state") or {})
    session.history[:] = [dict(m) for m in data.get("history") or ()]
    if hasattr(session, "notices"):
        session.notices[:] = list(data.get("notices") or ())
