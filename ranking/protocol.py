"""Interfaces shared by the rankers: scored lists, whole-catalogue scorers and pluggable rankers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class ScoredList:
    """Movie ids, best first, with parallel scores (higher is better)."""

    ids: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.scores):
            raise ValueError("ids and scores differ in length")

    def __len__(self) -> int:
        return len(self.ids)


@runtime_checkable
class ItemScorer(Protocol):
    """Scores every catalogue row for a batch of users given as sets of liked / disliked rows."""

    n_items: int

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(liked), n_items)`` float32 scores; higher is better, not yet masked."""
        ...


@runtime_checkable
class Ranker(Protocol):
    """A pluggable ranker over movie ids (what the agent calls)."""

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
    ) -> ScoredList: ...

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList: ...
