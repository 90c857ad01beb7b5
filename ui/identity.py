"""Who a tab is: anonymous, or signed in to an account whose likes are kept across visits.

A signed-in tab holds a signed, expiring token (kept by the browser in encrypted local storage), never
a bare name; every action on stored data re-checks the token, so signing out or changing the password
anywhere ends it. An anonymous tab stores nothing beyond its conversation. Passwords are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from agent.records import counted
from agent.store import AuthError
from ui.sessions import TabState, one_line

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.understanding.state import SessionState

log = logging.getLogger(__name__)

STORAGE_KEY = "reelchat-account"  # browser localStorage key of the sign-in token
PANEL_HINT = (
    "Sign in to keep your liked, disliked and seen movies for your next visit; only you can see, "
    "download or delete them. Without an account, nothing is stored beyond this conversation."
)
LOADING = "The recommender is still loading; try again in a moment."
NOT_SIGNED_IN = "You're not signed in: nothing is stored about anonymous conversations."


def remembered(token: str | None) -> dict[str, str]:
    """What the browser keeps: a dict, as Gradio's BrowserState skips writing falsy values like ``""``."""
    return {"token": token or ""}


def remembered_token(value: object) -> str:
    """The token in a stored :func:`remembered` value ("" for anything else)."""
    token = value.get("token") if isinstance(value, dict) else None
    return token if isinstance(token, str) else ""


def restored_text(user_id: str, state: SessionState) -> str:
    """One line saying what was restored for ``user_id`` (or that a new account starts empty)."""
    counts = [(len(state.liked), "liked"), (len(state.disliked), "disliked"), (len(state.seen), "seen")]
    parts = [f"{n} {word}" for n, word in counts if n]
    if not parts:
        return f"Hi, {user_id}. I'll remember what you like, dislike and have seen from now on."
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    noun = "movie" if sum(n for n, _ in counts) == 1 else "movies"
    return f"Welcome back, {user_id}: {listed} {noun} restored."


def _become(tab: TabState, agent: RecommenderAgent, user_id: str | None, token: str) -> None:
    tab.user_id, tab.token = user_id, token
    tab.session = None
    tab.clear()
    if user_id:
        tab.ensure_session(agent)


def sign_in(
    tab: TabState, agent: RecommenderAgent | None, name: object, password: object, client: str, *, new: bool
) -> str:
    """Sign the tab in (``new``: create the account first), restoring its likes; one-line result."""
    if agent is None:
        return LOADING
    try:
        accounts = agent.accounts
        signed = accounts.sign_up(name, password) if new else accounts.sign_in(name, password, client)
    except AuthError as err:
        return str(err)
    except Exception as err:  # the store is down: say so, keep the tab as it was
        log.error("sign-in failed: %s", one_line(err))
        return f"Couldn't sign you in right now: {one_line(err)}"
    _become(tab, agent, signed.user_id, signed.token)
    assert tab.session is not None
    return restored_text(signed.user_id, tab.session.state)


def current_user(tab: TabState, agent: RecommenderAgent | None) -> str:
    """The tab's user after re-checking its token; raises :class:`AuthError` (and signs the tab out)."""
    if not tab.token:
        raise AuthError(NOT_SIGNED_IN)
    if agent is None:
        raise AuthError(LOADING)
    try:
        return agent.accounts.authenticate(tab.token)
    except AuthError:
        _become(tab, agent, None, "")
        raise


def restore(tab: TabState, agent: RecommenderAgent | None, token: str) -> str:
    """On page load: sign the tab in with the token the browser kept, if it is still valid."""
    if not token or tab.token or agent is None:
        return ""
    tab.token = token
    try:
        user_id = current_user(tab, agent)
    except AuthError as err:
        return str(err)
    _become(tab, agent, user_id, token)
    assert tab.session is not None
    return restored_text(user_id, tab.session.state)


def sign_out(tab: TabState, agent: RecommenderAgent | None) -> str:
    """End the account's sign-ins everywhere (its tokens stop working) and make the tab anonymous."""
    try:
        current_user(tab, agent)
        assert agent is not None
        user_id = agent.accounts.sign_out(tab.token)
    except AuthError as err:
        return str(err)
    _become(tab, agent, None, "")
    return f"Signed out {user_id}. This tab is anonymous now: nothing is stored."


def change_password(tab: TabState, agent: RecommenderAgent | None, old: object, new: object) -> str:
    """Change the signed-in user's password; other sign-ins end, this tab gets a fresh token."""
    try:
        current_user(tab, agent)
        assert agent is not None
        signed = agent.accounts.change_password(tab.token, old, new)
    except AuthError as err:
        return str(err)
    tab.token = signed.token
    return "Password changed. Other browsers and API tokens are signed out."


def export_data(tab: TabState, agent: RecommenderAgent | None) -> tuple[str, str | None]:
    """Write everything stored about the signed-in user to a private JSON file; (note, path or None)."""
    try:
        current_user(tab, agent)
        assert agent is not None
        data = agent.accounts.export(tab.token)
    except AuthError as err:
        return str(err), None
    folder = Path(tempfile.mkdtemp(prefix="reelchat-export-"))
    os.chmod(folder, 0o700)
    path = folder / "reelchat-my-data.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    n = len(data["feedback"])
    said = f"{counted(n, 'feedback event')} and {counted(len(data['messages']), 'message')}"
    return f"Your data: {said}, ready to download.", str(path)


def delete_account(tab: TabState, agent: RecommenderAgent | None) -> str:
    """Delete the signed-in user's account and every row about them, then sign the tab out."""
    try:
        current_user(tab, agent)
        assert agent is not None
        counts = agent.accounts.delete(tab.token)
    except AuthError as err:
        return str(err)
    except Exception as err:  # the store is down or read-only: say so, keep the user as they were
        log.error("delete_account failed: %s", one_line(err))
        return f"Couldn't delete your data right now: {one_line(err)}"
    _become(tab, agent, None, "")
    rows = sum(counts.values())
    return f"Deleted your account and everything stored about it ({rows} records). You're signed out."
