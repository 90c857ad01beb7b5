"""API conversations in the database (``session_store="database"``): two replicas' API handlers over one
store continue each other's conversations, keep owners apart and refuse a lost update. Fake agent, SQLite
and PostgreSQL (the store tests' ``db_url``); the multi-process version is ``test_replicas.py``."""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
import pytest

from agent.store import FeedbackStore
from agent.store.conversations import ConversationConflict
from tests.agent.store.conftest import db_url, pg_server  # noqa: F401  # the store tests' fixtures
from tests.ui.fakes import FakeAgent
from ui.handlers.api import ApiHandlers
from ui.sessions import AgentLoader
from ui.shared_sessions import StoredApiSessions

SECRET = "shared-sessions-test-secret-" + "x" * 16


def _replica(store: FeedbackStore, name: str) -> ApiHandlers:
    loader = AgentLoader(lambda: FakeAgent(store, secret=SECRET)).start()
    assert loader.wait(30) and loader.ready
    return ApiHandlers(loader, StoredApiSessions(), replica=name)


@pytest.fixture
def replicas(db_url: str) -> Iterator[tuple[ApiHandlers, ApiHandlers]]:  # noqa: F811
    store = FeedbackStore.open(db_url)
    yield _replica(store, "a"), _replica(store, "b")
    store.close()


def test_any_replica_continues_any_conversation(replicas: tuple[ApiHandlers, ApiHandlers]) -> None:
    a, b = replicas
    _, first = a.chat("I loved Alien, no horror")
    sid = first["session_id"]
    _, second = b.chat("more", sid)
    assert (first["replica"], second["replica"]) == ("a", "b")
    assert second["session_id"] == sid and second["query"]["liked"] == [1214]
    assert second["query"]["genres_excluded"] == ["Horror"]
    shown = {r["movie_id"] for r in first["recommendations"]}
    assert shown and not shown & {r["movie_id"] for r in second["recommendations"]}
    assert "Noted" in a.feedback(sid, 260, "disliked")  # feedback on a, the next turn on b honours it
    _, third = b.chat("more", sid)
    assert third["query"]["disliked"] == [260]
    with pytest.raises(gr.Error, match="Unknown session_id"):
        b.feedback("no-such-session", 260, "liked")


def test_owners_stay_apart_across_replicas(replicas: tuple[ApiHandlers, ApiHandlers]) -> None:
    a, b = replicas
    agent = a.loader.agent
    assert agent is not None
    agent.accounts.sign_up("rita", "a long enough passphrase 7")
    token = b.sign_in("rita", "a long enough passphrase 7", None)  # type: ignore[arg-type]
    _, mine = a.chat("I loved Alien", "", token)
    with pytest.raises(gr.Error, match="belongs to someone else"):
        b.chat("more", mine["session_id"])  # anonymous on the other replica
    with pytest.raises(gr.Error, match="belongs to someone else"):
        b.feedback(mine["session_id"], 260, "liked")
    _, again = b.chat("more", mine["session_id"], token)
    assert again["session_id"] == mine["session_id"] and again["query"]["liked"] == [1214]
    _, anon = b.chat("I loved Alien")
    with pytest.raises(gr.Error, match="belongs to someone else"):
        a.chat("more", anon["session_id"], token)  # nor can a signed-in user take an anonymous one


def test_a_concurrent_turn_on_another_replica_is_refused_not_lost(
    replicas: tuple[ApiHandlers, ApiHandlers],
) -> None:
    a, b = replicas
    _, first = a.chat("I loved Alien")
    sid = first["session_id"]
    conflict = pytest.raises(ConversationConflict, match="send it again")
    with conflict, a.sessions.open(a.loader.agent, sid) as slow:  # a turn still running on a ...
        b.chat("no horror", sid)  # ... while b finishes one
        slow.send("after 1990")
    _, after = a.chat("more", sid)  # b's turn is kept, a's was refused (and said so)
    assert after["query"]["genres_excluded"] == ["Horror"] and after["query"]["year_min"] is None


def test_replicas_share_the_key_of_the_browsers_remembered_sign_in() -> None:
    from agent.settings import Settings
    from ui.app import browser_secret, build_app

    key = "k" * 40
    derived = browser_secret(Settings(secret_key=key))
    assert derived == browser_secret(Settings(secret_key=key)) and derived and key[:8] not in derived
    assert derived != browser_secret(Settings(secret_key="other" * 8))
    assert browser_secret(Settings(secret_key=None)) is None
    secrets = []
    for _ in range(2):  # two replicas: the same key; without one, each process picks its own
        for shared in (derived, None):
            demo = build_app(FakeAgent, browser_secret=shared)
            (state,) = [b for b in demo.blocks.values() if isinstance(b, gr.BrowserState)]
            secrets.append(state.secret)
    assert secrets[0] == secrets[2] == derived and secrets[1] != secrets[3]
