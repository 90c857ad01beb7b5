"""Feedback store behaviour, on SQLite and PostgreSQL (see ``conftest.db_url``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect

from agent.store import FeedbackStore, StoreError, migrate
from agent.store.models import metadata
from agent.store.repository import alembic_config

TABLES = {"users", "sessions", "messages", "feedback"}


@pytest.fixture
def store(db_url: str) -> Iterator[FeedbackStore]:
    s = FeedbackStore.open(db_url)
    yield s
    s.close()


# -- (d) migrations --------------------------------------------------------------------------------------
def test_migrations_create_schema_from_empty(db_url: str) -> None:
    with FeedbackStore.open(db_url) as s:
        insp = inspect(s.engine)
        assert set(insp.get_table_names()) >= TABLES
        with s.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0003"
            # the migration builds exactly what the models describe
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_migrations_are_idempotent(db_url: str) -> None:
    with FeedbackStore.open(db_url) as s:
        first = s.add_feedback("u", "s", 1, "liked")
    for _ in range(2):  # reopening and re-running migrations changes nothing and keeps the data
        with FeedbackStore.open(db_url) as s:
            assert migrate(s.engine) == "0003"
            with s.engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
            assert [e.id for e in s.feedback_events()] == [first]
            assert s.count("users") == 1


def test_concurrent_opens_migrate_once(db_url: str) -> None:
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            FeedbackStore.open(db_url).close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=open_close) for _ in range(4)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert errors == []
    with FeedbackStore.open(db_url) as s, s.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"


# -- (f) profiles ----------------------------------------------------------------------------------------
def test_profile_latest_signal_wins(store: FeedbackStore) -> None:
    store.add_feedback("ann", "s1", 10, "liked", "chat")
    store.add_feedback("ann", "s1", 10, "disliked")
    store.add_feedback("ann", "s1", 20, "disliked")
    store.add_feedback("ann", "s2", 20, "liked")
    store.add_feedback("ann", "s2", 30, "seen")
    store.add_feedback("ann", "s2", 40, "liked")
    store.add_feedback("ann", "s2", 40, "seen")  # "seen" never clears a like (as Session.feedback)
    store.add_feedback("bob", "s3", 10, "liked")
    p = store.profile("ann")
    assert p.liked == (20, 40)
    assert p.disliked == (10,)
    assert p.seen == (30, 40)
    assert store.profile("bob").liked == (10,)
    assert store.profile("nobody") == type(p)("nobody")


def test_profile_survives_reopen(db_url: str) -> None:
    with FeedbackStore.open(db_url) as s:
        s.start_session("s1", "ann")
        s.add_feedback("ann", "s1", 7, "liked")
        s.add_feedback("ann", "s1", 8, "seen")
    with FeedbackStore.open(db_url) as s:
        p = s.profile("ann")
        assert (p.liked, p.disliked, p.seen) == ((7,), (), (8,))


# -- sessions, messages, anonymity -----------------------------------------------------------------------
def test_sessions_and_messages(store: FeedbackStore) -> None:
    store.start_session("s1", "ann")
    store.start_session("s1", "ann")  # idempotent
    a = store.add_message("s1", "user", "something like Heat")
    b = store.add_message("s1", "assistant", "1. **Ronin (1998)** — ...")
    assert a is not None and b is not None and b > a
    assert store.count("sessions") == 1 and store.count("messages") == 2
    with pytest.raises(ValueError):
        store.add_message("s1", "robot", "x")


def test_anonymous_sessions_store_nothing(store: FeedbackStore) -> None:
    store.start_session("anon", None)
    assert store.add_message("anon", "user", "hello") is None
    assert store.add_feedback(None, "anon", 1, "liked", "chat") is None
    assert all(store.count(t) == 0 for t in TABLES)


def test_invalid_feedback_is_rejected(store: FeedbackStore) -> None:
    with pytest.raises(ValueError):
        store.add_feedback("ann", "s", 1, "loved")
    with pytest.raises(ValueError):
        store.add_feedback("ann", "s", 1, "liked", "email")
    assert store.count("feedback") == 0


# -- (e) forget_user -------------------------------------------------------------------------------------
def test_forget_user_removes_only_that_user(store: FeedbackStore) -> None:
    for user in ("ann", "bob"):
        store.start_session(f"{user}-1", user)
        store.add_message(f"{user}-1", "user", f"hi from {user}")
        store.add_feedback(user, f"{user}-1", 1, "liked")
        store.add_feedback(user, None, 2, "seen")
    bob_before = store.profile("bob")
    assert store.forget_user("ann") is True
    assert store.forget_user("ann") is False
    assert store.profile("ann").liked == ()
    assert {e.user_id for e in store.feedback_events()} == {"bob"}
    assert (store.count("users"), store.count("sessions"), store.count("messages")) == (1, 1, 1)
    assert store.count("feedback") == 2
    assert store.profile("bob") == bob_before


# -- fine-tuning export ----------------------------------------------------------------------------------
def test_feedback_events_since(store: FeedbackStore) -> None:
    first = store.add_feedback("ann", "s", 1, "liked", "chat")
    events = store.feedback_events()
    assert [(e.id, e.movie_id, e.signal, e.source) for e in events] == [(first, 1, "liked", "chat")]
    stamp = events[0].created_at
    assert stamp.tzinfo is not None and abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    second = store.add_feedback("ann", "s", 2, "disliked")
    later = [e.id for e in store.feedback_events(since=stamp + timedelta(microseconds=1))]
    assert later == [second]
    assert len(store.feedback_events(since=(stamp - timedelta(hours=1)).replace(tzinfo=None))) == 2


# -- (c) concurrent writers ------------------------------------------------------------------------------
def test_concurrent_writers_lose_nothing(store: FeedbackStore) -> None:
    threads, per_thread = 10, 200
    ids: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                user = f"user{t % 4}"  # several threads share a user (and the same session rows)
                event_id = store.add_feedback(user, f"{user}-s", i, ("liked", "disliked", "seen")[i % 3])
                assert event_id is not None
                ids[t].append(event_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert errors == []
    returned = {i for chunk in ids for i in chunk}
    assert len(returned) == threads * per_thread
    assert store.count("feedback") == threads * per_thread
    assert {e.id for e in store.feedback_events()} == returned
    assert store.count("users") == 4


# -- (g) failures ----------------------------------------------------------------------------------------
def test_closed_store_raises(db_url: str) -> None:
    s = FeedbackStore.open(db_url)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.profile("ann")


def test_outage_raises_one_line_and_keeps_data(store: FeedbackStore, db_url: str) -> None:
    """Disk full (SQLite) or a database refusing connections (PostgreSQL) mid-run."""
    kept = [store.add_feedback("ann", "s", i, "liked") for i in range(5)]
    if store.engine.dialect.name == "sqlite":

        def full(dbapi_conn: object, _rec: object) -> None:
            cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            cur.execute(f"PRAGMA max_page_count = {pages}")
            cur.close()

        event.listen(store.engine, "connect", full)
        store.engine.dispose()
        with pytest.raises(StoreError) as info:
            store.add_message("s", "user", "x" * 200_000)
        event.remove(store.engine, "connect", full)
        assert "full" in str(info.value)
    else:
        _allow_connections(store, False)
        store.engine.dispose()
        with pytest.raises(StoreError) as info:
            store.add_feedback("ann", "s", 99, "liked")
        _allow_connections(store, True)
    assert "\n" not in str(info.value) and str(info.value).startswith("feedback store at ")
    store.engine.dispose()
    assert [e.id for e in store.feedback_events()] == kept  # nothing already stored is lost
    assert store.add_feedback("ann", "s", 100, "seen") is not None  # and the store recovers


def _allow_connections(store: FeedbackStore, allow: bool) -> None:
    import psycopg

    u = store.engine.url
    with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname="postgres", autocommit=True) as c:
        c.execute(f"ALTER DATABASE {u.database} ALLOW_CONNECTIONS {str(allow).lower()}")  # type: ignore[arg-type]
