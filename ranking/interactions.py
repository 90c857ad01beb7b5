"""Ratings as per-user positive / negative item-row sets, and deterministic user splits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ranking.config import NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD


@dataclass(frozen=True)
class History:
    """One user's rated items (catalogue rows) in time order."""

    rows: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray


@dataclass(frozen=True)
class Interactions:
    """Ratings mapped onto rows of an item matrix aligned with ``item_ids``."""

    item_ids: np.ndarray
    users: np.ndarray  # sorted user ids
    positives: dict[int, np.ndarray]  # user -> item rows rated >= 4.0 (time order)
    negatives: dict[int, np.ndarray]  # user -> item rows rated <= 2.0 (time order)
    histories: dict[int, History]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def subset(self, users: Iterable[int]) -> Interactions:
        """The same catalogue, restricted to ``users``."""
        keep = np.array(sorted(int(u) for u in users), dtype=np.int64)
        return Interactions(
            self.item_ids,
            keep,
            {int(u): self.positives[int(u)] for u in keep},
            {int(u): self.negatives[int(u)] for u in keep},
            {int(u): self.histories[int(u)] for u in keep},
        )

    def positive_counts(self) -> np.ndarray:
        """Number of users who rated each item positively."""
        counts = np.zeros(self.n_items, dtype=np.float64)
        for rows in self.positives.values():
            np.add.at(counts, rows, 1.0)
        return counts

    def rating_counts(self) -> np.ndarray:
        """Number of ratings (any value) of each item."""
        counts = np.zeros(self.n_items, dtype=np.float64)
        for h in self.histories.values():
            np.add.at(counts, h.rows, 1.0)
        return counts

    def positive_matrix(self) -> np.ndarray:
        """Dense binary user x item matrix of positives (users in :attr:`users` order)."""
        x = np.zeros((len(self.users), self.n_items), dtype=np.float32)
        for i, u in enumerate(self.users):
            x[i, self.positives[int(u)]] = 1.0
        return x


def build_interactions(
    ratings: pd.DataFrame,
    item_ids: Sequence[int] | np.ndarray,
    positive: float = POSITIVE_THRESHOLD,
    negative: float = NEGATIVE_THRESHOLD,
) -> Interactions:
    """Group ``ratings`` (userId, movieId, rating, timestamp) by user; unknown movies are dropped."""
    ids = np.asarray(item_ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    df = ratings[["userId", "movieId", "rating", "timestamp"]]
    pos = np.searchsorted(ids[order], df["movieId"].to_numpy(np.int64))
    pos = np.clip(pos, 0, len(ids) - 1)
    rows = order[pos]
    known = ids[rows] == df["movieId"].to_numpy(np.int64)
    df = df.assign(row=rows)[known].sort_values(["userId", "timestamp", "movieId"], kind="stable")
    positives: dict[int, np.ndarray] = {}
    negatives: dict[int, np.ndarray] = {}
    histories: dict[int, History] = {}
    for user, g in df.groupby("userId", sort=True):
        r = g["row"].to_numpy(np.int64)
        val = g["rating"].to_numpy(np.float32)
        histories[int(user)] = History(r, val, g["timestamp"].to_numpy(np.int64))
        positives[int(user)] = r[val >= positive]
        negatives[int(user)] = r[val <= negative]
    users = np.array(sorted(histories), dtype=np.int64)
    return Interactions(ids, users, positives, negatives, histories)


def split_users(
    users: Sequence[int] | np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic split of ``users`` into (rest, held_out) with ``fraction`` held out."""
    u = np.array(sorted(int(x) for x in users), dtype=np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(u))
    n_out = round(fraction * len(u))
    held = np.sort(u[perm[:n_out]])
    rest = np.sort(u[perm[n_out:]])
    return rest, held
