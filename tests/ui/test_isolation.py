"""Isolation suite: two users (sam, ana) and an anonymous client try to read, change, export or delete
each other's data through the API (gradio_client) and the UI (Chromium), 50+ attempts in all.

Every attempt must fail with a clear one-line message, and the store's rows are counted before and
after: nothing changes. The app runs the fake agent over a real SQLite store and real accounts.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from gradio_client import Client

from agent.settings import Limits
from agent.store.tokens import TokenSigner
from tests.ui.fakes import FakeAgent
from tests.ui.test_app import free_port
from tests.ui.test_browser import browser  # noqa: F401  (the Chromium fixture)
from ui.app import build_app, launch

SAM_PW, ANA_PW = "sam's long secret", "ana's long secret"
TABLES = ("users", "credentials", "sessions", "messages", "feedback")
CLEAR = (
    "belongs to someone else",
    "not valid",
    "expired",
    "no longer valid",
    "not signed in",
    "Wrong user name or password",
    "Too many failed sign-ins",
    "taken",
    "Unknown session_id",
    "Choose a user name",
    "password",
)
HOSTILE = ["' OR '1'='1", "sam'; DROP TABLE users; --", '<img src=x onerror="alert(1)">', "sam\x00", "SAM "]


@dataclass
class Tally:
    """Every attempt and what it got."""

    results: list[tuple[str, bool, str]] = field(default_factory=list)

    def expect_refused(self, what: str, call: Callable[[], Any]) -> None:
        try:
            out = call()
        except Exception as err:  # the refusal
            self.results.append((what, False, str(err).strip()))
        else:
            self.results.append((what, True, repr(out)[:200]))


@dataclass
class World:
    url: str
    agent: Any
    sam_token: str
    ana_token: str
    sam_session: str
    ana_session: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # brute force has its own tests: here every attempt should reach the password check
    agent: Any = FakeAgent(
        limits=Limits(
            sign_in_failures=1000, sign_in_failures_per_address=1000, sign_in_failures_per_account=1000
        )
    )
    demo = build_app(lambda: agent)
    demo.reelchat_loader.wait(30)  # type: ignore[attr-defined]
    url = launch(demo, "127.0.0.1", free_port(), block=False)
    agent.accounts.sign_up("sam", SAM_PW)
    agent.accounts.sign_up("ana", ANA_PW)
    sam = Client(url, verbose=False)
    sam_token = sam.predict("sam", SAM_PW, api_name="/sign_in")
    ana_token = Client(url, verbose=False).predict("ana", ANA_PW, api_name="/sign_in")
    _, data = sam.predict("I loved Alien", "", sam_token, api_name="/chat")
    sam.predict(data["session_id"], 1214, "liked", sam_token, api_name="/feedback")
    _, ana_data = sam.predict("I loved Jaws", "", ana_token, api_name="/chat")
    yield World(url, agent, sam_token, ana_token, data["session_id"], ana_data["session_id"])
    demo.close()  # type: ignore[attr-defined]


def counts(agent: Any) -> dict[str, Any]:
    return {
        "tables": {t: agent.store.count(t) for t in TABLES},
        "sam": agent.store.export_user("sam"),
        "ana": agent.store.export_user("ana"),
    }


def api_attempts(w: World, tally: Tally) -> None:
    """Attempts through the published API, as the anonymous client and as ana, on sam's data."""
    anon = Client(w.url, verbose=False)
    as_ana = Client(w.url, verbose=False, headers={"Authorization": f"Bearer {w.ana_token}"})
    forged = TokenSigner("not-the-server-key-" + "x" * 30, 3600).issue("sam", 0)
    tampered = w.sam_token[:-3] + ("AAA" if not w.sam_token.endswith("AAA") else "BBB")
    with mock.patch("time.time", return_value=time.time() - 30 * 24 * 3600):
        expired = w.agent.accounts.signer.issue("sam", 0)
    sid = w.sam_session
    for label, client, token in [
        ("anonymous", anon, ""),
        ("ana token", anon, w.ana_token),
        ("ana bearer", as_ana, ""),
        ("forged sam token", anon, forged),
        ("tampered sam token", anon, tampered),
        ("expired sam token", anon, expired),
        ("sam's name as token", anon, "sam"),
        ("SQL as token", anon, "' OR 1=1 --"),
    ]:
        tally.expect_refused(
            f"api {label}: read sam's session",
            lambda c=client, t=token: c.predict("what do I like?", sid, t, api_name="/chat"),
        )
        tally.expect_refused(
            f"api {label}: like in sam's session",
            lambda c=client, t=token: c.predict(sid, 1387, "liked", t, api_name="/feedback"),
        )
        tally.expect_refused(
            f"api {label}: dislike in sam's session",
            lambda c=client, t=token: c.predict(sid, 1214, "disliked", t, api_name="/feedback"),
        )
    for label, token in [("forged", forged), ("tampered", tampered), ("expired", expired), ("name", "sam")]:
        tally.expect_refused(
            f"api sign out sam with {label} token", lambda t=token: anon.predict(t, api_name="/sign_out")
        )
    for name in ["sam", "SAM", " sam", *HOSTILE]:
        for password in ["", "sam", "password123", *HOSTILE[:3]]:
            tally.expect_refused(
                f"api sign in as {name!r} / {password!r}",
                lambda n=name, p=password: anon.predict(n, p, api_name="/sign_in"),
            )
    tally.expect_refused(
        "api sam's token on ana's session",
        lambda: anon.predict("hi", w.ana_session, w.sam_token, api_name="/chat"),
    )
    tally.expect_refused(
        "api guessed session id",
        lambda: anon.predict(
            sid[:-1] + ("0" if sid[-1] != "0" else "1"), 1214, "liked", "", api_name="/feedback"
        ),
    )


def test_api_attempts_all_fail_with_clear_messages_and_change_nothing(world: World) -> None:
    before = counts(world.agent)
    tally = Tally()
    api_attempts(world, tally)
    after = counts(world.agent)
    succeeded = [r for r in tally.results if r[1]]
    print(f"API isolation: {len(tally.results)} attempts, {len(succeeded)} succeeded")
    assert len(tally.results) >= 50 and succeeded == []
    unclear = [r for r in tally.results if not any(c in r[2] for c in CLEAR) or "Traceback" in r[2]]
    assert unclear == []
    assert after == before
    # sam's own token still works afterwards, on sam's own session
    text, _ = Client(world.url, verbose=False).predict(
        "more", world.sam_session, world.sam_token, api_name="/chat"
    )
    assert "picks" in text


# -- the UI, in Chromium -------------------------------------------------------------------------------
UI_ATTEMPTS: list[tuple[str, str, str, str]] = [  # (button, name, password, expected)
    ("#rc-sign-up", "sam", "a fresh long password", "taken"),
    ("#rc-sign-in", "sam", "", "Wrong user name or password"),
    ("#rc-sign-up", "<b>sam</b>", "a fresh long password", "Choose a user name"),
    ("#rc-sign-in", "SAM", "sam", "Wrong user name or password"),
    ("#rc-sign-up", "sam'; DROP TABLE users; --", "a fresh long password", "Choose a user name"),
    ("#rc-sign-in", "sam", "' OR '1'='1", "Wrong user name or password"),
    ("#rc-sign-up", "ana", "another fresh password", "taken"),
    ("#rc-sign-in", "sam'; DROP TABLE users; --", "' OR '1'='1", "Wrong user name or password"),
    ("#rc-sign-up", "mallory", "short", "at least 8"),
    ("#rc-sign-in", '<img src=x onerror="alert(1)">', "password123", "Wrong user name or password"),
    ("#rc-sign-up", "mallory", "password123", "too common"),
    ("#rc-sign-in", "ana", SAM_PW, "Wrong user name or password"),
]
# Each wait below looks for the expected note. If two neighbours (or the note left before the first
# attempt, "Wrong user name") expected the same text, a wait would pass on the old note while the request
# was still running, and the next attempt's typing would race with that answer.
PREVIOUS_NOTE = "Wrong user name"


def test_ui_attempts_expect_a_different_note_each_time() -> None:
    expected = [PREVIOUS_NOTE] + [e for *_, e in UI_ATTEMPTS]
    assert all(a not in b and b not in a for a, b in itertools.pairwise(expected))


@pytest.mark.browser
@pytest.mark.slow
def test_ui_attempts_all_fail_with_clear_messages_and_change_nothing(
    world: World,
    browser: Any,  # noqa: F811
) -> None:
    from tests.ui.test_browser import open_tab
    from tests.ui.test_identity import handler, open_panel, sign_in_ui

    before = counts(world.agent)
    results: list[tuple[str, bool]] = []
    page = open_tab(browser, world.url)  # an anonymous browser
    open_panel(page)
    for action in ("#rc-download", "#rc-delete", "#rc-sign-out"):
        page.locator(action).click()  # someone else's data is never reachable without their sign-in
        page.wait_for_selector("#rc-note .rc-note:has-text('not signed in')")
        results.append((f"anonymous {action}", False))
        page.locator("#rc-sign-in").click()  # a different message in between: the next wait is real
        page.wait_for_selector(f"#rc-note .rc-note:has-text('{PREVIOUS_NOTE}')")
    for button, name, password, expected in UI_ATTEMPTS:
        sign_in_ui(page, name, password, new=button == "#rc-sign-up")
        page.wait_for_selector(f"#rc-note .rc-note:has-text('{expected}')", timeout=120_000)
        assert page.evaluate("() => !document.querySelector('#rc-user-panel img')")  # no injected markup
        results.append((f"ui {button} {name!r}", False))
    assert page.locator("#rc-chips button:visible").count() == 0  # nothing of sam's shows up
    page.context.close()

    restore = handler(build_app(lambda: world.agent), "restore_remembered")
    for label, token in [("tampered", world.sam_token[:-2] + "xx"), ("name", "sam"), ("sql", "' OR 1=1")]:
        out = restore({"token": token}, None)  # a browser that stored someone else's (broken) token
        results.append((f"ui restore {label} token", out[0].user_id is not None))
        assert out[0].user_id is None and "not valid" in out[0].note
    after = counts(world.agent)
    print(f"UI isolation: {len(results)} attempts, {sum(ok for _, ok in results)} succeeded")
    assert not any(ok for _, ok in results) and after == before

    ana = open_tab(browser, world.url)  # ana, signed in, can reach only her own data
    sign_in_ui(ana, "ana", ANA_PW)
    ana.wait_for_selector("#rc-note .rc-note:has-text(', ana')", timeout=30_000)
    ana.locator("#rc-download").click()
    ana.wait_for_selector("#rc-note .rc-note:has-text('Your data: 0 feedback events and 2 messages')")
    ana.context.close()
