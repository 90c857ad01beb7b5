"""Browser tabs kept in the database (``session_store="database"``): a tab's events, sent to any of two
replicas over one store, continue the same conversation; owners stay apart; "New conversation" and a
sign-out elsewhere start a new one. Two real Blocks apps over the fake agent and SQLite (the store
tests' ``db_url`` adds PostgreSQL); the events run their wired functions directly, with the values a
page would send. The multi-process version with Chromium and nginx is ``test_tab_failover.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import pytest

from agent.store import FeedbackStore
from agent.store.conversations import ConversationStore
from tests.agent.store.conftest import db_url, pg_server  # noqa: F401  # the store tests' fixtures
from tests.ui.fakes import FakeAgent
from ui.app import build_app

SECRET = "stored-tabs-test-secret-" + "x" * 16
PASSWORD = "a long enough passphrase 7"
SKIP = gr.skip()


@dataclass
class Replica:
    """One replica's app; ``event(selector)`` finds a wired event by its trigger's elem_id or class."""

    demo: gr.Blocks
    name: str

    def event(self, elem: str, trigger: str = "click", nth: int = 0) -> Any:
        found = []
        for fn in self.demo.fns.values():
            for block_id, name in fn.targets:
                block = self.demo.blocks.get(block_id)
                classes = getattr(block, "elem_classes", None) or []
                if name == trigger and (getattr(block, "elem_id", None) == elem or elem in classes):
                    found.append(fn)
        return found[nth]

    @property
    def agent(self) -> FakeAgent:
        agent = self.demo.reelchat_loader.agent  # type: ignore[attr-defined]
        assert agent is not None
        return agent  # type: ignore[no-any-return]


@dataclass
class Tab:
    """What one browser tab holds (component values by elem_id) and sends with each event."""

    values: dict[str, Any] = field(
        default_factory=lambda: {"rc-conversation": "", "rc-account": {"token": ""}, "rc-input": ""}
    )

    def fire(self, replica: Replica, elem: str, trigger: str = "click", nth: int = 0) -> dict[str, Any]:
        """Run one event on ``replica``; the outputs by elem_id (the page keeps them, skips excepted)."""
        fn = replica.event(elem, trigger, nth)
        args = [self.values.get(_key(c)) for c in fn.inputs]
        result = fn.fn(None, *args)
        if not isinstance(result, list):
            *_, result = list(result)  # a streaming turn: its last outputs
        out: dict[str, Any] = {}
        for comp, value in zip(fn.outputs, result, strict=True):
            key = _key(comp)
            out[key] = value
            if value != SKIP and key in ("rc-conversation", "rc-account", "rc-chat"):
                self.values[key] = value
        return out

    def send(self, replica: Replica, message: str) -> dict[str, Any]:
        self.values["rc-input"] = message
        return self.fire(replica, "rc-input", "submit")

    def sign_in(self, replica: Replica, name: str, password: str) -> dict[str, Any]:
        self.values.update({"rc-user-name": name, "rc-password": password})
        return self.fire(replica, "rc-sign-in")


def _key(comp: Any) -> str:
    if isinstance(comp, gr.BrowserState):
        return "rc-account"
    return str(comp.elem_id or f"#{comp._id}")


def card_ids(out: dict[str, Any]) -> list[int]:
    html = "".join(v for v in out.values() if isinstance(v, str))
    return [int(m) for m in re.findall(r'data-movie-id="(\d+)"', html)]


def chips(out: dict[str, Any]) -> list[str]:
    """The labels of the visible chip buttons."""
    return [str(v.value) for v in out.values() if isinstance(v, gr.Button) and v.visible and v.value]


def note(out: dict[str, Any]) -> str:
    return re.sub(r"<[^>]+>", "", str(out.get("rc-note") or ""))


def _replica(store: FeedbackStore, name: str, session_store: str = "database") -> Replica:
    demo = build_app(lambda: FakeAgent(store, secret=SECRET), session_store=session_store, replica=name)
    assert demo.reelchat_loader.wait(30)  # type: ignore[attr-defined]
    return Replica(demo, name)


@pytest.fixture
def store(db_url: str) -> Iterator[FeedbackStore]:  # noqa: F811
    s = FeedbackStore.open(db_url)
    yield s
    s.close()


@pytest.fixture
def replicas(store: FeedbackStore) -> tuple[Replica, Replica]:
    return _replica(store, "a"), _replica(store, "b")


def stored(store: FeedbackStore, conv_id: str) -> Any:
    row = ConversationStore(store).load(conv_id)
    assert row is not None, conv_id
    return row


def test_a_tab_continues_on_another_replica(replicas: tuple[Replica, Replica], store: FeedbackStore) -> None:
    a, b = replicas
    tab = Tab()
    first = tab.send(a, "I loved Alien, no horror")
    conv = first["rc-conversation"]
    assert conv and first["rc-input"] == "" and len(first["rc-chat"]) == 2
    shown = card_ids(first)
    assert shown and 1214 not in shown and 1387 not in shown  # liked, and the horror movie
    second = tab.send(b, "more please")  # replica a died: the tab's next event reaches b
    assert second["rc-conversation"] == conv
    chat = second["rc-chat"]
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"]
    assert "I loved Alien, no horror" in chat[0]["content"] and "more please" in chat[2]["content"]
    assert 'data-turn="2"' in second["rc-turn"]
    assert not set(card_ids(second)) & set(shown), "b repeated a pick shown on a"
    assert any("Liked: Alien (1979)" in c for c in chips(second)), chips(second)
    assert any("No Horror" in c for c in chips(second))
    row = stored(store, conv)
    assert row.owner is None and row.state["state"]["liked"] == [1214]
    assert row.state["state"]["genres_excluded"] == ["Horror"]
    assert row.state["tab"]["turns"] == 2 and len(row.state["tab"]["history"]) == 4


def test_card_feedback_and_chips_follow_the_tab(
    replicas: tuple[Replica, Replica], store: FeedbackStore
) -> None:
    a, b = replicas
    tab = Tab()
    first = card_ids(tab.send(a, "I loved Alien"))[0]
    marked = tab.fire(b, "rc-fb-disliked", nth=0)  # the first card's "Not for me", on the other replica
    assert "Noted" in note(marked)
    assert any("rc-badge-disliked" in v for v in marked.values() if isinstance(v, str))
    row = stored(store, tab.values["rc-conversation"])
    assert row.state["state"]["disliked"] == [first] and row.state["tab"]["marks"] == {str(first): "disliked"}
    after = tab.send(a, "more")
    assert first not in card_ids(after)
    assert stored(store, tab.values["rc-conversation"]).state["state"]["disliked"] == [first]


def test_new_conversation_starts_a_new_stored_one(
    replicas: tuple[Replica, Replica], store: FeedbackStore
) -> None:
    a, b = replicas
    tab = Tab()
    tab.send(a, "I loved Alien")
    old = tab.values["rc-conversation"]
    fresh = tab.fire(b, "rc-new")
    assert fresh["rc-chat"] == [] and fresh["rc-conversation"] == ""
    again = tab.send(a, "A comedy")
    assert again["rc-conversation"] not in ("", old) and len(again["rc-chat"]) == 2
    assert stored(store, again["rc-conversation"]).state["state"]["liked"] == []
    assert stored(store, old).state["state"]["liked"] == [1214]  # the old one is left as it was


def test_a_forged_id_is_refused_and_changes_nothing(
    replicas: tuple[Replica, Replica], store: FeedbackStore
) -> None:
    a, b = replicas
    a.agent.accounts.sign_up("rita", PASSWORD)
    rita = Tab()
    assert "rita" in note(rita.sign_in(a, "rita", PASSWORD)) and rita.values["rc-account"]["token"]
    rita.send(a, "I loved Alien")
    ritas = rita.values["rc-conversation"]
    before = stored(store, ritas)
    assert before.owner == "rita"
    anon = Tab()
    anon.send(b, "A comedy")
    anons = anon.values["rc-conversation"]
    anon.values["rc-conversation"] = ritas  # the forged id
    refused = anon.send(a, "more")
    assert "belongs to someone else" in note(refused) and "New conversation" in note(refused)
    assert refused["rc-chat"] == SKIP and refused["rc-conversation"] == SKIP
    after = stored(store, ritas)
    assert (after.version, after.state) == (before.version, before.state)
    rita.values["rc-conversation"] = anons  # nor can a signed-in tab take an anonymous conversation
    assert "belongs to someone else" in note(rita.send(b, "more"))
    assert stored(store, anons).state["state"]["liked"] == []


def test_a_signed_in_tab_continues_and_a_sign_out_elsewhere_ends_it(
    replicas: tuple[Replica, Replica], store: FeedbackStore
) -> None:
    a, b = replicas
    a.agent.accounts.sign_up("sam", PASSWORD)
    tab = Tab()
    signed = tab.sign_in(b, "sam", PASSWORD)
    token = tab.values["rc-account"]["token"]
    assert token and "sam" in str(signed["rc-who"])
    first = tab.send(a, "I loved Alien")
    conv = first["rc-conversation"]
    assert conv and stored(store, conv).owner == "sam"
    second = tab.send(b, "more")
    assert second["rc-conversation"] == conv and len(second["rc-chat"]) == 4
    a.agent.accounts.sign_out(token)  # signed out everywhere, e.g. from another browser
    third = tab.send(a, "more")
    assert "anonymous now" in note(third) and tab.values["rc-account"] == {"token": ""}
    assert third["rc-conversation"] not in ("", conv)
    assert stored(store, third["rc-conversation"]).owner is None
    assert len(third["rc-chat"]) == 2 and stored(store, conv).state["tab"]["turns"] == 2


def test_the_memory_store_keeps_tabs_in_the_replica(store: FeedbackStore) -> None:
    memory = _replica(store, "m", session_store="memory")
    respond = memory.event("rc-input", "submit")
    assert respond.fn.__name__ == "respond"
    assert all(_key(c) != "rc-conversation" for c in (*respond.inputs, *respond.outputs))


def test_a_turn_that_fails_or_dies_in_flight_leaves_the_conversation_as_it_was(
    replicas: tuple[Replica, Replica], store: FeedbackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.fakes import FakeSession

    a, b = replicas
    tab = Tab()
    tab.send(a, "I loved Alien")
    conv = tab.values["rc-conversation"]
    before = stored(store, conv)
    tab.values["rc-input"] = "I loved Jaws"
    turn = b.event("rc-input", "submit").fn(
        None, *[tab.values.get(_key(c)) for c in b.event("rc-input", "submit").inputs]
    )
    next(turn)  # the turn started on b (the user's message is shown) ...
    turn.close()  # ... and b died: nothing was saved
    assert stored(store, conv).version == before.version

    def broken(self: FakeSession, message: str) -> Iterator[Any]:
        self.state.liked.append(1387)  # half a turn, then a failure
        raise RuntimeError("the ranker fell over")
        yield

    monkeypatch.setattr(FakeSession, "stream", broken)
    failed = tab.send(a, "I loved Jaws")
    assert "Sorry, something went wrong" in failed["rc-chat"][-1]["content"]
    row = stored(store, conv)
    assert row.state["state"] == before.state["state"]  # the conversation as before the failed turn
    assert len(row.state["tab"]["history"]) == 4  # the transcript shows what happened
    monkeypatch.undo()
    after = tab.send(b, "more")
    assert stored(store, conv).state["state"]["liked"] == [1214] and len(after["rc-chat"]) == 6


def test_an_unknown_or_expired_id_starts_a_new_conversation(replicas: tuple[Replica, Replica]) -> None:
    a, _ = replicas
    tab = Tab()
    tab.values["rc-conversation"] = "no-such-conversation"
    out = tab.send(a, "I loved Alien")
    assert "expired" in note(out) and out["rc-conversation"] not in ("", "no-such-conversation")
    assert len(out["rc-chat"]) == 2


def test_two_events_of_one_tab_at_once_the_later_save_is_refused_not_lost(
    replicas: tuple[Replica, Replica], store: FeedbackStore
) -> None:
    a, b = replicas
    tab = Tab()
    first = card_ids(tab.send(a, "I loved Alien"))[0]
    conv = tab.values["rc-conversation"]
    tab.values["rc-input"] = "no horror"
    slow = a.event("rc-input", "submit")
    turn = slow.fn(None, *[tab.values.get(_key(c)) for c in slow.inputs])
    next(turn)  # a turn runs on a ...
    tab.fire(b, "rc-fb-disliked", nth=0)  # ... while a card click is saved on b
    *_, last = list(turn)
    said = dict(zip([_key(c) for c in slow.outputs], last, strict=True))
    assert "please send it again" in note(said) and said["rc-conversation"] == SKIP
    row = stored(store, conv)
    assert row.state["state"]["disliked"] == [first] and row.state["state"]["genres_excluded"] == []
