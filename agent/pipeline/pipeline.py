"""retrieve → rerank → diversify → hard-constraint check → top k."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from agent.prior.blend import BlendWeights, PriorBlend, TurnContext, genre_share
from agent.prior.conversational import ConversationPrior
from agent.records import Step
from agent.understanding.state import SessionState
from ranking.protocol import ScoredList
from ranking.reranker import mmr_order
from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder
from retrieval.errors import ReelChatError
from retrieval.retriever import Retriever
from retrieval.types import Filters

log = logging.getLogger(__name__)


class PipelineConfig(BaseModel):
    n_retrieve: int = 200  # candidates from the vector store
    n_cf: int = 1000  # extra candidates from the CF model over the whole catalogue (when movies are liked)
    n_prior: int = 1000  # with a conversational prior: its most recommended movies join the candidates
    n_related: int = 300  # ... and the movies most often named together with this conversation's
    text_weight: float = 1.0  # weight of the mood text against the liked-movies centroid in the query vector
    diversity: float = 0.1  # base MMR trade-off; "something else" raises it per session
    genre_boost: float = 0.5  # without a prior: score bonus for having the genres the user likes (z units)
    # used when a conversational prior is available
    blend: BlendWeights = Field(default_factory=BlendWeights.load)


@dataclass(frozen=True, slots=True)
class PipelineResult:
    picks: tuple[tuple[int, float], ...]
    steps: tuple[Step, ...]
    shortfall: str | None = None


class Pipeline:
    """Stateless over a session's :class:`SessionState`; shared by all sessions."""

    def __init__(
        self,
        catalogue: Catalogue,
        retriever: Retriever,
        reranker,  # ranking.reranker.Reranker  # type: ignore[no-untyped-def]
        item_emb: np.ndarray,
        encoder: Encoder,
        config: PipelineConfig | None = None,
        fallback_retriever: Retriever | None = None,
        prior: ConversationPrior | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.retriever = retriever
        self.fallback_retriever = fallback_retriever
        self.reranker = reranker
        self.item_emb = item_emb
        self.encoder = encoder
        self.config = config or PipelineConfig()
        self.notice: str | None = None
        self.blend = PriorBlend(catalogue, item_emb, prior, self.config.blend) if prior is not None else None

    def query_vector(self, liked: Sequence[int], text: str) -> np.ndarray | None:
        parts = []
        rows = [self.catalogue.row(m) for m in liked if m in self.catalogue]
        if rows:
            c = self.item_emb[rows].mean(axis=0)
            parts.append(c / (np.linalg.norm(c) + 1e-9))
        if text.strip():
            parts.append(self.config.text_weight * self.encoder.encode([text])[0])
        if not parts:
            return None
        v = np.sum(parts, axis=0)
        return (v / (np.linalg.norm(v) + 1e-9)).astype(np.float32)

    def _retrieve(self, vec: np.ndarray, filters: Filters, exclude: set[int], n: int):  # type: ignore[no-untyped-def]
        try:
            return self.retriever.search_vector(vec, filters=filters, exclude_ids=exclude, n=n)
        except Exception as err:  # a broken index (deleted, corrupt, server down) must not end the turn
            if self.fallback_retriever is None:
                raise
            err = ReelChatError(str(err).splitlines()[0] if str(err) else type(err).__name__)
            log.error("vector index failed, using exact search: %s", err)
            self.notice = f"The search index has a problem ({err}); results come from a slower exact search."
            return self.fallback_retriever.search_vector(vec, filters=filters, exclude_ids=exclude, n=n)

    def run(self, state: SessionState, k: int | None = None) -> PipelineResult:
        k = k or state.k
        filters = Filters(
            state.year_min, state.year_max, tuple(state.genres_required), tuple(state.genres_excluded)
        )
        exclude = state.excluded_ids()
        liked = list(state.liked)
        disliked = list(state.disliked)
        steps: list[Step] = []
        self.notice = None

        t0 = time.perf_counter()
        vec = self.query_vector(liked, state.text)
        cand: dict[int, float] = {}
        if vec is not None:
            found = self._retrieve(vec, filters, exclude, self.config.n_retrieve)
            cand.update(zip(found.ids, found.scores, strict=True))
        n_ret = len(cand)
        if liked or vec is None:
            # CF candidates over the whole catalogue (or popularity when nothing is known yet)
            top = self.reranker.rank_all(liked, disliked, exclude=sorted(exclude), k=self.config.n_cf * 4)
            for mid in top.ids:
                if len(cand) >= n_ret + self.config.n_cf:
                    break
                movie = self.catalogue.find(mid)
                if movie is not None and mid not in cand and filters.admits(movie):
                    cand[mid] = float("nan")
        seeds = [*liked, *disliked, *state.seen, *state.shown]
        if self.blend is not None:
            for mid in self.blend.extra_candidates(seeds, self.config.n_prior, self.config.n_related):
                movie = self.catalogue.find(mid)
                if movie is not None and mid not in cand and mid not in exclude and filters.admits(movie):
                    cand[mid] = float("nan")
        steps.append(Step("retrieve", f"{n_ret} from the index, {len(cand) - n_ret} from CF/prior", _ms(t0)))
        if not cand:
            return PipelineResult((), tuple(steps), self._shortfall(0, k))

        t1 = time.perf_counter()
        ids = list(cand)
        if vec is not None:
            sims = self.item_emb[self.catalogue.rows(ids)] @ vec
        else:
            sims = np.zeros(len(ids), dtype=np.float32)
        diversity = min(1.0, self.config.diversity + state.diversity)
        if self.blend is None:
            # liked genres lift movies after the CF score, so diversity comes after that lift
            reranker = self._with_knobs(0.0 if state.genres_liked else diversity, state.popularity_bias)
            text_sim = sims.tolist() if vec is not None else None
            ranked = reranker.score(liked, disliked, ids, text_sim=text_sim, exclude=sorted(exclude))
            if state.genres_liked:
                ranked = self._prefer_genres(ranked, state.genres_liked, diversity)
        else:
            reranker = self._with_knobs(0.0, state.popularity_bias)
            cf = reranker.score(liked, disliked, ids, exclude=sorted(exclude))
            text_vec = self.encoder.encode([state.text])[0] if state.text.strip() else None
            searching = bool(filters.genres_required) or (filters.year_min, filters.year_max) != (None, None)
            ctx = TurnContext(text_vec, tuple(liked), tuple(seeds), tuple(state.genres_liked), searching)
            ranked = self.blend.rank(cf, ctx, diversity)
        steps.append(Step("rerank", f"reranked {len(ids)} candidates", _ms(t1)))

        picks: list[tuple[int, float]] = []
        for mid, score in zip(ranked.ids, ranked.scores, strict=True):
            movie = self.catalogue.find(mid)
            # defence in depth: every pick satisfies every hard constraint
            if movie is None or mid in exclude or not filters.admits(movie):
                continue
            picks.append((int(mid), float(score)))
            if len(picks) >= k:
                break
        shortfall = self._shortfall(len(picks), k) if len(picks) < k else None
        if self.notice:
            shortfall = f"{self.notice} {shortfall or ''}".strip()
        return PipelineResult(tuple(picks), tuple(steps), shortfall)

    def _prefer_genres(self, ranked: ScoredList, genres: Sequence[str], diversity: float) -> ScoredList:
        """Lift movies of the genres the user likes, then diversify the head."""
        if not ranked.ids:
            return ranked
        ids = np.array(ranked.ids, dtype=np.int64)
        rows = self.catalogue.rows(ids)
        share = genre_share(self.catalogue, ids, genres)
        score = np.asarray(ranked.scores, dtype=np.float64) + self.config.genre_boost * share
        order = np.lexsort((ids, -score))
        ids, score = ids[order], score[order]
        perm = mmr_order(self.item_emb[rows[order]], score, 1.0 - diversity)
        return ScoredList(tuple(int(i) for i in ids[perm]), tuple(float(s) for s in score[perm]))

    def _with_knobs(self, diversity: float, popularity_bias: float):  # type: ignore[no-untyped-def]
        """The shared reranker with this session's diversity and popularity knobs (a cheap copy)."""
        base = self.reranker
        if getattr(base, "config", None) is None:  # rerankers without knobs (baselines, stand-ins)
            return base
        cfg = base.config.model_copy(
            update={"mmr_lambda": 1.0 - diversity, "popularity_balance": -popularity_bias}
        )
        if cfg == base.config:
            return base
        tuned = copy.copy(base)
        tuned.config = cfg
        return tuned

    @staticmethod
    def _shortfall(n: int, k: int) -> str:
        if n == 0:
            return "No movie in the catalogue meets all your constraints."
        return f"Only {n} movie{'s' if n != 1 else ''} meet all your constraints (you asked for {k})."


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
