"""API conversations kept in the feedback database, so that any server replica can continue any of them.

With ``REELCHAT_SESSION_STORE=database`` every ``/chat`` and ``/feedback`` call reads the conversation by
its ``session_id`` (checking its owner), runs on a session restored from the snapshot, and saves it back
only when the call succeeded. A replica that dies mid-turn therefore loses that turn and nothing else.
The in-memory :class:`ui.sessions.ApiSessions` has the same interface (``open`` and ``existing``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from agent.conversation.snapshot import restore, snapshot
from agent.store.conversations import ConversationStore
from ui.sessions import NOT_YOURS, SessionNotYours

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from agent.conversation.session import Session
    from agent.store import FeedbackStore


class ConversationAgent(Protocol):
    """What the stored sessions need from the agent (the real one and the UI tests' fake)."""

    @property
    def store(self) -> FeedbackStore: ...

    def start_session(self, user_id: str | None = None) -> Any: ...

    def resume_session(self, session_id: str, user_id: str | None = None) -> Any: ...


class ApiSessionStore(Protocol):
    """Where the API keeps its conversations: in this process, or in the database for every replica."""

    def open(
        self, agent: Any, session_id: str = "", owner: str | None = None
    ) -> AbstractContextManager[Session]:
        """``owner``'s session ``session_id`` (a new one when empty or unknown) for one call."""
        ...

    def existing(
        self, agent: Any, session_id: str, owner: str | None = None
    ) -> AbstractContextManager[Session | None]:
        """``owner``'s session ``session_id`` for one call, or None when unknown."""
        ...


class StoredApiSessions:
    """API sessions in the ``conversations`` table, bound to their owner; idle ones expire after ``ttl_s``."""

    def __init__(self, ttl_s: float = 24 * 3600.0) -> None:
        self.ttl_s = ttl_s
        self._conversations: ConversationStore | None = None
        self._lock = threading.Lock()

    def conversations(self, agent: ConversationAgent) -> ConversationStore:
        """The conversation store over ``agent``'s database (built on first use)."""
        with self._lock:
            if self._conversations is None or self._conversations.store is not agent.store:
                self._conversations = ConversationStore(agent.store, self.ttl_s)
            return self._conversations

    @contextmanager
    def open(self, agent: ConversationAgent, session_id: str = "", owner: str | None = None) -> Iterator[Any]:
        """The session for one call, saved back when the call returns without an exception.

        Raises :class:`SessionNotYours` for another owner's session, and
        :class:`~agent.store.conversations.ConversationConflict` when another replica saved it meanwhile.
        """
        convs = self.conversations(agent)
        stored = convs.load(session_id) if session_id else None
        if stored is None:
            session = agent.start_session(user_id=owner) if owner else agent.start_session()
            stored = convs.create(session.session_id, owner, snapshot(session))
        else:
            if stored.owner != owner:
                raise SessionNotYours(NOT_YOURS)
            session = agent.resume_session(stored.session_id, owner)
            restore(session, stored.state)
        yield session
        convs.save(stored, {**stored.state, **snapshot(session)})  # keeps what a tab stored beside it

    @contextmanager
    def existing(self, agent: ConversationAgent, session_id: str, owner: str | None = None) -> Iterator[Any]:
        """Like :meth:`open`, but yields None (and stores nothing) for an unknown or expired id."""
        convs = self.conversations(agent)
        stored = convs.load(session_id) if session_id else None
        if stored is None:
            yield None
            return
        if stored.owner != owner:
            raise SessionNotYours(NOT_YOURS)
        session = agent.resume_session(stored.session_id, owner)
        restore(session, stored.state)
        yield session
        convs.save(stored, {**stored.state, **snapshot(session)})  # keeps what a tab stored beside it
