"""Acceptance tests: a real Chromium drives the UI, served on 127.0.0.1 with the fake and the real agent.

The real agent runs with ``llm="none"``; its tests skip when ml-latest-small is absent or the agent
cannot load. ``test_screenshot`` writes docs/screenshot.png from a real conversation.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.ui.fakes import FakeAgent
from tests.ui.test_app import free_port
from ui.app import build_app, launch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
ALIEN = "I loved Alien (1979), no horror"
XSS = "<img src=x onerror=alert(1)>"
TURN_MS = 120_000  # a real turn on a busy 2-core machine


@dataclass
class Served:
    url: str
    agent: Any
    kind: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def real_agent(data_dir: Path) -> Any:
    """The real agent shared by the whole test run (a load failure fails the test, never skips it)."""
    from tests.conftest import load_real_agent

    return load_real_agent(data_dir)


def serve(factory: Callable[[], Any]) -> tuple[Any, str]:
    demo = build_app(factory)
    return demo, launch(demo, "127.0.0.1", free_port(), block=False)


@pytest.fixture(scope="module", params=["fake", "real"])
def served(request: pytest.FixtureRequest, browser: Any) -> Iterator[Served]:
    agent = FakeAgent() if request.param == "fake" else real_agent(request.getfixturevalue("data_dir"))
    demo, url = serve(lambda: agent)
    demo.reelchat_loader.wait(30)
    yield Served(url, agent, request.param)
    demo.close()


# -- page helpers -------------------------------------------------------------------------------------
def open_tab(browser: Any, url: str) -> Any:
    """A fresh browser context (its own cookies and tab) on the app, once the input is enabled."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.wait_for_selector("#rc-input textarea:not([disabled])", timeout=60_000)
    return page


def turns(page: Any) -> int:
    return int(page.locator("#rc-turn .rc-turn").get_attribute("data-turn"))


def send(page: Any, text: str, *, submit: bool = True) -> int:
    """Type ``text``; with ``submit`` press Enter and wait until the turn finished. Returns the turn count."""
    before = turns(page)
    box = page.locator("#rc-input textarea")
    box.fill(text)
    if not submit:
        return before
    box.press("Enter")
    return wait_turn(page, before)


def wait_turn(page: Any, before: int) -> int:
    page.wait_for_function(
        """n => { const e = document.querySelector('#rc-turn .rc-turn');
                  return e && +e.dataset.turn > n && e.dataset.busy === '0'; }""",
        arg=before,
        timeout=TURN_MS,
    )
    return turns(page)


def card_ids(page: Any) -> list[int]:
    return page.locator("#rc-picks .rc-card").evaluate_all("els => els.map(e => +e.dataset.movieId)")


def chips(page: Any) -> list[str]:
    return [t.replace("✕", "").strip() for t in page.locator("#rc-chips button:visible").all_inner_texts()]


def check_cards_match_catalogue(page: Any, agent: Any, *, min_cards: int = 3) -> list[int]:
    ids = card_ids(page)
    assert len(ids) >= min_cards, page.locator("#rc-chat").inner_text()
    titles = page.locator("#rc-picks .rc-card .rc-title").all_inner_texts()
    for mid, title in zip(ids, titles, strict=True):
        movie = agent.catalogue.get(mid)
        assert title == movie.title
        assert "Horror" not in movie.genres, f"{movie.label} is a horror movie"
    return ids


# -- acceptance ---------------------------------------------------------------------------------------
def test_recommends_catalogue_movies_without_horror(served: Served, browser: Any) -> None:
    page = open_tab(browser, served.url)
    send(page, ALIEN)
    check_cards_match_catalogue(page, served.agent)
    assert "Liked: Alien (1979)" in chips(page) and "No Horror" in chips(page)
    card = page.locator("#rc-card-0")
    assert card.locator(".rc-rating").inner_text()
    assert card.locator(".rc-expl").inner_text().strip()
    assert card.locator("a", has_text="MovieLens").get_attribute("href").startswith("https://movielens.org/")
    page.context.close()


def test_not_for_me_is_honoured_by_the_next_reply(served: Served, browser: Any) -> None:
    page = open_tab(browser, served.url)
    send(page, ALIEN)
    first = card_ids(page)[0]
    label = served.agent.catalogue.get(first).label
    page.locator("#rc-card-0 .rc-fb-disliked").click()
    page.wait_for_selector("#rc-card-0 .rc-badge-disliked")
    page.wait_for_selector(f"#rc-chips button:has-text('Disliked: {label}')")
    send(page, "Show me more like that")
    assert first not in card_ids(page)
    assert f"Disliked: {label}" in chips(page)  # chips after a turn come from reply.query
    check_cards_match_catalogue(page, served.agent, min_cards=1)
    page.context.close()


def test_removing_a_chip_drops_it_from_the_next_query(served: Served, browser: Any) -> None:
    page = open_tab(browser, served.url)
    send(page, ALIEN)
    assert "No Horror" in chips(page)
    page.locator("#rc-chips button", has_text="No Horror").click()
    page.wait_for_selector("#rc-note .rc-note")
    assert "No Horror" not in chips(page)
    send(page, "Show me more like that")
    assert "No Horror" not in chips(page)
    assert "Liked: Alien (1979)" in chips(page)
    page.context.close()


def test_two_tabs_keep_separate_sessions(served: Served, browser: Any) -> None:
    one, two = open_tab(browser, served.url), open_tab(browser, served.url)
    before = [send(one, ALIEN, submit=False), send(two, "A feel-good comedy from the 90s", submit=False)]
    one.locator("#rc-input textarea").press("Enter")
    two.locator("#rc-input textarea").press("Enter")
    wait_turn(one, before[0])
    wait_turn(two, before[1])
    assert "Liked: Alien (1979)" in chips(one)
    assert not any("Alien" in c or "Horror" in c for c in chips(two))
    assert "feel-good comedy" not in one.locator("#rc-chat").inner_text()
    assert ALIEN not in two.locator("#rc-chat").inner_text()
    two.locator("#rc-card-0 .rc-fb-liked").click()
    two.wait_for_selector("#rc-card-0 .rc-badge-liked")
    liked_in_two = served.agent.catalogue.get(card_ids(two)[0]).label
    assert f"Liked: {liked_in_two}" in chips(two)
    assert f"Liked: {liked_in_two}" not in chips(one)
    one.reload()  # a reload is a new tab: a new, empty session
    one.wait_for_selector("#rc-input textarea:not([disabled])")
    assert chips(one) == []
    one.context.close()
    two.context.close()


def test_html_in_messages_is_shown_as_text(served: Served, browser: Any) -> None:
    page = open_tab(browser, served.url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.evaluate("window.__xss = 0")
    send(page, XSS)
    if served.kind == "fake":  # the fake catalogue holds a movie titled with HTML: it ranks first
        assert XSS in page.locator("#rc-picks .rc-title").all_inner_texts()
        assert page.locator("#rc-picks img").count() == 0
    send(page, '<img src=y onerror="window.__xss=1"> <script>window.__xss=2</script> **bold**')
    page.wait_for_timeout(500)
    chat = page.locator("#rc-chat")
    assert XSS in chat.inner_text()
    assert chat.locator("img[src=x], img[src=y], script").count() == 0
    assert page.evaluate("window.__xss") == 0
    assert dialogs == []
    page.context.close()


def test_new_conversation_forgets_everything(served: Served, browser: Any) -> None:
    page = open_tab(browser, served.url)
    send(page, ALIEN)
    assert chips(page)
    page.locator("#rc-new").click()
    page.wait_for_function("!document.querySelector('#rc-picks .rc-card')")
    assert chips(page) == []
    assert "Alien" not in page.locator("#rc-chat").inner_text()
    page.context.close()


def test_gradio_client_chat_endpoint(served: Served) -> None:
    from gradio_client import Client

    client = Client(served.url, verbose=False)
    text, payload = client.predict(ALIEN, "", api_name="/chat")
    assert text.strip()
    recs = payload["recommendations"]
    assert len(recs) >= 3
    for r in recs:
        movie = served.agent.catalogue.get(r["movie_id"])
        assert r["title"] == movie.title and "Horror" not in movie.genres
    assert "Horror" in payload["query"]["genres_excluded"]
    _, more = client.predict("Show me more like that", payload["session_id"], api_name="/chat")
    assert not {r["movie_id"] for r in recs} & {r["movie_id"] for r in more["recommendations"]}


def test_screenshot(served: Served, browser: Any) -> None:
    """Writes docs/screenshot.png from a real two-turn conversation with one card feedback."""
    if served.kind != "real":
        pytest.skip("the screenshot shows the real agent")
    page = open_tab(browser, served.url)
    send(page, ALIEN)
    page.locator("#rc-card-0 .rc-fb-disliked").click()
    page.wait_for_selector("#rc-card-0 .rc-badge-disliked")
    send(page, "Something more recent, after 1990")
    page.locator("#rc-card-1 .rc-fb-liked").click()
    page.wait_for_selector("#rc-card-1 .rc-badge-liked")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 20_000
    page.context.close()


# -- loading ------------------------------------------------------------------------------------------
def test_preparing_then_usable(browser: Any) -> None:
    gate = threading.Event()

    def slow() -> FakeAgent:
        gate.wait(60)
        return FakeAgent()

    demo, url = serve(slow)
    try:
        page = browser.new_context().new_page()
        page.goto(url)
        page.wait_for_selector("#rc-status:has-text('Preparing…')")
        assert page.locator("#rc-input textarea").is_disabled()
        gate.set()
        page.wait_for_selector("#rc-input textarea:not([disabled])", timeout=30_000)
        page.wait_for_selector("#rc-status", state="hidden", timeout=30_000)
        send(page, ALIEN)
        assert card_ids(page)
        page.context.close()
    finally:
        gate.set()
        demo.close()


def test_load_failure_is_one_clear_line(browser: Any) -> None:
    def broken() -> FakeAgent:
        raise RuntimeError("ml-latest-small is missing\nTraceback (most recent call last):\n  File ...")

    demo, url = serve(broken)
    try:
        page = browser.new_context().new_page()
        page.goto(url)
        status = page.locator("#rc-status .rc-status-failed")
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip() == (
            "⚠ Couldn't start the recommender: RuntimeError: ml-latest-small is missing"
        )
        assert "Traceback" not in page.locator("body").inner_text()
        assert re.search("Couldn't start", page.locator("body").inner_text())
        page.context.close()
    finally:
        demo.close()
