"""Baseline scorers: popularity, item-kNN, EASE, content (MiniLM) and z-score blends of scorers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from ranking.interactions import Interactions


def indicator(rows: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Dense ``(len(rows), n)`` float32 multi-hot matrix."""
    x = np.zeros((len(rows), n), dtype=np.float32)
    for i, r in enumerate(rows):
        x[i, np.asarray(r, dtype=np.int64)] = 1.0
    return x


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per-row standardisation (constant rows become 0)."""
    s = np.asarray(scores, dtype=np.float32)
    mu = s.mean(axis=-1, keepdims=True)
    sd = s.std(axis=-1, keepdims=True)
    return (s - mu) / np.where(sd > 1e-12, sd, 1.0)


def bucket_of(n_liked: int) -> int:
    """Evidence bucket of a user: 0 for one liked movie, 1 for two or three, 2 for more."""
    return 0 if n_liked <= 1 else (1 if n_liked <= 3 else 2)


N_BUCKETS = 3


@dataclass(frozen=True)
class Popularity:
    """log(1 + number of positive ratings)."""

    log_counts: np.ndarray

    @classmethod
    def fit(cls, inter: Interactions) -> Popularity:
        return cls(np.log1p(inter.positive_counts()).astype(np.float32))

    @property
    def n_items(self) -> int:
        return len(self.log_counts)

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.log_counts, (len(liked), self.n_items)).copy()


@dataclass(frozen=True)
class SparseItemModel:
    """Item-to-item weights over the ``active`` rows: score = liked indicator @ weights."""

    n_items: int
    active: np.ndarray  # catalogue rows that have weights
    weights: np.ndarray  # (len(active), len(active)) float32

    @cached_property
    def local(self) -> np.ndarray:
        """Catalogue row -> position in :attr:`active` (-1 when inactive)."""
        loc = np.full(self.n_items, -1, dtype=np.int64)
        loc[self.active] = np.arange(len(self.active))
        return loc

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(liked), self.n_items), dtype=np.float32)
        locs = [self.local[np.asarray(r, dtype=np.int64)] for r in liked]
        locs = [loc[loc >= 0] for loc in locs]
        if len(liked) <= 8:  # a few users: summing weight rows beats a dense product
            for i, loc in enumerate(locs):
                if len(loc):
                    out[i, self.active] = self.weights[loc].sum(axis=0)
            return out
        x = np.zeros((len(liked), len(self.active)), dtype=np.float32)
        for i, loc in enumerate(locs):
            x[i, loc] = 1.0
        out[:, self.active] = x @ self.weights
        return out


def _active_matrix(inter: Interactions, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    x = inter.positive_matrix()
    active = np.flatnonzero(x.sum(axis=0) >= max(1, min_count))
    return active, x[:, active]


def fit_itemknn(inter: Interactions) -> SparseItemModel:
    """Cosine similarity between item columns of the positive matrix (self-similarity removed)."""
    active, x = _active_matrix(inter, 1)
    norms = np.sqrt(x.sum(axis=0))
    xn = x / np.where(norms > 0, norms, 1.0)
    sim = (xn.T @ xn).astype(np.float32)
    np.fill_diagonal(sim, 0.0)
    return SparseItemModel(inter.n_items, active, sim)


def fit_ease(
    inter: Interactions, lambdas: Sequence[float], min_count: int = 1
) -> dict[float, SparseItemModel]:
    """EASE (Steck 2019) closed form for every regularisation strength in ``lambdas``."""
    active, x = _active_matrix(inter, min_count)
    gram = torch.from_numpy(x.T @ x).double()
    eye = torch.eye(len(active), dtype=torch.float64)
    models = {}
    for lam in lambdas:
        p = torch.cholesky_inverse(torch.linalg.cholesky(gram + lam * eye))
        b = -p / torch.diagonal(p)[None, :]
        b.fill_diagonal_(0.0)
        models[float(lam)] = SparseItemModel(inter.n_items, active, b.float().numpy())
    return models


@dataclass(frozen=True)
class Content:
    """Cosine between each movie's MiniLM vector and the normalised mean of the liked vectors."""

    item_emb: np.ndarray  # (n_items, dim), L2-normalised rows

    @property
    def n_items(self) -> int:
        return len(self.item_emb)

    def user_vectors(self, liked: Sequence[np.ndarray]) -> np.ndarray:
        q = np.stack(
            [
                self.item_emb[np.asarray(r, dtype=np.int64)].mean(axis=0)
                if len(r)
                else np.zeros(self.item_emb.shape[1], dtype=np.float32)
                for r in liked
            ]
        )
        return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        return (self.user_vectors(liked) @ self.item_emb.T).astype(np.float32)


@dataclass(frozen=True)
class Blend:
    """Weighted sum of per-user z-scored component scores; one weight row per evidence bucket."""

    components: Mapping[str, object]  # name -> ItemScorer
    weights: np.ndarray  # (N_BUCKETS, len(components))

    @property
    def n_items(self) -> int:
        return next(iter(self.components.values())).n_items  # type: ignore[attr-defined]

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        w = self.weights[[bucket_of(len(r)) for r in liked]]  # (B, C)
        out = np.zeros((len(liked), self.n_items), dtype=np.float32)
        for c, scorer in enumerate(self.components.values()):
            if np.any(w[:, c] != 0):
                out += w[:, c : c + 1] * zscore(scorer.score_batch(liked, disliked))  # type: ignore[attr-defined]
        return out
