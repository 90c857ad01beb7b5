"""Candidate retrieval: the :class:`Retriever` protocol, its Chroma and exact (numpy) implementations."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder, VectorSearch, catalogue_embeddings
from retrieval.errors import ReelChatError
from retrieval.index import IndexConfig, MovieIndex
from retrieval.types import Filters, ScoredList

log = logging.getLogger(__name__)


@runtime_checkable
class Retriever(Protocol):
    """Top-``n`` movies by similarity to a text or a vector, honouring filters and exclusions."""

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList: ...

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList: ...


class ChromaRetriever:
    """Retriever backed by a :class:`MovieIndex` (approximate HNSW search, filters inside Chroma)."""

    def __init__(self, index: MovieIndex) -> None:
        self.index = index

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        return self.index.search(text, filters, exclude_ids, n)

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        return self.index.search_vector(vec, filters, exclude_ids, n)


class ExactRetriever(VectorSearch):
    """Exact cosine search over the item matrix; filters use ``Filters.admits`` on the catalogue.

    The benchmark baseline, and the fallback when the Chroma index cannot be used.
    """

    _MASK_CACHE = 256

    def __init__(self, catalogue: Catalogue, matrix: np.ndarray, encoder: Encoder) -> None:
        if matrix.shape[0] != len(catalogue):
            raise ValueError(f"item matrix has {matrix.shape[0]} rows for {len(catalogue)} movies")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.catalogue = catalogue
        self.matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        self.encoder = encoder
        self._masks: OrderedDict[Filters, np.ndarray] = OrderedDict()

    @classmethod
    def from_catalogue(
        cls, catalogue: Catalogue, encoder: Encoder, cache_dir: Path | None = None
    ) -> ExactRetriever:
        """Build from the (cached) catalogue embeddings."""
        return cls(catalogue, catalogue_embeddings(catalogue, encoder, cache_dir), encoder)

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        meta = {"retriever": "exact"}
        if n <= 0 or len(self.catalogue) == 0:
            return ScoredList(meta=meta)
        q = np.asarray(vec, dtype=np.float32).reshape(-1)
        q = q / (np.linalg.norm(q) or 1.0)
        scores = self.matrix @ q
        allowed = self._mask(filters).copy()
        excluded = [int(i) for i in exclude_ids if int(i) in self.catalogue]
        if excluded:
            allowed[self.catalogue.rows(excluded)] = False
        rows = np.flatnonzero(allowed)
        if rows.size == 0:
            return ScoredList(meta=meta)
        sub = scores[rows]
        k = min(n, rows.size)
        top = np.argpartition(-sub, k - 1)[:k] if k < rows.size else np.arange(rows.size)
        top = top[np.lexsort((rows[top], -sub[top]))]  # by score, ties by row (= ascending id)
        return ScoredList(
            ids=tuple(int(self.catalogue.ids[r]) for r in rows[top]),
            scores=tuple(float(s) for s in sub[top]),
            meta=meta,
        )

    def _mask(self, filters: Filters | None) -> np.ndarray:
        key = filters or Filters()
        mask = self._masks.get(key)
        if mask is None:
            if key == Filters():
                mask = np.ones(len(self.catalogue), dtype=bool)
            else:
                mask = np.fromiter((key.admits(m) for m in self.catalogue), bool, len(self.catalogue))
            self._masks[key] = mask
            if len(self._masks) > self._MASK_CACHE:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(key)
        return mask


class FallbackRetriever:
    """Uses ``primary``; once it fails with a Chroma or ReelChat error, logs and uses ``fallback()``.

    ``fallback`` is a factory, called at the first failure (building an exact retriever may need embeddings).
    """

    def __init__(self, primary: Retriever, fallback: Callable[[], Retriever]) -> None:
        self.primary = primary
        self._make_fallback = fallback
        self._fallback: Retriever | None = None

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        return self._call("search", text, filters, exclude_ids, n)

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        return self._call("search_vector", vec, filters, exclude_ids, n)

    def _call(self, method: str, query: object, *args: object) -> ScoredList:
        from chromadb.errors import ChromaError

        if self._fallback is None:
            try:
                return getattr(self.primary, method)(query, *args)
            except (ChromaError, ReelChatError) as err:
                log.warning("vector index failed (%s); using exact search from now on", _first_line(err))
                self._fallback = self._make_fallback()
        return getattr(self._fallback, method)(query, *args)

    @property
    def failed(self) -> bool:
        return self._fallback is not None


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def open_retriever(
    config: IndexConfig,
    catalogue: Catalogue,
    encoder: Encoder,
    *,
    rebuild: bool = False,
    progress: bool = True,
) -> Retriever:
    """Chroma retriever with exact-search fallback; exact search alone if the index cannot be opened."""

    def exact() -> Retriever:
        return ExactRetriever.from_catalogue(catalogue, encoder, config.embeddings_dir)

    try:
        index = MovieIndex.open(config, catalogue, encoder, rebuild=rebuild, progress=progress)
    except ReelChatError as err:
        log.warning("%s; falling back to exact search", err)
        return exact()
    return FallbackRetriever(ChromaRetriever(index), exact)
