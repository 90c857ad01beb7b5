"""retrieve → rerank → diversify → hard-constraint check → top k, for one frozen request."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent.pipeline.candidates import admitted, search
from agent.prior.blend import BlendWeights, PriorBlend, TurnContext, dialogue_weights, genre_share
from agent.prior.conversational import ConversationPrior
from agent.records import Step, counted
from agent.settings import PipelineConfig
from agent.understanding.deltas import Critique
from agent.understanding.directions import mood_first, movers_first
from agent.understanding.state import SessionState
from ranking.base import mmr_order
from ranking.protocol import Ranker
from retrieval.catalogue import Catalogue
from retrieval.dialogue_encoder import DialogueRetriever
from retrieval.embeddings import Encoder
from retrieval.retriever import Retriever
from retrieval.types import Filters, ScoredList

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineRequest:
    """Everything one run needs: the query, the movies never to pick again, and the session's knobs."""

    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seen: tuple[int, ...] = ()
    shown: tuple[int, ...] = ()
    filters: Filters = field(default_factory=Filters)
    exclude: frozenset[int] = frozenset()
    genres_liked: tuple[str, ...] = ()
    text: str = ""
    k: int = 5
    diversity: float = 0.0  # added to the configured base diversity ("something else" raises it)
    popularity_bias: float = 0.0  # < 0 favours the long tail, > 0 well-known movies
    directions: tuple[Critique, ...] = ()  # critique directions: movers along them go first
    direction_from: tuple[int, ...] = ()  # the picks the directions are relative to
    moods: tuple[str, ...] = ()  # mood words; those with an axis ("cozy": light) put that side first
    context: str = ""  # the conversation's last turns (a replayed transcript), for the dialogue retriever

    @classmethod
    def from_state(cls, state: SessionState, k: int | None = None) -> PipelineRequest:
        """The request a session's state makes now (``k`` overrides the state's count)."""
        return cls(
            liked=tuple(state.liked),
            disliked=tuple(state.disliked),
            seen=tuple(state.seen),
            shown=tuple(state.shown),
            filters=Filters(
                state.year_min, state.year_max, tuple(state.genres_required), tuple(state.genres_excluded)
            ),
            exclude=frozenset(state.excluded_ids()),
            genres_liked=tuple(state.genres_liked),
            text=state.text,
            k=k or state.k,
            diversity=state.diversity,
            popularity_bias=state.popularity_bias,
            directions=tuple(Critique(d) for d in state.directions),
            direction_from=tuple(state.direction_from),
            moods=tuple(state.mood),
        )

    @property
    def seeds(self) -> tuple[int, ...]:
        """Every movie named so far: liked, disliked, seen and shown."""
        return (*self.liked, *self.disliked, *self.seen, *self.shown)


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """Picks (id, score) best first, the stages' steps, and this run's one-line notices."""

    picks: tuple[tuple[int, float], ...]
    steps: tuple[Step, ...]
    notices: tuple[str, ...] = ()


class Pipeline:
    """Stateless: shared by all sessions; everything per run is in the request and the result."""

    def __init__(
        self,
        catalogue: Catalogue,
        retriever: Retriever,
        reranker: Ranker,
        item_emb: np.ndarray,
        encoder: Encoder,
        config: PipelineConfig | None = None,
        fallback_retriever: Retriever | None = None,
        prior: ConversationPrior | None = None,
        blend_weights: BlendWeights | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.retriever = retriever
        self.fallback_retriever = fallback_retriever
        self.reranker = reranker  # swapped between turns when a new model version is published
        self.item_emb = item_emb
        self.encoder = encoder
        self.config = config or PipelineConfig()
        self.blend: PriorBlend | None = None
        self.dialogue: DialogueRetriever | None = None
        if prior is not None:
            self.blend = PriorBlend(catalogue, item_emb, prior, blend_weights or BlendWeights.load())

    def with_dialogue(
        self, retriever: DialogueRetriever | None, extra: dict[str, float] | None = None
    ) -> Pipeline:
        """A copy that also retrieves and ranks by dialogue context with ``retriever`` (only with a prior,
        and only for requests that carry a context); ``extra`` overrides the fitted dialogue weights."""
        other = copy.copy(self)
        other.dialogue = retriever
        if self.blend is not None and retriever is not None:
            w = self.blend.w.merged(dialogue_weights(retriever.kind) if extra is None else extra)
            other.blend = PriorBlend(self.catalogue, self.item_emb, self.blend.prior, w)
        return other

    def query_vector(self, liked: Sequence[int], text: str) -> np.ndarray | None:
        """Unit vector of the liked movies' centroid plus the user's words; None when both are empty."""
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

    def run(self, req: PipelineRequest) -> PipelineResult:
        """Retrieve, rerank and check one request; nothing is stored on the pipeline."""
        ranker = self.reranker  # read once: a model swap between turns never splits a run
        t0 = time.perf_counter()
        vec = self.query_vector(req.liked, req.text)
        dial = None
        if self.dialogue is not None and self.blend is not None and req.context:
            dial = self.dialogue.scores(req.context)
        cand, n_ret, notices = self._pool(req, vec, ranker, dial)
        steps = [Step("retrieve", f"{n_ret} from the index, {len(cand) - n_ret} from CF/prior", _ms(t0))]
        if not cand:
            return PipelineResult((), tuple(steps), (*notices, shortfall(0, req.k)))
        t1 = time.perf_counter()
        ranked = self.shape(self._rank(req, list(cand), vec, ranker, dial), req)
        steps.append(Step("rerank", f"reranked {len(cand)} candidates", _ms(t1)))
        picks = self._pick(req, ranked)
        if len(picks) < req.k:
            notices.append(shortfall(len(picks), req.k))
        return PipelineResult(tuple(picks), tuple(steps), tuple(notices))

    def shape(self, ranked: ScoredList, req: PipelineRequest) -> ScoredList:
        """``ranked`` reordered by what ``req`` asks beyond scores: the candidates that move along this
        turn's critique directions ("something funnier") first and, inside each part, those on the side
        a mood asks for ("something cozy": light ones) first; each part keeps the ranked order."""
        if req.moods:
            ranked = mood_first(ranked, self.catalogue, req.moods)
        if req.directions:
            ranked = movers_first(ranked, self.catalogue, req.directions, req.direction_from)
        return ranked

    def genre_lift(self, ids: Sequence[int], genres: Sequence[str]) -> np.ndarray:
        """Per id, what liking ``genres`` adds to its score: the boost times the share of them it has."""
        return self.config.genre_boost * genre_share(self.catalogue, ids, genres)

    def _pool(
        self, req: PipelineRequest, vec: np.ndarray | None, ranker: Ranker, dial: np.ndarray | None = None
    ) -> tuple[dict[int, float], int, list[str]]:
        """Candidates: the index's nearest, CF's best (or popularity) and the prior's extras."""
        cand: dict[int, float] = {}
        notices: list[str] = []
        if vec is not None:
            found = search(
                self.retriever, self.fallback_retriever, vec, req.filters, req.exclude, self.config.n_retrieve
            )
            cand.update(zip(found.hits.ids, found.hits.scores, strict=True))
            if found.notice:
                notices.append(found.notice)
        n_ret = len(cand)
        if req.liked or vec is None:  # CF over the whole catalogue (popularity when nothing is known yet)
            top = ranker.rank_all(
                req.liked, req.disliked, exclude=sorted(req.exclude), k=self.config.n_cf * 4
            )
            for mid in admitted(self.catalogue, top.ids, req.filters, req.exclude, cand):
                if len(cand) >= n_ret + self.config.n_cf:
                    break
                cand[mid] = float("nan")
        if self.blend is not None:
            extra = self.blend.extra_candidates(req.seeds, self.config.n_prior, self.config.n_related)
            genres = req.genres_liked or req.filters.genres_required
            if not req.seeds and not genres and vec is not None and n_ret and self.config.words_match > 0:
                extra = self._matching_words(extra, vec, float(np.nanmax(list(cand.values()))))
            if dial is not None:
                extra += DialogueRetriever.best(self.catalogue, dial, self.config.n_dialogue)
            cand.update(
                dict.fromkeys(admitted(self.catalogue, extra, req.filters, req.exclude, cand), np.nan)
            )
        return cand, n_ret, notices

    def _matching_words(self, ids: list[int], vec: np.ndarray, best: float) -> list[int]:
        """The ``ids`` whose cosine to the turn's words reaches ``words_match`` times the index's best hit.

        A turn of words alone ("heist movies", no movie and no genre named) asks for a topic: the prior's
        most recommended movies (superhero blockbusters) would outrank the topic's movies, so only those
        matching the words join. A genre ("a good comedy") keeps them: popular comedies are a fair guess."""
        known = [m for m in ids if m in self.catalogue]
        if not known:
            return []
        sims = self.item_emb[self.catalogue.rows(known)] @ vec
        return [m for m, s in zip(known, sims, strict=True) if s >= self.config.words_match * best]

    def _rank(
        self,
        req: PipelineRequest,
        ids: list[int],
        vec: np.ndarray | None,
        ranker: Ranker,
        dial: np.ndarray | None = None,
    ) -> ScoredList:
        diversity = min(1.0, self.config.diversity + req.diversity)
        exclude = sorted(req.exclude)
        bias = float(np.clip(req.popularity_bias, -1.0, 1.0))
        if self.blend is None:
            # liked genres lift movies after the CF score, so diversity comes after that lift
            tuned = ranker.with_knobs(0.0 if req.genres_liked else diversity, bias)
            sims = (self.item_emb[self.catalogue.rows(ids)] @ vec).tolist() if vec is not None else None
            ranked = tuned.score(req.liked, req.disliked, ids, text_sim=sims, exclude=exclude)
            return self._prefer_genres(ranked, req.genres_liked, diversity) if req.genres_liked else ranked
        cf = ranker.with_knobs(0.0, bias).score(req.liked, req.disliked, ids, exclude=exclude)
        text_vec = self.encoder.encode([req.text])[0] if req.text.strip() else None
        f = req.filters
        searching = bool(f.genres_required) or (f.year_min, f.year_max) != (None, None)
        ctx = TurnContext(text_vec, tuple(req.liked), req.seeds, req.genres_liked, searching, dial)
        return self.blend.rank(cf, ctx, diversity)

    def _pick(self, req: PipelineRequest, ranked: ScoredList) -> list[tuple[int, float]]:
        picks: list[tuple[int, float]] = []
        for mid, score in zip(ranked.ids, ranked.scores, strict=True):
            movie = self.catalogue.find(mid)
            # defence in depth: every pick satisfies every hard constraint
            if movie is None or mid in req.exclude or not req.filters.admits(movie):
                continue
            picks.append((int(mid), float(score)))
            if len(picks) >= req.k:
                break
        return picks

    def _prefer_genres(self, ranked: ScoredList, genres: Sequence[str], diversity: float) -> ScoredList:
        """Lift movies of the genres the user likes, then diversify the head."""
        if not ranked.ids:
            return ranked
        ids = np.array(ranked.ids, dtype=np.int64)
        rows = self.catalogue.rows(ids)
        score = np.asarray(ranked.scores, dtype=np.float64) + self.genre_lift(ids.tolist(), genres)
        order = np.lexsort((ids, -score))
        ids, score = ids[order], score[order]
        perm = mmr_order(self.item_emb[rows[order]], score, 1.0 - diversity)
        return ScoredList(tuple(int(i) for i in ids[perm]), tuple(float(s) for s in score[perm]))


def shortfall(n: int, k: int, whose: str = "all your") -> str:
    """The notice for fewer picks than asked (``whose`` constraints: "all your", "every viewer's")."""
    if n == 0:
        return f"No movie in the catalogue meets {whose} constraints."
    meet = "meets" if n == 1 else "meet"
    return f"Only {counted(n, 'movie')} {meet} {whose} constraints (you asked for {k})."


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
