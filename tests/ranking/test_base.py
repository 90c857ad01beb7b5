"""The shared ranker base: head selection under ties, tie order, MMR off without vectors, validation."""

from __future__ import annotations

import numpy as np
import pytest

from ranking import RankerConfig, ScorerRanker, SimilarityRanker
from ranking.base import finish_ranking, top_positions
from ranking.baselines import Popularity, zscore
from ranking.interactions import build_interactions
from tests.ranking.conftest import N_ITEMS, synthetic_ratings


def test_top_positions_keeps_the_lowest_keys_among_ties_at_the_cut() -> None:
    scores = np.array([1.0, 3.0, 2.0, 2.0, 2.0, 0.5, 2.0])
    key = np.array([10, 11, 16, 15, 14, 13, 12])
    for h, expected in ((1, {1}), (2, {1, 6}), (3, {1, 6, 4}), (5, {1, 6, 4, 3, 2}), (6, {1, 6, 4, 3, 2, 0})):
        assert set(top_positions(scores, key, h).tolist()) == expected
    assert sorted(top_positions(scores, key, 99).tolist()) == list(range(7))


def test_top_positions_tolerates_nan() -> None:
    scores = np.array([np.nan, 1.0, np.nan, 2.0])
    assert set(top_positions(scores, np.arange(4), 2).tolist()) == {1, 3}
    assert len(top_positions(scores, np.arange(4), 3)) == 3


def test_finish_ranking_orders_ties_by_the_tiebreak_then_cuts() -> None:
    ids = np.array([7, 3, 5, 9])
    rows, scores = np.array([0, 1, 2, 3]), np.array([1.0, 2.0, 1.0, 1.0])
    out = finish_ranking(ids, None, rows, scores, RankerConfig(mmr_lambda=0.2), 3)
    assert out.ids == (3, 5, 7)  # ties by movie id; no vectors, so no MMR
    out = finish_ranking(ids, None, rows, scores, RankerConfig(), None, tiebreak=np.array([0, 1, 3, 2]))
    assert out.ids == (3, 7, 9, 5)


def test_rank_all_under_ties_is_a_prefix_of_the_full_ranking(item_ids: np.ndarray) -> None:
    """A small ``mmr_top`` makes rank_all cut the catalogue with argpartition; counts tie often."""
    pop = Popularity.fit(build_interactions(synthetic_ratings(), item_ids))
    ranker = ScorerRanker(pop, item_ids, config=RankerConfig(mmr_top=1))
    full = ranker.rank_all([], [], k=N_ITEMS)
    assert len(set(np.round(full.scores, 6))) < N_ITEMS  # there are ties
    for k in range(1, N_ITEMS + 1):
        assert ranker.rank_all([], [], k=k) == ScorerRanker(pop, item_ids).rank_all([], [], k=k)
        assert ranker.rank_all([], [], k=k).ids == full.ids[:k]


def test_constructors_validate_their_arrays(item_ids: np.ndarray) -> None:
    pop = Popularity(np.zeros(N_ITEMS, dtype=np.float32))
    with pytest.raises(ValueError, match="duplicates"):
        ScorerRanker(pop, np.ones(N_ITEMS, dtype=np.int64))
    with pytest.raises(ValueError, match="item_emb"):
        ScorerRanker(pop, item_ids, np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="log_pop"):
        ScorerRanker(pop, item_ids, log_pop=np.zeros(3))
    with pytest.raises(ValueError, match="scorer"):
        ScorerRanker(pop, item_ids[:10])
    with pytest.raises(ValueError, match="rating_counts"):
        SimilarityRanker(item_ids, [1, 2])


def test_scorer_ranker_scores_are_the_z_scored_scorer(item_ids: np.ndarray) -> None:
    pop = Popularity.fit(build_interactions(synthetic_ratings(), item_ids))
    out = ScorerRanker(pop, item_ids).rank_all([], [], k=N_ITEMS)
    z = zscore(pop.log_counts[None, :])[0]
    assert np.allclose(out.scores, [z[i - 1] for i in out.ids])
