"""Builds and caches the heavy parts (catalogue, index, model, LLM) from one :class:`Settings`."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agent.settings import Settings
from retrieval.errors import DataError, IndexCorruptError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from agent.explain.explainer import Explainer
    from agent.prior.conversational import ConversationPrior
    from ranking.protocol import ScoredList
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
        from ranking import CheckpointError, Reranker, train
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
        return ConversationPrior.load(redial, self.catalogue, half=self.settings.prior)

    @cached_property
    def explainer(self) -> Explainer:
        from agent.explain.explainer import LLMExplainer, TemplateExplainer
        from agent.explain.llm import LLMUnavailable, build_chat_model, parse_llm_spec

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
        self.retriever()  # opens the index; an unreadable one is reported, not fatal
        self.reranker()
        _ = self.explainer


class FallbackRanker:
    """Stand-in for the trained reranker when its checkpoint is corrupt: popularity + content.

    Same interface as :class:`ranking.reranker.Reranker` (``config``, ``score``, ``rank_all``, MMR
    diversity and popularity knobs). Built from the ratings and item vectors in about a second.
    """

    POPULARITY_WEIGHT = 0.5  # against the content similarity to liked movies (both z-scored)
    DISLIKE_WEIGHT = 0.5
    TEXT_WEIGHT = 1.0

    def __init__(self, item_ids: np.ndarray, log_pop: np.ndarray, item_emb: np.ndarray) -> None:
        from ranking.baselines import Content, zscore
        from ranking.config import RankerConfig

        self.config = RankerConfig()
        self._ids = np.asarray(item_ids, dtype=np.int64)
        self._row = {int(m): i for i, m in enumerate(self._ids)}
        self._content = Content(np.asarray(item_emb, dtype=np.float32))
        self._pop_z = zscore(np.asarray(log_pop, dtype=np.float32)[None, :])[0].astype(np.float64)

    @classmethod
    def build(
        cls, ratings: pd.DataFrame, item_ids: Sequence[int] | np.ndarray, item_emb: np.ndarray
    ) -> FallbackRanker:
        from ranking.baselines import Popularity
        from ranking.interactions import build_interactions

        return cls(
            np.asarray(item_ids), Popularity.fit(build_interactions(ratings, item_ids)).log_counts, item_emb
        )

    def _rows(self, ids: Sequence[int]) -> np.ndarray:
        return np.array(sorted({self._row[int(i)] for i in ids if int(i) in self._row}), dtype=np.int64)

    def _catalogue_scores(self, lr: np.ndarray, dr: np.ndarray) -> np.ndarray:
        from ranking.baselines import zscore

        s = self._pop_z.copy()
        if len(lr):
            s = self.POPULARITY_WEIGHT * s + zscore(self._content.score_batch([lr], [dr]))[0]
        if len(dr):
            s -= self.DISLIKE_WEIGHT * zscore(self._content.score_batch([dr], [lr]))[0]
        return s - self.config.popularity_balance * self._pop_z

    def _finish(self, rows: np.ndarray, scores: np.ndarray, k: int | None) -> ScoredList:
        from ranking.reranker import finish_ranking

        return finish_ranking(self._ids, self._content.item_emb, rows, scores, self.config, k)

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        *,
        exclude: Sequence[int] = (),
    ) -> ScoredList:
        """Rerank ``candidate_ids`` (unknown, liked, disliked and ``exclude`` ids are dropped)."""
        from ranking.baselines import zscore
        from ranking.protocol import ScoredList

        if text_sim is not None and len(text_sim) != len(candidate_ids):
            raise ValueError(f"text_sim has {len(text_sim)} values for {len(candidate_ids)} candidates")
        lr, dr = self._rows(liked), self._rows(disliked)
        banned = set(lr.tolist()) | set(dr.tolist()) | set(self._rows(exclude).tolist())
        ts = np.zeros(len(candidate_ids)) if text_sim is None else np.asarray(text_sim, dtype=np.float64)
        sims: dict[int, float] = {}
        for mid, t in zip(
            candidate_ids, np.nan_to_num(ts, nan=0.0, posinf=1.0, neginf=-1.0).tolist(), strict=True
        ):
            row = self._row.get(int(mid))
            if row is not None and row not in banned:
                sims[row] = max(sims.get(row, -np.inf), t)
        if not sims:
            return ScoredList()
        rows = np.array(sorted(sims), dtype=np.int64)
        scores = zscore(self._catalogue_scores(lr, dr)[rows][None, :])[0].astype(np.float64)
        if text_sim is not None and self.config.use_text_sim:
            scores += self.TEXT_WEIGHT * zscore(np.array([[sims[r] for r in rows]]))[0]
        return self._finish(rows, np.nan_to_num(scores), None)

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList:
        """The top ``k`` of the whole catalogue, never returning liked, disliked or ``exclude`` ids."""
        from ranking.protocol import ScoredList

        lr, dr = self._rows(liked), self._rows(disliked)
        scores = self._catalogue_scores(lr, dr)
        keep = np.ones(len(scores), dtype=bool)
        for r in (lr, dr, self._rows(exclude)):
            keep[r] = False
        rows = np.flatnonzero(keep)
        h = min(max(k, self.config.mmr_top), len(rows))
        if k <= 0 or h == 0:
            return ScoredList()
        head = np.argpartition(-scores[rows], h - 1)[:h] if h < len(rows) else np.arange(len(rows))
        return self._finish(rows[head], scores[rows[head]], k)


__all__ = ["FallbackRanker", "Resources", "locate_data"]
