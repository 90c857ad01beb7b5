"""Who a tab is: an optional user name that keeps likes across visits, and "forget me".

A tab without a name is anonymous and nothing of it is stored beyond its session. Names are not
authenticated: anyone who types the same name gets the same saved likes (the issue asks for no more).
"""

from __future__ import annotations

import logging
import unicodedata
from typing import TYPE_CHECKING

from ui.sessions import TabState, one_line

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.understanding.state import SessionState

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 64
STORAGE_KEY = "reelchat-user"  # browser localStorage key of the remembered name
# BrowserState encrypts what it stores; a fixed key keeps the name readable after a server restart.
# The name is not a secret (typing it is all it takes), so a key in the source is enough.
STORAGE_SECRET = "reelchat-user-name"
PANEL_HINT = (
    "Give a name to keep your liked, disliked and seen movies for your next visit. "
    "Without one, nothing is stored beyond this conversation. Names are not passwords: "
    "anyone who types the same name sees the same likes."
)


def remembered(user_id: str | None) -> dict[str, str]:
    """What the browser keeps: a dict, as Gradio's BrowserState skips writing falsy values like ``""``."""
    return {"user_id": user_id or ""}


def remembered_user(value: object) -> str:
    """The user id in a stored :func:`remembered` value ("" for anything else)."""
    return normalise_user(value.get("user_id")) if isinstance(value, dict) else ""


def normalise_user(name: object) -> str:
    """The user id for a typed name: NFKC, case-folded, letters/digits/``._-'`` and single spaces."""
    text = unicodedata.normalize("NFKC", name if isinstance(name, str) else "").casefold()
    kept = "".join(ch if ch.isalnum() or ch in "._-'" else " " for ch in text)
    return " ".join(kept.split())[:MAX_NAME_CHARS].strip()


def restored_text(user_id: str, state: SessionState) -> str:
    """One line saying what was restored for ``user_id`` (or that a new name starts empty)."""
    counts = [(len(state.liked), "liked"), (len(state.disliked), "disliked"), (len(state.seen), "seen")]
    parts = [f"{n} {word}" for n, word in counts if n]
    if not parts:
        return f"Hi, {user_id}. I'll remember what you like, dislike and have seen from now on."
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    noun = "movie" if sum(n for n, _ in counts) == 1 else "movies"
    return f"Welcome back, {user_id}: {listed} {noun} restored."


def use_identity(tab: TabState, agent: RecommenderAgent | None, name: object) -> str:
    """Switch ``tab`` to the user named ``name`` (restoring their likes), or to anonymous when empty.

    Either way the tab gets a fresh conversation; returns the one-line confirmation.
    """
    raw = name.strip() if isinstance(name, str) else ""
    user_id = normalise_user(raw)
    if raw and not user_id:
        return "Use letters or digits in your name."
    if user_id and user_id == tab.user_id and tab.session is not None:
        return f"You're already using the name {user_id}."
    previous = tab.user_id
    if not user_id and not previous:
        return "You're anonymous: nothing is stored beyond this conversation."
    tab.user_id = user_id or None
    tab.session = None
    tab.clear()
    if not user_id:
        return (
            f"You're anonymous now: nothing of this conversation is stored. "
            f"What {previous} saved stays until you use Forget me under that name."
        )
    if agent is None:
        return f"Hi, {user_id}. Your saved likes come back once the recommender is ready."
    return restored_text(user_id, tab.ensure_session(agent).state)


def forget_identity(tab: TabState, agent: RecommenderAgent | None) -> str:
    """Delete everything stored about the tab's user and make the tab anonymous; one-line result."""
    user_id = tab.user_id
    if not user_id:
        return "Nothing is stored about anonymous conversations. Use your name first to delete its data."
    if agent is None:
        return "The recommender is still loading; try again in a moment."
    try:
        agent.forget_user(user_id)
    except Exception as err:  # the store is down or read-only: say so, keep the user as they were
        log.exception("forget_user failed")
        return f"Couldn't delete your data right now: {one_line(err)}"
    tab.user_id = None
    tab.session = None
    tab.clear()
    return f"Deleted everything stored about {user_id}."
