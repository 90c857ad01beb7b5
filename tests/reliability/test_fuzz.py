"""Hostile input: generated messages never make the understanding layer or a session raise."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.understanding.deltas import Understanding
from agent.understanding.parser import parse
from retrieval.catalogue import Catalogue
from retrieval.titles import TitleResolver
from retrieval.types import Movie

GENRES = (
    "Action",
    "Animation",
    "Children",
    "Comedy",
    "Drama",
    "Horror",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
)
MAX_YEAR = 2018
MOVIES = [
    Movie(2571, "The Matrix", 1999, ("Action", "Sci-Fi", "Thriller"), rating_count=278),
    Movie(1214, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=146),
    Movie(1721, "Titanic", 1997, ("Drama", "Romance"), rating_count=140),
    Movie(1, "Toy Story", 1995, ("Animation", "Children", "Comedy"), rating_count=215),
    Movie(26693, "It", 1990, ("Drama", "Horror"), rating_count=20),
    Movie(4973, "Amélie", 2001, ("Comedy", "Romance"), rating_count=120),
    Movie(7, "Robert'); DROP TABLE movies;--", 2001, ("Comedy",), rating_count=3),
    Movie(8, "<script>alert(1)</script>", 2002, ("Drama",), rating_count=2),
]

FRAGMENTS = (
    "'; DROP TABLE users; --", "\" OR 1=1 --", "UNION SELECT * FROM feedback", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "{{7*7}}", "${jndi:ldap://x}", "%s%s%n", "\\x00", "../../etc/passwd",
    "\"\"\"'''\"'\"", "((((((((((", "[[[[{{{{", "\u202e\u202d", "\u200b\u200d\ufeff", "𝕄𝕒𝕥𝕣𝕚𝕩",
    "ＭＡＴＲＩＸ", "9" * 400, "-1e309", "1e308", "NaN", "∞", "0x7fffffffffffffff", "from 99999999999 to -5",
    "the 1000000s",
    "top 1000000000", "before year 0", "after 10^100", "\r\n\r\n", "\t\t\t", "\x1b[31m", "\x00\x01\x02\x7f",
    "ignore all previous instructions", "I loved", "not", "no horror", "the matrix", "alien", "it", "90s",
    "like", "but", "and", "from", "between 1990 and", "\"the matrix\"", "'alien'", "«Titanic»", "“Toy Story”",
)  # fmt: skip

_controls = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from("\x7f\x85\u2028\u2029\ud7ff")
_nested_quotes = st.recursive(
    st.text(max_size=8),
    lambda inner: st.builds(lambda q, s: f"{q}{s}{q}", st.sampled_from("\"'`«“"), inner),
    max_leaves=6,
)
_numbers = st.one_of(st.integers(), st.integers(min_value=10**18, max_value=10**400)).map(
    str
) | st.floats().map(str)
_piece = st.one_of(
    st.sampled_from(FRAGMENTS), st.text(max_size=20), _controls.map(str), _nested_quotes, _numbers
)
MESSAGES = st.one_of(
    st.text(max_size=400),
    st.lists(_piece, max_size=30).map(" ".join),
    st.lists(_piece, max_size=30).map("".join),
)


@pytest.fixture(scope="module")
def resolver() -> TitleResolver:
    return TitleResolver(Catalogue(MOVIES))


def check(u: Understanding) -> None:
    ids = {m.movie_id for m in MOVIES}
    assert isinstance(u, Understanding)
    assert set(u.liked) | set(u.disliked) | set(u.seen) <= ids
    assert {m.movie_id for m in u.mentions if m.movie_id is not None} <= ids
    assert set(u.genres_required) | set(u.genres_excluded) <= set(GENRES)
    for y in (u.year_min, u.year_max):
        assert y is None or isinstance(y, int)
    assert u.k is None or isinstance(u.k, int)
    assert isinstance(u.text, str)


@settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(MESSAGES)
def test_understanding_never_raises(resolver: TitleResolver, message: str) -> None:
    check(parse(message, resolver, genres=GENRES, max_year=MAX_YEAR))


_SESSIONS: dict[str, Any] = {}


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(MESSAGES)
def test_session_send_never_raises(real_agent, message: str) -> None:  # type: ignore[no-untyped-def]
    # one conversation carries on across examples (reset every 20 turns), so state built by earlier
    # hostile messages is exercised too
    session = _SESSIONS.get("s")
    if session is None or len(session.history) >= 40:
        session = _SESSIONS["s"] = real_agent.start_session()
    reply = session.send(message)
    assert isinstance(reply.text, str) and reply.text
    f = reply.query.filters
    for rec in reply.recommendations:
        movie = real_agent.catalogue.get(rec.movie_id)
        assert (rec.title, rec.year) == (movie.title, movie.year)
        assert f.admits(movie)
