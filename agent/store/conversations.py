"""Conversation state shared by server replicas: one row per session id in the ``conversations`` table.

A row holds the owner the session is bound to (a user id, or NULL for anonymous), a JSON snapshot of the
conversation and a version. :meth:`ConversationStore.save` only writes over the version it read, so two
replicas running turns of the same conversation at once never silently lose one: the later save fails
with :class:`ConversationConflict` and the caller asks the user to resend. Rows not touched for
``ttl_s`` seconds are expired (deleted on a later write, and never read back).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from agent.store.models import conversations, users, utcnow
from agent.store.repository import FeedbackStore, StoreError, _insert_ignore

SWEEP_EVERY_S = 60.0  # at most one expiry sweep a minute per process


class ConversationConflict(StoreError):
    """Another replica saved the conversation since it was read; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """A conversation as read: who owns it, its snapshot and the version a save must match."""

    session_id: str
    owner: str | None
    state: dict[str, Any]
    version: int


class ConversationStore:
    """Load, create and save conversation snapshots over a :class:`FeedbackStore`. Thread-safe."""

    def __init__(self, store: FeedbackStore, ttl_s: float = 24 * 3600.0) -> None:
        self.store = store
        self.ttl_s = float(ttl_s)
        self._swept = 0.0
        self._sweep_lock = threading.Lock()

    def load(self, session_id: str) -> StoredConversation | None:
        """The conversation ``session_id``, or None when unknown or expired."""
        if not session_id:
            return None
        fresh = utcnow() - timedelta(seconds=self.ttl_s)
        query = select(conversations).where(
            conversations.c.session_id == session_id, conversations.c.updated_at >= fresh
        )
        with self.store.transaction("load conversation") as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return StoredConversation(row.session_id, row.owner, json.loads(row.state), int(row.version))

    def create(self, session_id: str, owner: str | None, state: dict[str, Any]) -> StoredConversation:
        """Store a new conversation at version 1 (raises :class:`ConversationConflict` if the id exists)."""
        self._maybe_sweep()
        now = utcnow()
        row = {
            "session_id": session_id,
            "owner": owner,
            "state": json.dumps(state, separators=(",", ":")),
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.store.transaction("create conversation") as conn:
                if owner is not None:
                    _insert_ignore(conn, users, {"id": owner, "created_at": now})
                conn.execute(insert(conversations).values(**row))
        except StoreError as err:
            if isinstance(err.__cause__, IntegrityError):
                raise ConversationConflict(f"conversation {session_id[:64]!r} already exists") from err
            raise
        return StoredConversation(session_id, owner, state, 1)

    def save(self, conv: StoredConversation, state: dict[str, Any]) -> StoredConversation:
        """Write ``state`` over version ``conv.version``; the saved conversation has the next version.

        Raises :class:`ConversationConflict` when another replica saved (or expiry removed) it meanwhile.
        """
        stmt = (
            update(conversations)
            .where(conversations.c.session_id == conv.session_id, conversations.c.version == conv.version)
            .values(
                state=json.dumps(state, separators=(",", ":")),
                version=conv.version + 1,
                updated_at=utcnow(),
            )
        )
        with self.store.transaction("save conversation") as conn:
            if conn.execute(stmt).rowcount != 1:
                raise ConversationConflict(
                    "This conversation changed on another server while this turn ran; please send it again."
                )
        return StoredConversation(conv.session_id, conv.owner, state, conv.version + 1)

    def expire(self) -> int:
        """Delete conversations idle for longer than ``ttl_s``; returns how many."""
        cutoff = utcnow() - timedelta(seconds=self.ttl_s)
        with self.store.transaction("expire conversations") as conn:
            return int(
                conn.execute(delete(conversations).where(conversations.c.updated_at < cutoff)).rowcount
            )

    def _maybe_sweep(self) -> None:
        with self._sweep_lock:
            now = time.monotonic()
            if self._swept and now - self._swept < SWEEP_EVERY_S:
                return
            self._swept = now
        self.expire()
