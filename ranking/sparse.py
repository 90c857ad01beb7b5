"""Item-item models that scale with the catalogue: RP3beta and cosine item-kNN on sparse top-k neighbours.

Dense EASE (:func:`ranking.baselines.fit_ease`) inverts an items × items matrix: 40 GB at 100k items.
Above ``TrainConfig.dense_item_max`` items the ensemble uses RP3beta (Paudel et al. 2017, as tuned by
Dacrema et al. 2019) instead: a two-step random walk item → user → item with transition weights raised
to ``alpha``, each target item's weight divided by its popularity ** ``beta``, and only the ``topk``
largest weights of each item kept. The items × items product is computed in blocks of rows (a sparse
product, densified one block at a time for the top-k cut), so memory is one block plus the kept
neighbours: ``n_items * topk`` weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ranking.interactions import Interactions

BLOCK_BYTES = 256 << 20  # one dense block of item rows at a time


def positive_csr(inter: Interactions) -> sp.csr_matrix:
    """Binary users × items CSR matrix of positives (users in :attr:`Interactions.users` order)."""
    cols = [np.unique(inter.positives[int(u)]) for u in inter.users]
    lengths = np.array([len(c) for c in cols], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(inter.users), inter.n_items))


def indicator_csr(rows: Sequence[np.ndarray], n: int) -> sp.csr_matrix:
    """Sparse ``(len(rows), n)`` multi-hot matrix (repeats count once)."""
    cols = [np.unique(np.asarray(r, dtype=np.int64)) for r in rows]
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
    indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(rows), n))


@dataclass(frozen=True)
class NeighbourModel:
    """Item-to-item weights kept as a sparse ``(n_items, n_items)`` CSR: score = liked indicator @ W."""

    weights: sp.csr_matrix

    @property
    def n_items(self) -> int:
        return int(self.weights.shape[0])

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(liked), n_items)`` float32 scores (disliked movies are not used)."""
        x = indicator_csr(liked, self.n_items)
        return np.asarray((x @ self.weights).toarray(), dtype=np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """The CSR arrays, for saving (``indptr``, ``indices``, ``data``)."""
        w = self.weights
        return {
            "indptr": np.asarray(w.indptr, dtype=np.int64),
            "indices": np.asarray(w.indices, dtype=np.int64),
            "data": np.asarray(w.data, dtype=np.float32),
        }

    @classmethod
    def from_arrays(cls, n_items: int, arrays: dict[str, np.ndarray]) -> NeighbourModel:
        """Inverse of :meth:`arrays`; raises ``ValueError`` for inconsistent arrays."""
        indptr, indices, data = arrays["indptr"], arrays["indices"], arrays["data"]
        if len(indptr) != n_items + 1 or len(indices) != len(data) or int(indptr[-1]) != len(data):
            raise ValueError("sparse item weights have inconsistent shapes")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_items):
            raise ValueError("sparse item weights point outside the catalogue")
        return cls(sp.csr_matrix((data, indices, indptr), shape=(n_items, n_items)))


def _block_rows(n_items: int) -> int:
    return max(1, min(n_items, BLOCK_BYTES // (4 * max(n_items, 1))))


def _gram_blocks(left: sp.csr_matrix, right: sp.csr_matrix) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, dense block)`` of ``left @ right``, a block of rows at a time (float32)."""
    n = left.shape[0]
    step = _block_rows(right.shape[1])
    for lo in range(0, n, step):
        block = (left[lo : lo + step] @ right).toarray().astype(np.float32, copy=False)
        yield lo, block


def _top_k(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the ``k`` largest positive entries of each row (unsorted)."""
    k = min(k, block.shape[1])
    cols = np.argpartition(-block, k - 1, axis=1)[:, :k].astype(np.int32)  # a copy: the full index array goes
    vals = np.take_along_axis(block, cols, axis=1)
    return cols, vals


def _to_csr(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> sp.csr_matrix:
    cols = np.concatenate([c for c, _ in parts], axis=0)
    vals = np.concatenate([v for _, v in parts], axis=0)
    rows = np.repeat(np.arange(n), cols.shape[1])
    keep = vals.ravel() > 0
    w = sp.csr_matrix((vals.ravel()[keep], (rows[keep], cols.ravel()[keep])), shape=(n, n), dtype=np.float32)
    w.sort_indices()
    return w


def fit_rp3beta(
    inter: Interactions, betas: Sequence[float], alpha: float = 1.0, topk: int = 200
) -> dict[float, NeighbourModel]:
    """RP3beta item weights for every popularity penalty in ``betas`` (one pass over the data).

    ``W[i, j] = sum_u (x_ui / deg_i) ** alpha (x_uj / deg_u) ** alpha / deg_j ** beta`` over binary
    positives ``x``, self-weights removed, the ``topk`` largest of each row kept.
    """
    x = positive_csr(inter)
    deg_u = np.asarray(x.sum(axis=1)).ravel()
    deg_i = np.asarray(x.sum(axis=0)).ravel()
    inv_u = np.where(deg_u > 0, deg_u, 1.0) ** -alpha
    inv_i = np.where(deg_i > 0, deg_i, 1.0) ** -alpha
    left = sp.csr_matrix(x.T.multiply(inv_u[None, :]).multiply(inv_i[:, None]), dtype=np.float32)
    pop = np.where(deg_i > 0, deg_i, 1.0)
    penalties = {float(b): (pop ** -float(b)).astype(np.float32) for b in betas}
    parts: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {b: [] for b in penalties}
    for lo, block in _gram_blocks(left, sp.csr_matrix(x, dtype=np.float32)):
        idx = np.arange(block.shape[0])
        block[idx, lo + idx] = 0.0
        for b, pen in penalties.items():
            parts[b].append(_top_k(block * pen[None, :], topk))
    return {b: NeighbourModel(_to_csr(p, inter.n_items)) for b, p in parts.items()}


def fit_itemknn_sparse(inter: Interactions, topk: int = 200) -> NeighbourModel:
    """Cosine similarity between item columns of the positive matrix, ``topk`` neighbours per item."""
    x = positive_csr(inter)
    norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
    inv = (1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    xn = sp.csr_matrix(x.multiply(inv[None, :]), dtype=np.float32)
    parts = []
    for lo, block in _gram_blocks(sp.csr_matrix(xn.T), xn):
        idx = np.arange(block.shape[0])
        block[idx, lo + idx] = 0.0
        parts.append(_top_k(block, topk))
    return NeighbourModel(_to_csr(parts, inter.n_items))
