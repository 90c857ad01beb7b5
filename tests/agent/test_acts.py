"""Conversation acts on the hand-made catalogue: questions are answered from facts, change no likes and
return no picks; critiques shift the state along their direction."""

from __future__ import annotations

import dataclasses

import pytest

from agent.records import Reply, TurnInput
from agent.understanding.deltas import Critique, Understanding
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue
from tests.agent.conftest import MOVIES, fake_engine_over

HEAT_FACTS = dataclasses.replace(
    MOVIES[9], directors=("Michael Mann",), stars=("Al Pacino", "Robert De Niro")
)


@pytest.fixture
def facts_catalogue() -> Catalogue:
    return Catalogue([m if m.movie_id != 10 else HEAT_FACTS for m in MOVIES])


def _send(engine, state: SessionState, text: str) -> Reply:  # type: ignore[no-untyped-def]
    chunks = list(engine.turn(state, TurnInput(text, "s1")))
    reply = chunks[-1].reply
    assert reply is not None
    return reply


@pytest.mark.parametrize(
    ("message", "act"),
    [
        ("why the first one?", "question"),
        ("who's in it?", "question"),
        ("is #3 scary?", "question"),
        ("tell me more about Heat", "question"),
        ("what year is the second one?", "question"),
        ("who directed that one?", "question"),
        ("I loved Heat, something like it", "recommend"),
        ("Have you seen Heat? I thought it was amazing", "recommend"),
        ("something funnier", "recommend"),
        ("start over", "reset"),
        ("thanks!", "chitchat"),
        ("hello there", "chitchat"),
    ],
)
def test_acts(facts_catalogue: Catalogue, message: str, act: str) -> None:
    engine = fake_engine_over(facts_catalogue)
    assert engine.understand(message).act == act


def _answers_without_picks(catalogue: Catalogue, shown: list[int], cases: dict[str, str]) -> None:
    """Each question (asked in turn) is answered with its expected text, no picks, likes and picks kept."""
    engine = fake_engine_over(catalogue)
    state = SessionState()
    state.show(shown)
    before = (list(state.liked), list(state.last_picks))
    for message, expected in cases.items():
        reply = _send(engine, state, message)
        assert reply.act == "question", message
        assert reply.recommendations == (), message
        assert expected in reply.text, (message, reply.text)
        assert (list(state.liked), list(state.last_picks)) == before, message


def test_question_answers_from_facts_without_picks_or_likes(facts_catalogue: Catalogue) -> None:
    cases = {
        "who directed the first one?": "Michael Mann",
        "who's in it?": "Al Pacino",
        "what year is the second one?": "1999",
        "is #3 scary?": "Horror",
        "tell me more about Heat": "Crime",
        "how is the last one rated?": "3.3",
        "why the first one?": "Heat (1995)",
    }
    _answers_without_picks(facts_catalogue, [10, 3, 8], cases)


def test_questions_comparing_the_last_picks(facts_catalogue: Catalogue) -> None:
    cases = {  # Heat 1995 3.9, The Matrix 1999 4.2, Scream 1996 3.3, Alien 1979 4.0
        "which of those is the oldest?": "the oldest is Alien (1979).",
        "which of them is the newest?": "the newest is The Matrix (1999).",
        "which of those is the best rated?": "the best rated is The Matrix (1999), 4.2 out of 5",
        "which one of them is the worst?": "the lowest rated is Scream (1996), 3.3 out of 5",
        "which of those is the shortest?": "I don't hold running times",
        "how long is the second one?": "can't say how long The Matrix (1999) is.",
    }
    _answers_without_picks(facts_catalogue, [10, 3, 8, 1], cases)
    assert (
        fake_engine_over(facts_catalogue).understand("what's the best sci-fi of the 90s?").act == "recommend"
    )


def test_pronoun_follows_the_movie_asked_about(facts_catalogue: Catalogue) -> None:
    engine = fake_engine_over(facts_catalogue)
    state = SessionState()
    state.show([3, 10])
    _send(engine, state, "who directed the second one?")
    assert "Al Pacino" in _send(engine, state, "and who's in it?").text


def test_a_request_after_a_question_still_recommends(facts_catalogue: Catalogue) -> None:
    engine = fake_engine_over(facts_catalogue)
    state = SessionState()
    first = _send(engine, state, "something like The Matrix")
    assert first.act == "recommend" and first.recommendations
    _send(engine, state, "why the first one?")
    assert state.last_picks == [r.movie_id for r in first.recommendations]
    again = _send(engine, state, "I liked the first one, more like it")
    assert again.act == "recommend" and again.recommendations
    assert first.recommendations[0].movie_id in again.query.liked


def _critique(state: SessionState, catalogue: Catalogue, *critiques: Critique, **fields: object) -> None:
    apply_understanding(state, Understanding(critiques=critiques, **fields), catalogue)  # type: ignore[arg-type]


def test_critique_directions_shift_genres(catalogue: Catalogue) -> None:
    fresh = SessionState()
    _critique(fresh, catalogue, Critique.LESS_VIOLENT)  # relative to nothing shown: a leaning only
    assert fresh.genres_excluded == []
    state = SessionState(genres_liked=["Thriller", "Horror"])
    state.show([10, 8])  # Heat, Scream
    _critique(state, catalogue, Critique.FUNNIER)
    assert "Comedy" in state.genres_liked and "Thriller" not in state.genres_liked
    _critique(state, catalogue, Critique.DARKER)
    assert "Comedy" not in state.genres_liked and "Thriller" in state.genres_liked
    _critique(state, catalogue, Critique.LESS_VIOLENT)
    assert {"Horror", "War"} <= set(state.genres_excluded) and "Thriller" not in state.genres_liked
    _critique(state, catalogue, Critique.MORE_ROMANTIC)
    assert "Romance" in state.genres_liked


def test_explicit_years_beat_relative_critiques(catalogue: Catalogue) -> None:
    state = SessionState()
    state.show([9, 12])  # 1995, 2009
    _critique(state, catalogue, Critique.MORE_RECENT, year_min=2012)
    assert state.year_min == 2012
    state = SessionState()
    state.show([12, 13])  # 2009, 2016
    _critique(state, catalogue, Critique.OLDER, year_max=1994)
    assert state.year_max == 1994
    _critique(state, catalogue, Critique.MORE_RECENT)
    assert state.year_min == 2013  # no explicit year: the median of the shown picks (2009, 2016) + 1
