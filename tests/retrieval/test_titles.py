"""Title resolution and title spotting: synthetic unit tests, then real-catalogue phrasings (slow)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from retrieval.catalogue import Catalogue
from retrieval.titles import TitleMatch, TitleResolver, ambiguous_alternatives, is_ambiguous, normalize
from retrieval.types import Movie

_SYNTHETIC = [
    (2571, "The Matrix", 1999, 278),
    (6365, "The Matrix Reloaded", 2003, 90),
    (1214, "Alien", 1979, 146),
    (1200, "Aliens", 1986, 126),
    (79132, "Inception", 2010, 143),
    (1721, "Titanic", 1997, 140),
    (3404, "Titanic", 1953, 5),
    (1, "Toy Story", 1995, 215),
    (3114, "Toy Story 2", 1999, 97),
    (68954, "Up", 2009, 105),
    (6, "Heat", 1995, 102),
    (103372, "The Heat", 2013, 12),
    (106920, "Her", 2013, 52),
    (4973, "Amélie", 2001, 120),
    (260, "Star Wars: Episode IV - A New Hope", 1977, 251),
    (1196, "Star Wars: Episode V - The Empire Strikes Back", 1980, 211),
    (7991, "Death Race 2000", 1975, 8),
    (924, "2001: A Space Odyssey", 1968, 109),
    (62113, "How to Lose Friends & Alienate People", 2008, 9),
    (318, "The Shawshank Redemption", 1994, 317),
    (26693, "It", 1990, 20),
    (1483, "Crash", 1996, 20),
    (33166, "Crash", 2004, 60),
    (2959, "Fight Club", 1999, 218),
]


@pytest.fixture(scope="module")
def small() -> TitleResolver:
    movies = [Movie(i, t, y, ("Drama",), rating_count=n) for i, t, y, n in _SYNTHETIC]
    return TitleResolver(Catalogue(movies))


def _top(resolver: TitleResolver, text: str) -> int | None:
    matches = resolver.resolve(text)
    return matches[0].movie_id if matches else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Matrix", 2571),
        ("the matrix", 2571),
        ("Matrix", 2571),
        ("Matrix 1999", 2571),
        ("matrix (1999)", 2571),
        ("Matrix, The", 2571),
        ("THE MATRIX!!", 2571),
        ("the matrx", 2571),
        ("matrix reloaded", 6365),
        ("inceptoin", 79132),
        ("Alien", 1214),
        ("aliens", 1200),
        ("Titanic", 1721),
        ("titanic 1953", 3404),
        ("Titanic (1997)", 1721),
        ("amelie", 4973),
        ("Amélie", 4973),
        ("star wars", 260),
        ("a new hope", 260),
        ("empire strikes back", 1196),
        ("death race 2000", 7991),
        ("2001 a space odyssey", 924),
        ("how to lose friends and alienate people", 62113),
        ("shawshank", 318),
        ("toy story", 1),
        ("toy story 2", 3114),
        ("heat", 6),
        ("the heat", 103372),
        ("crash", 33166),
        ("crash 1996", 1483),
    ],
)
def test_resolve_synthetic(small: TitleResolver, text: str, expected: int) -> None:
    assert _top(small, text) == expected


def test_resolve_scores_and_limits(small: TitleResolver) -> None:
    matches = small.resolve("The Matrix", limit=2)
    assert len(matches) <= 2
    assert all(isinstance(m, TitleMatch) and 0.0 <= m.score <= 1.0 for m in matches)
    assert matches[0].title == "The Matrix" and matches[0].year == 1999
    assert matches[0].score > 0.95
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert small.resolve("") == [] and small.resolve("   ") == [] and small.resolve("xqzv") == []
    assert small.resolve("The Matrix", limit=0) == []


def test_ambiguity(small: TitleResolver) -> None:
    alien = small.resolve("Alien")
    assert alien[0].movie_id == 1214 and is_ambiguous(alien)
    assert 1200 in ambiguous_alternatives(alien)
    titanic = small.resolve("Titanic")
    assert is_ambiguous(titanic) and ambiguous_alternatives(titanic)[0] == 3404
    assert not is_ambiguous(small.resolve("Titanic 1997"))
    assert not is_ambiguous(small.resolve("fight club"))
    assert not is_ambiguous(small.resolve("toy story"))  # the sequel is not a close alternative
    assert not is_ambiguous([]) and ambiguous_alternatives([]) == ()


def test_normalize() -> None:
    assert normalize("Amélie & Co.") == "amelie and co"
    assert normalize("Schindler’s List") == "schindlers list"
    assert normalize("  Spider-Man: No Way Home ") == "spider man no way home"


def _found(resolver: TitleResolver, text: str) -> list[int | None]:
    return [s.movie_id for s in resolver.find_mentions(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I loved alien and the matrx, hated Titanic (1997)", [1214, 2571, 1721]),
        ("something like Inception but funnier", [79132]),
        ("I loved Up and Her", [68954, 106920]),
        ("I liked it a lot, what's up with her?", []),
        ("Up for something funny?", []),
        ("I saw it yesterday and it was up there", []),
        ("I want something about a car crash", []),
        ("Crash was boring", [33166]),
        ('Have you seen "Her"?', [106920]),
        ("Her (2013) was lovely", [106920]),
        ("seen the matrix, fight club and toy story", [2571, 2959, 1]),
        ("I LOVED THE MATRIX AND HEAT", [2571, 6]),
        ("i really liked inceptoin", [79132]),
        ("give me 10 movies about the heat of summer", []),
    ],
)
def test_find_mentions_synthetic(small: TitleResolver, text: str, expected: list[int]) -> None:
    assert _found(small, text) == expected


def test_find_mentions_spans(small: TitleResolver) -> None:
    text = "I loved alien and the matrx, hated Titanic (1997)!"
    spans = small.find_mentions(text)
    assert [text[s.start : s.end] for s in spans] == ["alien", "the matrx", "Titanic (1997)"]
    assert spans[2].year == 1997 and spans[2].alternatives == ()
    assert spans[0].alternatives == (1200,)
    unresolved = small.find_mentions('I adored "Zorblax Quintessence"')
    assert (
        len(unresolved) == 1
        and unresolved[0].movie_id is None
        and unresolved[0].text == "Zorblax Quintessence"
    )


def test_find_mentions_odd_input(small: TitleResolver) -> None:
    for text in ["", "   ", "\x00\x01", "<b>Alien</b>", "'; DROP TABLE movies; --", "🎬🍿", "a" * 30_000]:
        small.find_mentions(text)
        small.resolve(text)
    assert _found(small, "<b>Alien</b> and <i>Heat</i>") == [1214, 6]


# ---------------------------------------------------------------------------------- real catalogue


@pytest.fixture(scope="module")
def real(data_dir: Path) -> TitleResolver:
    from retrieval.catalogue_loader import load_catalogue

    return TitleResolver(load_catalogue(data_dir / "ml-latest-small"))


_REAL_RESOLVE = [
    ("The Matrix", 2571),
    ("matrix", 2571),
    ("Matrix (1999)", 2571),
    ("the matrx", 2571),
    ("Alien", 1214),
    ("aliens", 1200),
    ("alien 3", 1320),
    ("Inception", 79132),
    ("inceptoin", 79132),
    ("Titanic", 1721),
    ("titanic 1997", 1721),
    ("Titanic (1953)", 3404),
    ("Shawshank Redemption", 318),
    ("the shawshank redemption", 318),
    ("shawshank", 318),
    ("Pulp Fiction", 296),
    ("pulp fiction 1994", 296),
    ("Toy Story", 1),
    ("toy story 2", 3114),
    ("Star Wars", 260),
    ("star wars a new hope", 260),
    ("Star Wars: Episode IV - A New Hope", 260),
    ("the empire strikes back", 1196),
    ("Fellowship of the Ring", 4993),
    ("The Lord of the Rings: The Fellowship of the Ring", 4993),
    ("The Dark Knight", 58559),
    ("dark knight", 58559),
    ("the dark knight rises", 91529),
    ("Forrest Gump", 356),
    ("forest gump", 356),
    ("Amelie", 4973),
    ("Amélie", 4973),
    ("Heat", 6),
    ("Up", 68954),
    ("Her", 106920),
    ("Seven", 47),
    ("the godfather", 858),
    ("godfather part ii", 1221),
    ("Back to the Future", 1270),
    ("fight club", 2959),
    ("Schindler's List", 527),
    ("schindlers list", 527),
    ("jurassic park", 480),
    ("interstelar", 109487),
    ("2001: A Space Odyssey", 924),
    ("Death Race 2000", 7991),
    ("spiderman", 5349),
    ("Terminator 2", 589),
    ("the silence of the lambs", 593),
    ("silence of the lambs", 593),
]


@pytest.mark.slow
def test_resolve_real_phrasings(real: TitleResolver) -> None:
    wrong = [
        (text, expected, _top(real, text)) for text, expected in _REAL_RESOLVE if _top(real, text) != expected
    ]
    assert not wrong


_REAL_MENTIONS = [
    ("I loved alien and the matrx, hated Titanic (1997)", [1214, 2571, 1721]),
    ("Something like Inception or Interstellar please", [79132, 109487]),
    ("I've seen the shawshank redemption, pulp fiction and forrest gump", [318, 296, 356]),
    ("big fan of star wars and the dark knight", [260, 58559]),
    ("I liked it, what's up with her", []),
    ("a family movie for kids with a twist set in space, nothing scary", []),
    ("Loved Up and Her", [68954, 106920]),
    ("give me 5 funny movies from the 90s", []),
    ("Toy Story was great but I hated Titanic", [1, 1721]),
    ("anything like 'The Fellowship of the Ring'", [4993]),
    # a longer title that starts with a shorter one: a colon or a sequel word continues it
    ("I just watched John Wick: Chapter 2 (2017) last night", [168248]),
    ("I loved Kill Bill: Volume 2", [7438]),
    ("How about Guardians of the Galaxy Vol. 2 (2017)", [122918]),
    ("I watched Star Wars: The Empire Strikes Back", [1196]),
    ("I also liked Mother! (2017)", [176419]),  # the title's own "!" before its year
    ("I liked Alien: it was scary", [1214]),  # a colon that does not continue the title
    ("Toy Story: part of my childhood", [1]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "expected"), _REAL_MENTIONS)
def test_find_mentions_real(real: TitleResolver, text: str, expected: list[int]) -> None:
    assert _found(real, text) == expected


@pytest.mark.slow
def test_real_messages_and_long_prose(real: TitleResolver) -> None:
    typical = "I loved alien and the matrx, hated Titanic (1997). Something mind-bending please!"
    real.find_mentions(typical)
    start = time.perf_counter()
    for _ in range(20):
        real.find_mentions(typical)
    per_message = (time.perf_counter() - start) / 20
    print(f"\nfind_mentions: {per_message * 1000:.2f} ms per message (bench/understanding_speed.py)")
    prose = " ".join(
        f"Honestly the {w} scene in chapter {i} reminded me of something, but nothing specific."
        for i, w in enumerate(["opening", "final", "chase", "dinner"] * 80)
    )[:20_000]
    spans = real.find_mentions(prose)  # 20,000 characters, scanned whole (timed in bench/)
    assert all(prose[s.start : s.end] == s.text for s in spans)
    everyday = {"honestly", "opening", "final", "chase", "dinner", "something", "nothing specific"}
    assert not any(s.text.lower() in everyday for s in spans)  # everyday words are not read as titles
