"""``RecommenderAgent``: the one entry point used by the UI, the CLI, Python callers and evaluation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence

from agent.conversation.engine import TurnEngine
from agent.conversation.session import Session
from agent.pipeline.pipeline import Pipeline
from agent.records import Recommendation
from agent.resources import Resources
from agent.settings import Settings
from agent.store import Accounts, FeedbackStore
from retrieval.catalogue import Catalogue
from retrieval.dialogue_encoder import context_text


class RecommenderAgent:
    """Shared, thread-safe recommender; each conversation is a :class:`Session`."""

    def __init__(self, resources: Resources, engine: TurnEngine | None = None) -> None:
        self.resources = resources
        self.engine = engine or TurnEngine(resources)
        self._accounts: Accounts | None = None
        self._accounts_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings | None = None, *, progress: bool = True) -> RecommenderAgent:
        """Settings from env; finds or downloads data, builds the index and model if missing."""
        res = Resources(settings or Settings(), progress=progress)
        res.prepare()
        return cls(res)

    @property
    def settings(self) -> Settings:
        """The settings this agent was loaded with."""
        return self.engine.settings

    @property
    def catalogue(self) -> Catalogue:
        """Every movie the agent knows."""
        return self.engine.catalogue

    def with_pipeline(self, pipeline: Pipeline) -> RecommenderAgent:
        """The same agent recommending through ``pipeline`` (evaluation ablations)."""
        return RecommenderAgent(self.resources, self.engine.with_pipeline(pipeline))

    def start_session(self, user_id: str | None = None) -> Session:
        """A new conversation; a known ``user_id`` restores that user's liked/disliked/seen movies."""
        session = Session(self.engine, uuid.uuid4().hex, user_id)
        session.notices += self.resources.notices  # degraded components (e.g. the fallback ranker)
        if user_id:
            session.notices += self.engine.restore_profile(session.state, user_id, session.session_id)
        return session

    def resume_session(self, session_id: str, user_id: str | None = None) -> Session:
        """An empty session with a known id, for a stored conversation to be restored into
        (:func:`agent.conversation.snapshot.restore`); nothing is read or written."""
        return Session(self.engine, session_id, user_id)

    @property
    def store(self) -> FeedbackStore:
        """The feedback database (users, accounts, feedback and shared conversations)."""
        return self.engine.store

    def recommend(
        self, messages: Sequence[Mapping[str, str]], k: int = 50, explain: bool = False
    ) -> list[Recommendation]:
        """Stateless: replay ``messages`` (user/assistant turns) and recommend for the last state."""
        state = self.engine.replay(messages, k)
        result = self.engine.recommend(state, k, context_text(messages))
        if explain:
            return list(self.engine.explain(state, result))
        return self.engine.cards(result)

    @property
    def accounts(self) -> Accounts:
        """Sign-up, sign-in, tokens, export and delete over this agent's store (built on first use)."""
        with self._accounts_lock:
            if self._accounts is None:
                self._accounts = Accounts.from_settings(self.engine.store, self.settings)
            return self._accounts

    def forget_user(self, user_id: str) -> bool:
        """Delete everything stored about ``user_id``."""
        return self.engine.store.forget_user(user_id)
