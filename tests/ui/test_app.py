"""The Gradio app with the fake agent, driven through its public API with ``gradio_client`` (no browser)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from gradio_client import Client

from agent.settings import DEFAULT_LIMITS, Limits
from tests.ui.fakes import FakeAgent
from ui.app import build_app, launch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(factory: Callable[[], object]) -> tuple[object, str]:
    demo = build_app(factory)  # type: ignore[arg-type]
    demo.reelchat_loader.wait(30)  # type: ignore[attr-defined]
    return demo, launch(demo, "127.0.0.1", free_port(), block=False)


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    demo, url = start(FakeAgent)
    yield url
    demo.close()  # type: ignore[attr-defined]


def test_build_app_configures_queue_from_the_limits() -> None:
    demo = build_app(FakeAgent)
    assert demo.analytics_enabled is False
    assert demo._queue.default_concurrency_limit == DEFAULT_LIMITS.ui_concurrency
    assert demo._queue.max_size == DEFAULT_LIMITS.ui_queue_size
    small = build_app(FakeAgent, limits=Limits(ui_concurrency=2, ui_queue_size=5))
    assert (small._queue.default_concurrency_limit, small._queue.max_size) == (2, 5)


def test_only_the_api_endpoints_are_public(fake_url: str) -> None:
    client = Client(fake_url, verbose=False)
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {
        "/sign_in",
        "/sign_out",
        "/chat",
        "/feedback",
    }


def test_chat_endpoint_keeps_a_session_per_id(fake_url: str) -> None:
    client = Client(fake_url, verbose=False)
    text, payload = client.predict("I loved Alien, no horror", "", api_name="/chat")
    assert "picks" in text
    sid = payload["session_id"]
    recs = payload["recommendations"]
    assert len(recs) >= 3 and all("Horror" not in r["genres"] for r in recs)
    assert payload["query"]["genres_excluded"] == ["Horror"]
    assert recs[0]["links"]["MovieLens"].startswith("https://movielens.org/movies/")

    first = recs[0]["movie_id"]
    assert "Noted" in client.predict(sid, first, "disliked", api_name="/feedback")
    _, more = client.predict("more please", sid, api_name="/chat")
    assert more["session_id"] == sid
    assert first in more["query"]["disliked"]
    assert first not in [r["movie_id"] for r in more["recommendations"]]

    _, other = client.predict("hello", "", api_name="/chat")  # a new session knows nothing of the first
    assert other["session_id"] != sid and other["query"]["liked"] == []


def test_feedback_on_unknown_session_is_a_clear_error(fake_url: str) -> None:
    client = Client(fake_url, verbose=False)
    with pytest.raises(Exception, match="Unknown session_id"):
        client.predict("nope", 1214, "liked", api_name="/feedback")


def test_chat_endpoint_reports_a_failed_load_in_one_line() -> None:
    def broken() -> FakeAgent:
        raise RuntimeError("index is corrupt\nTraceback (most recent call last): ...")

    demo, url = start(broken)
    try:
        with pytest.raises(Exception, match="Couldn't start the recommender: RuntimeError: index is corrupt"):
            Client(url, verbose=False).predict("hi", "", api_name="/chat")
    finally:
        demo.close()  # type: ignore[attr-defined]
