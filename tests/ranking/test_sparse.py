"""Sparse item-item models (RP3beta, item-kNN) against their dense formulas, and the sparse ensemble path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ranking.sparse as sparse_mod
from ranking.baselines import SparseItemModel, fit_itemknn
from ranking.checkpoint import load, save
from ranking.interactions import Interactions, build_interactions
from ranking.reranker import Reranker
from ranking.sparse import NeighbourModel, fit_itemknn_sparse, fit_rp3beta, positive_csr
from ranking.train import TrainedModel, fit_item_models, train, uses_sparse
from tests.ranking.conftest import GROUP_A, TINY, synthetic_embeddings, synthetic_ratings


def _random_inter(rng: np.random.Generator, users: int = 40, items: int = 30) -> Interactions:
    rows = [(u, m, float(rng.choice([1.0, 4.0, 5.0])), u * 100 + m)
            for u in range(1, users + 1) for m in rng.choice(items, size=8, replace=False) + 1]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    return build_interactions(frame, np.arange(1, items + 1))


def _dense_rp3(inter: Interactions, alpha: float, beta: float) -> np.ndarray:
    x = inter.positive_matrix().astype(np.float64)
    du, di = x.sum(1), x.sum(0)
    p_ui = x / np.where(du > 0, du, 1)[:, None]
    p_iu = x.T / np.where(di > 0, di, 1)[:, None]
    w = (p_iu**alpha) @ (p_ui**alpha) / np.where(di > 0, di, 1)[None, :] ** beta
    np.fill_diagonal(w, 0.0)
    return w


def test_rp3beta_matches_the_dense_formula(rng: np.random.Generator) -> None:
    inter = _random_inter(rng)
    models = fit_rp3beta(inter, [0.0, 0.5], alpha=0.8, topk=1000)
    for beta, model in models.items():
        np.testing.assert_allclose(
            model.weights.toarray(), _dense_rp3(inter, 0.8, beta), rtol=1e-5, atol=1e-7
        )


def test_topk_keeps_the_largest_weights_per_row_in_any_block_size(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter = _random_inter(rng)
    full = _dense_rp3(inter, 1.0, 0.3)
    model = fit_rp3beta(inter, [0.3], topk=5)[0.3]
    monkeypatch.setattr(sparse_mod, "BLOCK_BYTES", 4 * 30 * 7)  # 7 rows per block
    blocked = fit_rp3beta(inter, [0.3], topk=5)[0.3]
    assert (model.weights != blocked.weights).nnz == 0
    w = model.weights.toarray()
    assert (np.count_nonzero(w, axis=1) <= 5).all()
    for i in range(full.shape[0]):
        kept = np.flatnonzero(w[i])
        if len(kept):  # every kept weight is at least every dropped one
            assert full[i, kept].min() >= np.delete(full[i], kept).max() - 1e-9


def test_sparse_itemknn_equals_dense_itemknn_without_cut(rng: np.random.Generator) -> None:
    inter = _random_inter(rng)
    dense = fit_itemknn(inter)
    full = np.zeros((inter.n_items, inter.n_items), dtype=np.float32)
    full[np.ix_(dense.active, dense.active)] = dense.weights
    np.testing.assert_allclose(fit_itemknn_sparse(inter, topk=1000).weights.toarray(), full, atol=1e-6)


def test_scores_are_indicator_times_weights(rng: np.random.Generator) -> None:
    inter = _random_inter(rng)
    model = fit_rp3beta(inter, [0.2], topk=10)[0.2]
    liked = [np.array([0, 3]), np.array([], dtype=np.int64), np.array([5, 5])]
    s = model.score_batch(liked, [np.zeros(0, np.int64)] * 3)
    w = model.weights.toarray()
    np.testing.assert_allclose(s, np.stack([w[[0, 3]].sum(0), np.zeros(30), w[5]]), rtol=1e-6)
    assert positive_csr(inter).shape == (40, 30)


@pytest.fixture(scope="module")
def sparse_trained() -> TrainedModel:
    config = TINY.model_copy(
        update={
            "dense_item_max": 0,
            "rp3_betas": (0.0, 0.5),
            "sparse_topk": 10,
            "n_models": 1,
            "refit_full": False,
        }
    )
    return train(synthetic_ratings(), np.arange(1, 41), synthetic_embeddings(), config, device="cpu")


def test_large_catalogues_train_with_rp3beta(sparse_trained: TrainedModel) -> None:
    assert uses_sparse(40, sparse_trained.config) and not uses_sparse(40, TINY)
    assert isinstance(sparse_trained.ease, NeighbourModel)
    assert sparse_trained.info["item_model"] == "rp3beta"
    assert sparse_trained.info["ease_lambda"] in (0.0, 0.5)
    small = _random_inter(np.random.default_rng(1), items=40)
    assert isinstance(fit_item_models(small, [10.0], TINY)[10.0], SparseItemModel)  # dense EASE below


def test_sparse_model_ranks_the_group_and_survives_a_checkpoint(
    sparse_trained: TrainedModel, tmp_path: Path
) -> None:
    ranked = Reranker(sparse_trained).rank_all([1, 2, 3], [], k=10)
    assert sum(m in GROUP_A for m in ranked.ids) >= 9
    save(sparse_trained, tmp_path, "fp")
    again = load(tmp_path, "fp")
    assert isinstance(again.ease, NeighbourModel)
    assert (again.ease.weights != sparse_trained.ease.weights).nnz == 0
    assert Reranker(again).rank_all([1, 2, 3], [], k=10) == ranked
