"""Top-k ranking metrics with a known normalisation (recall over min(k, |targets|))."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores along the last axis, best first (ties by lower index)."""
    k = min(k, scores.shape[-1])
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    vals = np.take_along_axis(scores, part, axis=-1)
    order = np.lexsort((part, -vals), axis=-1)
    return np.take_along_axis(part, order, axis=-1)


def recall_at_k(ranked: np.ndarray, targets: Collection[int], k: int) -> float:
    """Hits in the first ``k`` over ``min(k, |targets|)``; 0 when there are no targets."""
    if not targets:
        return 0.0
    hits = sum(1 for x in ranked[:k] if int(x) in targets)
    return hits / min(k, len(targets))


def ndcg_at_k(ranked: np.ndarray, targets: Collection[int], k: int) -> float:
    """Binary-relevance NDCG with the ideal DCG over ``min(k, |targets|)`` hits."""
    if not targets:
        return 0.0
    gains = np.array([1.0 if int(x) in targets else 0.0 for x in ranked[:k]])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(k, len(targets))].sum()
    return float((gains * discounts[: len(gains)]).sum() / ideal)


def paired_se(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of the mean paired difference ``a - b`` (0 for fewer than two pairs)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(d) < 2:
        return 0.0
    return float(d.std(ddof=1) / np.sqrt(len(d)))
