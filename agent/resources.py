"""Builds and caches the heavy parts (catalogue, index, model, LLM) from one :class:`Settings`."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.settings import Settings
from retrieval.errors import DataError, IndexCorruptError

if TYPE_CHECKING:
    import pandas as pd
    from langchain_core.language_models import BaseChatModel

    from agent.explain.explainer import Explainer
    from agent.prior.conversational import ConversationPrior
    from ranking.fallback import FallbackRanker
    from ranking.reranker import Reranker
    from retrieval.catalogue import Catalogue
    from retrieval.dialogue_encoder import DialogueRetriever, TrainConfig
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


def locate_redial_train(settings: Settings) -> Path | None:
    """The optional ``redial-train/`` folder (ReDial train dialogues) in the data or cache folder."""
    for base in [p for p in (settings.data_dir, settings.cache_dir) if p is not None]:
        cand = Path(base) / "redial-train"
        if cand.is_dir():
            return cand
    return None


class Resources:
    """Lazily loaded components shared by every session of one app (thread-safe construction)."""

    def __init__(self, settings: Settings, *, progress: bool = True) -> None:
        self.settings = settings
        self.progress = progress
        self._lock = threading.RLock()
        self._index: MovieIndex | None = None
        self._index_error: IndexCorruptError | None = None
        self._reranker: Reranker | FallbackRanker | None = None
        self.notices: list[str] = []  # one line per degraded component, shown to users and logged
        self._reranker_stamp: str | None = None

    def _degrade(self, notice: str) -> None:
        log.error("%s", notice)
        if notice not in self.notices:
            self.notices.append(notice)

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
                self._index_error = None
            return self._index

    def retriever(self) -> Retriever:
        """The Chroma retriever; when the index is unreadable every search raises a one-line
        :class:`IndexCorruptError` with the rebuild hint, so the pipeline falls back to exact search."""
        index: MovieIndex | None = None
        if self._index_error is None:  # an unreadable index is not retried until a rebuild
            try:
                index = self.index()
            except IndexCorruptError as err:
                self._index_error = err  # each turn's reply says so (the pipeline's exact-search notice)
                log.error("search index unreadable, exact search serves instead: %s", err)
        from retrieval.guarded import GuardedRetriever

        return GuardedRetriever(
            index, self._index_error, where=self.settings.chroma_url or self.settings.index_dir
        )

    def exact_retriever(self) -> Retriever:
        from retrieval.retriever import ExactRetriever

        return ExactRetriever(self.catalogue, self.item_embeddings, self.encoder)

    @property
    def checkpoint_dir(self) -> Path:
        return self.settings.models_dir / "reranker"

    def reranker(self, *, retrain: bool = False) -> Reranker | FallbackRanker:
        """The CF reranker: trained on first use when no checkpoint exists, else loaded.

        A corrupt or mismatched checkpoint does not stop the app: a :class:`FallbackRanker`
        (popularity + content, built in a second without training) serves instead, and a one-line
        notice with the ``reelchat train`` hint is logged and added to :attr:`notices`.
        """
        from ranking import CheckpointError, FallbackRanker, Reranker, train
        from ranking.registry import ModelRegistry

        with self._lock:
            registry = ModelRegistry(self.checkpoint_dir)
            stamp = registry.stamp()  # changes when `reelchat finetune` / `model rollback` flips CURRENT
            if self._reranker is not None and not retrain and stamp == self._reranker_stamp:
                return self._reranker
            fingerprint = self.catalogue.fingerprint
            try:
                model = None if retrain else registry.load_current(fingerprint)
            except CheckpointError as err:
                self._reranker_stamp = stamp  # not retried every turn; the next publish / rollback retries
                if isinstance(self._reranker, Reranker):  # a broken new version: keep serving the loaded one
                    log.error("new ranking model not loaded, keeping the current one: %s", err)
                    return self._reranker
                self._degrade(
                    f"The ranking model could not be loaded ({err}); using a simpler popularity and "
                    "similarity ranking. Run `reelchat train` to rebuild it."
                )
                self._reranker = FallbackRanker.build(self.ratings, self.catalogue.ids, self.item_embeddings)
                return self._reranker
            if model is None:
                log.warning("training the reranker (first run or retrain requested)")
                model = train(
                    self.ratings,
                    self.catalogue.ids,
                    self.item_embeddings,
                    device=self._device(),
                    progress=self.progress,
                )
                registry.publish(model, fingerprint, info={"source": "train"})
                stamp = registry.stamp()
            self._reranker = Reranker(model, device=self._device())
            self._reranker_stamp = stamp
            return self._reranker

    @cached_property
    def prior(self) -> ConversationPrior | None:
        """The conversational prior from ReDial dialogues beside the data, if any (``settings.prior``)."""
        from agent.prior.conversational import ConversationPrior

        if self.settings.prior == "none":
            return None
        _, redial = locate_data(self.settings, progress=False)
        if redial is None:
            return None
        train = locate_redial_train(self.settings)
        return ConversationPrior.load(redial, self.catalogue, half=self.settings.prior, train_dir=train)

    def dialogue_retriever(
        self,
        kind: str = "tuned",
        *,
        train: bool = False,
        config: TrainConfig | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> DialogueRetriever | None:
        """The dialogue-context retriever: ``base`` (the index's MiniLM, untuned) or ``tuned`` (fine-tuned on
        ``redial-train/``: from the cache, trained now when ``train``); None when it is not available."""
        from retrieval.dialogue_encoder import DialogueRetriever
        from retrieval.dialogue_training import encoder_for_folder

        if kind == "base":
            return DialogueRetriever(self.catalogue, self.encoder, self.item_embeddings, "base")
        train_dir = locate_redial_train(self.settings)
        if train_dir is None:
            return None
        _, redial = locate_data(self.settings, progress=False)
        id2info = redial / "id2info.json" if redial is not None else None
        path = encoder_for_folder(
            self.catalogue,
            train_dir,
            id2info,
            self.item_embeddings,
            self.settings.cache_dir,
            config,
            train=train,
            device=self._device(),
            progress=progress,
        )
        if path is None:
            return None
        return DialogueRetriever.open(self.catalogue, self.item_embeddings, path, device=self._device())

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The configured LLM (``settings.llm``), loaded once; ``None`` when it is ``none`` or unavailable."""
        from agent.explain.llm import LLMUnavailable, build_chat_model, parse_llm_spec

        spec = parse_llm_spec(self.settings.llm)
        try:
            return build_chat_model(
                spec,
                cache_dir=self.settings.cache_dir,
                device=self._device(),
                progress=self.progress,
                timeout_s=self.settings.llm_timeout_s,
            )
        except LLMUnavailable as err:
            log.warning("LLM unavailable, using template explanations: %s", err)
            return None

    @cached_property
    def explainer(self) -> Explainer:
        """``settings.explainer`` over the chat model; the templates never load the LLM."""
        from agent.explain.choice import build_explainer, needs_llm

        name = self.settings.explainer
        model = self.chat_model if needs_llm(name) else None
        return build_explainer(name, model, self.catalogue, self.settings.llm_timeout_s)

    def with_settings(self, **update: Any) -> Resources:
        """A copy sharing everything loaded so far, with ``update`` applied to the settings; the LLM and
        the explainer are built again from the new settings on first use."""
        clone = copy.copy(self)
        clone.settings = self.settings.model_copy(update=update)
        for key in ("chat_model", "explainer"):
            clone.__dict__.pop(key, None)
        return clone

    def prepare(self) -> None:
        """Everything a first start needs, with progress bars: data, index, model, LLM."""
        _ = self.catalogue
        self.retriever()  # opens the index; an unreadable one is reported, not fatal
        self.reranker()
        _ = self.explainer


__all__ = ["Resources", "locate_data", "locate_redial_train"]
