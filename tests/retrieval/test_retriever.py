"""Contract tests: every Retriever gives the same answers on a small catalogue with known facts."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder
from retrieval.errors import ReelChatError
from retrieval.index import IndexConfig, MovieIndex
from retrieval.retriever import ChromaRetriever, ExactRetriever, FallbackRetriever, Retriever
from retrieval.types import Filters, Movie, ScoredList

# (id, title, year, genres, plot): 30 movies with distinct, recognisable plots.
_ROWS = [
    (1, "Dark Cargo", 1979, ("Horror", "Sci-Fi"),
     "The crew of a commercial space freighter is hunted by a deadly alien creature aboard their ship."),
    (2, "Laugh Lines", 2004, ("Comedy",), "Two rival stand-up comedians share a tiny apartment in New York."),
    (3, "The Long Ride", 1956, ("Western",), "A lone gunslinger escorts a wagon train across the desert."),
    (4, "Kitchen Hearts", 2012, ("Comedy", "Romance"),
     "A pastry chef falls in love with the food critic who panned her bakery."),
    (5, "Deep Blue", 1998, ("Documentary",),
     "A documentary about whales and coral reefs in the Pacific ocean."),
    (6, "Haunted Hollow", 1988, ("Horror",), "A family moves into a farmhouse haunted by a vengeful ghost."),
    (7, "Orbit Nine", 2015, ("Sci-Fi", "Drama"),
     "An astronaut stranded on a space station must repair it alone to get home."),
    (8, "The Heist Club", 2001, ("Crime", "Thriller"),
     "A crew of thieves plans to rob three Las Vegas casinos."),
    (9, "Toy Parade", 1995, ("Animation", "Children", "Comedy"),
     "Toys come to life and go on an adventure when their owner is away."),
    (10, "Battle Ridge", 1944, ("War", "Drama"),
     "Soldiers hold a hill against overwhelming odds in the Pacific war."),
    (11, "Quiet Verdict", 1962, ("Drama",),
     "A lawyer defends a wrongly accused man in a small southern town."),
    (12, "Neon Chase", 2019, ("Action", "Thriller"),
     "A getaway driver is hunted through the neon streets of Tokyo by the mob."),
    (13, "Snow Prince", 2013, ("Animation", "Children", "Musical"),
     "A princess with ice powers sings her way to accepting who she is."),
    (14, "Mind Maze", 2010, ("Sci-Fi", "Thriller"),
     "Thieves enter people's dreams to plant an idea in a target's mind."),
    (15, "Cold Case Files", 2007, ("Crime", "Mystery"),
     "Detectives reopen a decades-old murder in a rainy port city."),
    (16, "Dino Island", 1993, ("Adventure", "Sci-Fi"),
     "Cloned dinosaurs escape on an island theme park and hunt the visitors."),
    (17, "Paper Wedding", 1999, ("Comedy", "Romance"),
     "Two strangers fake a marriage for a green card and fall in love."),
    (18, "Red Planet Farm", 2015, ("Sci-Fi", "Adventure"),
     "A botanist left behind on Mars grows potatoes to survive until rescue."),
    (19, "The Last Waltz Hall", 1975, ("Documentary", "Musical"),
     "Concert film of a rock band's farewell performance."),
    (20, "Bite at Midnight", 1992, ("Horror",), "A vampire stalks a small town's nightclub after dark."),
    (21, "Sand Kingdom", 1962, ("Adventure", "War", "Drama"),
     "A British officer unites desert tribes against an empire."),
    (22, "The Chess Ghost", None, ("Drama",), "A reclusive chess prodigy plays one last tournament."),
    (23, "Sunday Roast", 2008, ("Comedy",), "A disastrous family dinner goes wrong in every possible way."),
    (24, "Abyss Station", 1989, ("Sci-Fi", "Thriller"),
     "Divers on an underwater drilling rig encounter something intelligent in the deep."),
    (25, "Gunsmoke Trail", 1969, ("Western", "Action"),
     "Two outlaws on the run are chased by a posse to Bolivia."),
    (26, "Hospital Nights", 2005, ("Drama", "Romance"),
     "Young surgeons juggle love and grueling night shifts."),
    (27, "Robot Heart", 2008, ("Animation", "Sci-Fi", "Children"),
     "A lonely trash-compacting robot on an abandoned Earth falls in love."),
    (28, "Crypt Keepers", 2016, ("Horror", "Mystery"),
     "Archaeologists open a cursed tomb and are picked off one by one."),
    (29, "Street Kings", 1931, ("Crime",), "The rise and fall of a bootlegging gangster in Chicago."),
    (30, "Stellar Lullaby", 2022, ("Sci-Fi", "Horror"),
     "A mining starship's crew wakes from cryosleep to find something hiding in the vents of the vessel."),
]  # fmt: skip

ALIEN_LIKE = 1


def synthetic_catalogue() -> Catalogue:
    return Catalogue(Movie(i, t, y, g, plot=p) for i, t, y, g, p in _ROWS)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return synthetic_catalogue()


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


# Chroma planner settings forcing each filtered-search strategy on a 30-movie catalogue.
PLANS = {
    "chroma-exact-subset": {"exact_max_admitted": 3000},
    "chroma-postfilter": {"exact_max_admitted": 0, "postfilter_max_k": 2000},
    "chroma-where": {"exact_max_admitted": 0, "postfilter_max_k": 0},
}


@pytest.fixture(scope="module", params=[*PLANS, "exact"])
def retriever(request, catalogue, encoder, tmp_path_factory) -> Iterator[Retriever]:
    if request.param == "exact":
        yield ExactRetriever.from_catalogue(catalogue, encoder, tmp_path_factory.mktemp("emb"))
        return
    config = IndexConfig(path=tmp_path_factory.mktemp("chroma"), **PLANS[request.param])
    yield ChromaRetriever(MovieIndex.open(config, catalogue, encoder, progress=False))


def test_planner_uses_the_configured_strategy(retriever: Retriever) -> None:
    got = retriever.search("space", Filters(year_min=1990), n=5)
    if isinstance(retriever, ChromaRetriever):
        plan = {"exact_max_admitted": "exact-subset", "postfilter_max_k": "postfilter"}
        config = retriever.index.config
        want = next((v for k, v in plan.items() if getattr(config, k)), "where")
        assert got.meta["strategy"] == want


FILTERS = [
    Filters(),
    Filters(year_min=2000),
    Filters(year_max=1970),
    Filters(year_min=1980, year_max=1999),
    Filters(genres_required=("Sci-Fi",)),
    Filters(genres_excluded=("Horror",)),
    Filters(genres_required=("Sci-Fi",), genres_excluded=("Horror", "Children")),
    Filters(year_min=1990, genres_required=("Comedy", "Romance")),
    Filters(genres_excluded=("NoSuchGenre",)),
    Filters(genres_required=("NoSuchGenre",)),
]


def test_is_a_retriever(retriever: Retriever) -> None:
    assert isinstance(retriever, Retriever)


def test_space_horror_query_ranks_alien_like_first(retriever: Retriever) -> None:
    got = retriever.search("space horror aboard a ship", n=5)
    assert got.ids[0] == ALIEN_LIKE
    assert 30 in got.ids  # the other ship-bound horror
    assert list(got.scores) == sorted(got.scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in got.scores)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_filters_are_honoured_and_complete(retriever: Retriever, catalogue: Catalogue, filters) -> None:
    got = retriever.search("a story about people", filters=filters, n=100)
    admitted = {m.movie_id for m in catalogue if filters.admits(m)}
    assert set(got.ids) == admitted  # n exceeds the catalogue: every admitted movie, nothing else
    assert len(got.ids) == len(set(got.ids))


def test_excluded_ids_are_never_returned(retriever: Retriever) -> None:
    excluded = {1, 30, 7, 999_999}  # an unknown id is ignored
    got = retriever.search("space horror aboard a ship", exclude_ids=excluded, n=10)
    assert len(got) == 10
    assert not excluded & set(got.ids)
    filtered = retriever.search("space", Filters(genres_required=("Sci-Fi",)), exclude_ids=excluded, n=100)
    assert set(filtered.ids) == {14, 16, 18, 24, 27}


@pytest.mark.parametrize("n", [0, 1, 3, 30, 50])
def test_n_is_respected(retriever: Retriever, n: int) -> None:
    assert len(retriever.search("crime in the city", n=n)) == min(n, 30)


def test_search_vector_matches_search(retriever: Retriever, encoder: Encoder) -> None:
    vec = encoder.encode(["cowboys in the desert"])[0]
    by_text = retriever.search("cowboys in the desert", Filters(year_max=2000), n=5)
    by_vec = retriever.search_vector(vec, Filters(year_max=2000), n=5)
    assert by_text.ids == by_vec.ids
    assert by_vec.ids[0] in {3, 25}


def test_implementations_agree(catalogue: Catalogue, encoder: Encoder, tmp_path: Path) -> None:
    exact = ExactRetriever.from_catalogue(catalogue, encoder, tmp_path / "emb")
    chroma = ChromaRetriever(MovieIndex.open(IndexConfig(path=tmp_path / "db"), catalogue, encoder))
    rng = np.random.default_rng(7)
    for filters in FILTERS:
        for vec in rng.normal(size=(5, 384)).astype(np.float32):
            want, got = exact.search_vector(vec, filters, n=8), chroma.search_vector(vec, filters, n=8)
            assert got.ids == want.ids
            np.testing.assert_allclose(got.scores, want.scores, atol=1e-4)
    np.testing.assert_allclose(chroma.index.vectors(), exact.matrix, atol=1e-6)


class FakeBrokenRetriever:
    """A retriever whose store has failed: every call raises."""

    def search(self, text: str, filters=None, exclude_ids: Collection[int] = (), n: int = 200) -> ScoredList:
        raise ReelChatError("index broke")

    def search_vector(self, vec, filters=None, exclude_ids: Collection[int] = (), n: int = 200) -> ScoredList:
        raise ReelChatError("index broke")


def test_fallback_switches_to_exact_once(catalogue, encoder, tmp_path, caplog) -> None:
    made: list[ExactRetriever] = []

    def make_exact() -> ExactRetriever:
        made.append(ExactRetriever.from_catalogue(catalogue, encoder, tmp_path))
        return made[-1]

    fallback = FallbackRetriever(FakeBrokenRetriever(), make_exact)
    with caplog.at_level(logging.WARNING):
        first = fallback.search("space horror aboard a ship", n=3)
        fallback.search("westerns", n=3)
    assert first.ids[0] == ALIEN_LIKE and first.meta["retriever"] == "exact"
    assert fallback.failed and len(made) == 1
    assert sum("using exact search" in r.message for r in caplog.records) == 1
