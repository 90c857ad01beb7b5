"""Builds and caches the heavy parts (catalogue, index, model, LLM) from one :class:`Settings`."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agent.settings import Settings
from retrieval.errors import DataError, ReelChatError

if TYPE_CHECKING:
    import pandas as pd

    from agent.explain import Explainer
    from ranking.reranker import Reranker
    from retrieval.catalogue import Catalogue
    from retrieval.embeddings import Encoder
    from retrieval.index import MovieIndex
    from retrieval.retriever import Retriever

log = logging.getLogger(__name__)


def locate_data(settings: Settings, *, progress: bool = True) -> tuple[Path, Path | None]:
    """The ml-latest-small folder (found or downloaded) and the optional redial-ievalm folder."""
    from retrieval.movielens import ensure_movielens

    data_dir = settings.data_dir
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"{data_dir}: data folder does not exist (check REELCHAT_DATA_DIR or --data-dir)")
    ml_dir = ensure_movielens(data_dir, settings.cache_dir, progress=progress)
    redial = None
    for base in [p for p in (data_dir, settings.cache_dir) if p is not None]:
        cand = Path(base) / "redial-ievalm"
        if (cand / "id2info.json").is_file():
            redial = cand
            break
    return ml_dir, redial


class Resources:
    """Lazily loaded components shared by every session of one app (thread-safe construction)."""

    def __init__(self, settings: Settings, *, progress: bool = True) -> None:
        self.settings = settings
        self.progress = progress
        self._lock = threading.RLock()
        self._index: MovieIndex | None = None
        self._reranker: Reranker | None = None

    @cached_property
    def _dataset(self) -> tuple[Catalogue, pd.DataFrame]:
        from retrieval.catalogue_loader import load_catalogue, load_ratings

        ml_dir, redial = locate_data(self.settings, progress=self.progress)
        return load_catalogue(ml_dir, redial), load_ratings(ml_dir)

    @property
    def catalogue(self) -> Catalogue:
        return self._dataset[0]

    @property
    def ratings(self) -> pd.DataFrame:
        return self._dataset[1]

    @cached_property
    def encoder(self) -> Encoder:
        from retrieval.embeddings import EmbeddingConfig, Encoder

        return Encoder(EmbeddingConfig(device=self._device()))

    @cached_property
    def item_embeddings(self) -> np.ndarray:
        from retrieval.embeddings import catalogue_embeddings

        return catalogue_embeddings(
            self.catalogue, self.encoder, self.settings.cache_dir / "embeddings", progress=self.progress
        )

    def _device(self) -> str:
        try:
            return self.settings.resolved_device()
        except Exception:  # torch missing or broken CUDA: CPU still works
            return "cpu"

    def index(self, *, rebuild: bool = False) -> MovieIndex:
        from retrieval.index import IndexConfig, MovieIndex

        with self._lock:
            if self._index is None or rebuild:
                cfg = IndexConfig(
                    path=self.settings.index_dir,
                    chroma_url=self.settings.chroma_url,
                    cache_dir=self.settings.cache_dir / "embeddings",
                )
                self._index = MovieIndex.open(
                    cfg, self.catalogue, self.encoder, rebuild=rebuild, progress=self.progress
                )
            return self._index

    def retriever(self) -> Retriever:
        from retrieval.retriever import ChromaRetriever

        return ChromaRetriever(self.index())

    def exact_retriever(self) -> Retriever:
        from retrieval.retriever import ExactRetriever

        return ExactRetriever(self.catalogue, self.item_embeddings, self.encoder)

    @property
    def checkpoint_dir(self) -> Path:
        return self.settings.models_dir / "reranker"

    def reranker(self, *, retrain: bool = False) -> Reranker:
        """The CF reranker: trained on first use when no checkpoint exists, else loaded.

        A corrupt or mismatched checkpoint raises a one-line ``CheckpointError`` (``reelchat train``
        rebuilds it) unless ``retrain`` is set.
        """
        from ranking import Reranker, load, save, train

        with self._lock:
            if self._reranker is not None and not retrain:
                return self._reranker
            path = self.checkpoint_dir
            fingerprint = self.catalogue.fingerprint
            if retrain or not (path / "config.json").exists():
                log.warning("training the reranker (first run or retrain requested)")
                model = train(
                    self.ratings,
                    self.catalogue.ids,
                    self.item_embeddings,
                    device=self._device(),
                    progress=self.progress,
                )
                save(model, path, fingerprint)
            else:
                model = load(path, fingerprint)
            self._reranker = Reranker(model, device=self._device())
            return self._reranker

    @cached_property
    def explainer(self) -> Explainer:
        from agent.explain import LLMExplainer, TemplateExplainer
        from agent.llm import LLMUnavailable, build_chat_model, parse_llm_spec

        spec = parse_llm_spec(self.settings.llm)
        try:
            model = build_chat_model(
                spec, cache_dir=self.settings.cache_dir, device=self._device(), progress=self.progress
            )
        except LLMUnavailable as err:
            log.warning("LLM unavailable, using template explanations: %s", err)
            model = None
        if model is None:
            return TemplateExplainer()
        return LLMExplainer(model, self.catalogue, timeout_s=self.settings.llm_timeout_s)

    def prepare(self) -> None:
        """Everything a first start needs, with progress bars: data, index, model, LLM."""
        _ = self.catalogue
        self.index()
        self.reranker()
        _ = self.explainer


__all__ = ["ReelChatError", "Resources", "locate_data"]
