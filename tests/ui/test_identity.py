"""Returning users in the UI: the name panel's handlers over the fake agent (no server, no browser)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from agent.understanding.state import SessionState
from tests.ui.fakes import FakeAgent
from tests.ui.test_browser import browser  # noqa: F401  (the Chromium fixture)
from ui.app import build_app
from ui.cards import note_html
from ui.identity import forget_identity, normalise_user, restored_text, use_identity
from ui.panels import Chip
from ui.sessions import TabState

XSS = "<img src=x onerror=alert(1)>"


def test_normalise_user() -> None:
    assert normalise_user("  Sam ") == "sam"
    assert normalise_user("SAM") == normalise_user("sam")
    assert normalise_user("Ana  María\tO'Neil") == "ana maría o'neil"
    assert normalise_user("ｓａｍ") == "sam"  # NFKC: full-width letters
    assert normalise_user("") == normalise_user("   ") == normalise_user(None) == ""
    assert normalise_user("<>!!") == ""
    assert "<" not in normalise_user(XSS) and normalise_user(XSS) == "img src x onerror alert 1"
    assert len(normalise_user("x" * 500)) == 64


def test_restored_text() -> None:
    assert restored_text("sam", SessionState()).startswith("Hi, sam. I'll remember")
    assert restored_text("sam", SessionState(liked=[1])) == "Welcome back, sam: 1 liked movie restored."
    state = SessionState(liked=[1, 2, 3], disliked=[4], seen=[5, 6])
    assert restored_text("sam", state) == "Welcome back, sam: 3 liked, 1 disliked and 2 seen movies restored."


def test_a_name_restores_likes_in_a_new_tab() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    first = TabState()
    assert use_identity(first, agent, "Sam").startswith("Hi, sam.")
    session = first.ensure_session(agent)
    assert session.user_id == "sam"
    session.feedback(1214, "liked")
    session.feedback(1200, "liked")
    session.feedback(1387, "disliked")

    second = TabState()
    note = use_identity(second, agent, " SAM ")
    assert note == "Welcome back, sam: 2 liked and 1 disliked movies restored."
    assert second.session is not None and second.user_id == "sam"
    assert second.session.state.liked == [1214, 1200] and second.session.state.disliked == [1387]
    reply = second.session.send("something new")
    assert reply.query.liked == (1214, 1200) and 1387 in reply.query.disliked
    assert use_identity(second, agent, "sam") == "You're already using the name sam."


def test_anonymous_tabs_store_nothing() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    tab = TabState()
    assert use_identity(tab, agent, "") == "You're anonymous: nothing is stored beyond this conversation."
    session = tab.ensure_session(agent)
    assert session.user_id is None
    session.feedback(1214, "liked")
    assert agent.saved == {}
    assert agent.start_session(user_id="sam").state.liked == []


def test_an_empty_name_makes_a_named_tab_anonymous_without_deleting() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    tab = TabState()
    use_identity(tab, agent, "sam")
    assert tab.session is not None
    tab.session.feedback(1214, "liked")
    tab.history.append({"role": "user", "content": "hi"})
    note = use_identity(tab, agent, "  ")
    assert note.startswith("You're anonymous now") and "sam" in note
    assert tab.user_id is None and tab.session is None and tab.history == []
    assert tab.ensure_session(agent).state.liked == []  # the anonymous session starts empty
    assert [e.movie_id for e in agent.saved["sam"]] == [1214]  # still stored


def test_an_unusable_name_changes_nothing() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    tab = TabState()
    use_identity(tab, agent, "sam")
    session = tab.session
    assert use_identity(tab, agent, "<>!") == "Use letters or digits in your name."
    assert tab.user_id == "sam" and tab.session is session


def test_a_name_given_while_loading_is_restored_on_first_use() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    agent.start_session(user_id="sam").feedback(1214, "liked")
    tab = TabState()
    assert "once the recommender is ready" in use_identity(tab, None, "sam")
    assert tab.user_id == "sam" and tab.session is None
    assert tab.ensure_session(agent).state.liked == [1214]


def test_forget_me_deletes_and_makes_the_tab_anonymous() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    tab = TabState()
    use_identity(tab, agent, "sam")
    assert tab.session is not None
    tab.session.feedback(1214, "liked")
    assert forget_identity(tab, agent) == "Deleted everything stored about sam."
    assert tab.user_id is None and tab.session is None
    assert "sam" not in agent.saved
    assert use_identity(TabState(), agent, "sam").startswith("Hi, sam.")  # starts empty again


def test_forget_me_without_a_name_or_agent_or_store() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    assert forget_identity(TabState(), agent).startswith("Nothing is stored about anonymous conversations")
    tab = TabState(user_id="sam")
    assert forget_identity(tab, None) == "The recommender is still loading; try again in a moment."
    agent.store_error = RuntimeError("database is locked\nmore detail")
    note = forget_identity(tab, agent)
    assert note == "Couldn't delete your data right now: RuntimeError: database is locked"
    assert tab.user_id == "sam"  # nothing was deleted, so the user stays


def test_notes_are_escaped() -> None:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    note = note_html(use_identity(TabState(), agent, XSS))
    assert "<img" not in note
    assert "<b>" not in note_html(forget_identity(TabState(user_id="<b>x</b>"), agent))


# -- the handlers wired into the Blocks --------------------------------------------------------------------
def handler(demo: gr.Blocks, name: str) -> Callable[..., list[Any]]:
    fns = [f.fn for f in demo.fns.values() if f.fn is not None and f.fn.__name__ == name]
    assert fns, name
    return fns[0]  # type: ignore[return-value]


@pytest.fixture
def demo_agent() -> tuple[gr.Blocks, FakeAgent]:
    agent: Any = FakeAgent()  # the fake has the agent interface the UI uses
    demo = build_app(lambda: agent)
    assert demo.reelchat_loader.wait(30)  # type: ignore[attr-defined]
    return demo, agent


def chip_values(tab: TabState) -> list[tuple[str, str | int | None]]:
    return [(c.kind, c.value) for c in tab.chips if isinstance(c, Chip)]


def test_remember_me_and_forget_me_buttons(demo_agent: tuple[gr.Blocks, FakeAgent]) -> None:
    demo, agent = demo_agent
    agent.start_session(user_id="sam").feedback(1214, "liked")
    out = handler(demo, "remember_me")(" Sam ", None)
    tab, name_box, remembered = out[0], out[1], out[-1]
    assert isinstance(tab, TabState) and tab.user_id == "sam"
    assert name_box == "sam" and remembered == {"user_id": "sam"}  # the browser keeps the normalised name
    assert tab.note == "Welcome back, sam: 1 liked movie restored."
    assert ("liked", 1214) in chip_values(tab)  # the restored like shows as a chip right away
    assert any("Welcome back, sam" in str(value) for value in out)

    out = handler(demo, "new_conversation")(tab)
    assert ("liked", 1214) in chip_values(out[0])  # a named user's new conversation keeps their likes

    out = handler(demo, "forget_me")(tab)
    tab = out[0]
    assert tab.user_id is None and out[1] == "" and out[-1] == {"user_id": ""}  # truthy, so it is written
    assert tab.note == "Deleted everything stored about sam." and chip_values(tab) == []
    assert agent.saved == {}


def test_a_remembered_name_is_restored_on_page_load(demo_agent: tuple[gr.Blocks, FakeAgent]) -> None:
    demo, agent = demo_agent
    agent.start_session(user_id="sam").feedback(1387, "disliked")
    restore = handler(demo, "restore_remembered")
    out = restore({"user_id": "Sam"}, None)
    tab = out[0]
    assert tab.user_id == "sam" and out[1] == "sam"
    assert tab.note == "Welcome back, sam: 1 disliked movie restored."
    assert ("disliked", 1387) in chip_values(tab)
    out = restore({"user_id": ""}, None)  # forgotten: an anonymous tab
    assert out[0].user_id is None and out[0].session is None and out[1] == ""


# -- in a real browser: the name is remembered across a reload ---------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_browser_remembers_the_name_until_forget_me(browser: Any) -> None:  # noqa: F811
    from tests.ui.test_browser import chips, open_tab, send, serve

    agent: Any = FakeAgent()
    demo, url = serve(lambda: agent)
    demo.reelchat_loader.wait(30)
    try:
        page = open_tab(browser, url)
        page.wait_for_selector("#rc-input textarea:not([disabled])")  # the page has finished preparing
        panel = page.locator("#rc-user-panel").get_by_text("Your name (optional): keep your likes")
        panel.click()
        name_box = page.locator("#rc-user-name input, #rc-user-name textarea")
        name_box.wait_for(state="visible")
        name_box.fill("Sam")
        page.locator("#rc-remember").click()
        page.wait_for_selector("#rc-note .rc-note:has-text('Hi, sam.')", timeout=30_000)
        send(page, "Something good")
        liked, disliked = (agent.catalogue.get(agent.sessions[-1].state.shown[i]).label for i in (1, 0))
        page.locator("#rc-card-1 .rc-fb-liked").click()
        page.wait_for_selector("#rc-card-1 .rc-badge-liked")
        page.locator("#rc-card-0 .rc-fb-disliked").click()
        page.wait_for_selector("#rc-card-0 .rc-badge-disliked")

        page.reload()  # a new tab in the same browser: the remembered name restores the likes
        page.wait_for_selector("#rc-note .rc-note:has-text('Welcome back, sam:')", timeout=30_000)
        assert chips(page) == [f"Liked: {liked}", f"Disliked: {disliked}"]

        panel.click()  # the reloaded page shows the panel closed
        assert page.locator("#rc-user-name input, #rc-user-name textarea").input_value() == "sam"
        page.locator("#rc-forget").click()
        page.wait_for_selector("#rc-note .rc-note:has-text('Deleted everything stored about sam.')")
        assert chips(page) == [] and agent.saved == {}
        page.reload()  # forgotten: the reloaded tab is anonymous
        page.wait_for_selector("#rc-input textarea:not([disabled])")
        page.wait_for_timeout(1500)
        assert chips(page) == [] and page.locator("#rc-note").inner_text().strip() == ""
        page.context.close()
    finally:
        demo.close()
