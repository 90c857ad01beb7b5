"""Small synthetic data sets in the ml-latest-small / ReDial formats, with known answers.

``tiny_movielens`` writes ``tmp_path/ml-latest-small`` (so ``tmp_path`` works as a data_dir) and
``tiny_redial`` writes ``tmp_path/redial-ievalm/id2info.json``. Ratings and tags are invented; titles,
genres and ids follow MovieLens conventions (articles moved to the end, alternate titles, a year-less title,
a trailing space, "(no genres listed)", a blank tmdbId).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

# movieId, raw title, genres, imdbId, tmdbId (None: blank)
TINY_MOVIES: list[tuple[int, str, str, int, int | None]] = [
    (1, "Toy Story (1995)", "Adventure|Animation|Children|Comedy|Fantasy", 114709, 862),
    (
        29,
        "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
        "Adventure|Drama|Fantasy|Sci-Fi",
        112682,
        902,
    ),
    (58, "Postman, The (Postino, Il) (1994)", "Comedy|Drama|Romance", 110877, 11010),
    (73, "Misérables, Les (1995)", "Drama|War", 113828, 48750),
    (260, "Star Wars: Episode IV - A New Hope (1977)", "Action|Adventure|Sci-Fi", 76759, 11),
    (541, "Blade Runner (1982)", "Action|Sci-Fi|Thriller", 83658, 78),
    (1200, "Aliens (1986)", "Action|Adventure|Horror|Sci-Fi", 90605, 679),
    (
        1201,
        "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
        "Action|Western",
        60196,
        429,
    ),
    (1214, "Alien (1979)", "Horror|Sci-Fi", 78748, 348),
    (1233, "Boot, Das (Boat, The) (1981)", "Action|Drama|War", 82096, 387),
    (1240, "Terminator, The (1984)", "Action|Sci-Fi|Thriller", 88247, 218),
    (1643, "Mrs. Brown (a.k.a. Her Majesty, Mrs. Brown) (1997)", "Drama|Romance", 119280, 17589),
    (2571, "Matrix, The (1999)", "Action|Sci-Fi|Thriller", 133093, 603),
    (3267, "Mariachi, El (1992)", "Action|Crime|Thriller|Western", 104815, 9367),
    (4973, "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Comedy|Romance", 211915, 194),
    (69757, "(500) Days of Summer (2009)", "Comedy|Drama|Romance", 1022603, 19913),
    (122900, "Ant-Man (2015)", "Action|Adventure|Sci-Fi", 478970, 102899),
    (146684, "Runaway Brain (1995) ", "Animation|Comedy|Sci-Fi", 114305, None),
    (171749, "Death Note: Desu nôto (2006–2007)", "(no genres listed)", 877057, 13916),
    (176601, "Black Mirror", "(no genres listed)", 2085059, 42009),
]

# movieId -> ratings in user order (user 1 gives the first, user 2 the second, ...)
TINY_RATINGS: dict[int, list[float]] = {
    1: [3.0, 4.0, 5.0, 2.0, 0.5],
    29: [4.0],
    58: [3.5, 4.0],
    73: [2.5],
    260: [5.0, 4.5, 4.0],
    541: [4.5, 5.0],
    1200: [4.5, 3.5],
    1201: [4.0],
    1214: [4.0, 5.0, 3.0],
    1233: [4.5],
    1240: [3.5, 4.0],
    1643: [3.0],
    2571: [5.0, 4.5, 4.0, 3.5],
    3267: [3.0],
    4973: [4.5, 4.0],
    69757: [3.5],
    122900: [3.0, 3.5],
    146684: [2.0],
    171749: [4.5],
    # 176601 (Black Mirror) has no ratings
}

# (userId, movieId, tag): Matrix and Alien test case folding and order, Toy Story the cap of 10.
TINY_TAGS: list[tuple[int, int, str]] = [
    (1, 2571, "sci-fi"),
    (2, 2571, "Sci-Fi"),
    (3, 2571, " SCI-FI "),
    (1, 2571, "philosophy"),
    (4, 2571, "Philosophy"),
    (2, 2571, "cyberpunk"),
    (3, 2571, "Keanu  Reeves"),
    (1, 1214, "space"),
    (2, 1214, "atmospheric"),
    (3, 1214, "Atmospheric"),
    (2, 1214, "Sigourney Weaver"),
    (1, 1, "pixar"),
    (2, 1, "Pixar"),
    (3, 1, "PIXAR"),
    (1, 1, "animation"),
    (2, 1, "animation"),
    *[(4, 1, t) for t in ("toys", "buddy", "cgi", "disney", "friendship", "kids", "nostalgia", "tom hanks")],
    *[(5, 1, t) for t in ("witty", "zany")],
    (1, 1200, "action"),
]

EXPECTED_TAGS: dict[int, tuple[str, ...]] = {
    2571: ("sci-fi", "philosophy", "cyberpunk", "keanu reeves"),
    1214: ("atmospheric", "sigourney weaver", "space"),
    1: (
        "pixar",
        "animation",
        "buddy",
        "cgi",
        "disney",
        "friendship",
        "kids",
        "nostalgia",
        "tom hanks",
        "toys",
    ),
    1200: ("action",),
}

TINY_REDIAL: dict[str, dict] = {
    "100001": {
        "name": "The Matrix (1999)",
        "genre": ["action", "sci-fi"],
        "plot": "A hacker learns that his world is a simulation.",
        "director": ["Lana Wachowski", "Lilly Wachowski"],
        "writer": ["Lilly Wachowski", "Lana Wachowski"],
        "star": ["Keanu Reeves", "Laurence Fishburne", "Carrie-Anne Moss"],
        "imdb_id": "tt0133093",
    },
    "100002": {  # duplicate imdb id without a plot: must not replace the entry above
        "name": "Matrix",
        "genre": [],
        "plot": "",
        "director": [],
        "writer": [],
        "star": [],
        "imdb_id": "tt0133093",
    },
    "100003": {
        "name": "Alien (1979)",
        "genre": ["horror", "sci-fi"],
        "plot": "The crew of a space tug meets a deadly creature.",
        "director": ["Ridley Scott"],
        "writer": ["Dan O'Bannon"],
        "star": ["Sigourney Weaver", "Tom Skerritt"],
        "imdb_id": "tt0078748",
    },
    "100004": {  # not in the tiny catalogue
        "name": "Heat (1995)",
        "genre": ["crime"],
        "plot": "A detective hunts a crew of thieves.",
        "director": ["Michael Mann"],
        "writer": ["Michael Mann"],
        "star": ["Al Pacino"],
        "imdb_id": "tt0113277",
    },
}


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_tiny_movielens(folder: Path) -> Path:
    """Write the tiny data set into ``folder`` (created) in the exact ml-latest-small file layout."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(
        folder / "movies.csv", ["movieId", "title", "genres"], [[m, t, g] for m, t, g, _, _ in TINY_MOVIES]
    )
    _write_csv(
        folder / "links.csv",
        ["movieId", "imdbId", "tmdbId"],
        [[m, f"{imdb:07d}", "" if tmdb is None else tmdb] for m, _, _, imdb, tmdb in TINY_MOVIES],
    )
    ratings = [
        [user, movie, f"{rating:.1f}", 964_980_000 + 1000 * user + i]
        for i, (movie, values) in enumerate(TINY_RATINGS.items())
        for user, rating in enumerate(values, start=1)
    ]
    ratings.sort(key=lambda r: (r[0], r[1]))
    _write_csv(folder / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], ratings)
    _write_csv(
        folder / "tags.csv",
        ["userId", "movieId", "tag", "timestamp"],
        [[u, m, t, 1_445_714_994 + i] for i, (u, m, t) in enumerate(TINY_TAGS)],
    )
    (folder / "README.txt").write_text("Tiny synthetic MovieLens-format data for tests.\n", encoding="utf-8")
    return folder


@pytest.fixture
def tiny_movielens(tmp_path: Path) -> Path:
    """``tmp_path/ml-latest-small``: 20 movies with ratings, tags and links (see ``TINY_*``)."""
    return write_tiny_movielens(tmp_path / "ml-latest-small")


@pytest.fixture
def tiny_redial(tmp_path: Path) -> Path:
    """``tmp_path/redial-ievalm`` holding an id2info.json with plots for The Matrix and Alien."""
    folder = tmp_path / "redial-ievalm"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "id2info.json").write_text(json.dumps(TINY_REDIAL), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_facts() -> SimpleNamespace:
    """The tiny data set's contents and known answers, for tests that cannot import this conftest."""
    return SimpleNamespace(
        movies=TINY_MOVIES,
        ratings=TINY_RATINGS,
        tags=TINY_TAGS,
        expected_tags=EXPECTED_TAGS,
        redial=TINY_REDIAL,
    )
