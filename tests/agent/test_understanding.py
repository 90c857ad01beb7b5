"""Deterministic message understanding: a phrasing table on a synthetic catalogue, real-catalogue
phrasings (slow), speed, and robustness on arbitrary input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.understanding.deltas import Critique, Understanding
from agent.understanding.parser import _parse, parse
from retrieval.catalogue import Catalogue
from retrieval.titles import TitleResolver
from retrieval.types import Movie

C = Critique
GENRES = (
    *("Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy"),
    *("Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"),
)
MAX_YEAR = 2018

_MOVIES = [
    (2571, "The Matrix", 1999, "Action|Sci-Fi|Thriller", 278),
    (1214, "Alien", 1979, "Horror|Sci-Fi", 146),
    (1200, "Aliens", 1986, "Action|Adventure|Horror|Sci-Fi", 126),
    (79132, "Inception", 2010, "Action|Crime|Drama|Mystery|Sci-Fi|Thriller|IMAX", 143),
    (1721, "Titanic", 1997, "Drama|Romance", 140),
    (3404, "Titanic", 1953, "Action|Drama", 5),
    (1, "Toy Story", 1995, "Adventure|Animation|Children|Comedy|Fantasy", 215),
    (68954, "Up", 2009, "Adventure|Animation|Children|Drama", 105),
    (6, "Heat", 1995, "Action|Crime|Thriller", 102),
    (106920, "Her", 2013, "Drama|Romance|Sci-Fi", 52),
    (4973, "Amélie", 2001, "Comedy|Romance", 120),
    (5283, "Super Troopers", 2001, "Comedy|Crime|Mystery", 40),
    (2383, "Police Academy", 1984, "Comedy|Crime", 30),
    (26693, "It", 1990, "Drama|Fantasy|Horror|Mystery|Thriller", 20),
    (296, "Pulp Fiction", 1994, "Comedy|Crime|Drama|Thriller", 307),
    (858, "The Godfather", 1972, "Crime|Drama", 192),
    (33166, "Crash", 2004, "Crime|Drama", 60),
]


@pytest.fixture(scope="module")
def resolver() -> TitleResolver:
    movies = [Movie(i, t, y, tuple(g.split("|")), rating_count=n) for i, t, y, g, n in _MOVIES]
    return TitleResolver(Catalogue(movies))


def _p(resolver: TitleResolver, message: str) -> Understanding:
    return parse(message, resolver, genres=GENRES, max_year=MAX_YEAR)


# message -> expected fields; every structured field not listed must be empty/None/False.
CASES: list[tuple[str, dict[str, Any]]] = [
    # liked titles
    ("I loved The Matrix", {"liked": (2571,)}),
    ("like Inception", {"liked": (79132,)}),
    ("something like Inception", {"liked": (79132,)}),
    ("Inception and The Matrix were great", {"liked": (79132, 2571)}),
    ("big fan of Heat", {"liked": (6,)}),
    ("I'm a huge fan of pulp fiction", {"liked": (296,)}),
    ("I really enjoyed Amelie", {"liked": (4973,)}),
    ("my favourite is the godfather", {"liked": (858,)}),
    ("I loved Up and Her", {"liked": (68954, 106920)}),
    ("Inception", {"liked": (79132,)}),
    ("i loved inceptoin and the matrx", {"liked": (79132, 2571)}),
    ("Super Troopers was hilarious", {"liked": (5283,)}),
    ("Police Academy rocks", {"liked": (2383,)}),
    ("Matrix 1999 was amazing", {"liked": (2571,)}),
    ("I adore Amélie", {"liked": (4973,)}),
    # disliked titles
    ("I hated Titanic", {"disliked": (1721,)}),
    ("not a fan of Titanic (1953)", {"disliked": (3404,)}),
    ("Titanic was boring", {"disliked": (1721,)}),
    ("I didn't like Up", {"disliked": (68954,)}),
    ("Heat sucked", {"disliked": (6,)}),
    ("I thought Her was overrated", {"disliked": (106920,)}),
    ("I can't stand Police Academy", {"disliked": (2383,)}),
    ("The Matrix wasn't great", {"disliked": (2571,)}),
    # mixed sentiment: negation attaches to the right item
    ("I loved alien and the matrx, hated Titanic (1997)", {"liked": (1214, 2571), "disliked": (1721,)}),
    ("I liked Heat but Crash was boring", {"liked": (6,), "disliked": (33166,)}),
    ("loved Toy Story, not Up", {"liked": (1,), "disliked": (68954,)}),
    ("something like Inception but not The Matrix", {"liked": (79132,), "disliked": (2571,)}),
    ("Pulp Fiction was great but I hated The Godfather", {"liked": (296,), "disliked": (858,)}),
    # seen
    ("I've seen Inception", {"seen": (79132,)}),
    ("already watched The Matrix and Heat", {"seen": (2571, 6)}),
    ("I've seen Up and loved it", {"seen": (68954,), "liked": (68954,)}),
    ("I saw Titanic but hated it", {"seen": (1721,), "disliked": (1721,)}),
    ("seen all of those", {"seen_all_shown": True}),
    ("I've seen them all", {"seen_all_shown": True}),
    ("already watched all of these", {"seen_all_shown": True}),
    ("I haven't seen Heat", {}),
    ("what about Her?", {}),
    # common words that are titles only when written as titles
    ("I liked it a lot", {}),
    ("what's up with her?", {}),
    ("Up for something funny?", {"mood": ("funny",)}),
    ("a movie about a car crash", {}),
    ("I loved It (1990)", {"liked": (26693,)}),
    # genres
    ("a comedy please", {"genres_required": ("Comedy",)}),
    ("no horror", {"genres_excluded": ("Horror",)}),
    ("no horror but a comedy", {"genres_required": ("Comedy",), "genres_excluded": ("Horror",)}),
    ("I like comedies, not romance", {"genres_liked": ("Comedy",), "genres_excluded": ("Romance",)}),
    ("I like comedy and action, what would you suggest", {"genres_liked": ("Comedy", "Action")}),
    ("I love horror! Something from the 80s please",
     {"genres_liked": ("Horror",), "year_min": 1980, "year_max": 1989}),
    ("I'd like an adventure", {"genres_required": ("Adventure",)}),
    ("I'm looking for a comedy", {"genres_required": ("Comedy",)}),
    ("Can you recommend a comedy? I love them", {"genres_required": ("Comedy",)}),
    ("I watched Death Toll (2008) last week", {}),
    ("not animated", {"genres_excluded": ("Animation",)}),
    ("nothing scary", {"genres_excluded": ("Horror",)}),
    ("something funny", {"mood": ("funny",)}),
    ("sci fi", {"genres_required": ("Sci-Fi",)}),
    ("science fiction or fantasy", {"genres_required": ("Sci-Fi", "Fantasy")}),
    ("a romcom", {"genres_required": ("Romance", "Comedy")}),
    ("a romantic comedy", {"genres_required": ("Romance", "Comedy")}),
    ("something for the kids", {"genres_required": ("Children",)}),
    ("a family movie", {"genres_required": ("Children",)}),
    ("a cartoon", {"genres_required": ("Animation",)}),
    ("no horror, thriller or war", {"genres_excluded": ("Horror", "Thriller", "War")}),
    ("I don't want anything romantic", {"genres_excluded": ("Romance",)}),
    ("anything but westerns", {"genres_excluded": ("Western",)}),
    ("a documentary about space", {"genres_required": ("Documentary",), "mood": ("space",)}),
    ("film noir", {"genres_required": ("Film-Noir",)}),
    ("crime drama", {"genres_required": ("Crime", "Drama")}),
    ("not too scary, but a thriller", {"genres_required": ("Thriller",), "genres_excluded": ("Horror",)}),
    # years
    ("90s movies", {"year_min": 1990, "year_max": 1999}),
    ("something from the 1980s", {"year_min": 1980, "year_max": 1989}),
    ("late 90s", {"year_min": 1995, "year_max": 1999}),
    ("after 2010", {"year_min": 2011}),
    ("before 1960", {"year_max": 1959}),
    ("from 2010 or later", {"year_min": 2010}),
    ("since 2005", {"year_min": 2005}),
    ("between 1990 and 2000", {"year_min": 1990, "year_max": 2000}),
    ("1990-2000", {"year_min": 1990, "year_max": 2000}),
    ("80s or 90s", {"year_min": 1980, "year_max": 1999}),
    ("something recent", {"year_min": 2013}),
    ("from the last 20 years", {"year_min": 1998}),
    ("an old classic", {"year_max": 1978}),
    ("any year is fine", {"clear_years": True}),
    ("in 1999", {"year_min": 1999, "year_max": 1999}),
    ("the seventies", {"year_min": 1970, "year_max": 1979}),
    # counts
    ("give me 3", {"k": 3}),
    ("just one", {"k": 1}),
    ("top ten", {"k": 10}),
    ("a couple of comedies", {"k": 2, "genres_required": ("Comedy",)}),
    ("show me five movies", {"k": 5}),
    ("give me 3 sci-fi movies from the 90s", {"k": 3, "genres_required": ("Sci-Fi",), "year_min": 1990,
                                               "year_max": 1999}),
    ("a few more", {"k": 3}),
    # references to the previous picks
    ("the first one", {"liked_refs": (0,)}),
    ("the 2nd", {"liked_refs": (1,)}),
    ("the last one looks good", {"liked_refs": (-1,)}),
    ("not that one", {"disliked_refs": (-1,)}),
    ("more like the second", {"liked_refs": (1,)}),
    ("I've seen the third", {"seen_refs": (2,)}),
    ("I liked the first and the third", {"liked_refs": (0, 2)}),
    ("not the first one, more like number 4", {"disliked_refs": (0,), "liked_refs": (3,)}),
    ("seen the second, hated the 3rd", {"seen_refs": (1,), "disliked_refs": (2,)}),
    ("the first one was great but I've seen the second", {"liked_refs": (0,), "seen_refs": (1,)}),
    # critiques
    ("more recent", {"critiques": (C.MORE_RECENT,)}),
    ("newer ones", {"critiques": (C.MORE_RECENT,)}),
    ("older", {"critiques": (C.OLDER,)}),
    ("less dark", {"critiques": (C.LIGHTER,)}),
    ("something lighter", {"critiques": (C.LIGHTER,)}),
    ("more upbeat please", {"critiques": (C.LIGHTER,)}),
    ("darker", {"critiques": (C.DARKER,)}),
    ("something else", {"critiques": (C.SOMETHING_ELSE,)}),
    ("different ones", {"critiques": (C.SOMETHING_ELSE,)}),
    ("none of those", {"critiques": (C.SOMETHING_ELSE,)}),
    ("hidden gems", {"critiques": (C.LESS_POPULAR,)}),
    ("less known stuff", {"critiques": (C.LESS_POPULAR,)}),
    ("more popular", {"critiques": (C.MORE_POPULAR,)}),
    ("something else, more recent", {"critiques": (C.MORE_RECENT, C.SOMETHING_ELSE)}),
    # reset
    ("start over", {"reset": True}),
    ("reset", {"reset": True}),
    ("new search: comedies", {"reset": True, "genres_required": ("Comedy",)}),
    ("forget everything", {"reset": True}),
    # everything together
    ("Loved Heat, hated Titanic; give me 2 crime thrillers from the 90s, nothing scary",
     {"liked": (6,), "disliked": (1721,), "k": 2, "genres_required": ("Crime", "Thriller"),
      "genres_excluded": ("Horror",), "year_min": 1990, "year_max": 1999}),
    ("something feel-good and mind-bending like Inception, no horror",
     {"liked": (79132,), "genres_excluded": ("Horror",), "mood": ("feel-good", "mind-bending")}),
]  # fmt: skip

_FIELDS = (
    *("liked", "disliked", "seen", "liked_refs", "disliked_refs", "seen_refs", "seen_all_shown"),
    *("year_min", "year_max", "clear_years", "k", "critiques", "reset"),
)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("message", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_phrasing(resolver: TitleResolver, message: str, expected: dict[str, Any]) -> None:
    u = _p(resolver, message)
    got = {f: getattr(u, f) for f in _FIELDS}
    want = {f: expected.get(f, getattr(Understanding(), f)) for f in _FIELDS}
    assert got == want
    assert set(u.genres_required) == set(expected.get("genres_required", ()))
    assert set(u.genres_excluded) == set(expected.get("genres_excluded", ()))
    assert set(u.genres_liked) == set(expected.get("genres_liked", ()))
    assert set(expected.get("mood", ())) <= set(u.mood)


def test_mentions_text_and_ambiguity(resolver: TitleResolver) -> None:
    u = _p(resolver, "I loved Alien, want something mind-bending with a twist set in space")
    assert u.liked == (1214,)
    assert [m.text for m in u.mentions] == ["Alien"]
    assert u.mentions[0].alternatives == (1200,) and u.ambiguous == u.mentions
    assert {"mind-bending", "twist", "space"} <= set(u.mood)
    assert "alien" not in u.text.lower() and "mind-bending" in u.text and "space" in u.text
    assert "loved" not in u.text
    unresolved = _p(resolver, 'I loved "Zorblax Quintessence"')
    assert unresolved.unresolved == ("Zorblax Quintessence",) and unresolved.liked == ()


def test_negated_genres_leave_the_text(resolver: TitleResolver) -> None:
    u = _p(resolver, "a funny space adventure, no horror please")
    assert "horror" not in u.text and "space" in u.text and "funny" in u.text
    assert u.genres_required == ("Adventure",) and u.genres_excluded == ("Horror",)


def test_unknown_genres_are_dropped(resolver: TitleResolver) -> None:
    u = parse("a western, no musicals", resolver, genres=("Western",), max_year=MAX_YEAR)
    assert u.genres_required == ("Western",) and u.genres_excluded == ()


def test_relative_years_follow_max_year(resolver: TitleResolver) -> None:
    assert parse("something recent", resolver, genres=GENRES, max_year=2030).year_min == 2025
    assert parse("last 10 years", resolver, genres=GENRES, max_year=2030).year_min == 2020
    assert parse("more recent", resolver, genres=GENRES, max_year=2030).year_min is None  # a critique


_NASTY = [
    "",
    "   \n\t ",
    "\x00\x01\x02\x1b[31m",
    "<script>alert('The Matrix')</script>",
    "'; DROP TABLE movies; -- Alien",
    "🎬🍿 Amélie ❤️",
    "İİİ ß ﬁ",
    "\ud800 lone surrogate",
    "Alien " * 5_000,
    "x" * 20_000,
    "the first " * 2_000,
    "90s " * 3_000,
]


@pytest.mark.parametrize("message", _NASTY, ids=range(len(_NASTY)))
def test_odd_input_never_raises(resolver: TitleResolver, message: str) -> None:
    u = _parse(message, resolver, genres=GENRES, max_year=MAX_YEAR)
    assert isinstance(u, Understanding) and len(u.text) <= 500


def test_non_string_input(resolver: TitleResolver) -> None:
    assert parse(None, resolver, genres=GENRES, max_year=MAX_YEAR) == Understanding()  # type: ignore[arg-type]


_WORDS = (
    "I loved hated not no the first one that Alien Matrix 90s after 2010 comedy horror give me 3 seen all"
)
_VOCAB = st.sampled_from(
    [*_WORDS.split(" "), *",.!?'\"()☃é", "and", "but", "like", "Up", "Her", "it", "top ten"]
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.lists(_VOCAB, max_size=40).map(" ".join)))
def test_fuzz_never_raises(resolver: TitleResolver, message: str) -> None:
    u = _parse(message, resolver, genres=GENRES, max_year=MAX_YEAR)
    assert isinstance(u, Understanding)
    assert u.k is None or 1 <= u.k <= 50
    assert set(u.genres_required).isdisjoint(u.genres_excluded)


# ---------------------------------------------------------------------------------- real catalogue


@pytest.fixture(scope="module")
def real(data_dir: Path) -> tuple[TitleResolver, tuple[str, ...], int]:
    from retrieval.catalogue_loader import load_catalogue

    catalogue = load_catalogue(data_dir / "ml-latest-small")
    return TitleResolver(catalogue), catalogue.genres, max(m.year or 0 for m in catalogue)


REAL_CASES: list[tuple[str, dict[str, Any]]] = [
    ("I loved alien and the matrx, hated Titanic (1997)", {"liked": (1214, 2571), "disliked": (1721,)}),
    ("Something like Inception but funnier", {"liked": (79132,), "critiques": (Critique.FUNNIER,)}),
    ("big fan of star wars and the dark knight", {"liked": (260, 58559)}),
    ("I've seen the shawshank redemption and pulp fiction", {"seen": (318, 296)}),
    ("Toy Story was great but Forrest Gump was boring", {"liked": (1,), "disliked": (356,)}),
    ("not a fan of the fellowship of the ring", {"disliked": (4993,)}),
    ("I liked it, what's up with her? give me 3 comedies", {"k": 3}),
    ("a family movie for the kids, nothing scary, from the 90s", {"year_min": 1990, "year_max": 1999}),
    ("Loved Up and Her. Something recent please", {"liked": (68954, 106920), "year_min": 2013}),
    ("more like the second, not Titanic", {"liked_refs": (1,), "disliked": (1721,)}),
    ("hidden gems like Amelie", {"liked": (4973,), "critiques": (C.LESS_POPULAR,)}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("message", "expected"), REAL_CASES, ids=[c[0][:40] for c in REAL_CASES])
def test_real_phrasing(
    real: tuple[TitleResolver, tuple[str, ...], int], message: str, expected: dict
) -> None:
    resolver, genres, max_year = real
    u = parse(message, resolver, genres=genres, max_year=max_year)
    got = {f: getattr(u, f) for f in _FIELDS}
    want = {f: expected.get(f, getattr(Understanding(), f)) for f in _FIELDS}
    assert got == want


@pytest.mark.slow
def test_real_parse_timing_and_huge_message(real: tuple[TitleResolver, tuple[str, ...], int]) -> None:
    resolver, genres, max_year = real
    messages = [m for m, _ in REAL_CASES]
    for m in messages:
        parse(m, resolver, genres=genres, max_year=max_year)
    start = time.perf_counter()
    for _ in range(5):
        for m in messages:
            parse(m, resolver, genres=genres, max_year=max_year)
    per_message = (time.perf_counter() - start) / (5 * len(messages))
    print(f"\nparse: {per_message * 1000:.2f} ms per message (bench/understanding_speed.py measures it)")
    huge_text = "I loved Alien and Heat, give me 3 comedies. " * 500
    huge = parse(huge_text, resolver, genres=genres, max_year=max_year)
    assert {1214, 6} <= set(huge.liked)  # a huge message still parses


@pytest.mark.parametrize(
    ("message", "year_min", "year_max"),
    [
        ("a comedy, but nothing before 2000", 2000, None),
        ("no movies before 1990 please", 1990, None),
        ("not before 2005", 2005, None),
        ("nothing after 1980", None, 1980),
    ],
)
def test_negated_year_bounds(
    resolver: TitleResolver, message: str, year_min: int | None, year_max: int | None
) -> None:
    u = _p(resolver, message)
    assert (u.year_min, u.year_max) == (year_min, year_max)


def test_less_well_known_asks_for_the_long_tail(resolver: TitleResolver) -> None:
    from agent.understanding.deltas import Critique

    assert _p(resolver, "something less well known").critiques == (Critique.LESS_POPULAR,)
    assert _p(resolver, "something more well known").critiques == (Critique.MORE_POPULAR,)
