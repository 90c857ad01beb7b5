"""The members panel: the group's viewers with their likes, dislikes and rules (renders session state)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from agent.records import Member
from ui.cards import esc


def split_titles(text: str) -> list[str]:
    """``"Alien; Heat, Ran"`` → ``["Alien", "Heat", "Ran"]`` (titles with commas: separate with ";")."""
    text = text if isinstance(text, str) else ""
    parts = re.split(r"[;\n]", text) if ";" in text or "\n" in text else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def _rules(m: Member) -> list[str]:
    out = [f"only {g}" for g in m.genres_required] + [f"no {g}" for g in m.genres_excluded]
    if m.year_min is not None:
        out.append(f"from {m.year_min}")
    if m.year_max is not None:
        out.append(f"until {m.year_max}")
    return out


def members_html(members: Sequence[Member], label_of: Callable[[int], str]) -> str:
    """One row per viewer (escaped); a hint when watching alone."""
    title = '<div class="rc-section-title">Who is watching</div>'
    if not members:
        return (
            f'{title}<div class="rc-members rc-muted">Just you. Add a viewer below, or say '
            "“movie night with Sam: Sam hates horror”.</div>"
        )
    rows = []
    for m in members:
        bits = []
        if m.liked:
            bits.append("likes " + ", ".join(esc(label_of(i)) for i in m.liked))
        if m.disliked:
            bits.append("dislikes " + ", ".join(esc(label_of(i)) for i in m.disliked))
        bits += [esc(r) for r in _rules(m)]
        detail = "; ".join(bits) or '<span class="rc-muted">nothing yet</span>'
        rows.append(f'<li class="rc-member"><b>{esc(m.name)}</b>: {detail}</li>')
    return f'{title}<ul class="rc-members">{"".join(rows)}</ul>'


def session_members(session: Any) -> tuple[Member, ...]:
    """The viewers of ``session`` (empty without a session or outside a group)."""
    state = getattr(session, "state", None)
    return tuple(state.member_list()) if state is not None and hasattr(state, "member_list") else ()


def add_viewer(session: Any, name: str, likes: str, dislikes: str) -> str:
    """The panel's "Add / update viewer" action: calls ``Session.add_member``; returns a note."""
    if session is None or not hasattr(session, "add_member"):
        return "Viewers can be added once the recommender is ready."
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        return "Give the viewer a name."
    return str(session.add_member(name, split_titles(likes), split_titles(dislikes)))


def remove_viewer(session: Any, name: str) -> str:
    """The panel's "Remove viewer" action: calls ``Session.remove_member``; returns a note."""
    if session is None or not hasattr(session, "remove_member"):
        return "There are no viewers to remove."
    name = name.strip() if isinstance(name, str) else ""
    return str(session.remove_member(name)) if name else "Type the name of the viewer to remove."
