"""The candidate pool of one request: vector search (exact search when the index fails), CF and prior."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.errors import ReelChatError
from retrieval.retriever import Retriever
from retrieval.types import Filters, ScoredList

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Found:
    """What a search returned, and the one-line notice when it came from the fallback."""

    hits: ScoredList
    notice: str | None = None


def search(
    retriever: Retriever,
    fallback: Retriever | None,
    vec: np.ndarray,
    filters: Filters,
    exclude: Collection[int],
    n: int,
) -> Found:
    """Vector search; when the index fails (deleted, corrupt, server down), exact search with a notice."""
    try:
        return Found(retriever.search_vector(vec, filters=filters, exclude_ids=exclude, n=n))
    except Exception as err:  # a broken index must not end the turn
        if fallback is None:
            raise
        reason = ReelChatError(str(err).splitlines()[0] if str(err) else type(err).__name__)
        log.error("vector index failed, using exact search: %s", reason)
        notice = f"The search index has a problem ({reason}); results come from a slower exact search."
        return Found(fallback.search_vector(vec, filters=filters, exclude_ids=exclude, n=n), notice)


def admitted(
    catalogue: Catalogue,
    ids: Iterable[int],
    filters: Filters,
    exclude: Collection[int],
    pool: Collection[int],
) -> Iterable[int]:
    """The ids of ``ids`` that are in the catalogue, meet ``filters`` and are neither excluded nor pooled."""
    for mid in ids:
        movie = catalogue.find(mid)
        if movie is not None and mid not in exclude and mid not in pool and filters.admits(movie):
            yield int(mid)
