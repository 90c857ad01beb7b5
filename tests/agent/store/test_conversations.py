"""Shared conversation state (migration 0003, ``ConversationStore``, snapshots) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, inspect, text, update

from agent.conversation.snapshot import restore, snapshot, state_from_dict, state_to_dict
from agent.store import FeedbackStore
from agent.store.conversations import ConversationConflict, ConversationStore
from agent.store.models import conversations, feedback, users
from agent.store.repository import alembic_config
from agent.understanding.state import SessionState


def _group_state() -> SessionState:
    st = SessionState(liked=[1214, 260], genres_excluded=["Horror"], year_min=1990, text="space", k=7)
    st.show([2571, 541])
    st.members["Sam"] = SessionState(liked=[1], disliked=[1387], genres_required=["Comedy"], year_max=2010)
    st.strategy, st.focus, st.diversity = "least_misery", 2571, 0.3
    return st


def test_state_round_trips_through_json_with_group_viewers() -> None:
    import json

    st = _group_state()
    back = state_from_dict(json.loads(json.dumps(state_to_dict(st))))
    assert back == st
    assert back.query() == st.query() and back.excluded_ids() == st.excluded_ids()
    assert back.members["Sam"].genres_required == ["Comedy"]
    assert state_from_dict({"liked": [5], "from_a_newer_release": 1}).liked == [5]


class _Conv:  # the part of a session that snapshots touch
    def __init__(self, session_id: str) -> None:
        self.session_id, self.user_id = session_id, None
        self.state, self.history, self.notices = SessionState(), [], []


def test_snapshot_and_restore_carry_state_history_and_notices() -> None:
    a = _Conv("s1")
    a.state, a.history, a.notices = _group_state(), [{"role": "user", "content": "hi"}], ["note"]
    b = _Conv("s1")
    restore(b, snapshot(a))
    assert (b.state, b.history, b.notices) == (a.state, a.history, a.notices)
    b.history.append({"role": "assistant", "content": "x"})
    assert len(a.history) == 1  # a copy, not shared lists


def test_upgrade_from_0002_keeps_rows_and_adds_conversations(db_url: str) -> None:
    engine = create_engine(db_url)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
        conn.execute(insert(users).values(id="sam", created_at=now))
        conn.execute(
            insert(feedback).values(
                user_id="sam", movie_id=1, signal="liked", source="chat", created_at=now, session_id=None
            )
        )
    assert "conversations" not in inspect(engine).get_table_names()
    engine.dispose()
    with FeedbackStore.open(db_url) as store:
        assert "conversations" in inspect(store.engine).get_table_names()
        assert store.profile("sam").liked == (1,) and store.count("conversations") == 0
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    engine = create_engine(db_url)
    with engine.begin() as conn:  # and back down: the table goes, the rows stay
        command.downgrade(alembic_config(conn), "0002")
    assert "conversations" not in inspect(engine).get_table_names()
    engine.dispose()


def test_save_over_the_read_version_only(db_url: str) -> None:
    with FeedbackStore.open(db_url) as store:
        convs = ConversationStore(store)
        created = convs.create("s1", None, {"state": {"liked": [1]}})
        on_a, on_b = convs.load("s1"), convs.load("s1")  # two replicas read the same turn
        assert on_a == created and on_a is not None and on_b is not None and on_a.owner is None
        saved = convs.save(on_a, {"state": {"liked": [1, 2]}})
        assert saved.version == 2 and convs.load("s1") == saved
        with pytest.raises(ConversationConflict, match="send it again"):
            convs.save(on_b, {"state": {"liked": [1, 3]}})
        assert convs.load("s1").state == {"state": {"liked": [1, 2]}}  # type: ignore[union-attr]
        with pytest.raises(ConversationConflict, match="already exists"):
            convs.create("s1", None, {})
        assert convs.load("nope") is None and convs.load("") is None


def test_owner_binding_export_and_forget(db_url: str) -> None:
    with FeedbackStore.open(db_url) as store:
        convs = ConversationStore(store)
        convs.create("sam-1", "sam", {"history": [{"role": "user", "content": "Alien"}]})
        convs.create("anon-1", None, {})
        assert convs.load("sam-1").owner == "sam"  # type: ignore[union-attr]
        exported = store.export_user("sam")["conversations"]
        assert [c["session_id"] for c in exported] == ["sam-1"]
        assert store.forget_user("sam")
        assert convs.load("sam-1") is None and convs.load("anon-1") is not None


def test_idle_conversations_expire(db_url: str) -> None:
    with FeedbackStore.open(db_url) as store:
        convs = ConversationStore(store, ttl_s=3600)
        convs.create("old", None, {})
        convs.create("new", None, {})
        with store.engine.begin() as conn:
            stale = datetime.now(UTC) - timedelta(hours=2)
            conn.execute(
                update(conversations).where(conversations.c.session_id == "old").values(updated_at=stale)
            )
        assert convs.load("old") is None  # never read back once expired ...
        assert convs.expire() == 1  # ... and deleted by the sweep
        assert store.count("conversations") == 1 and convs.load("new") is not None
