"""Text search for people: semantic similarity plus a small popularity prior.

Pure cosine similarity over short movie documents ranks obscure near-duplicates ("Ghost Ship",
"Galaxy of Terror") above the movie most people mean ("Alien"); a log-popularity prior of weight ~0.1
breaks those near-ties without overriding clear semantic matches.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.retriever import Retriever
from retrieval.types import Filters, ScoredList

DEFAULT_PRIOR = 0.1


def popularity(catalogue: Catalogue) -> dict[int, float]:
    """log(1 + ratings) scaled to [0, 1] over the catalogue."""
    counts = np.array([m.rating_count for m in catalogue], dtype=np.float64)
    top = np.log1p(counts.max()) if len(counts) and counts.max() > 0 else 1.0
    return {int(mid): float(np.log1p(c) / top) for mid, c in zip(catalogue.ids, counts, strict=True)}


def search(
    retriever: Retriever,
    catalogue: Catalogue,
    text: str,
    *,
    filters: Filters | None = None,
    exclude_ids: Collection[int] = (),
    k: int = 10,
    prior: float = DEFAULT_PRIOR,
    pool: int = 200,
) -> ScoredList:
    """Top ``k`` by ``similarity + prior * popularity`` among the ``pool`` most similar movies."""
    found = retriever.search(text, filters=filters, exclude_ids=exclude_ids, n=max(pool, k))
    if prior == 0.0 or not found.ids:
        return ScoredList(found.ids[:k], found.scores[:k], dict(found.meta))
    pop = popularity(catalogue)
    scored = sorted(
        ((s + prior * pop.get(mid, 0.0), mid) for mid, s in zip(found.ids, found.scores, strict=True)),
        key=lambda t: (-t[0], t[1]),
    )[:k]
    return ScoredList(tuple(m for _, m in scored), tuple(float(s) for s, _ in scored), dict(found.meta))
