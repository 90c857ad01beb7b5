"""Final scoring when a conversational prior is available: CF, text, liked-movie similarity and prior.

The weights were chosen on the ReDial dev *tune half* (prior counted on the other fold of it; see
``bench/redial_tune.py``), by Recall@10 + Recall@50 per (turn, target) pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from agent.priors import ConversationPrior
from ranking.protocol import ScoredList
from ranking.reranker import mmr_order
from retrieval.catalogue import Catalogue


class BlendWeights(BaseModel):
    cf: float = 0.5  # z-scored collaborative-filtering blend
    text: float = 0.25  # z-scored similarity to the user's own words
    liked: float = 0.25  # z-scored similarity to the liked movies' centroid
    prior: float = 0.5  # log(1 + times recommended in conversations)
    recent: float = 0.5  # released in 2000 or later (conversations favour recent movies)
    related: float = 1.0  # co-occurrence with the movies named in this conversation


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


class PriorBlend:
    def __init__(
        self, catalogue: Catalogue, item_emb: np.ndarray, prior: ConversationPrior, weights: BlendWeights
    ) -> None:
        self.catalogue = catalogue
        self.item_emb = item_emb
        self.prior = prior
        self.w = weights
        self._recent = np.array([(m.year or 0) >= 2000 for m in catalogue], dtype=np.float64)

    def extra_candidates(self, seeds: Sequence[int], n_prior: int = 300, n_related: int = 100) -> list[int]:
        """Movies the prior would put forward: often recommended, or named with the seeds."""
        scores = self.prior.related(seeds)
        related = sorted(scores, key=lambda m: (-scores[m], m))[:n_related]
        return self.prior.top[:n_prior] + related

    def rank(
        self,
        cf: ScoredList,
        text_vec: np.ndarray | None,
        liked: Sequence[int],
        seeds: Sequence[int],
        diversity: float = 0.0,
    ) -> ScoredList:
        """Blend over the candidates ``cf`` scored (it already dropped excluded ids)."""
        if not cf.ids:
            return cf
        ids = np.array(cf.ids, dtype=np.int64)
        rows = self.catalogue.rows(ids)
        emb = self.item_emb[rows]
        score = self.w.cf * _z(np.asarray(cf.scores, dtype=np.float64))
        if text_vec is not None:
            score += self.w.text * _z(emb @ text_vec)
        known = [m for m in liked if m in self.catalogue]
        if known:
            centroid = self.item_emb[self.catalogue.rows(known)].mean(axis=0)
            score += self.w.liked * _z(emb @ centroid)
        related = self.prior.related(seeds)
        score += self.w.prior * np.array([self.prior.popularity(int(m)) for m in ids])
        score += self.w.recent * self._recent[rows]
        score += self.w.related * np.array([related.get(int(m), 0.0) for m in ids])
        order = np.lexsort((ids, -score))
        ids, score, emb = ids[order], score[order], emb[order]
        if diversity > 0:
            mmr = mmr_order(emb, score, 1.0 - diversity)
            ids, score = ids[mmr], score[mmr]
        return ScoredList(tuple(int(i) for i in ids), tuple(float(s) for s in score))
