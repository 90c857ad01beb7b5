"""The conversational blend's features and weights (unit tests on a hand-made catalogue and prior)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from agent.prior.blend import FEATURES, BlendWeights, PriorBlend, TurnContext, genre_share, title_stem
from agent.prior.conversational import ConversationPrior
from ranking.protocol import ScoredList
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

STARS = ("Steve Guttenberg",)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(
        [
            Movie(1, "Police Academy", 1984, ("Comedy",), stars=("Steve Guttenberg",)),
            Movie(
                2, "Police Academy 2: Their First Assignment", 1985, ("Comedy",), stars=("Steve Guttenberg",)
            ),
            Movie(3, "Three Men and a Baby", 1987, ("Comedy", "Drama"), stars=("Steve Guttenberg",)),
            Movie(4, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=200, rating_mean=4.1),
            Movie(5, "Get Out", 2017, ("Horror",), rating_count=50, rating_mean=3.9),
        ]
    )


def _blend(catalogue: Catalogue, weights: dict[str, float]) -> PriorBlend:
    emb = np.eye(len(catalogue), 8, dtype=np.float32)
    prior = ConversationPrior(Counter({5: 9, 3: 1}), {1: Counter({3: 2})})
    return PriorBlend(catalogue, emb, prior, BlendWeights(weights=weights))


def test_title_stem_finds_franchises() -> None:
    assert title_stem("Police Academy 2: Their First Assignment") == title_stem("Police Academy")
    assert title_stem("The Godfather: Part II") == "godfather"
    assert title_stem("Up") == ""  # too short to tell a franchise


def test_genre_share(catalogue: Catalogue) -> None:
    assert genre_share(catalogue, [1, 3, 4], ["Comedy", "Drama"]).tolist() == [0.5, 1.0, 0.0]
    assert genre_share(catalogue, [1, 4], []).tolist() == [0.0, 0.0]


def test_features_hold_what_we_know(catalogue: Catalogue) -> None:
    blend = _blend(catalogue, {})
    cf = ScoredList((2, 3, 4, 5), (0.4, 0.3, 0.2, 0.1))
    ids, x = blend.features(cf, TurnContext(liked=(1,), seeds=(1,), liked_genres=("Comedy",)))
    col = {f: x[:, i] for i, f in enumerate(FEATURES)}
    assert not any(col[f].any() for f in FEATURES if f.endswith("|filtered"))  # no hard filters in force
    _, xf = blend.features(cf, TurnContext(liked=(1,), seeds=(1,), filtered=True))
    assert (xf[:, FEATURES.index("cf|filtered")] == xf[:, FEATURES.index("cf")]).all()
    assert ids.tolist() == [2, 3, 4, 5] and x.shape == (4, len(FEATURES))
    assert col["franchise"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert col["people"][:2].tolist() == pytest.approx([np.log(2), np.log(2)]) and not col["people"][2:].any()
    assert col["genre_liked"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert col["related"][1] > 0 and col["related_any"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert col["prior"][3] == pytest.approx(np.log(10))
    assert col["year_2015_9999"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert not col["text"].any()  # no words from the user: no text signal


def test_rank_follows_the_weights(catalogue: Catalogue) -> None:
    cf = ScoredList((2, 3, 4, 5), (0.4, 0.3, 0.2, 0.1))
    ctx = TurnContext(liked=(1,), seeds=(1,))
    by_cf = _blend(catalogue, {"cf": 1.0}).rank(cf, ctx)
    assert by_cf.ids == (2, 3, 4, 5)
    by_prior = _blend(catalogue, {"prior": 1.0}).rank(cf, ctx)
    assert by_prior.ids[0] == 5
    searching = TurnContext(liked=(1,), seeds=(1,), filtered=True)
    assert _blend(catalogue, {"prior": 1.0, "cf|filtered": 10.0}).rank(cf, searching).ids[0] == 2
    assert _blend(catalogue, {"cf": 1.0}).rank(ScoredList(), ctx) == ScoredList()


def test_weights_file_round_trip_and_unknown_features(tmp_path: Path) -> None:
    shipped = BlendWeights.load()
    assert set(shipped.weights) <= set(FEATURES) and np.isfinite(shipped.vector).all()
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"weights": {"cf": 2.0}}))
    assert BlendWeights.load(path).vector[FEATURES.index("cf")] == 2.0
    path.write_text(json.dumps({"weights": {"astrology": 1.0}}))
    with pytest.raises(ValueError, match="astrology"):
        BlendWeights.load(path)


def test_without_a_prior_liked_genres_lift_movies(catalogue: Catalogue) -> None:
    from agent.pipeline.pipeline import Pipeline, PipelineConfig

    emb = np.eye(len(catalogue), 8, dtype=np.float32)
    pipe = Pipeline(catalogue, None, None, emb, None, PipelineConfig(genre_boost=0.5))  # type: ignore[arg-type]
    cf = ScoredList((4, 5, 1, 3), (1.0, 0.9, 0.7, 0.2))
    lifted = pipe._prefer_genres(cf, ["Comedy"], diversity=0.0)
    assert lifted.ids == (1, 4, 5, 3)  # 0.7 + 0.5 beats 1.0; 0.2 + 0.5 does not beat 0.9
    assert pipe._prefer_genres(cf, [], 0.0).ids == cf.ids


class FakeWordsEncoder:
    """Maps each known text to a fixed unit vector (a unit test's stand-in for MiniLM)."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def test_words_alone_keep_the_priors_popular_movies_out_unless_they_match() -> None:
    from agent.pipeline.pipeline import Pipeline, PipelineRequest
    from agent.settings import PipelineConfig
    from ranking.fallback import FallbackRanker
    from retrieval.retriever import ExactRetriever
    from tests.agent.conftest import MOVIES, item_embeddings

    catalogue = Catalogue(list(MOVIES))
    emb = item_embeddings(catalogue)
    row = {m.movie_id: i for i, m in enumerate(catalogue)}
    words = {"space horror": emb[row[1]], "a comedy for kids": emb[row[7]]}  # Alien's, Paddington's vectors
    enc = FakeWordsEncoder(words)
    exact = ExactRetriever(catalogue, emb, enc)  # type: ignore[arg-type]
    ranker = FallbackRanker(np.asarray(catalogue.ids), np.zeros(len(catalogue), np.float32), emb)
    prior = ConversationPrior(Counter({7: 50, 9: 40}), {})  # Paddington and Toy Story: most recommended

    def pool(words_match: float, text: str) -> set[int]:
        config = PipelineConfig(n_retrieve=2, n_cf=0, n_prior=2, words_match=words_match)
        pipe = Pipeline(catalogue, exact, ranker, emb, enc, config, exact, prior)  # type: ignore[arg-type]
        req = PipelineRequest(text=text)
        return set(pipe._pool(req, pipe.query_vector([], text), ranker)[0])

    assert {7, 9} <= pool(0.0, "space horror")  # today's default: the prior's movies always join
    assert not {7, 9} & pool(0.7, "space horror")  # a topic: off-topic popular movies stay out
    assert 7 in pool(0.7, "a comedy for kids")  # words that match them: they stay
