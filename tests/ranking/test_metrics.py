from __future__ import annotations

import numpy as np
import pytest

from ranking.evaluation import Tasks, metrics_from_scores
from ranking.interactions import build_interactions, split_users
from ranking.metrics import ndcg_at_k, paired_se, recall_at_k, top_k


def test_recall_known_answers() -> None:
    ranked = np.array([5, 1, 7, 2, 9])
    assert recall_at_k(ranked, {1, 2}, 2) == pytest.approx(0.5)  # one hit in top 2 over min(2, 2)
    assert recall_at_k(ranked, {1, 2, 9}, 5) == pytest.approx(1.0)
    assert recall_at_k(ranked, {1, 2, 3, 4, 6, 8}, 5) == pytest.approx(2 / 5)  # normalised by min(k, |T|)
    assert recall_at_k(ranked, set(), 5) == 0.0


def test_ndcg_known_answers() -> None:
    assert ndcg_at_k(np.array([1, 2, 3]), {1}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(np.array([2, 1, 3]), {1}, 10) == pytest.approx(1 / np.log2(3))
    # two targets, hits at ranks 1 and 3: (1 + 1/2) / (1 + 1/log2(3))
    assert ndcg_at_k(np.array([1, 5, 2]), {1, 2}, 10) == pytest.approx(1.5 / (1 + 1 / np.log2(3)))


def test_top_k_orders_and_breaks_ties_by_index() -> None:
    assert top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist() == [1, 3, 2]


def test_paired_se() -> None:
    a = np.array([1.0, 2.0, 3.0])
    assert paired_se(a, a) == 0.0
    assert paired_se(a, np.zeros(3)) == pytest.approx(1.0 / np.sqrt(3))


def test_vectorised_metrics_match_scalar_ones() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4, 80))
    targets = rng.random((4, 80)) < 0.2
    liked = tuple(np.flatnonzero(~t)[:2] for t in targets)
    m = metrics_from_scores(scores, Tasks(2, np.arange(4), liked, targets))
    for i in range(4):
        s = scores[i].copy()
        s[liked[i]] = -np.inf
        ranked = top_k(s, 50)
        t = set(np.flatnonzero(targets[i]).tolist())
        assert m["recall@50"][i] == pytest.approx(recall_at_k(ranked, t, 50))
        assert m["recall@10"][i] == pytest.approx(recall_at_k(ranked, t, 10))
        assert m["ndcg@10"][i] == pytest.approx(ndcg_at_k(ranked, t, 10))


def test_interactions_and_deterministic_split() -> None:
    import pandas as pd

    ratings = pd.DataFrame(
        {"userId": [1, 1, 1, 2, 2], "movieId": [10, 20, 99, 10, 30], "rating": [4.0, 2.0, 5.0, 3.0, 4.5],
         "timestamp": [3, 1, 2, 5, 4]}
    )  # fmt: skip
    inter = build_interactions(ratings, [10, 20, 30])
    assert inter.positives[1].tolist() == [0]  # movie 99 is not in the catalogue
    assert inter.negatives[1].tolist() == [1]
    assert inter.histories[1].timestamps.tolist() == [1, 3]
    assert inter.positives[2].tolist() == [2]
    users = list(range(100))
    a = split_users(users, 0.2, seed=0)
    b = split_users(list(reversed(users)), 0.2, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert len(a[1]) == 20 and not set(a[0]) & set(a[1])
