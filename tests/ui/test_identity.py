"""Accounts in the UI: the account panel's handlers over the fake agent (real store and accounts).

The returning-user flow needs a sign-in: a new tab gets the likes back only after signing in with the
password (or with the token the browser kept), never by typing a name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from agent.understanding.state import SessionState
from tests.ui.fakes import FakeAgent
from tests.ui.test_browser import browser  # noqa: F401  (the Chromium fixture)
from ui import identity
from ui.app import build_app
from ui.cards import note_html
from ui.panels import Chip
from ui.sessions import TabState

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "correct horse battery"
REQUEST = SimpleNamespace(client=SimpleNamespace(host="10.9.9.9"), headers={})


def test_restored_text() -> None:
    assert identity.restored_text("sam", SessionState()).startswith("Hi, sam. I'll remember")
    state = SessionState(liked=[1, 2, 3], disliked=[4], seen=[5, 6])
    assert identity.restored_text("sam", state) == (
        "Welcome back, sam: 3 liked, 1 disliked and 2 seen movies restored."
    )


def test_sign_up_then_sign_in_restores_likes_in_a_new_tab() -> None:
    agent: Any = FakeAgent()
    first = TabState()
    assert identity.sign_in(first, agent, "Sam", PASSWORD, "", new=True).startswith("Hi, sam.")
    assert first.token and first.session is not None and first.session.user_id == "sam"
    first.session.feedback(1214, "liked")
    first.session.feedback(1387, "disliked")

    typed = TabState()  # typing the name alone is not enough any more
    assert identity.sign_in(typed, agent, "sam", "", "", new=False) == "Wrong user name or password."
    assert typed.user_id is None and typed.session is None
    assert identity.sign_in(typed, agent, "sam", PASSWORD, "", new=True).startswith("That user name is taken")

    second = TabState()
    note = identity.sign_in(second, agent, " SAM ", PASSWORD, "", new=False)
    assert note == "Welcome back, sam: 1 liked and 1 disliked movies restored."
    assert second.session is not None and second.session.state.liked == [1214]


def test_anonymous_tabs_store_nothing() -> None:
    agent: Any = FakeAgent()
    tab = TabState()
    tab.ensure_session(agent).send("I loved Alien")
    tab.ensure_session(agent).feedback(1214, "liked")
    assert {t: agent.store.count(t) for t in ("users", "sessions", "messages", "feedback")} == dict.fromkeys(
        ("users", "sessions", "messages", "feedback"), 0
    )
    assert identity.export_data(tab, agent) == (identity.NOT_SIGNED_IN, None)
    assert identity.delete_account(tab, agent) == identity.NOT_SIGNED_IN
    assert identity.sign_out(tab, agent) == identity.NOT_SIGNED_IN


def test_sign_out_elsewhere_ends_this_tab_too() -> None:
    agent: Any = FakeAgent()
    a, b = TabState(), TabState()
    identity.sign_in(a, agent, "sam", PASSWORD, "", new=True)
    identity.sign_in(b, agent, "sam", PASSWORD, "", new=False)
    assert identity.sign_out(a, agent).startswith("Signed out sam.")
    assert a.user_id is None and a.token == ""
    note, path = identity.export_data(b, agent)
    assert "no longer valid" in note and path is None and b.user_id is None


def test_export_and_delete_my_account() -> None:
    agent: Any = FakeAgent()
    tab, other = TabState(), TabState()
    identity.sign_in(other, agent, "ana", "another good one", "", new=True)
    other.ensure_session(agent).feedback(1, "liked")
    identity.sign_in(tab, agent, "sam", PASSWORD, "", new=True)
    tab.ensure_session(agent).send("I loved Alien")
    tab.ensure_session(agent).feedback(1214, "liked")
    note, path = identity.export_data(tab, agent)
    assert note.startswith("Your data: 1 feedback event and 2 messages") and path is not None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    assert data["user_id"] == "sam" and [f["movie_id"] for f in data["feedback"]] == [1214]
    assert (Path(path).parent.stat().st_mode & 0o777) == 0o700
    ana_rows = agent.store.count_user_rows("ana")
    assert identity.delete_account(tab, agent).startswith("Deleted your account and everything")
    assert tab.user_id is None and tab.token == ""
    assert set(agent.store.count_user_rows("sam").values()) == {0}
    assert agent.store.count_user_rows("ana") == ana_rows


def test_notes_are_escaped() -> None:
    agent: Any = FakeAgent()
    note = note_html(identity.sign_in(TabState(), agent, XSS, XSS, "", new=True))
    assert "<img" not in note


# -- the handlers wired into the Blocks --------------------------------------------------------------------
def handler(demo: gr.Blocks, name: str) -> Callable[..., list[Any]]:
    fns = [
        f.fn
        for f in demo.fns.values()
        if f.fn is not None
        and f.fn.__name__ == name
        and type(getattr(f.fn, "__self__", None)).__name__ == "IdentityHandlers"
    ]
    assert fns, name
    return fns[0]  # type: ignore[return-value]


@pytest.fixture
def demo_agent() -> tuple[gr.Blocks, FakeAgent]:
    agent: Any = FakeAgent()
    demo = build_app(lambda: agent)
    assert demo.reelchat_loader.wait(30)  # type: ignore[attr-defined]
    return demo, agent


def chip_values(tab: TabState) -> list[tuple[str, str | int | None]]:
    return [(c.kind, c.value) for c in tab.chips if isinstance(c, Chip)]


def test_sign_in_sign_out_and_restore_buttons(demo_agent: tuple[gr.Blocks, FakeAgent]) -> None:
    demo, agent = demo_agent
    signed = agent.accounts.sign_up("sam", PASSWORD)
    agent.start_session(user_id="sam").feedback(1214, "liked")
    out = handler(demo, "sign_in")(" Sam ", PASSWORD, None, REQUEST)
    tab, who, password_box, stored = out[0], out[1], out[2], out[-1]
    assert tab.user_id == "sam" and "Signed in as <b>sam</b>" in who and password_box == ""
    assert stored == {"token": tab.token} and tab.token
    assert tab.note == "Welcome back, sam: 1 liked movie restored."
    assert ("liked", 1214) in chip_values(tab)

    out = handler(demo, "restore_remembered")({"token": tab.token}, None)  # a reloaded page
    assert out[0].user_id == "sam" and ("liked", 1214) in chip_values(out[0])
    out = handler(demo, "restore_remembered")({"user_id": "sam"}, None)  # an old name-only value
    assert out[0].user_id is None

    out = handler(demo, "sign_out")(tab)
    assert out[0].user_id is None and out[-1] == {"token": ""} and chip_values(out[0]) == []
    out = handler(demo, "restore_remembered")({"token": signed.token}, None)  # signed out: token dead
    assert out[0].user_id is None and "no longer valid" in out[0].note


# -- in a real browser: the token is kept across a reload ---------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_browser_keeps_the_sign_in_until_sign_out(browser: Any) -> None:  # noqa: F811
    from tests.ui.test_browser import chips, open_tab, send, serve

    agent: Any = FakeAgent()
    demo, url = serve(lambda: agent)
    demo.reelchat_loader.wait(30)
    try:
        page = open_tab(browser, url)
        sign_in_ui(page, "Sam", PASSWORD, new=True)
        page.wait_for_selector("#rc-note .rc-note:has-text('Hi, sam.')", timeout=30_000)
        send(page, "Something good")
        page.locator("#rc-card-1 .rc-fb-liked").click()
        page.wait_for_selector("#rc-card-1 .rc-badge-liked")
        page.reload()  # the browser kept the token, not the name
        page.wait_for_selector("#rc-note .rc-note:has-text('Welcome back, sam:')", timeout=30_000)
        assert len(chips(page)) == 1
        open_panel(page)
        page.locator("#rc-sign-out").click()
        page.wait_for_selector("#rc-note .rc-note:has-text('Signed out sam.')")
        page.reload()
        page.wait_for_selector("#rc-input textarea:not([disabled])")
        page.wait_for_timeout(1500)
        assert chips(page) == [] and page.locator("#rc-note").inner_text().strip() == ""
        page.context.close()
    finally:
        demo.close()


def open_panel(page: Any) -> None:
    """Open the account panel (once per page load)."""
    box = page.locator("#rc-user-name input, #rc-user-name textarea")
    if not box.is_visible():
        page.locator("#rc-user-panel").get_by_text("Your account (optional)").click()
        box.wait_for(state="visible")


def sign_in_ui(page: Any, name: str, password: str, *, new: bool = False) -> None:
    """Fill the account panel and press Sign in (or Create account)."""
    open_panel(page)
    page.locator("#rc-user-name input, #rc-user-name textarea").fill(name)
    page.locator("#rc-password input").fill(password)
    page.locator("#rc-sign-up" if new else "#rc-sign-in").click()
