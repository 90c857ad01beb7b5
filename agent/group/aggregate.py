"""Aggregation strategies: one group score per candidate from each member's (z-scored) scores.

``scores`` is ``(n_members, n_candidates)``; every member scored the same candidates, and each row is
z-scored over the pool, so members with sharp and with flat profiles weigh alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

APPROVAL_SHARE = 0.2  # a member approves the top fifth of the pool
TIE_WEIGHT = 1e-3  # average-score tie-break inside the approval and misery strategies

Strategy = Callable[[np.ndarray], np.ndarray]


def average(scores: np.ndarray) -> np.ndarray:
    """Utilitarian: the mean member score."""
    return scores.mean(axis=0)


def least_misery(scores: np.ndarray) -> np.ndarray:
    """The least happy member decides (ties: the mean)."""
    return scores.min(axis=0) + TIE_WEIGHT * scores.mean(axis=0)


def approval_voting(scores: np.ndarray, share: float = APPROVAL_SHARE) -> np.ndarray:
    """Members approve their top ``share`` of the pool; most approvals win (ties: the mean)."""
    n = scores.shape[1]
    if n == 0:
        return np.zeros(0)
    top = max(1, int(np.ceil(share * n)))
    ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1, kind="stable")
    return (ranks < top).sum(axis=0).astype(np.float64) + TIE_WEIGHT * scores.mean(axis=0)


STRATEGIES: dict[str, Strategy] = {
    "average": average,
    "least_misery": least_misery,
    "approval_voting": approval_voting,
}
DEFAULT_STRATEGY = "average"  # chosen by `reelchat eval groups` (see agent/group/evaluate.py)


def strategy_names() -> tuple[str, ...]:
    return tuple(STRATEGIES)


def resolve(name: str | None) -> str:
    """A known strategy name (``None``/"" → the default); also accepts "least misery", "approval"."""
    if not name:
        return DEFAULT_STRATEGY
    key = "_".join(name.strip().lower().replace("-", " ").split())
    key = {"approval": "approval_voting", "misery": "least_misery", "mean": "average"}.get(key, key)
    if key not in STRATEGIES:
        raise ValueError(f"unknown group strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return key


def aggregate(scores: np.ndarray, strategy: str | None = None) -> np.ndarray:
    """Group scores of the candidates under ``strategy``."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError("scores must be (n_members, n_candidates)")
    if scores.shape[0] == 0:
        return np.zeros(scores.shape[1])
    return STRATEGIES[resolve(strategy)](scores)
