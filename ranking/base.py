"""The code every catalogue ranker shares: id↔row mapping, candidate clean-up, head selection, MMR, knobs.

A ranker here is a :class:`CatalogueRanker` subclass that only says how it scores catalogue rows
(:meth:`CatalogueRanker._catalogue_scores`); everything else of the :class:`ranking.protocol.Ranker`
contract is written once below. :class:`ScorerRanker` serves any :class:`ranking.protocol.ItemScorer`
(the baselines of :mod:`ranking.baselines`) through the same code.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np

from ranking.baselines import zscore
from ranking.config import RankerConfig
from ranking.protocol import ItemScorer, ScoredList


def mmr_order(emb: np.ndarray, rel: np.ndarray, lam: float, top: int = 50) -> np.ndarray:
    """Greedy maximal-marginal-relevance order of the first ``top`` items (rest unchanged).

    ``emb`` holds unit item vectors in the current order, ``rel`` their relevance (higher is better,
    already sorted descending); ``lam`` = 1 is pure relevance.
    """
    head = min(top, len(rel))
    if lam >= 1.0 or head < 3:
        return np.arange(len(rel))
    sim = emb[:head] @ emb[:head].T
    r = rel[:head]
    span = r.max() - r.min()
    r = (r - r.min()) / span if span > 0 else np.zeros_like(r)
    chosen = [0]
    best_sim = sim[0].copy()
    left = np.ones(head, dtype=bool)
    left[0] = False
    while left.any():
        gain = np.where(left, lam * r - (1.0 - lam) * best_sim, -np.inf)
        j = int(np.argmax(gain))
        chosen.append(j)
        left[j] = False
        best_sim = np.maximum(best_sim, sim[j])
    return np.concatenate([np.array(chosen, dtype=np.int64), np.arange(head, len(rel))])


def finish_ranking(
    ids: np.ndarray,
    item_emb: np.ndarray | None,
    rows: np.ndarray,
    scores: np.ndarray,
    config: RankerConfig,
    k: int | None,
    tiebreak: np.ndarray | None = None,
) -> ScoredList:
    """Sort by score, apply MMR, cut at ``k``.

    Ties go to the lower ``tiebreak`` value of the row (default: the lower movie id), so the result
    does not depend on the order of ``rows``. Without ``item_emb`` there is no MMR.
    """
    key = ids if tiebreak is None else tiebreak
    order = np.lexsort((key[rows], -scores))
    rows, scores = rows[order], scores[order]
    if item_emb is not None:
        perm = mmr_order(item_emb[rows], scores, config.mmr_lambda, config.mmr_top)
        rows, scores = rows[perm], scores[perm]
    if k is not None:
        rows, scores = rows[:k], scores[:k]
    return ScoredList(tuple(int(i) for i in ids[rows]), tuple(float(s) for s in scores))


def top_positions(scores: np.ndarray, key: np.ndarray, h: int) -> np.ndarray:
    """Positions of the ``h`` highest ``scores`` (argpartition), in no particular order.

    Scores tied at the cut are kept by the lowest ``key``, as :func:`finish_ranking` orders them, so
    a top-``k`` list is a prefix of the full ranking even when scores tie.
    """
    if h >= len(scores):
        return np.arange(len(scores))
    head = np.argpartition(-scores, h - 1)[:h]
    cut = scores[head[h - 1]]  # the h-th highest score
    if np.count_nonzero(scores == cut) == np.count_nonzero(scores[head] == cut):
        return head  # no tie straddles the cut (the usual case)
    above = np.flatnonzero(scores > cut)
    tied = np.flatnonzero(scores == cut)
    tied = tied[np.argsort(key[tied], kind="stable")]
    return np.concatenate([above, tied[: h - len(above)]])


def popularity_z(log_pop: np.ndarray | Sequence[float]) -> np.ndarray:
    """Z-scored log popularity of every catalogue row, as float64."""
    return zscore(np.asarray(log_pop, dtype=np.float32)[None, :])[0].astype(np.float64)


class CatalogueRanker(ABC):
    """A :class:`ranking.protocol.Ranker` over a fixed catalogue of movie ids.

    Subclasses implement :meth:`_catalogue_scores`. They may override :meth:`_candidate_scores` (a
    faster path evaluated only at candidate rows), :meth:`_text_weight` (how much the retrieval
    similarity counts) or :meth:`_score_rows` (the whole candidate scoring), and set ``KNOBS = False``
    when they ignore the diversity and popularity knobs.

    ``item_emb`` (unit rows aligned with ``item_ids``) enables MMR diversity; ``log_pop`` enables the
    popularity knob; ``tiebreak`` orders equal scores (lowest first, default: the movie id).
    """

    KNOBS: ClassVar[bool] = True

    def __init__(
        self,
        item_ids: Sequence[int] | np.ndarray,
        item_emb: np.ndarray | None = None,
        config: RankerConfig | None = None,
        *,
        log_pop: np.ndarray | Sequence[float] | None = None,
        tiebreak: np.ndarray | None = None,
    ) -> None:
        self.config = config or RankerConfig()
        self._ids = np.asarray(item_ids, dtype=np.int64)
        self._row = {int(m): i for i, m in enumerate(self._ids)}
        if len(self._row) != len(self._ids):
            raise ValueError("item_ids has duplicates")
        self._emb = None if item_emb is None else np.asarray(item_emb)
        self._pop_z = None if log_pop is None else popularity_z(log_pop)
        self._key = self._ids if tiebreak is None else np.asarray(tiebreak)
        for name, arr in (("item_emb", self._emb), ("log_pop", self._pop_z), ("tiebreak", self._key)):
            if arr is not None and len(arr) != len(self._ids):
                raise ValueError(f"{name} has {len(arr)} rows for {len(self._ids)} item ids")

    @property
    def item_ids(self) -> np.ndarray:
        """The catalogue's movie ids in row order."""
        return self._ids

    @abstractmethod
    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        """``(n_items,)`` float64 scores of every row for a user given by liked / disliked rows."""

    def _candidate_scores(self, liked: np.ndarray, disliked: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Scores at ``rows`` only, on the scale of :meth:`_catalogue_scores` up to an affine map."""
        return self._catalogue_scores(liked, disliked)[rows]

    def _text_weight(self, n_liked: int) -> float:
        """Weight of the z-scored retrieval similarity against the z-scored catalogue score."""
        return 1.0

    def _score_rows(
        self, liked: np.ndarray, disliked: np.ndarray, rows: np.ndarray, sims: np.ndarray | None
    ) -> np.ndarray:
        """Candidate scores: z-scored (popularity-balanced) scores plus weighted z-scored similarity."""
        base = self._balanced(self._candidate_scores(liked, disliked, rows), rows)
        scores = zscore(base[None, :])[0].astype(np.float64)
        if sims is not None and self.config.use_text_sim:
            scores = scores + self._text_weight(len(liked)) * zscore(sims[None, :])[0]
        return scores

    def _rows(self, ids: Sequence[int]) -> np.ndarray:
        """Sorted unique catalogue rows of ``ids`` (unknown ids dropped)."""
        return np.array(sorted({self._row[int(i)] for i in ids if int(i) in self._row}), dtype=np.int64)

    def _balanced(self, scores: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``scores`` minus ``popularity_balance`` times the popularity z-score (of ``rows``)."""
        b = self.config.popularity_balance
        if not b or self._pop_z is None:
            return scores
        return scores - b * (self._pop_z if rows is None else self._pop_z[rows])

    def _candidates(
        self, candidate_ids: Sequence[int], text_sim: Sequence[float] | None, banned: set[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique admissible candidate rows and their similarity (the best of duplicates).

        Non-finite similarities become 0 (NaN), 1 (+inf) or -1 (-inf); no ``text_sim`` gives zeros.
        """
        ts = np.zeros(len(candidate_ids)) if text_sim is None else np.asarray(text_sim, dtype=np.float64)
        sims: dict[int, float] = {}
        for mid, t in zip(
            candidate_ids, np.nan_to_num(ts, nan=0.0, posinf=1.0, neginf=-1.0).tolist(), strict=True
        ):
            row = self._row.get(int(mid))
            if row is not None and row not in banned:
                sims[row] = max(sims.get(row, -np.inf), t)
        rows = np.array(sorted(sims), dtype=np.int64)
        return rows, np.array([sims[r] for r in rows.tolist()], dtype=np.float64)

    def _finish(self, rows: np.ndarray, scores: np.ndarray, k: int | None) -> ScoredList:
        return finish_ranking(self._ids, self._emb, rows, scores, self.config, k, self._key)

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        *,
        exclude: Sequence[int] = (),
    ) -> ScoredList:
        """Rerank ``candidate_ids`` (unknown, liked, disliked and ``exclude`` ids are dropped).

        ``text_sim`` is the retrieval similarity of each candidate (same length, else ``ValueError``);
        duplicate candidates count once with their best similarity. With ``mmr_lambda < 1`` the head
        is reordered for diversity.
        """
        if text_sim is not None and len(text_sim) != len(candidate_ids):
            raise ValueError(f"text_sim has {len(text_sim)} values for {len(candidate_ids)} candidates")
        lr, dr = self._rows(liked), self._rows(disliked)
        banned = set(lr.tolist()) | set(dr.tolist()) | set(self._rows(exclude).tolist())
        rows, sims = self._candidates(candidate_ids, text_sim, banned)
        if not len(rows):
            return ScoredList()
        scores = self._score_rows(lr, dr, rows, None if text_sim is None else sims)
        return self._finish(rows, np.nan_to_num(scores), None)

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList:
        """The top ``k`` of the whole catalogue, never returning liked, disliked or ``exclude`` ids."""
        if k <= 0:
            return ScoredList()
        lr, dr = self._rows(liked), self._rows(disliked)
        scores = self._balanced(self._catalogue_scores(lr, dr))
        keep = np.ones(len(scores), dtype=bool)
        for r in (lr, dr, self._rows(exclude)):
            keep[r] = False
        rows = np.flatnonzero(keep)
        h = min(max(k, self.config.mmr_top), len(rows))
        if h == 0:
            return ScoredList()
        head = rows[top_positions(scores[rows], self._key[rows], h)]
        return self._finish(head, scores[head], k)

    def with_knobs(self, diversity: float, popularity_bias: float) -> Self:
        """A copy with ``mmr_lambda = 1 - diversity`` and ``popularity_balance = -popularity_bias``.

        ``diversity`` lies in [0, 1]; ``popularity_bias`` > 0 favours popular movies, < 0 the long
        tail. Returns ``self`` when nothing changes or the ranker has no knobs; never mutates ``self``.
        """
        if not 0.0 <= diversity <= 1.0 or not math.isfinite(popularity_bias):
            raise ValueError(f"knobs out of range: diversity={diversity}, popularity_bias={popularity_bias}")
        if not self.KNOBS:
            return self
        cfg = self.config.model_copy(
            update={"mmr_lambda": 1.0 - diversity, "popularity_balance": -popularity_bias}
        )
        if cfg == self.config:
            return self
        tuned = copy.copy(self)
        tuned.config = cfg
        return tuned


class ScorerRanker(CatalogueRanker):
    """Serves an :class:`ranking.protocol.ItemScorer` (popularity, EASE, item-kNN, content) as a ranker.

    Catalogue scores are the scorer's z-scored scores; ``text_weight`` is the weight of the retrieval
    similarity among candidates. ``item_emb`` enables diversity, ``log_pop`` the popularity knob.
    """

    def __init__(
        self,
        scorer: ItemScorer,
        item_ids: Sequence[int] | np.ndarray,
        item_emb: np.ndarray | None = None,
        config: RankerConfig | None = None,
        *,
        log_pop: np.ndarray | Sequence[float] | None = None,
        text_weight: float = 1.0,
    ) -> None:
        super().__init__(item_ids, item_emb, config, log_pop=log_pop)
        if scorer.n_items != len(self._ids):
            raise ValueError(f"scorer has {scorer.n_items} items for {len(self._ids)} item ids")
        self.scorer = scorer
        self.text_weight = float(text_weight)

    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        return zscore(self.scorer.score_batch([liked], [disliked]))[0].astype(np.float64)

    def _text_weight(self, n_liked: int) -> float:
        return self.text_weight
