"""``FeedbackStore``: durable users, sessions, messages and feedback events over SQLAlchemy.

One transaction per call; a write returns only after its commit. SQLite (the default, a file in the
cache folder) runs in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` so concurrent writers queue
instead of failing; PostgreSQL works by URL (``postgresql+psycopg://user@host/db``). The schema is
migrated to the Alembic head on :meth:`FeedbackStore.open`.

Anonymous sessions (``user_id=None``) never get user, session, message or feedback rows. Only when
replicas share conversations (``REELCHAT_SESSION_STORE=database``) does their conversation state live in
the ``conversations`` table (:mod:`agent.store.conversations`), and it expires.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Row, create_engine, delete, event, func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from agent.store.models import (
    ROLES,
    SIGNALS,
    SOURCES,
    conversations,
    credentials,
    feedback,
    messages,
    sessions,
    users,
    utcnow,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DB_FILENAME = "reelchat.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK_KEY = 0x5EE1C4A7  # PostgreSQL advisory lock serialising concurrent migrations


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, read-only, disk full...). ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What a returning user told us: movie ids in the order their deciding event happened."""

    user_id: str
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seen: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One stored feedback event (for fine-tuning exports)."""

    id: int
    user_id: str
    session_id: str | None
    movie_id: int
    signal: str
    source: str
    created_at: datetime


def default_db_url(cache_dir: Path | None = None) -> str:
    """SQLite file ``reelchat.db`` in ``cache_dir`` (default ``~/.cache/reelchat``)."""
    folder = cache_dir if cache_dir is not None else Path.home() / ".cache" / "reelchat"
    return f"sqlite:///{Path(folder).expanduser().resolve() / DB_FILENAME}"


def _one_line(exc: BaseException) -> str:
    """The first meaningful line of a driver error, without SQLAlchemy's SQL echo and links."""
    inner: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    first = lines[0] if lines else "no details"
    return f"{type(inner).__name__}: {first}"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Driver-level autocommit so SQLAlchemy's "begin" hook below owns the transactions.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Switching a new file to WAL while other connections open it can fail with "database is locked"
        # without waiting on the busy timeout (SQLite does not call the busy handler there): retry.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cur.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Take the write lock up front: a deferred read->write upgrade would fail with SQLITE_BUSY at once.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no ini file); ``connection`` is used by ``env.py`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> str | None:
    """Upgrade the schema to head in one locked transaction (a no-op when already there); returns head."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        if MigrationContext.configure(conn).get_current_revision() != head:
            command.upgrade(alembic_config(conn), "head")
    return head


def _insert_ignore(conn: Connection, table: Any, values: dict[str, Any]) -> None:
    """INSERT that silently keeps an existing row with the same primary key."""
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        key = next(iter(table.primary_key.columns))
        if conn.execute(select(key).where(key == values[key.name])).first() is None:
            conn.execute(insert(table).values(**values))


class FeedbackStore:
    """Durable per-user memory. Thread-safe; build it with :meth:`open`."""

    def __init__(self, engine: Engine) -> None:
        self._engine: Engine | None = engine
        self.url = engine.url.render_as_string(hide_password=True)

    # -- lifecycle ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, cache_dir: Path | None = None) -> FeedbackStore:
        """Connect to ``url`` (else ``$REELCHAT_DB_URL``, else SQLite in ``cache_dir``); migrate to head."""
        url = url or os.environ.get("REELCHAT_DB_URL") or None
        if url is None:
            url = default_db_url(cache_dir)
            Path(make_url(url).database or ".").parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = _make_engine(url)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise StoreError(f"feedback store: bad database URL: {_one_line(exc)}") from exc
        store = cls(engine)
        try:
            with store._guard("open"):
                migrate(engine)
        except StoreError:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Release all connections; further calls raise :class:`StoreError`."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise StoreError(f"feedback store at {self.url} is closed")
        return self._engine

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"feedback store at {self.url}: {what} failed: {_one_line(exc)}") from exc

    @contextmanager
    def _tx(self, what: str) -> Iterator[Connection]:
        """One transaction, committed on exit; any failure rolls it back and raises StoreError."""
        with self._guard(what), self.engine.begin() as conn:
            yield conn

    def transaction(self, what: str) -> AbstractContextManager[Connection]:
        """One transaction named ``what`` for modules of this package (failures become StoreError)."""
        return self._tx(what)

    # -- writes ----------------------------------------------------------------------------------------
    def ensure_user(self, user_id: str) -> None:
        """Create the user row if it does not exist yet."""
        _check_user(user_id)
        with self._tx("ensure_user") as conn:
            _insert_ignore(conn, users, {"id": user_id, "created_at": utcnow()})

    def start_session(self, session_id: str, user_id: str | None) -> None:
        """Record a session of a known user; anonymous sessions (``user_id=None``) store nothing."""
        if user_id is None:
            return
        _check_user(user_id)
        with self._tx("start_session") as conn:
            _insert_ignore(conn, users, {"id": user_id, "created_at": utcnow()})
            _insert_ignore(conn, sessions, {"id": session_id, "user_id": user_id, "started_at": utcnow()})

    def add_message(self, session_id: str, role: str, content: str) -> int | None:
        """Append a message to a stored session; returns its id, or None when the session is anonymous."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        with self._tx("add_message") as conn:
            if conn.execute(select(sessions.c.id).where(sessions.c.id == session_id)).first() is None:
                return None
            row = {"session_id": session_id, "role": role, "content": content, "created_at": utcnow()}
            pk = conn.execute(insert(messages).values(**row)).inserted_primary_key
            return int(cast("Row[Any]", pk)[0])  # never None for a single-row INSERT

    def add_feedback(
        self, user_id: str | None, session_id: str | None, movie_id: int, signal: str, source: str = "button"
    ) -> int | None:
        """Store one feedback event and return its id after the commit (None for anonymous users)."""
        if signal not in SIGNALS:
            raise ValueError(f"signal must be one of {SIGNALS}, not {signal!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        if user_id is None:
            return None
        _check_user(user_id)
        now = utcnow()
        with self._tx("add_feedback") as conn:
            _insert_ignore(conn, users, {"id": user_id, "created_at": now})
            if session_id is not None:
                _insert_ignore(conn, sessions, {"id": session_id, "user_id": user_id, "started_at": now})
            row = {
                "user_id": user_id,
                "session_id": session_id,
                "movie_id": int(movie_id),
                "signal": signal,
                "source": source,
                "created_at": now,
            }
            pk = conn.execute(insert(feedback).values(**row)).inserted_primary_key
            return int(cast("Row[Any]", pk)[0])  # never None for a single-row INSERT

    def forget_user(self, user_id: str) -> bool:
        """Delete the user and all their sessions, messages and feedback; True if the user existed."""
        with self._tx("forget_user") as conn:
            own_sessions = select(sessions.c.id).where(sessions.c.user_id == user_id)
            conn.execute(delete(feedback).where(feedback.c.user_id == user_id))
            conn.execute(delete(feedback).where(feedback.c.session_id.in_(own_sessions)))
            conn.execute(delete(messages).where(messages.c.session_id.in_(own_sessions)))
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(conversations).where(conversations.c.owner == user_id))
            conn.execute(delete(credentials).where(credentials.c.user_id == user_id))
            return bool(conn.execute(delete(users).where(users.c.id == user_id)).rowcount)

    # -- reads -----------------------------------------------------------------------------------------
    def profile(self, user_id: str) -> UserProfile:
        """Liked/disliked: the latest of those two signals per movie wins; seen: any ``seen`` event.

        As in :meth:`~agent.conversation.session.Session.feedback`, "seen" never clears a like/dislike.
        """
        query = (
            select(feedback.c.id, feedback.c.movie_id, feedback.c.signal)
            .where(feedback.c.user_id == user_id)
            .order_by(feedback.c.id)
        )
        with self._tx("profile") as conn:
            rows = conn.execute(query).all()
        sentiment: dict[int, tuple[int, str]] = {}
        seen: dict[int, int] = {}
        for event_id, movie_id, signal in rows:
            if signal == "seen":
                seen.setdefault(movie_id, event_id)
            else:
                sentiment[movie_id] = (event_id, signal)
        ordered = sorted(sentiment.items(), key=lambda kv: kv[1][0])
        return UserProfile(
            user_id=user_id,
            liked=tuple(m for m, (_, s) in ordered if s == "liked"),
            disliked=tuple(m for m, (_, s) in ordered if s == "disliked"),
            seen=tuple(sorted(seen, key=seen.__getitem__)),
        )

    def export_user(self, user_id: str) -> dict[str, Any]:
        """Every row stored about ``user_id`` (no password hash), as JSON-ready lists per table."""
        own_sessions = select(sessions.c.id).where(sessions.c.user_id == user_id)
        queries = {
            "user": select(users).where(users.c.id == user_id),
            "account": select(
                credentials.c.created_at, credentials.c.changed_at, credentials.c.token_version
            ).where(credentials.c.user_id == user_id),
            "sessions": select(sessions).where(sessions.c.user_id == user_id).order_by(sessions.c.started_at),
            "messages": select(messages)
            .where(messages.c.session_id.in_(own_sessions))
            .order_by(messages.c.id),
            "feedback": select(feedback).where(feedback.c.user_id == user_id).order_by(feedback.c.id),
            "conversations": select(conversations)
            .where(conversations.c.owner == user_id)
            .order_by(conversations.c.created_at),
        }
        with self._tx("export_user") as conn:
            return {name: [_jsonable(r._mapping) for r in conn.execute(q)] for name, q in queries.items()}

    def count_user_rows(self, user_id: str) -> dict[str, int]:
        """Rows per table that belong to ``user_id`` (what "Delete my account" must bring to zero)."""
        return {name: len(rows) for name, rows in self.export_user(user_id).items()}

    def feedback_events(self, since: datetime | None = None) -> list[FeedbackEvent]:
        """All feedback events (``created_at >= since`` when given; naive means UTC), oldest first."""
        query = select(feedback).order_by(feedback.c.id)
        if since is not None:
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
            query = query.where(feedback.c.created_at >= since)
        with self._tx("feedback_events") as conn:
            return [FeedbackEvent(**row._mapping) for row in conn.execute(query)]

    def count(self, table: str) -> int:
        """Rows in ``users``, ``credentials``, ``sessions``, ``messages``, ``feedback``, ``conversations``."""
        tables = {t.name: t for t in (users, credentials, sessions, messages, feedback, conversations)}
        with self._tx("count") as conn:
            return int(conn.execute(select(func.count()).select_from(tables[table])).scalar_one())


def _jsonable(row: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


def _check_user(user_id: str) -> None:
    if not isinstance(user_id, str) or not user_id or len(user_id) > 128:
        raise ValueError("user_id must be a non-empty string of at most 128 characters")
