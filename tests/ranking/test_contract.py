"""The ranker contract, run by every implementation (in the style of implicit's RecommenderBaseTestMixin).

:class:`RankerContract` holds the tests of :class:`ranking.protocol.Ranker`; each ``Test*`` subclass
only builds its ranker on the small synthetic catalogue of ``conftest.py`` (movies 1-40, two user
groups of disjoint tastes), says which knobs it supports and adds a test with a known answer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ranking import (
    FallbackRanker,
    Ranker,
    Reranker,
    ScoredList,
    ScorerRanker,
    SimilarityRanker,
    TrainedModel,
)
from ranking.baselines import Content, Popularity, fit_ease, fit_itemknn
from ranking.interactions import Interactions, build_interactions
from tests.ranking.conftest import GROUP_A, GROUP_B, N_ITEMS, synthetic_embeddings, synthetic_ratings

CATALOGUE = frozenset(range(1, N_ITEMS + 1))
ALL_IDS = sorted(CATALOGUE)
USERS = [([], []), ([1, 2, 3], [25]), ([22, 30], [4, 5]), ([7], [])]  # (liked, disliked)
ids = st.integers(min_value=-3, max_value=N_ITEMS + 5)  # includes unknown ids
# every contract subclass runs the same property test: "differing executors" is the point here
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)


@pytest.fixture(scope="module")
def inter(item_ids: np.ndarray) -> Interactions:
    return build_interactions(synthetic_ratings(), item_ids)


@pytest.fixture(scope="module")
def unit_emb() -> np.ndarray:
    emb = synthetic_embeddings()
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def log_pop(inter: Interactions) -> np.ndarray:
    """log(1 + positive ratings) of movie ``m`` at row ``m - 1``."""
    return Popularity.fit(inter).log_counts


def _mean_pop(out: ScoredList, log_pop: np.ndarray) -> float:
    return float(np.mean([log_pop[i - 1] for i in out.ids]))


def _non_increasing(scores: Sequence[float]) -> bool:
    return all(a >= b for a, b in itertools.pairwise(scores))


class RankerContract:
    """Contract tests; a subclass provides the class-scoped ``ranker`` fixture and its capabilities."""

    KNOBS: ClassVar[bool] = True  # with_knobs returns a changed copy (else ``self``)
    POPULARITY: ClassVar[bool] = True  # popularity_bias > 0 moves the ranking toward popular movies

    @pytest.fixture(scope="class")
    def ranker(self) -> Ranker:
        raise NotImplementedError("a contract subclass builds its ranker")

    def test_is_a_ranker(self, ranker: Ranker) -> None:
        assert isinstance(ranker, Ranker)
        assert isinstance(ranker.with_knobs(0.5, 1.0), Ranker)

    @SETTINGS
    @given(
        liked=st.lists(ids, max_size=5),
        disliked=st.lists(ids, max_size=3),
        exclude=st.lists(ids, max_size=10),
        cands=st.lists(ids, max_size=60),
        seed=st.integers(0, 10_000),
        use_sim=st.booleans(),
    )
    def test_score_returns_each_admissible_candidate_once(
        self, ranker: Ranker, liked, disliked, exclude, cands, seed, use_sim
    ) -> None:
        plain = ranker.with_knobs(0.0, 0.0)
        rng = np.random.default_rng(seed)
        sims = {c: float(rng.uniform(-1, 1)) for c in cands}
        text = [sims[c] for c in cands] if use_sim else None
        out = plain.score(liked, disliked, cands, text, exclude=exclude)
        allowed = (set(cands) & CATALOGUE) - set(liked) - set(disliked) - set(exclude)
        assert isinstance(out, ScoredList)
        assert set(out.ids) == allowed and len(out.ids) == len(allowed)
        assert all(math.isfinite(s) for s in out.scores) and _non_increasing(out.scores)
        perm = rng.permutation(len(cands))
        shuffled = [cands[i] for i in perm]
        text2 = [sims[c] for c in shuffled] if use_sim else None
        assert plain.score(liked, disliked, shuffled, text2, exclude=exclude) == out

    @SETTINGS
    @given(
        liked=st.lists(ids, max_size=5),
        disliked=st.lists(ids, max_size=3),
        exclude=st.lists(ids, max_size=30),
        k=st.integers(-1, 50),
        diversity=st.sampled_from([0.0, 0.6]),
    )
    def test_rank_all_respects_k_and_bans(
        self, ranker: Ranker, liked, disliked, exclude, k, diversity
    ) -> None:
        out = ranker.with_knobs(diversity, 0.0).rank_all(liked, disliked, exclude, k)
        allowed = CATALOGUE - set(liked) - set(disliked) - set(exclude)
        assert set(out.ids) <= allowed and len(set(out.ids)) == len(out.ids)
        assert len(out) == max(0, min(k, len(allowed)))
        assert all(math.isfinite(s) for s in out.scores)
        if diversity == 0.0:
            assert _non_increasing(out.scores)

    @pytest.mark.parametrize(("liked", "disliked"), USERS)
    def test_rank_all_is_the_head_of_score_over_all_ids(self, ranker: Ranker, liked, disliked) -> None:
        plain = ranker.with_knobs(0.0, 0.0)
        full = plain.score(liked, disliked, ALL_IDS, exclude=[10, 11])
        for k in (1, 5, 20, N_ITEMS):
            assert plain.rank_all(liked, disliked, [10, 11], k).ids == full.ids[:k]

    def test_duplicates_count_once_with_their_best_similarity(self, ranker: Ranker) -> None:
        dup = ranker.score([1], [], [2, 3, 2, 24, 3], [0.1, 0.5, 0.9, 0.2, -0.3])
        assert dup == ranker.score([1], [], [2, 3, 24], [0.9, 0.5, 0.2])
        assert sorted(ranker.score([1], [], [5, 5, 5, 6]).ids) == [5, 6]

    def test_text_sim_of_another_length_raises(self, ranker: Ranker) -> None:
        with pytest.raises(ValueError):
            ranker.score([1], [], [2, 3], [0.5])
        with pytest.raises(ValueError):
            ranker.score([1], [], [2, 3], [0.5, 0.4, 0.3])

    def test_nan_and_infinite_similarities_are_tolerated(self, ranker: Ranker) -> None:
        cands = [2, 3, 24, 30, 36]
        out = ranker.score([1], [], cands, [math.nan, 0.5, math.inf, -math.inf, 0.1])
        assert sorted(out.ids) == sorted(cands) and all(math.isfinite(s) for s in out.scores)
        assert out == ranker.score([1], [], cands, [0.0, 0.5, 1.0, -1.0, 0.1])  # documented mapping

    def test_empty_inputs_give_empty_lists(self, ranker: Ranker) -> None:
        assert ranker.score([1], [], []) == ScoredList()
        assert ranker.score([1], [], [], []) == ScoredList()
        assert ranker.score([1], [2], [-1, 999, 1, 2]) == ScoredList()  # unknown, liked, disliked
        assert ranker.score([], [], [3, 4], exclude=[3, 4]) == ScoredList()
        assert ranker.rank_all([1], [], k=0) == ScoredList()
        assert ranker.rank_all([], [], exclude=ALL_IDS) == ScoredList()
        assert len(ranker.rank_all([], [], k=5)) == 5  # a new user still gets movies

    def test_with_knobs_zero_keeps_results(self, ranker: Ranker) -> None:
        plain = ranker.with_knobs(0.0, 0.0)
        for liked, disliked in USERS:
            assert plain.rank_all(liked, disliked, k=15) == ranker.rank_all(liked, disliked, k=15)
            sims = np.linspace(1, 0, 12).tolist()
            args = (liked, disliked, list(range(8, 20)), sims)
            assert plain.score(*args) == ranker.score(*args)

    def test_with_knobs_copies_and_never_mutates(self, ranker: Ranker) -> None:
        sims = np.linspace(-1, 1, 30).tolist()

        def results(r: Ranker) -> list[ScoredList]:
            return [r.rank_all([1, 2], [25], k=10), r.score([1, 2], [25], ALL_IDS[5:35], sims)]

        before = results(ranker)
        tuned = ranker.with_knobs(0.8, 2.0)
        changed = results(tuned)
        assert results(ranker) == before
        assert (tuned is not ranker) == self.KNOBS
        assert (changed != before) == self.KNOBS

    def test_knobs_out_of_range_raise(self, ranker: Ranker) -> None:
        for diversity, bias in ((-0.1, 0.0), (1.5, 0.0), (0.5, math.nan)):
            with pytest.raises(ValueError):
                ranker.with_knobs(diversity, bias)

    def test_diversity_reorders_without_dropping(self, ranker: Ranker) -> None:
        if not self.KNOBS:
            pytest.skip("no knobs")
        plain = ranker.with_knobs(0.0, 0.0)
        diverse = ranker.with_knobs(0.9, 0.0)
        for liked, disliked in USERS:
            a, b = plain.rank_all(liked, disliked, k=N_ITEMS), diverse.rank_all(liked, disliked, k=N_ITEMS)
            assert sorted(a.ids) == sorted(b.ids) and a.ids[0] == b.ids[0]
        assert any(plain.rank_all(u, d, k=10).ids != diverse.rank_all(u, d, k=10).ids for u, d in USERS)

    def test_popularity_bias_moves_toward_popular_movies(self, ranker: Ranker, log_pop: np.ndarray) -> None:
        if not self.POPULARITY:
            pytest.skip("no popularity knob")
        for liked, disliked in USERS:
            lists = [ranker.with_knobs(0.0, b).rank_all(liked, disliked, k=10) for b in (-3.0, 0.0, 3.0)]
            tail, plain, popular = (_mean_pop(out, log_pop) for out in lists)
            assert tail <= plain <= popular and tail < popular


class TestReranker(RankerContract):
    """The shipped model after a tiny training run."""

    @pytest.fixture(scope="class")
    def ranker(self, trained: TrainedModel) -> Ranker:
        return Reranker(trained)

    def test_known_answer_groups(self, ranker: Ranker) -> None:
        for liked, own in ((GROUP_A[:3], GROUP_A), (GROUP_B[:3], GROUP_B)):
            assert set(ranker.rank_all(liked, [], k=10).ids) <= set(own) - set(liked)


class TestFallbackRanker(RankerContract):
    """Popularity + content, the stand-in when the checkpoint is corrupt."""

    @pytest.fixture(scope="class")
    def ranker(self, item_ids: np.ndarray, unit_emb: np.ndarray) -> Ranker:
        return FallbackRanker.build(synthetic_ratings(), item_ids, unit_emb)

    def test_known_answer_new_user_gets_the_most_liked(self, ranker: Ranker) -> None:
        assert ranker.rank_all([], [], k=3).ids == (36, 24, 5)  # 22, 21 and 20 positive ratings


class TestSimilarityRanker(RankerContract):
    """Retrieval order, popularity (number of ratings) for ties and without similarities."""

    KNOBS = False
    POPULARITY = False

    @pytest.fixture(scope="class")
    def ranker(self, inter: Interactions) -> Ranker:
        return SimilarityRanker(inter.item_ids, inter.rating_counts())

    def test_known_answer_keeps_retrieval_order(self, ranker: Ranker) -> None:
        out = ranker.score([], [], [3, 7, 36, 9], [0.1, 0.9, 0.5, 0.9])
        assert out == ScoredList((9, 7, 36, 3), (0.9, 0.9, 0.5, 0.1))  # 9 has more ratings than 7
        assert ranker.score([], [], [3, 7, 36, 9]) == ScoredList((36, 9, 7, 3), (0.0,) * 4)
        assert ranker.rank_all([], [], k=3) == ScoredList((36, 24, 5), (0.0, -1.0, -2.0))


class TestPopularity(RankerContract):
    """The popularity baseline through the ItemScorer wrapper."""

    @pytest.fixture(scope="class")
    def ranker(self, inter: Interactions, unit_emb: np.ndarray, log_pop: np.ndarray) -> Ranker:
        return ScorerRanker(Popularity.fit(inter), inter.item_ids, unit_emb, log_pop=log_pop)

    def test_known_answer_most_liked_first(self, ranker: Ranker, inter: Interactions) -> None:
        counts = inter.positive_counts()
        expected = tuple(int(i) for i in inter.item_ids[np.lexsort((inter.item_ids, -counts))])
        assert ranker.rank_all([], [], k=N_ITEMS).ids == expected


class TestEase(RankerContract):
    """EASE through the ItemScorer wrapper."""

    @pytest.fixture(scope="class")
    def ranker(self, inter: Interactions, unit_emb: np.ndarray, log_pop: np.ndarray) -> Ranker:
        return ScorerRanker(fit_ease(inter, [10.0])[10.0], inter.item_ids, unit_emb, log_pop=log_pop)

    def test_known_answer_groups(self, ranker: Ranker) -> None:
        for liked, own in ((GROUP_A[:5], GROUP_A), (GROUP_B[:5], GROUP_B)):
            assert set(ranker.rank_all(liked, [], k=10).ids) <= set(own) - set(liked)


class TestItemKnn(RankerContract):
    """Item-kNN through the ItemScorer wrapper, without the popularity knob."""

    POPULARITY = False

    @pytest.fixture(scope="class")
    def ranker(self, inter: Interactions, unit_emb: np.ndarray) -> Ranker:
        return ScorerRanker(fit_itemknn(inter), inter.item_ids, unit_emb)

    def test_known_answer_groups(self, ranker: Ranker) -> None:
        assert set(ranker.rank_all(GROUP_B[:5], [], k=10).ids) <= set(GROUP_B[5:])


class TestContent(RankerContract):
    """Content similarity (item vectors) through the ItemScorer wrapper."""

    @pytest.fixture(scope="class")
    def ranker(self, inter: Interactions, unit_emb: np.ndarray, log_pop: np.ndarray) -> Ranker:
        return ScorerRanker(Content(unit_emb), inter.item_ids, unit_emb, log_pop=log_pop)

    def test_known_answer_nearest_vector_first(self, ranker: Ranker, unit_emb: np.ndarray) -> None:
        for movie in (1, 17, 33):
            cos = unit_emb @ unit_emb[movie - 1]
            cos[movie - 1] = -np.inf
            assert ranker.rank_all([movie], [], k=1).ids == (int(np.argmax(cos)) + 1,)
