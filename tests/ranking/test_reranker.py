from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ranking import Ranker, RankerConfig, Reranker, ScoredList, TrainedModel

ids = st.integers(min_value=-3, max_value=45)  # includes unknown ids
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    liked=st.lists(ids, max_size=5),
    disliked=st.lists(ids, max_size=3),
    cands=st.lists(ids, min_size=0, max_size=40),
    exclude=st.lists(ids, max_size=10),
    seed=st.integers(0, 10_000),
    use_sim=st.booleans(),
)
def test_score_invariants(trained: TrainedModel, liked, disliked, cands, exclude, seed, use_sim) -> None:
    reranker = Reranker(trained)
    rng = np.random.default_rng(seed)
    sims = {c: float(rng.uniform(-1, 1)) for c in cands}
    text = [sims[c] for c in cands] if use_sim else None
    out = reranker.score(liked, disliked, cands, text, exclude=exclude)
    assert isinstance(out, ScoredList)
    assert not set(out.ids) & (set(exclude) | set(liked) | set(disliked))
    assert set(out.ids) <= set(cands) and len(set(out.ids)) == len(out.ids)
    assert all(math.isfinite(s) for s in out.scores)
    perm = rng.permutation(len(cands))
    cands2 = [cands[i] for i in perm]
    out2 = reranker.score(
        liked, disliked, cands2, [sims[c] for c in cands2] if use_sim else None, exclude=exclude
    )
    assert out2 == out


@SETTINGS
@given(liked=st.lists(ids, max_size=5), exclude=st.lists(ids, max_size=10), k=st.integers(0, 50))
def test_rank_all_invariants(trained: TrainedModel, liked, exclude, k) -> None:
    out = Reranker(trained, RankerConfig(mmr_lambda=0.7)).rank_all(liked, [], exclude, k)
    assert not set(out.ids) & (set(exclude) | set(liked))
    assert len(out) <= k and all(math.isfinite(s) for s in out.scores)


def test_knobs_and_protocol(trained: TrainedModel) -> None:
    assert isinstance(Reranker(trained), Ranker)
    plain = Reranker(trained).rank_all([1], [], k=10)
    tail = Reranker(trained, RankerConfig(popularity_balance=5.0)).rank_all([1], [], k=10)
    pop = trained.log_pop
    mean_pop = lambda r: float(np.mean([pop[i - 1] for i in r.ids]))  # noqa: E731
    assert mean_pop(tail) <= mean_pop(plain)
    diverse = Reranker(trained, RankerConfig(mmr_lambda=0.3)).rank_all([1], [], k=10)
    assert set(diverse.ids) <= set(Reranker(trained).rank_all([1], [], k=50).ids)


def test_scores_200_candidates_with_repeats(trained: TrainedModel) -> None:
    # its latency (budget 50 ms) is measured by bench/ranking.py, not asserted here
    reranker = Reranker(trained)
    cands = list(range(1, 41)) * 5
    got = reranker.score([1, 2], [], cands, [0.5] * len(cands))
    assert sorted(got.ids) == list(range(3, 41))  # each candidate once; the liked movies are not picks
    assert np.isfinite(got.scores).all() and list(got.scores) == sorted(got.scores, reverse=True)
