"""MovieIndex on small in-memory catalogues with the real MiniLM encoder and a real persistent Chroma."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder
from retrieval.errors import IndexCorruptError, ReelChatError
from retrieval.index import FilterMask, IndexConfig, MovieIndex, movie_metadata, where_clause
from retrieval.retriever import ExactRetriever
from retrieval.types import Filters, Movie

MOVIES = [
    Movie(1, "Alien", 1979, ("Horror", "Sci-Fi"), plot="A space freighter crew is stalked by an alien."),
    Movie(2, "Toy Story", 1995, ("Animation", "Children", "Comedy"), plot="Toys come alive."),
    Movie(3, "Heat", 1995, ("Action", "Crime", "Thriller"), plot="A detective hunts a crew of thieves."),
    Movie(4, "The Shining", 1980, ("Horror",), plot="A writer goes mad in a snowbound haunted hotel."),
    Movie(5, "Up", 2009, ("Adventure", "Animation", "Children"), plot="An old man flies his house away."),
    Movie(6, "Gravity", 2013, ("Drama", "Sci-Fi"), plot="Astronauts are stranded after debris hits."),
    Movie(7, "Nosferatu", 1922, ("Horror",), plot="A vampire count travels to a German town."),
    Movie(8, "Amélie", 2001, ("Comedy", "Romance"), plot="A shy waitress in Paris secretly helps others."),
    Movie(9, "Unknown Year", None, ("Drama",), plot="A film whose year nobody recorded."),
    Movie(10, "No Genre", 2018, ("(no genres listed)",), plot="A film without genres."),
]


class CountingEncoder(Encoder):
    """The real encoder, counting how many texts it encodes."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.encoded += len(texts)
        return super().encode(texts, progress=progress)


@pytest.fixture(scope="module")
def encoder() -> CountingEncoder:
    return CountingEncoder()


@pytest.fixture()
def catalogue() -> Catalogue:
    return Catalogue(MOVIES)


def config_at(path: Path, **kw: object) -> IndexConfig:
    return IndexConfig(path=path / "index", cache_dir=path / "emb", **kw)


def test_build_then_reopen_without_reencoding(tmp_path, catalogue, encoder) -> None:
    config = config_at(tmp_path)
    before = encoder.encoded
    index = MovieIndex.open(config, catalogue, encoder, progress=False)
    assert len(index) == len(catalogue)
    assert encoder.encoded - before == len(catalogue)
    assert list(config.embeddings_dir.glob("embeddings-*.npy"))
    got = index.search("alien monster in outer space", n=3)
    assert got.ids[0] == 1

    index.close()
    before = encoder.encoded
    reopened = MovieIndex.open(config, catalogue, encoder, progress=False)
    assert encoder.encoded == before  # fast path: no document is encoded again
    assert reopened.search_vector(encoder.encode(["alien monster in outer space"])[0], n=3).ids == got.ids


def test_stale_fingerprint_triggers_rebuild(tmp_path, catalogue, encoder, caplog) -> None:
    config = config_at(tmp_path)
    MovieIndex.open(config, catalogue, encoder, progress=False)
    changed = Catalogue([*MOVIES[:-1], dataclasses.replace(MOVIES[-1], plot="A cowboy western.")])
    assert changed.fingerprint != catalogue.fingerprint
    with caplog.at_level(logging.WARNING, logger="retrieval.index"):
        index = MovieIndex.open(config, changed, encoder, progress=False)
    assert any("stale" in r.message for r in caplog.records)
    assert index.search("cowboys and horses in the wild west", n=1).ids == (10,)


def test_count_mismatch_triggers_rebuild(tmp_path, catalogue, encoder, caplog) -> None:
    config = config_at(tmp_path)
    index = MovieIndex.open(config, catalogue, encoder, progress=False)
    index._collection.delete(ids=["4"])
    with caplog.at_level(logging.WARNING, logger="retrieval.index"):
        index = MovieIndex.open(config, catalogue, encoder, progress=False)
    assert any("stale" in r.message for r in caplog.records)
    assert len(index) == len(catalogue)


def test_hnsw_parameter_change_triggers_rebuild(tmp_path, catalogue, encoder) -> None:
    MovieIndex.open(config_at(tmp_path), catalogue, encoder, progress=False)
    index = MovieIndex.open(config_at(tmp_path, max_neighbors=12), catalogue, encoder, progress=False)
    assert index._collection.configuration["hnsw"]["max_neighbors"] == 12


def test_corrupt_sqlite_gives_one_line_error_then_rebuilds(tmp_path, catalogue, encoder) -> None:
    config = config_at(tmp_path)
    MovieIndex.open(config, catalogue, encoder, progress=False).close()
    (config.path / "chroma.sqlite3").write_bytes(b"this is not a database" * 200)
    with pytest.raises(IndexCorruptError) as err:
        MovieIndex.open(config, catalogue, encoder, progress=False)
    message = str(err.value)
    assert "\n" not in message and "reelchat index --rebuild" in message
    assert isinstance(err.value, ReelChatError)

    index = MovieIndex.open(config, catalogue, encoder, rebuild=True, progress=False)
    assert len(index) == len(catalogue)
    assert index.search("vampire", n=1).ids == (7,)


def test_unreachable_server_is_a_one_line_error(tmp_path, catalogue, encoder) -> None:
    config = config_at(tmp_path, chroma_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ReelChatError, match="cannot reach the Chroma server") as err:
        MovieIndex.open(config, catalogue, encoder, progress=False)
    assert "\n" not in str(err.value)


def test_metadata_has_every_genre_flag(catalogue) -> None:
    meta = movie_metadata(MOVIES[8], catalogue.genres)
    assert meta["movie_id"] == 9 and meta["year"] == -1
    assert {k for k in meta if k.startswith("g_")} == {f"g_{g}" for g in catalogue.genres}
    assert meta["g_Drama"] is True and meta["g_Horror"] is False


def test_where_clause_shapes() -> None:
    genres = ("Comedy", "Horror")
    assert where_clause(None, genres) is None
    assert where_clause(Filters(), genres) is None
    assert where_clause(Filters(genres_excluded=("Western",)), genres) is None  # unknown genre: no-op
    assert where_clause(Filters(year_min=2000), genres) == {"year": {"$gte": 2000}}
    assert where_clause(Filters(year_max=1990, genres_required=("Comedy",)), genres, [3, 1]) == {
        "$and": [
            {"year": {"$gte": 0}},  # unknown years (-1) must not pass an upper bound
            {"year": {"$lte": 1990}},
            {"g_Comedy": True},
            {"movie_id": {"$nin": [1, 3]}},
        ]
    }


FILTERS = [
    Filters(year_min=1990),
    Filters(year_max=1990),
    Filters(year_min=1980, year_max=2001),
    Filters(genres_required=("Horror",)),
    Filters(genres_excluded=("Horror",)),
    Filters(genres_required=("Animation",), genres_excluded=("Adventure",)),
    Filters(year_max=2020, genres_excluded=("Sci-Fi", "Comedy")),
    Filters(genres_required=("(no genres listed)",)),
    Filters(genres_excluded=("Western",)),
]


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_filter_mask_equals_admits(catalogue, filters) -> None:
    want = [filters.admits(m) for m in catalogue]
    assert FilterMask(catalogue)(filters).tolist() == want


@pytest.mark.parametrize(
    "plan",
    [
        {"exact_max_admitted": 0, "postfilter_max_k": 0},
        {"exact_max_admitted": 0, "postfilter_max_k": 2000},
        {"exact_max_admitted": 3000},
        {"exact_max_admitted": 0, "postfilter_max_k": 1},
    ],
    ids=["where", "postfilter", "exact-subset", "postfilter-beyond-max-k"],
)
def test_filters_run_against_catalogue_facts(tmp_path, catalogue, encoder, plan) -> None:
    index = MovieIndex.open(config_at(tmp_path, **plan), catalogue, encoder, progress=False)
    for filters in FILTERS:
        got = index.search("a movie", filters, n=len(catalogue))
        assert set(got.ids) == {m.movie_id for m in catalogue if filters.admits(m)}, filters
        if got.ids and not any(plan.values()):
            assert got.meta["strategy"] == "where"
        if got.ids and plan.get("postfilter_max_k") == 1:  # large catalogues: never Chroma's `where`
            assert got.meta["strategy"] == "postfilter"
    horror_free = index.search("scary monsters", Filters(genres_excluded=("Horror",)), n=3)
    assert all("Horror" not in catalogue.get(i).genres for i in horror_free.ids)
    recent = index.search("anything", Filters(year_min=2000), exclude_ids=[5], n=10)
    assert set(recent.ids) == {6, 8, 10}


@pytest.mark.slow
class TestFullCatalogue:
    """The real ML-latest-small catalogue: the index of the real agent (built once per test run)."""

    @pytest.fixture(scope="class")
    def full(self, real_agent) -> MovieIndex:  # type: ignore[no-untyped-def]
        return real_agent.resources.index()

    def test_space_horror_finds_alien(self, full: MovieIndex) -> None:
        assert 1214 in full.search("space horror on a ship", n=30).ids  # Alien (1979); exact rank is 19

    @pytest.mark.xfail(
        reason="Alien ranks 19th by exact cosine too: its document lacks 'horror'/'ship' words", strict=True
    )
    def test_space_horror_finds_alien_in_top_10(self, full: MovieIndex) -> None:
        assert 1214 in full.search("space horror on a ship", n=10).ids

    def test_excluded_genre(self, full: MovieIndex) -> None:
        got = full.search("space horror on a ship", Filters(genres_excluded=("Horror",)), n=200)
        assert len(got) == 200
        assert not any("Horror" in full.catalogue.get(i).genres for i in got.ids)

    def test_year_min(self, full: MovieIndex) -> None:
        got = full.search("space horror on a ship", Filters(year_min=2000), n=200)
        assert len(got) == 200
        assert all((full.catalogue.get(i).year or 0) >= 2000 for i in got.ids)

    def test_recall_against_exact(self, full: MovieIndex) -> None:
        exact = ExactRetriever.from_catalogue(full.catalogue, full.encoder, full.config.embeddings_dir)
        vecs = full.encoder.encode(["space horror on a ship", "romantic comedy in paris", "heist"])
        for filters in (None, Filters(year_min=2000), Filters(genres_required=("Western",))):
            for vec in vecs:
                want = set(exact.search_vector(vec, filters, n=200).ids)
                got = set(full.search_vector(vec, filters, n=200).ids)
                assert len(got & want) / len(want) >= 0.98
