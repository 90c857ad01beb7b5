"""Schema of the feedback store: users, credentials, sessions, messages and feedback (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SIGNALS = ("liked", "disliked", "seen")
SOURCES = ("chat", "button")
ROLES = ("user", "assistant", "system")

# Event ids are BIGINT on servers; SQLite only auto-increments an INTEGER PRIMARY KEY.
EventId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


users = Table(
    "users",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

# A user with a credentials row has an account (signs in with a password). A ``users`` row without one is a
# name-only profile from before accounts: nobody can sign in to it until an operator claims it.
credentials = Table(
    "credentials",
    metadata,
    Column("user_id", String(128), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("token_version", Integer(), nullable=False, default=0, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("changed_at", UTCDateTime(), nullable=False, default=utcnow),
)

# Only sessions of known users are stored: anonymous sessions leave no rows at all.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(128), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("started_at", UTCDateTime(), nullable=False, default=utcnow),
)

messages = Table(
    "messages",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column(
        "session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("role", String(16), nullable=False),
    Column("content", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    CheckConstraint("role IN ('user', 'assistant', 'system')", name="role"),
    sqlite_autoincrement=True,
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("user_id", String(128), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "session_id", String(64), ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True, index=True
    ),
    Column("movie_id", Integer(), nullable=False),
    Column("signal", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow, index=True),
    CheckConstraint("signal IN ('liked', 'disliked', 'seen')", name="signal"),
    CheckConstraint("source IN ('chat', 'button')", name="source"),
    Index("ix_feedback_user_id_id", "user_id", "id"),
    sqlite_autoincrement=True,
)

# Conversation state shared by server replicas (any replica continues any conversation): one row per
# session id, the owner it is bound to (NULL: anonymous), a JSON snapshot of the session, and a version
# bumped by every save so two replicas never silently overwrite each other's turn. Rows expire.
conversations = Table(
    "conversations",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("owner", String(128), ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("state", Text(), nullable=False),
    Column("version", Integer(), nullable=False, default=1, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, index=True),
)
