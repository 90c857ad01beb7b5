"""Catalogue loading: title clean-up, tags, rating stats, links, ReDial facts and fingerprints."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from retrieval.catalogue import Catalogue
from retrieval.catalogue_loader import load_catalogue, load_dataset, load_ratings, parse_title
from retrieval.errors import DataError

# Real ml-latest-small titles -> (display title, year).
TITLES = [
    ("Matrix, The (1999)", "The Matrix", 1999),
    ("Alien (1979)", "Alien", 1979),
    ("Ant-Man (2015)", "Ant-Man", 2015),
    ("City of Lost Children, The (Cité des enfants perdus, La) (1995)", "The City of Lost Children", 1995),
    ("Postman, The (Postino, Il) (1994)", "The Postman", 1994),
    ("Misérables, Les (1995)", "Les Misérables", 1995),
    ("Awfully Big Adventure, An (1995)", "An Awfully Big Adventure", 1995),
    ("Boot, Das (Boat, The) (1981)", "Das Boot", 1981),
    ("Mariachi, El (1992)", "El Mariachi", 1992),
    ("Femme Nikita, La (Nikita) (1990)", "La Femme Nikita", 1990),
    ("Avventura, L' (Adventure, The) (1960)", "L'Avventura", 1960),
    (
        "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
        "The Good, the Bad and the Ugly",
        1966,
    ),
    ("Hip Hop Witch, Da (2000)", "Da Hip Hop Witch", 2000),
    ("Twelve Monkeys (a.k.a. 12 Monkeys) (1995)", "Twelve Monkeys", 1995),
    ("Supercop (Police Story 3: Supercop) (Jing cha gu shi III: Chao ji jing cha) (1992)", "Supercop", 1992),
    (
        "Lord of the Rings: The Fellowship of the Ring, The (2001)",
        "The Lord of the Rings: The Fellowship of the Ring",
        2001,
    ),
    ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009),
    ("Evangelion: 3.0 You Can (Not) Redo (2012)", "Evangelion: 3.0 You Can (Not) Redo", 2012),
    ("Frontière(s) (2007)", "Frontière(s)", 2007),
    ("Paris, Texas (1984)", "Paris, Texas", 1984),
    ("Runaway Brain (1995) ", "Runaway Brain", 1995),
    ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto", 2006),
    ("Black Mirror", "Black Mirror", None),
    ("The OA", "The OA", None),
    ("2001: A Space Odyssey (1968)", "2001: A Space Odyssey", 1968),
    ("1984 (1956)", "1984", 1956),
]


@pytest.mark.parametrize(("raw", "title", "year"), TITLES)
def test_parse_title(raw: str, title: str, year: int | None) -> None:
    assert parse_title(raw) == (title, year)


def test_year_alone_is_a_title() -> None:
    assert parse_title("(1999)") == ("(1999)", None)


@pytest.fixture
def catalogue(tiny_movielens: Path) -> Catalogue:
    return load_catalogue(tiny_movielens)


def test_one_movie_per_row(catalogue: Catalogue, tiny_facts: SimpleNamespace) -> None:
    assert len(catalogue) == len(tiny_facts.movies) == 20
    assert list(catalogue.ids) == sorted(m[0] for m in tiny_facts.movies)
    matrix = catalogue.get(2571)
    assert (matrix.title, matrix.year, matrix.label) == ("The Matrix", 1999, "The Matrix (1999)")
    assert matrix.genres == ("Action", "Sci-Fi", "Thriller")
    assert catalogue.get(1214).title == "Alien"
    assert catalogue.get(1200).title == "Aliens"
    assert catalogue.get(29).title == "The City of Lost Children"
    assert catalogue.get(146684).title == "Runaway Brain"


def test_no_year_and_no_genres(catalogue: Catalogue) -> None:
    black_mirror = catalogue.get(176601)
    assert (black_mirror.title, black_mirror.year, black_mirror.genres) == ("Black Mirror", None, ())
    assert catalogue.get(171749).genres == ()
    assert "(no genres listed)" not in catalogue.genres


def test_tags_most_frequent_first(catalogue: Catalogue, tiny_facts: SimpleNamespace) -> None:
    for movie_id, expected in tiny_facts.expected_tags.items():
        assert catalogue.get(movie_id).tags == expected
    assert len(catalogue.get(1).tags) == 10
    assert catalogue.get(260).tags == ()


def test_rating_stats(catalogue: Catalogue, tiny_facts: SimpleNamespace) -> None:
    matrix = catalogue.get(2571)
    assert matrix.rating_count == 4 and matrix.rating_mean == pytest.approx(4.25)
    alien = catalogue.get(1214)
    assert alien.rating_count == 3 and alien.rating_mean == pytest.approx(4.0)
    toy_story = catalogue.get(1)
    assert toy_story.rating_count == 5 and toy_story.rating_mean == pytest.approx(2.9)
    unrated = catalogue.get(176601)
    assert unrated.rating_count == 0 and unrated.rating_mean is None
    for movie_id, values in tiny_facts.ratings.items():
        assert catalogue.get(movie_id).rating_count == len(values)
        assert catalogue.get(movie_id).rating_mean == pytest.approx(float(np.mean(values)))


def test_links(catalogue: Catalogue) -> None:
    matrix = catalogue.get(2571)
    assert (matrix.imdb_id, matrix.tmdb_id) == ("tt0133093", 603)
    assert catalogue.get(69757).imdb_id == "tt1022603"
    assert catalogue.get(146684).tmdb_id is None
    assert all(isinstance(m.tmdb_id, int) for m in catalogue if m.movie_id != 146684)


def test_no_redial_facts_without_redial(catalogue: Catalogue) -> None:
    assert all(m.plot is None and m.directors == () and m.stars == () for m in catalogue)


def test_redial_join_by_imdb_id(tiny_movielens: Path, tiny_redial: Path) -> None:
    catalogue = load_catalogue(tiny_movielens, tiny_redial)
    matrix = catalogue.get(2571)
    assert matrix.plot == "A hacker learns that his world is a simulation."
    assert matrix.directors == ("Lana Wachowski", "Lilly Wachowski")
    assert matrix.stars[0] == "Keanu Reeves"
    assert catalogue.get(1214).directors == ("Ridley Scott",)
    assert sum(m.plot is not None for m in catalogue) == 2


def test_redial_dir_without_info_is_ignored(tiny_movielens: Path, tmp_path: Path) -> None:
    catalogue = load_catalogue(tiny_movielens, tmp_path / "nothing-here")
    assert catalogue.fingerprint == load_catalogue(tiny_movielens).fingerprint


def test_bad_redial_json(tiny_movielens: Path, tiny_redial: Path) -> None:
    (tiny_redial / "id2info.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_catalogue(tiny_movielens, tiny_redial)
    assert "id2info.json" in str(err.value) and "\n" not in str(err.value)


def test_fingerprint_tracks_the_data(tiny_movielens: Path, tiny_redial: Path) -> None:
    first = load_catalogue(tiny_movielens).fingerprint
    assert len(first) == 16 and int(first, 16) >= 0
    assert load_catalogue(tiny_movielens).fingerprint == first
    assert load_catalogue(tiny_movielens, tiny_redial).fingerprint != first
    with (tiny_movielens / "ratings.csv").open("a", encoding="utf-8") as fh:
        fh.write("9,2571,1.0,964990000\n")
    assert load_catalogue(tiny_movielens).fingerprint != first


def test_invalid_folder_raises_data_error(tiny_movielens: Path) -> None:
    (tiny_movielens / "movies.csv").unlink()
    with pytest.raises(DataError, match=r"movies\.csv"):
        load_catalogue(tiny_movielens)


def test_load_ratings(tiny_movielens: Path, tiny_facts: SimpleNamespace) -> None:
    ratings = load_ratings(tiny_movielens)
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert [str(t) for t in ratings.dtypes] == ["int32", "int32", "float32", "int32"]
    assert len(ratings) == sum(len(v) for v in tiny_facts.ratings.values())
    assert ratings.loc[ratings.movieId == 2571, "rating"].tolist() == [5.0, 4.5, 4.0, 3.5]


def test_load_ratings_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"ratings\.csv"):
        load_ratings(tmp_path)


def test_load_dataset_finds_both_folders(tiny_movielens: Path, tiny_redial: Path, tmp_path: Path) -> None:
    catalogue, ratings = load_dataset(tmp_path, tmp_path / "cache", progress=False)
    assert len(catalogue) == 20 and catalogue.get(2571).plot is not None
    assert len(ratings) == sum(1 for _ in (tiny_movielens / "ratings.csv").open()) - 1
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_real_catalogue(data_dir: Path) -> None:
    redial = data_dir / "redial-ievalm"
    start = time.perf_counter()
    catalogue = load_catalogue(data_dir / "ml-latest-small", redial)
    elapsed = time.perf_counter() - start

    assert len(catalogue) == 9742
    matrix = catalogue.get(2571)
    assert (matrix.title, matrix.year) == ("The Matrix", 1999)
    assert {"Action", "Sci-Fi"} <= set(matrix.genres)
    assert matrix.imdb_id == "tt0133093" and matrix.rating_count > 200
    alien = catalogue.get(1214)
    assert (alien.title, alien.year) == ("Alien", 1979)
    assert sum(m.rating_count for m in catalogue) == 100_836
    assert sum(m.tmdb_id is None for m in catalogue) == 8
    assert all(len(m.tags) <= 10 for m in catalogue)
    if (redial / "id2info.json").is_file():
        with_plot = sum(m.plot is not None for m in catalogue)
        assert 3900 <= with_plot <= 4200, with_plot  # SOURCE.md: 4,041
        assert matrix.plot and matrix.directors
    print(f"\ncatalogue loaded in {elapsed:.2f} s")
