"""Interfaces shared by the rankers: whole-catalogue scorers and pluggable rankers.

A ranker returns :class:`retrieval.types.ScoredList`, the one ranked-ids record of retrieval and ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from retrieval.types import ScoredList


@runtime_checkable
class ItemScorer(Protocol):
    """Scores every catalogue row for a batch of users given as sets of liked / disliked rows."""

    @property
    def n_items(self) -> int:
        """Number of catalogue rows scored."""
        ...

    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(liked), n_items)`` float32 scores; higher is better, not yet masked."""
        ...


@runtime_checkable
class Ranker(Protocol):
    """A pluggable ranker over movie ids: everything the agent calls.

    Implementations never return liked, disliked, excluded or unknown ids, count duplicate candidates
    once, and break score ties by a fixed order of the movies (so results do not depend on the order of
    the inputs). :class:`ranking.base.CatalogueRanker` implements this contract once for all rankers.
    """

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        *,
        exclude: Sequence[int] = (),
    ) -> ScoredList:
        """Rerank ``candidate_ids`` for a user; ``text_sim`` is each candidate's retrieval similarity.

        Raises ``ValueError`` when ``text_sim`` and ``candidate_ids`` differ in length; NaN or
        infinite similarities are tolerated.
        """
        ...

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList:
        """The top ``k`` movies of the whole catalogue for a user (empty when ``k <= 0``)."""
        ...

    def with_knobs(self, diversity: float, popularity_bias: float) -> Ranker:
        """A cheap copy with a session's knobs; may return ``self`` when nothing changes.

        ``diversity`` in [0, 1] (0 = pure relevance); ``popularity_bias`` > 0 favours popular movies,
        < 0 the long tail. Rankers without knobs return ``self``. The original is never mutated.
        """
        ...
