"""``RecommenderAgent``: the one entry point used by the UI, the CLI, Python callers and evaluation."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property

from agent.conversation.compose import describe_constraints
from agent.conversation.limits import RateLimiter
from agent.conversation.session import Session
from agent.explain.evidence import EvidenceBuilder
from agent.pipeline.pipeline import Pipeline, PipelineConfig
from agent.records import Feedback, Recommendation, Reply
from agent.resources import Resources
from agent.settings import Settings
from agent.store import FeedbackStore, StoreError
from agent.understanding.deltas import Understanding
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue

log = logging.getLogger(__name__)


class RecommenderAgent:
    """Shared, thread-safe recommender; each conversation is a :class:`Session`."""

    def __init__(self, resources: Resources, pipeline_config: PipelineConfig | None = None) -> None:
        self.resources = resources
        self.pipeline_config = pipeline_config or PipelineConfig()

    @classmethod
    def load(cls, settings: Settings | None = None, *, progress: bool = True) -> RecommenderAgent:
        """Settings from env; finds or downloads data, builds the index and model if missing."""
        res = Resources(settings or Settings(), progress=progress)
        res.prepare()
        return cls(res)

    # -- components ----------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def catalogue(self) -> Catalogue:
        return self.resources.catalogue

    @cached_property
    def resolver(self):  # type: ignore[no-untyped-def]
        from retrieval.titles import TitleResolver

        return TitleResolver(self.catalogue)

    @cached_property
    def max_year(self) -> int:
        return max((m.year for m in self.catalogue if m.year), default=2018)

    @cached_property
    def pipeline(self) -> Pipeline:
        res = self.resources
        return Pipeline(
            self.catalogue,
            res.retriever(),
            res.reranker(),
            res.item_embeddings,
            res.encoder,
            self.pipeline_config,
            fallback_retriever=res.exact_retriever(),
            prior=res.prior,
        )

    @cached_property
    def evidence(self) -> EvidenceBuilder:
        return EvidenceBuilder(self.catalogue, self.resources.ratings, self.resources.item_embeddings)

    # -- sessions ---------------------------------------------------------------------------------------
    @cached_property
    def store(self) -> FeedbackStore:
        return FeedbackStore.open(self.settings.db_url, cache_dir=self.settings.cache_dir)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Per-session message rate limit shared by all sessions (see agent/limits.py)."""
        return RateLimiter()

    def start_session(self, user_id: str | None = None) -> Session:
        """A new conversation; a known ``user_id`` restores that user's liked/disliked/seen movies."""
        session = Session(self, uuid.uuid4().hex, user_id)
        session.notices += self.resources.notices  # degraded components (e.g. the fallback ranker)
        if user_id:
            try:
                self.store.start_session(session.session_id, user_id)
                profile = self.store.profile(user_id)
            except StoreError as err:
                log.error("%s", err)
                session.notices.append("Your saved preferences could not be loaded right now.")
            else:
                known = [m for m in (*profile.liked, *profile.disliked, *profile.seen) if m in self.catalogue]
                st = session.state
                st.liked[:] = [m for m in profile.liked if m in known]
                st.disliked[:] = [m for m in profile.disliked if m in known]
                st.seen[:] = [m for m in profile.seen if m in known]
        return session

    def forget_user(self, user_id: str) -> bool:
        """Delete everything stored about ``user_id``."""
        return self.store.forget_user(user_id)

    def state_from_messages(self, messages: Sequence[Mapping[str, str]], k: int = 50) -> SessionState:
        """The session state a conversation leads to (user turns parsed, assistant mentions excluded)."""
        state = SessionState()
        words: list[str] = []
        for msg in messages:
            content = str(msg.get("content") or "")[:4000]
            if not content.strip():
                continue
            u = self.understand(content)
            if msg.get("role") == "assistant":
                # movies the recommender already mentioned are not recommended again
                mentioned = [m.movie_id for m in u.mentions if m.movie_id is not None]
                state.shown += [m for m in mentioned if m not in state.shown]
                state.last_picks = mentioned
                continue
            apply_understanding(state, u, self.catalogue)
            if u.text.strip():
                words.append(u.text.strip())
            for m in u.mentions:  # a movie named without sentiment still tells us about taste
                mid = m.movie_id
                if mid is not None and mid not in state.disliked and mid not in state.liked:
                    state.liked.append(mid)
        state.k = k
        if words:  # the whole conversation's own words, newest last, for semantic retrieval
            state.text = " ".join(words)[-1000:]
        return state

    def recommend(
        self, messages: Sequence[Mapping[str, str]], k: int = 50, explain: bool = False
    ) -> list[Recommendation]:
        """Stateless: replay ``messages`` (user/assistant turns) and recommend for the last state."""
        state = self.state_from_messages(messages, k)
        self.refresh_model()
        result = self.pipeline.run(state, k=k)
        if explain:
            return list(self.explain_picks(state, result.picks))
        return [self._recommendation(mid, score, "", "none") for mid, score in result.picks]

    def refresh_model(self) -> None:
        """Between turns: serve the reranker that is current now (after ``reelchat finetune``/rollback)."""
        if "pipeline" in self.__dict__:  # not built yet: it loads the current model anyway
            self.pipeline.reranker = self.resources.reranker()

    # -- turn helpers used by Session -------------------------------------------------------------------
    def understand(self, text: str) -> Understanding:
        from agent.understanding.parser import parse

        return parse(text, self.resolver, genres=self.catalogue.genres, max_year=self.max_year)

    def mention_notices(self, u: Understanding) -> list[str]:
        notes = []
        for m in u.mentions:
            if m.movie_id is None:
                notes.append(f'I couldn\'t find "{m.text[:60]}" in the catalogue.')
            elif m.alternatives:
                best = self.catalogue.get(m.movie_id).label
                alt = self.catalogue.get(m.alternatives[0]).label
                notes.append(f'By "{m.text[:60]}" I took {best}; say "{alt}" if you meant that one.')
        return notes

    def describe_query(self, state: SessionState) -> str:
        return "; ".join(describe_constraints(self.catalogue, state.query())) or "no constraints yet"

    def explain_picks(
        self, state: SessionState, picks: Sequence[tuple[int, float]]
    ) -> Iterator[Recommendation]:
        if not picks:
            return
        items = [self.evidence.build(mid, state.liked, state.text) for mid, _ in picks]
        explainer = self.resources.explainer
        for (mid, score), expl in zip(picks, explainer.explain_iter(items), strict=True):
            yield self._recommendation(mid, score, expl.text, expl.source)

    def _recommendation(self, mid: int, score: float, text: str, source: str) -> Recommendation:
        m = self.catalogue.get(mid)
        return Recommendation(
            movie_id=m.movie_id,
            title=m.title,
            year=m.year,
            genres=m.genres,
            score=float(score),
            explanation=text or f"{m.label}: {', '.join(m.genres) or 'no genre listed'}.",
            explanation_source=source,  # type: ignore[arg-type]
            rating_mean=m.rating_mean,
            rating_count=m.rating_count,
            imdb_id=m.imdb_id,
            tmdb_id=m.tmdb_id,
        )

    # -- persistence: only sessions with a user id are stored ---------------------------------------------
    def record_feedback(self, session: Session, feedback: Feedback) -> str | None:
        """Store one feedback event durably; returns a one-line problem for the user, else None."""
        if not session.user_id:
            return None
        try:
            self.store.add_feedback(
                session.user_id, session.session_id, feedback.movie_id, feedback.signal, feedback.source
            )
        except StoreError as err:
            log.error("%s", err)
            return "I'll remember that for this conversation, but could not save it permanently right now."
        return None

    def record_turn(self, session: Session, message: str, reply: Reply) -> None:
        if not session.user_id:
            return
        try:
            self.store.add_message(session.session_id, "user", message)
            self.store.add_message(session.session_id, "assistant", reply.text)
        except StoreError as err:
            log.error("%s", err)
