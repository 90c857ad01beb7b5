"""Fast tests of the UI's pure rendering and state helpers, against the fake agent."""

from __future__ import annotations

import json
import threading

import pytest

from agent.records import Query, Recommendation
from retrieval.errors import DataError
from tests.ui.fakes import FakeAgent
from ui.cards import card_html, chat_text, note_html, reply_details, status_html, turn_marker
from ui.panels import Chip, chip_classes, chips_from_query, understood_html
from ui.sessions import AgentLoader, ApiSessions, TabState, api_payload, one_line

XSS = "<img src=x onerror=alert(1)>"


def rec(**kw: object) -> Recommendation:
    base: dict[str, object] = {
        "movie_id": 1214,
        "title": "Alien",
        "year": 1979,
        "genres": ("Horror", "Sci-Fi"),
        "score": 0.9,
        "explanation": "Tense and atmospheric.",
        "rating_mean": 3.97,
        "rating_count": 1146,
        "imdb_id": "tt0078748",
        "tmdb_id": 348,
    }
    base.update(kw)
    return Recommendation(**base)  # type: ignore[arg-type]


def test_card_shows_all_facts_and_links() -> None:
    html = card_html(rec(), 1)
    for part in ("Alien", "1979", "Horror", "Sci-Fi", "4.0", "1,146 ratings", "Tense and atmospheric."):
        assert part in html
    assert 'href="https://movielens.org/movies/1214"' in html
    assert 'href="https://www.imdb.com/title/tt0078748/"' in html
    assert 'href="https://www.themoviedb.org/movie/348"' in html
    assert 'rel="noopener noreferrer"' in html
    assert 'data-movie-id="1214"' in html


def test_card_without_ratings_or_external_ids() -> None:
    html = card_html(
        rec(rating_mean=None, rating_count=0, imdb_id=None, tmdb_id=None, year=None, genres=()), 2
    )
    assert "No ratings yet" in html
    assert "no genre listed" in html
    assert "IMDb" not in html and "TMDB" not in html and "MovieLens" in html


@pytest.mark.parametrize("field", ["title", "explanation"])
def test_card_escapes_text_fields(field: str) -> None:
    html = card_html(rec(**{field: XSS + '" onclick="x'}), 1)
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot; onclick=&quot;x" in html


def test_card_escapes_genres_and_badge() -> None:
    html = card_html(rec(genres=("<b>Bold</b>",)), 1, mark="disliked")
    assert "<b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "Not for you" in html
    assert "rc-badge" not in card_html(rec(), 1, mark="<script>")


def test_chat_and_status_text_are_escaped() -> None:
    assert chat_text(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert chat_text("**Alien (1979)** — tense") == "**Alien (1979)** — tense"  # Markdown survives
    assert "<img" not in status_html("failed", XSS)
    assert "<img" not in note_html(XSS)
    assert note_html("") == ""
    assert 'data-turn="3"' in turn_marker(3, False) and 'data-busy="1"' in turn_marker(0, True)


def test_chips_cover_every_constraint_kind() -> None:
    cat = FakeAgent().catalogue
    q = Query(
        liked=(1214,),
        disliked=(260,),
        seen=(1,),
        genres_required=("Sci-Fi",),
        genres_excluded=("Horror",),
        year_min=1970,
        year_max=1990,
        text="dark and tense " * 5,
    )
    chips = chips_from_query(q, lambda mid: cat.get(mid).label)
    assert [c.kind for c in chips] == [
        "liked",
        "disliked",
        "seen",
        "genre_required",
        "genre_excluded",
        "year_min",
        "year_max",
        "text",
    ]
    labels = [c.label for c in chips]
    assert labels[:2] == ["Liked: Alien (1979)", "Disliked: Star Wars: Episode IV - A New Hope (1977)"]
    assert "No Horror" in labels and "From 1970" in labels and "Until 1990" in labels
    assert labels[-1].endswith("…”") and len(labels[-1]) < 60
    assert chips[0].button_label.endswith("✕")
    assert chip_classes(chips[0]) == ["rc-chip", "rc-chip-good"]
    assert chip_classes(chips[4]) == ["rc-chip", "rc-chip-bad"]
    assert chip_classes(None) == ["rc-chip"]


def test_removing_each_chip_clears_it_from_the_session() -> None:
    agent = FakeAgent()
    sess = agent.start_session()
    sess.send("I loved Alien, no horror, after 1980")
    sess.feedback(260, "disliked")
    label = lambda mid: agent.catalogue.get(mid).label  # noqa: E731
    chips = chips_from_query(sess.state.query(), label)
    assert {c.kind for c in chips} == {"liked", "disliked", "genre_excluded", "year_min"}
    for chip in chips:
        sess.remove_constraint(chip.kind, chip.value)
        assert chip not in chips_from_query(sess.state.query(), label)
    assert chips_from_query(sess.state.query(), label) == []


def test_understood_panel_text() -> None:
    assert "Nothing yet" in understood_html([], 16)
    chips = [Chip("genre_excluded", f"G{i}", f"No G{i}") for i in range(20)]
    assert "4 more not shown" in understood_html(chips, 16)
    assert "Click a chip" in understood_html(chips[:2], 16)


def test_reply_details_and_api_payload_are_json() -> None:
    reply = FakeAgent().start_session().send("I loved Alien, no horror")
    details = reply_details(reply)
    assert details["query"]["genres_excluded"] == ["Horror"]
    assert details["steps"][0]["kind"] == "understand"
    payload = api_payload(reply, "abc")
    round_trip = json.loads(json.dumps(payload))
    assert round_trip["session_id"] == "abc"
    first = round_trip["recommendations"][0]
    assert {"movie_id", "title", "year", "genres", "explanation", "links", "label"} <= first.keys()
    assert reply_details(None) == {}


def test_one_line_errors() -> None:
    assert one_line(RuntimeError("disk full\nTraceback (most recent call last):\n  ...")) == (
        "RuntimeError: disk full"
    )
    assert one_line(DataError("movies.csv is missing")) == "movies.csv is missing"
    assert one_line(ValueError()) == "ValueError"
    assert len(one_line(RuntimeError("x" * 1000))) == 240


def test_loader_ready_and_failed() -> None:
    gate = threading.Event()

    def slow() -> FakeAgent:
        gate.wait(5)
        return FakeAgent()

    loader = AgentLoader(slow).start()
    kind, message = loader.status()
    assert kind == "loading" and message.startswith("Preparing…")
    gate.set()
    assert loader.wait(5) and loader.ready and loader.status()[0] == "ready"

    def broken() -> FakeAgent:
        raise FileNotFoundError("ml-latest-small not found\n  at /some/path")

    failed = AgentLoader(broken).start()
    assert failed.wait(5) and not failed.ready
    kind, message = failed.status()
    assert kind == "failed"
    assert message == "Couldn't start the recommender: FileNotFoundError: ml-latest-small not found"


def test_api_sessions_reuse_and_evict() -> None:
    agent = FakeAgent()
    store = ApiSessions(capacity=2)
    a = store.get_or_create(agent, "")
    assert store.get_or_create(agent, a.session_id) is a
    assert store.get_or_create(agent, "unknown").session_id != "unknown"
    store.get_or_create(agent)
    assert len(store) == 2 and store.get(a.session_id) is None


def test_tab_state_is_per_tab() -> None:
    agent = FakeAgent()
    one, two = TabState(), TabState()
    assert one.ensure_session(agent) is not two.ensure_session(agent)
    assert one.ensure_session(agent) is one.session
    one.history.append({"role": "user", "content": "hi"})
    one.clear()
    assert one.history == [] and one.session is not None
