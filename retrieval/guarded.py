"""A Chroma retriever whose failures surface as one-line :class:`IndexCorruptError` with the rebuild hint."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import IndexCorruptError, ReelChatError
from retrieval.types import Filters, ScoredList

if TYPE_CHECKING:
    from retrieval.index import MovieIndex


class GuardedRetriever:
    """A :class:`ChromaRetriever` whose failures are one-line ``IndexCorruptError`` with the
    rebuild hint (the index folder deleted, corrupted or the server gone while the app runs)."""

    def __init__(self, index: MovieIndex | None, error: IndexCorruptError | None, *, where: object) -> None:
        self.index = index
        self.error = error
        self.where = where

    def _fail(self, err: Exception) -> IndexCorruptError:
        from retrieval.index import REBUILD_HINT

        first = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), type(err).__name__)
        return IndexCorruptError(f"vector index at {self.where} failed ({first[:160]}); {REBUILD_HINT}")

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        if self.index is None:
            raise self.error or IndexCorruptError(f"vector index at {self.where} is not available")
        return self.search_vector(self.index.encoder.encode([text])[0], filters, exclude_ids, n)

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        if self.index is None:
            raise self.error or IndexCorruptError(f"vector index at {self.where} is not available")
        try:
            return self.index.search_vector(vec, filters, exclude_ids, n)
        except ReelChatError:
            raise
        except Exception as err:
            raise self._fail(err) from err
