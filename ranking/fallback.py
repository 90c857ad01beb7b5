"""Rankers that need no trained model: popularity + content, and retrieval order with popularity ties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ranking.base import CatalogueRanker, popularity_z
from ranking.baselines import Content, Popularity, zscore
from ranking.config import RankerConfig
from ranking.interactions import build_interactions


class FallbackRanker(CatalogueRanker):
    """Stand-in for the trained reranker when its checkpoint is corrupt: popularity + content.

    A new user gets the most popular movies; liked movies add the z-scored content similarity to
    them, disliked movies subtract it. Among candidates the retrieval similarity is mixed in with
    weight ``TEXT_WEIGHT``. Supports both knobs. Built from the ratings and item vectors in a second.
    """

    POPULARITY_WEIGHT = 0.5  # against the content similarity to liked movies (both z-scored)
    DISLIKE_WEIGHT = 0.5
    TEXT_WEIGHT = 1.0

    def __init__(
        self,
        item_ids: Sequence[int] | np.ndarray,
        log_pop: np.ndarray,
        item_emb: np.ndarray,
        config: RankerConfig | None = None,
    ) -> None:
        self._content = Content(np.asarray(item_emb, dtype=np.float32))
        super().__init__(item_ids, self._content.item_emb, config, log_pop=log_pop)
        self._prior = popularity_z(log_pop)

    @classmethod
    def build(
        cls,
        ratings: pd.DataFrame,
        item_ids: Sequence[int] | np.ndarray,
        item_emb: np.ndarray,
        config: RankerConfig | None = None,
    ) -> FallbackRanker:
        """Fit popularity on ``ratings`` (userId, movieId, rating, timestamp) over ``item_ids``."""
        pop = Popularity.fit(build_interactions(ratings, item_ids)).log_counts
        return cls(np.asarray(item_ids), pop, item_emb, config)

    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        s = self._prior.copy()
        if len(liked):
            s = self.POPULARITY_WEIGHT * s + zscore(self._content.score_batch([liked], [disliked]))[0]
        if len(disliked):
            s -= self.DISLIKE_WEIGHT * zscore(self._content.score_batch([disliked], [liked]))[0]
        return s

    def _text_weight(self, n_liked: int) -> float:
        return self.TEXT_WEIGHT


class SimilarityRanker(CatalogueRanker):
    """Keeps the retrieval order (text similarity); popularity orders ties and lists without it.

    Uses no collaborative-filtering signal and has no knobs (``with_knobs`` returns ``self``).
    ``score`` returns each candidate's similarity as its score (0 without ``text_sim``), ties going
    to the movie with more ratings, then the lower id; ``rank_all`` lists the catalogue by number
    of ratings with score ``-position``.
    """

    KNOBS = False

    def __init__(
        self, item_ids: Sequence[int] | np.ndarray, rating_counts: Sequence[float] | np.ndarray
    ) -> None:
        ids = np.asarray(item_ids, dtype=np.int64)
        counts = np.asarray(rating_counts, dtype=np.float64)
        if counts.shape != ids.shape:
            raise ValueError(f"rating_counts has {len(counts)} values for {len(ids)} item ids")
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.lexsort((ids, -counts))] = np.arange(len(ids))
        super().__init__(ids, tiebreak=rank)
        self._rank = rank

    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        return 0.0 - self._rank  # -position (0.0, not -0.0, for the first)

    def _score_rows(
        self, liked: np.ndarray, disliked: np.ndarray, rows: np.ndarray, sims: np.ndarray | None
    ) -> np.ndarray:
        return np.zeros(len(rows)) if sims is None else sims
