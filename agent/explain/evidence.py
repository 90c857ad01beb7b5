"""Facts we hold that support a pick: related liked movies, co-liking users, shared tags and genres."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from agent.explain.claims import Constraints
from agent.explain.explainer import Evidence
from retrieval.catalogue import Catalogue


class EvidenceBuilder:
    """Builds :class:`Evidence` for picks from the catalogue, the ratings and the item embeddings."""

    def __init__(self, catalogue: Catalogue, ratings: pd.DataFrame, item_emb: np.ndarray) -> None:
        self.catalogue = catalogue
        self.item_emb = item_emb
        pos = ratings[ratings["rating"] >= 4.0]
        self._fans: dict[int, np.ndarray] = {
            int(mid): np.sort(g["userId"].to_numpy()) for mid, g in pos.groupby("movieId")
        }

    def co_liked(self, a: int, b: int) -> int:
        """Users who rated both movies 4 stars or more."""
        fa, fb = self._fans.get(a), self._fans.get(b)
        if fa is None or fb is None:
            return 0
        return int(np.intersect1d(fa, fb, assume_unique=True).size)

    def build(
        self,
        pick_id: int,
        liked: Sequence[int],
        text: str = "",
        member: str | None = None,
        constraints: Constraints | None = None,
    ) -> Evidence:
        """The evidence for one pick; ``constraints`` (excluded genres, years) go to the grounding check."""
        pick = self.catalogue.get(pick_id)
        known = [m for m in liked if m in self.catalogue and m != pick_id]
        related: list[int] = []
        if known:
            sims = self.item_emb[self.catalogue.rows(known)] @ self.item_emb[self.catalogue.row(pick_id)]
            order = np.argsort(-sims)
            related = [known[i] for i in order[:2] if sims[i] > 0.25] or [known[int(order[0])]]
        related_movies = tuple(self.catalogue.get(m) for m in related)
        co = self.co_liked(related[0], pick_id) if related else None
        liked_tags = {t for m in related_movies for t in m.tags}
        words = set(text.lower().split())
        usable = [t for t in pick.tags if (constraints or Constraints()).admits_tag(t)]
        reason_tags = tuple(t for t in usable if t in liked_tags or t in words)[:3] or tuple(usable[:2])
        liked_genres = {g for m in related_movies for g in m.genres}
        matched = tuple(g for g in pick.genres if g in liked_genres)
        return Evidence(
            pick=pick,
            related_liked=related_movies,
            co_liked_count=co if co else None,
            reason_tags=reason_tags,
            matched_genres=matched,
            member=member,
            constraints=constraints or Constraints(),
        )
