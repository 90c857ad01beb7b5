"""Browser tabs' conversations in the database, so that any replica continues any tab (issue 18).

With ``REELCHAT_SESSION_STORE=database`` a tab keeps only two things in the browser: its conversation's
id (a hidden component sent with every event) and its sign-in token (the browser's encrypted storage).
Every event rebuilds the tab from the ``conversations`` table, exactly like an API call: load by id,
check the owner (the token's user, or anonymous), restore the session and what the tab shows (the
transcript, the cards and their marks, the turn count), run the handler, and save back only when it
succeeded. A replica that dies therefore loses the event in flight and nothing else.

:mod:`ui.tab_events` wires the page's events through :class:`StoredTabs`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from agent.conversation.snapshot import restore, snapshot
from agent.records import Recommendation
from agent.store import AuthError
from ui.handlers.base import refresh_chips
from ui.sessions import SessionNotYours, TabState

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.store.conversations import StoredConversation
    from ui.shared_sessions import StoredApiSessions

TAB_NOT_YOURS = (
    "This tab's conversation belongs to someone else (another account or an anonymous conversation); "
    "press “New conversation” to start your own."
)
EXPIRED = "Your earlier conversation has expired; this is a new one."
_REC_FIELDS = frozenset(f.name for f in fields(Recommendation))


class TabNotYours(SessionNotYours):
    """The tab sent the id of a conversation its owner may not continue; ``str()`` is one line."""


@dataclass
class LoadedTab:
    """A tab rebuilt for one event: its state, the stored row it came from, and a notice to show."""

    tab: TabState
    stored: StoredConversation | None
    notice: str = ""


def tab_extras(t: TabState) -> dict[str, Any]:
    """What the tab shows beyond the session's own snapshot: transcript, cards, their marks, turn count."""
    return {
        "history": [dict(m) for m in t.history],
        "recs": [{**{k: getattr(r, k) for k in _REC_FIELDS}, "genres": list(r.genres)} for r in t.recs],
        "marks": {str(mid): signal for mid, signal in t.marks.items()},
        "turns": t.turns,
    }


def apply_extras(t: TabState, data: object) -> None:
    """Put :func:`tab_extras` back into ``t`` (anything malformed is skipped)."""
    if not isinstance(data, dict):
        return
    t.history = [
        {"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
        for m in data.get("history") or ()
        if isinstance(m, dict)
    ]
    t.recs = []
    for r in data.get("recs") or ():
        known = {k: v for k, v in r.items() if k in _REC_FIELDS} if isinstance(r, dict) else {}
        try:
            t.recs.append(Recommendation(**{**known, "genres": tuple(known.get("genres") or ())}))
        except TypeError:  # a row of another format: the card is dropped, the conversation is not
            continue
    t.marks = {int(mid): str(signal) for mid, signal in (data.get("marks") or {}).items()}
    t.turns = int(data.get("turns") or 0)


class StoredTabs:
    """Loads and saves tabs through the API's stored sessions (one ``conversations`` row per tab)."""

    def __init__(self, sessions: StoredApiSessions) -> None:
        self.sessions = sessions

    def load(self, agent: RecommenderAgent, conv_id: str, token: str, *, signed_in: bool = True) -> LoadedTab:
        """The tab of conversation ``conv_id`` for the browser holding ``token``.

        ``signed_in=False`` ignores the token (the page-load event signs the tab in itself). An invalid
        token makes the tab anonymous; the tab keeps the token so that the handler's own check says why
        and signs it out. Raises :class:`TabNotYours` for another owner's conversation.
        """
        t = TabState()
        if signed_in and token:
            t.token = token
            try:
                t.user_id = agent.accounts.authenticate(token)
            except AuthError:
                t.user_id = None
        convs = self.sessions.conversations(agent)
        stored = convs.load(conv_id) if conv_id else None
        if stored is not None and stored.owner != t.user_id:
            if not (t.token and t.user_id is None):
                raise TabNotYours(TAB_NOT_YOURS)
            stored = None  # signed out elsewhere: the conversation stays its owner's, the tab starts anew
        if stored is None:
            signed_out = bool(t.token) and t.user_id is None  # the handler says so itself
            return LoadedTab(t, None, EXPIRED if conv_id and not signed_out else "")
        session = agent.resume_session(stored.session_id, t.user_id)
        restore(session, copy.deepcopy(stored.state))  # restore() shares lists; a failed turn needs the row
        t.session = session
        apply_extras(t, stored.state.get("tab"))
        refresh_chips(t, agent)
        return LoadedTab(t, stored)

    def save(self, agent: RecommenderAgent, loaded: LoadedTab) -> str:
        """Store the tab's conversation (a new row for a new session); returns its id ("" when none).

        A failed turn keeps the conversation as it was before it and stores only the transcript.
        Raises :class:`~agent.store.conversations.ConversationConflict` when another replica saved the
        same conversation since it was loaded.
        """
        t, stored = loaded.tab, loaded.stored
        if t.session is None:
            return ""
        convs = self.sessions.conversations(agent)
        same = stored is not None and stored.session_id == t.session.session_id
        if t.turn_failed and not same:
            return ""
        if t.turn_failed and stored is not None:
            state = {**stored.state, "tab": tab_extras(t)}
        else:
            state = {**snapshot(t.session), "tab": tab_extras(t)}
        if same and stored is not None:
            loaded.stored = convs.save(stored, state)
        else:
            loaded.stored = convs.create(t.session.session_id, t.session.user_id, state)
        return t.session.session_id
