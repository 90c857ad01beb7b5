"""Migration 0001 → head on a database from the release before accounts, with name-only profiles.

``alembic upgrade head`` keeps every row and applies the policy: the old profiles get no credentials, so
nobody can sign in to them or sign up over their names until an operator claims them. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, insert, text

from agent.settings import Limits
from agent.store import Accounts, AuthError, FeedbackStore
from agent.store.accounts import throttle_for
from agent.store.models import feedback, messages, sessions, users
from agent.store.passwords import Hasher
from agent.store.repository import alembic_config
from agent.store.tokens import TokenSigner

TABLES = ("users", "sessions", "messages", "feedback")
NAMES = ("sam", "ana maría o'neil", "<b>x</b>")


def _old_release(url: str) -> dict[str, int]:
    """A database at revision 0001 holding three name-only profiles; returns its row counts."""
    engine = create_engine(url)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        for i, name in enumerate(NAMES):
            conn.execute(insert(users).values(id=name, created_at=now))
            conn.execute(insert(sessions).values(id=f"s{i}", user_id=name, started_at=now))
            conn.execute(
                insert(messages).values(session_id=f"s{i}", role="user", content="hi", created_at=now)
            )
            conn.execute(
                insert(feedback).values(
                    user_id=name,
                    session_id=f"s{i}",
                    movie_id=i + 1,
                    signal="liked",
                    source="chat",
                    created_at=now,
                )
            )
    with engine.connect() as conn:
        out = {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}
    engine.dispose()
    return out


def test_upgrade_keeps_every_row_and_leaves_old_profiles_unclaimed(db_url: str) -> None:
    before = _old_release(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    with FeedbackStore.open(db_url) as store:
        assert {t: store.count(t) for t in TABLES} == before
        assert store.count("credentials") == 0
        acc = Accounts(store, TokenSigner("k" * 40, 60), throttle_for(Limits()), Hasher())
        assert store.profile("ana maría o'neil").liked == (2,)
        for name in NAMES:
            assert acc.status(name) == "name-only"
            try:
                acc.sign_in(name, "any password at all", "10.1.1.1")
            except AuthError as err:
                assert str(err) == "Wrong user name or password."
            else:
                raise AssertionError("signed in to an unclaimed profile")
        try:
            acc.sign_up("sam", "a fine password")
        except AuthError as err:
            assert "taken" in str(err)
        else:
            raise AssertionError("signed up over a name-only profile")
        acc.claim("sam", "a fine password")
        signed = acc.sign_in("sam", "a fine password")
        assert [f["movie_id"] for f in acc.export(signed.token)["feedback"]] == [1]
        assert {t: store.count(t) for t in TABLES} == before
