"""Chroma vector index over catalogue embeddings, with metadata filters run inside Chroma.

Vectors are always computed by :mod:`retrieval.embeddings` and passed to Chroma: the collection has no
embedding function, so Chroma never tries to download its default ONNX model.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel

from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder, VectorSearch, catalogue_embeddings, embeddings_fingerprint
from retrieval.errors import IndexCorruptError, ReelChatError
from retrieval.filtering import FilterMask, movie_metadata, where_clause
from retrieval.types import Filters, ScoredList

log = logging.getLogger(__name__)

INDEX_FORMAT_VERSION = 1
REBUILD_HINT = "run `reelchat index --rebuild`"
_FP_KEY = "reelchat_fingerprint"
_COUNT_KEY = "reelchat_count"


class IndexConfig(BaseModel):
    """Where the index lives and how it is built and searched."""

    path: Path  # persistent Chroma folder (also holds the embeddings cache unless cache_dir is set)
    chroma_url: str | None = None  # "http://127.0.0.1:8123": use a Chroma server instead of `path`
    collection: str = "movies"
    cache_dir: Path | None = None  # embeddings .npy cache; default path / "embeddings"
    # HNSW: ef_search is raised to k by Chroma for larger k; these give recall@200 >= 0.99 on 9,742 items
    ef_construction: int = 400
    ef_search: int = 800
    max_neighbors: int = 32
    batch_size: int = 1000
    # Filtered-search planner (Chroma's metadata `where` costs 15-130 ms at 9.7k movies and 2-3 s at
    # 100k; HNSW alone ~2 ms). Filters admitting at most `exact_max_admitted` movies are scored exactly
    # over that subset of the in-memory item matrix. Broader ones post-filter an over-fetched unfiltered
    # HNSW result of k = n / (admitted share) * 1.25 + 20 neighbours. Filters needing k >
    # `postfilter_max_k` are scored exactly when they admit at most `exact_max_rows` movies, else
    # post-filtered all the same. When too few pass, a subset of at most `exact_fallback_max` movies is
    # scored exactly at once; else the over-fetch is widened (4x, up to 4x max(k, postfilter_max_k))
    # before scoring the subset exactly, whatever its size. Chroma's `where` runs only with
    # post-filtering off (postfilter_max_k=0) for filters admitting over `exact_max_rows` movies, or with
    # exact scoring off (exact_max_admitted=0) when post-filtering is off or falls short.
    exact_max_admitted: int = 3000
    postfilter_max_k: int = 2000
    exact_max_rows: int = 60_000
    exact_fallback_max: int = 10_000

    @property
    def embeddings_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.path / "embeddings"


def _is_empty(filters: Filters | None) -> bool:
    return filters is None or filters == Filters()


class MovieIndex(VectorSearch):
    """A Chroma collection of movie vectors; build with :meth:`open`."""

    def __init__(
        self, config: IndexConfig, catalogue: Catalogue, encoder: Encoder, client: Any, collection: Any
    ):
        self.config = config
        self.catalogue = catalogue
        self.encoder = encoder
        self._client = client
        self._collection = collection
        self.mask = FilterMask(catalogue)
        self._vectors: np.ndarray | None = None  # item matrix (unit rows), fetched from Chroma on demand

    # ----------------------------------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        config: IndexConfig,
        catalogue: Catalogue,
        encoder: Encoder,
        *,
        rebuild: bool = False,
        progress: bool = True,
        vectors: np.ndarray | None = None,
    ) -> MovieIndex:
        """Reuse the collection if its fingerprint and count match the catalogue, else (re)build it.

        Corrupt index files raise :class:`IndexCorruptError` unless ``rebuild`` is set, in which case the
        index folder is wiped and rebuilt. ``vectors`` (rows aligned with ``catalogue.ids``) are indexed
        instead of encoding the catalogue (benchmarks on generated catalogues) and kept for exact scoring.
        """
        fingerprint = index_fingerprint(config, catalogue, encoder)
        try:
            client = _connect(config)
            collection = _reusable(client, config, fingerprint, len(catalogue), rebuild)
        except ReelChatError:
            raise
        except Exception as err:
            if not rebuild or config.chroma_url is not None:
                where = config.chroma_url or config.path
                raise IndexCorruptError(
                    f"vector index at {where} is unreadable ({_one_line(err)}); {REBUILD_HINT}"
                ) from err
            log.warning("vector index at %s is corrupt (%s); wiping and rebuilding", config.path, err)
            _wipe(config.path)
            client = _connect(config)
            collection = None
        if collection is None:
            collection = _build(client, config, catalogue, encoder, fingerprint, progress, vectors)
        index = cls(config, catalogue, encoder, client, collection)
        if vectors is not None:
            index._vectors = _unit_rows(vectors)
        return index

    def __len__(self) -> int:
        return int(self._collection.count())

    def close(self) -> None:
        """Release the persistent store (its files may then be moved or replaced); the index is unusable."""
        if self.config.chroma_url is None:
            release(self.config.path)

    # ----------------------------------------------------------------------------------------- search
    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        """Top ``n`` admitted, non-excluded movies by cosine similarity (``1 - distance``), best first."""
        total = len(self.catalogue)
        excluded = {int(i) for i in exclude_ids if int(i) in self.catalogue}
        if n <= 0 or total == 0:
            return ScoredList(meta={"retriever": "chroma", "strategy": "none"})
        query = np.asarray(vec, dtype=np.float32).reshape(-1)
        if _is_empty(filters):
            ids, scores = self._query(query, min(total, n + len(excluded)), None)
            return self._result(ids, scores, excluded, None, n, "hnsw")
        assert filters is not None
        admitted = self.mask(filters)
        n_admitted = int(admitted.sum())
        n_excluded = int(admitted[self.catalogue.rows(excluded)].sum()) if excluded else 0
        wanted = min(n, n_admitted - n_excluded)
        if wanted <= 0:
            return ScoredList(meta={"retriever": "chroma", "strategy": "empty"})
        cfg = self.config
        exact_ok = cfg.exact_max_admitted > 0
        if exact_ok and n_admitted <= cfg.exact_max_admitted:
            return self._exact_subset(query, admitted, excluded, n)
        k = min(total, math.ceil((n + n_excluded) * total / n_admitted * 1.25) + 20)
        small = exact_ok and n_admitted <= cfg.exact_max_rows
        if k > cfg.postfilter_max_k and small:
            return self._exact_subset(query, admitted, excluded, n)
        if cfg.postfilter_max_k > 0:
            cap = min(total, 4 * max(k, cfg.postfilter_max_k))
            while True:
                ids, scores = self._query(query, k, None)
                result = self._result(ids, scores, excluded, admitted, n, "postfilter")
                if len(result) >= wanted:
                    return result
                # the query's neighbourhood is mostly filtered out: score a small subset exactly, else
                # widen the over-fetch (exact scoring of a large subset costs more), then score exactly
                if small and (n_admitted <= cfg.exact_fallback_max or k >= cap):
                    return self._exact_subset(query, admitted, excluded, n, "postfilter+exact")
                if k >= cap:
                    break
                k = min(cap, 4 * k)
            if exact_ok:  # rare: even the widest over-fetch fell short; a scan beats Chroma's `where`
                return self._exact_subset(query, admitted, excluded, n, "postfilter+exact")
        where = where_clause(filters, self.mask.genres)
        ids, scores = self._query(query, min(total, n + n_excluded), where)
        return self._result(ids, scores, excluded, None, n, "where")

    def _exact_subset(
        self,
        query: np.ndarray,
        admitted: np.ndarray,
        excluded: set[int],
        n: int,
        strategy: str = "exact-subset",
    ) -> ScoredList:
        allowed = admitted.copy()
        if excluded:
            allowed[self.catalogue.rows(excluded)] = False
        rows = np.flatnonzero(allowed)
        scores = self.vectors()[rows] @ (query / (np.linalg.norm(query) or 1.0))
        if len(rows) > n > 0:  # keep the top n and every score tied with the n-th, then sort those
            cut = np.partition(scores, len(scores) - n)[len(scores) - n]
            head = np.flatnonzero(scores >= cut)
            rows, scores = rows[head], scores[head]
        order = np.lexsort((rows, -scores))[:n]  # by score, ties by ascending id
        if len(order):  # the vectors are in memory: a point lookup still finds a dropped or broken index
            self._collection.get(ids=[str(int(self.catalogue.ids[rows[order[0]]]))], include=[])
        return ScoredList(
            ids=tuple(int(i) for i in self.catalogue.ids[rows[order]]),
            scores=tuple(float(s) for s in scores[order]),
            meta={"retriever": "chroma", "strategy": strategy},
        )

    def vectors(self) -> np.ndarray:
        """The indexed vectors as unit rows aligned with ``catalogue.ids``.

        Kept from the build, else read from the embeddings cache, else from Chroma in pages (once).
        """
        if self._vectors is None:
            self._vectors = _unit_rows(self._load_vectors())
        return self._vectors

    def _load_vectors(self) -> np.ndarray:
        path = (
            self.config.embeddings_dir
            / f"embeddings-{embeddings_fingerprint(self.catalogue, self.encoder)}.npy"
        )
        with contextlib.suppress(OSError, ValueError):
            cached = np.load(path)
            if cached.shape[0] == len(self.catalogue):
                return np.asarray(cached, dtype=np.float32)
        matrix: np.ndarray | None = None
        page = max(1, int(self.config.batch_size) * 10)
        for offset in range(0, len(self.catalogue), page):
            got = self._collection.get(include=["embeddings"], limit=page, offset=offset)
            if not len(got["ids"]):
                break
            if matrix is None:
                matrix = np.zeros((len(self.catalogue), len(got["embeddings"][0])), dtype=np.float32)
            matrix[self.catalogue.rows(int(i) for i in got["ids"])] = np.asarray(got["embeddings"])
        return matrix if matrix is not None else np.zeros((len(self.catalogue), 0), dtype=np.float32)

    def _query(self, vec: np.ndarray, k: int, where: dict[str, Any] | None) -> tuple[list[int], list[float]]:
        res = self._collection.query(query_embeddings=[vec], n_results=k, where=where, include=["distances"])
        ids = [int(i) for i in res["ids"][0]]
        return ids, [1.0 - float(d) for d in res["distances"][0]]

    def _result(
        self,
        ids: list[int],
        scores: list[float],
        excluded: set[int],
        admitted: np.ndarray | None,
        n: int,
        strategy: str,
    ) -> ScoredList:
        keep = [
            (i, s)
            for i, s in zip(ids, scores, strict=True)
            if i not in excluded and (admitted is None or admitted[self.catalogue.row(i)])
        ][:n]
        return ScoredList(
            ids=tuple(i for i, _ in keep),
            scores=tuple(s for _, s in keep),
            meta={"retriever": "chroma", "strategy": strategy},
        )


# --------------------------------------------------------------------------------------------- helpers
def index_fingerprint(config: IndexConfig, catalogue: Catalogue, encoder: Encoder) -> str:
    """Catalogue + embedding model + document format + HNSW build parameters."""
    return (
        f"{embeddings_fingerprint(catalogue, encoder)}-v{INDEX_FORMAT_VERSION}"
        f"-ef{config.ef_construction}-m{config.max_neighbors}"
    )


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.where(norms == 0, 1, norms), dtype=np.float32)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:200]


def _connect(config: IndexConfig) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if config.chroma_url is None:
        config.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.path), settings=settings)
    url = urlsplit(config.chroma_url)
    if not url.hostname:
        raise ReelChatError(f"bad chroma_url {config.chroma_url!r}: expected e.g. http://127.0.0.1:8000")
    port = url.port or (443 if url.scheme == "https" else 8000)
    try:
        client = chromadb.HttpClient(
            host=url.hostname, port=port, ssl=url.scheme == "https", settings=settings
        )
        client.heartbeat()
    except Exception as err:
        raise ReelChatError(
            f"cannot reach the Chroma server at {config.chroma_url} ({_one_line(err)}); "
            "start it with `chroma run --path DIR --port PORT` or unset chroma_url"
        ) from err
    return client


def _reusable(client: Any, config: IndexConfig, fingerprint: str, count: int, rebuild: bool) -> Any:
    """The existing collection if it is current, else ``None`` (after deleting a stale one)."""
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    if config.collection not in names:
        return None
    collection = client.get_collection(config.collection, embedding_function=None)
    meta = collection.metadata or {}
    actual = collection.count()
    if rebuild:
        log.info("rebuilding vector index %s (requested)", config.collection)
    elif meta.get(_FP_KEY) != fingerprint or actual != count:
        log.warning(
            "vector index %s is stale (fingerprint %s, %d items; want %s, %d items): rebuilding",
            config.collection,
            meta.get(_FP_KEY),
            actual,
            fingerprint,
            count,
        )
    else:
        if count:  # probe the HNSW segment: a broken one fails here, not at the first user query
            collection.query(query_embeddings=[np.ones(_dim(collection), np.float32)], n_results=1)
        return collection
    client.delete_collection(config.collection)
    return None


def _dim(collection: Any) -> int:
    got = collection.get(limit=1, include=["embeddings"])
    return len(got["embeddings"][0])


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _build(
    client: Any,
    config: IndexConfig,
    catalogue: Catalogue,
    encoder: Encoder,
    fingerprint: str,
    progress: bool,
    vectors: np.ndarray | None = None,
) -> Any:
    from tqdm import tqdm

    log.info("building vector index %s over %d movies", config.collection, len(catalogue))
    if vectors is None:
        vectors = catalogue_embeddings(catalogue, encoder, config.embeddings_dir, progress=progress)
    collection = client.create_collection(
        config.collection,
        configuration={
            "hnsw": {
                "space": "cosine",
                "ef_construction": config.ef_construction,
                "ef_search": config.ef_search,
                "max_neighbors": config.max_neighbors,
            }
        },
        metadata={_FP_KEY: fingerprint, _COUNT_KEY: len(catalogue)},
        embedding_function=None,
    )
    genres = catalogue.genres
    movies = list(catalogue)
    ids = [str(int(i)) for i in catalogue.ids]
    size = max(1, min(config.batch_size, int(client.get_max_batch_size())))
    with tqdm(total=len(ids), desc="indexing movies", unit="movie", disable=not progress) as bar:
        for part in _batches(len(ids), size):
            collection.add(
                ids=ids[part],
                embeddings=vectors[part],
                metadatas=[movie_metadata(m, genres) for m in movies[part]],
            )
            bar.update(part.stop - part.start)
    return collection


def release(path: Path) -> None:
    """Stop Chroma's in-process system for ``path`` (Chroma caches one per folder and process)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        with contextlib.suppress(Exception):  # a corrupt system may fail to stop; it is discarded anyway
            system.stop()


def _wipe(path: Path) -> None:
    """Delete Chroma's files under ``path`` (its sqlite file and segment folders), nothing else."""
    release(path)
    for child in path.glob("*"):
        if child.name.startswith("chroma.sqlite3"):
            child.unlink()
        elif child.is_dir() and len(child.name) == 36 and child.name.count("-") == 4:  # segment uuid
            shutil.rmtree(child)
