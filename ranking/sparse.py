"""Item-item models that scale with the catalogue: RP3beta and cosine item-kNN on sparse top-k neighbours.

Dense EASE (:func:`ranking.baselines.fit_ease`) inverts an items × items matrix: 40 GB at 100k items.
Above ``TrainConfig.dense_item_max`` items the ensemble uses RP3beta (Paudel et al. 2017, as tuned by
Dacrema et al. 2019) instead: a two-step random walk item → user → item with transition weights raised
to ``alpha``, each target item's weight divided by its popularity ** ``beta``, and only the ``topk``
largest weights of each item kept. The items × items product is computed in blocks of rows (a sparse
product; only rows with more than ``topk`` entries are densified for the top-k cut), so memory is one
block plus the kept neighbours: ``n_items * topk`` weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ranking.interactions import Interactions

BLOCK_BYTES = 256 << 20  # rows per block: this many bytes as dense float32 (the cut densifies long rows)


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


def _gram_blocks(left: sp.csr_matrix, right: sp.csr_matrix) -> Iterator[tuple[int, sp.csr_matrix]]:
    """``(first row, block)`` of ``left @ right`` a block of rows at a time, self-weights removed."""
    n = left.shape[0]
    step = _block_rows(right.shape[1])
    for lo in range(0, n, step):
        block = sp.csr_matrix(left[lo : lo + step] @ right, dtype=np.float32)
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        block.data[block.indices == rows + lo] = 0.0
        yield lo, block


Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, columns, values


def _top_k(block: sp.csr_matrix, k: int, lo: int, scale: np.ndarray | None = None) -> Triplets:
    """The ``k`` largest entries of each row of ``block`` (times ``scale`` per column), as triplets.

    Rows with at most ``k`` entries are kept whole; only longer rows are densified for the cut.
    """
    data = block.data if scale is None else block.data * scale[block.indices]
    counts = np.diff(block.indptr)
    rows = np.repeat(np.arange(block.shape[0]), counts)
    short = counts[rows] <= k
    out_r, out_c, out_v = [rows[short] + lo], [block.indices[short].astype(np.int32)], [data[short]]
    long_rows = np.flatnonzero(counts > k)
    if len(long_rows):
        dense = np.zeros((len(long_rows), block.shape[1]), dtype=np.float32)
        pos = np.searchsorted(long_rows, rows[~short])
        dense[pos, block.indices[~short]] = data[~short]
        cols = np.argpartition(-dense, k - 1, axis=1)[:, :k].astype(np.int32)
        out_r.append(np.repeat(long_rows + lo, k))
        out_c.append(cols.ravel())
        out_v.append(np.take_along_axis(dense, cols, axis=1).ravel())
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_v)


def _to_csr(parts: list[Triplets], n: int) -> sp.csr_matrix:
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
    keep = vals > 0
    w = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n), dtype=np.float32)
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
    parts: dict[float, list[Triplets]] = {b: [] for b in penalties}
    for lo, block in _gram_blocks(left, sp.csr_matrix(x, dtype=np.float32)):
        for b, pen in penalties.items():
            parts[b].append(_top_k(block, topk, lo, pen))
    return {b: NeighbourModel(_to_csr(p, inter.n_items)) for b, p in parts.items()}


def fit_itemknn_sparse(inter: Interactions, topk: int = 200) -> NeighbourModel:
    """Cosine similarity between item columns of the positive matrix, ``topk`` neighbours per item."""
    x = positive_csr(inter)
    norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
    inv = (1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    xn = sp.csr_matrix(x.multiply(inv[None, :]), dtype=np.float32)
    parts = []
    for lo, block in _gram_blocks(sp.csr_matrix(xn.T), xn):
        parts.append(_top_k(block, topk, lo))
    return NeighbourModel(_to_csr(parts, inter.n_items))
