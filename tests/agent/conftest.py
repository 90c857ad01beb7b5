"""Shared fixtures of the agent tests: one hand-made catalogue and the small fakes the unit tests run on.

Everything named ``Fake*`` is a test double for unit tests only; integration tests use the real agent
(``real_agent`` in tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Iterator

import numpy as np
import pytest

from agent.pipeline.pipeline import Pipeline
from agent.records import Feedback, Recommendation, Reply, ReplyChunk, TurnInput
from agent.settings import PipelineConfig
from agent.understanding.state import SessionState
from ranking.fallback import FallbackRanker
from retrieval.catalogue import Catalogue
from retrieval.retriever import ExactRetriever
from retrieval.titles import TitleResolver
from retrieval.types import Filters, Movie, ScoredList

#: The hand-made catalogue the agent's unit tests share: ids, titles, years and genres with known answers.
MOVIES = (
    Movie(1, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=146, rating_mean=4.0),
    Movie(2, "Aliens", 1986, ("Action", "Sci-Fi"), rating_count=126, rating_mean=3.9),
    Movie(3, "The Matrix", 1999, ("Action", "Sci-Fi"), rating_count=278, rating_mean=4.2),
    Movie(4, "Amélie", 2001, ("Comedy", "Romance"), rating_count=120, rating_mean=4.2),
    Movie(5, "Inception", 2010, ("Action", "Sci-Fi", "Thriller"), rating_count=143, rating_mean=4.1),
    Movie(6, "Groundhog Day", 1993, ("Comedy", "Fantasy", "Romance"), rating_count=143, rating_mean=3.9),
    Movie(7, "Paddington", 2014, ("Children", "Comedy"), rating_count=20, rating_mean=3.8),
    Movie(8, "Scream", 1996, ("Horror", "Mystery"), rating_count=60, rating_mean=3.3),
    Movie(9, "Toy Story", 1995, ("Animation", "Children", "Comedy"), rating_count=215, rating_mean=3.9),
    Movie(10, "Heat", 1995, ("Action", "Crime", "Thriller"), rating_count=102, rating_mean=3.9),
    Movie(11, "Unforgiven", 1992, ("Drama", "Western"), rating_count=70, rating_mean=4.0),
    Movie(12, "Up", 2009, ("Adventure", "Animation", "Children"), rating_count=105, rating_mean=4.0),
    Movie(13, "Arrival", 2016, ("Drama", "Sci-Fi"), rating_count=40, rating_mean=3.9),
    Movie(14, "Notting Hill", 1999, ("Comedy", "Romance"), rating_count=80, rating_mean=3.5),
)
DIM = 16


@pytest.fixture(scope="session")
def movies() -> tuple[Movie, ...]:
    return MOVIES


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(list(MOVIES))


class FakeEncoder:
    """Deterministic pseudo-embeddings: one unit vector per text (a hash seeds it)."""

    dim = DIM

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).normal(size=DIM)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def item_embeddings(catalogue: Catalogue) -> np.ndarray:
    """Genre-shaped item vectors: movies sharing genres are close."""
    genres = sorted({g for m in catalogue for g in m.genres})
    emb = np.zeros((len(catalogue), DIM), dtype=np.float32)
    for i, m in enumerate(catalogue):
        for g in m.genres:
            emb[i, genres.index(g) % DIM] += 1.0
        emb[i, (m.movie_id * 7) % DIM] += 0.3
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


class FakeFlakyRetriever:
    """Exact search that fails (like a deleted index) for requests whose filters start in year 1900."""

    def __init__(self, inner: ExactRetriever) -> None:
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        return self.search_vector(self.inner.encoder.encode([text])[0], filters, exclude_ids, n)

    def search_vector(
        self, vec: np.ndarray, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        with self._lock:
            self.calls += 1
        if filters is not None and filters.year_min == 1900:
            raise RuntimeError("index folder deleted")
        return self.inner.search_vector(vec, filters, exclude_ids, n)


def build_pipeline(catalogue: Catalogue, *, flaky: bool = False) -> Pipeline:
    """A real :class:`Pipeline` over the hand-made catalogue: exact search, the popularity+content ranker."""
    emb = item_embeddings(catalogue)
    enc = FakeEncoder()
    exact = ExactRetriever(catalogue, emb, enc)  # type: ignore[arg-type]
    pop = np.log1p(np.array([m.rating_count for m in catalogue], dtype=np.float32))
    ranker = FallbackRanker(np.asarray(catalogue.ids), pop, emb)
    retriever = FakeFlakyRetriever(exact) if flaky else exact
    config = PipelineConfig(n_retrieve=20, n_cf=20, diversity=0.0)
    return Pipeline(catalogue, retriever, ranker, emb, enc, config, fallback_retriever=exact)  # type: ignore[arg-type]


@pytest.fixture
def pipeline(catalogue: Catalogue) -> Pipeline:
    return build_pipeline(catalogue)


class FakeEngine:
    """Stands in for the turn engine under a :class:`Session`: records calls, answers with fixed picks."""

    def __init__(self, catalogue: Catalogue, picks: tuple[int, ...] = (3, 5)) -> None:
        from agent.conversation.limits import RateLimiter

        self.catalogue = catalogue
        self.resolver = TitleResolver(catalogue)
        self.limiter = RateLimiter(60, 20)
        self.turn_timeout_s = 5.0
        self.picks = picks
        self.turns: list[TurnInput] = []
        self.feedback: list[tuple[str | None, str, Feedback]] = []

    def turn(self, state: SessionState, turn: TurnInput) -> Iterator[ReplyChunk]:
        self.turns.append(turn)
        recs = tuple(Recommendation.of(self.catalogue.get(m), 1.0) for m in self.picks)
        state.show(self.picks)
        if turn.history is not None:
            turn.history.append({"role": "user", "content": turn.text})
        reply = Reply("picks", recs, state.query(), notices=turn.pending)
        yield ReplyChunk("picks\n")
        yield ReplyChunk("", reply=reply, done=True)

    def record_feedback(self, user_id: str | None, session_id: str, feedback: Feedback) -> str | None:
        self.feedback.append((user_id, session_id, feedback))
        return None


@pytest.fixture
def fake_engine(catalogue: Catalogue) -> FakeEngine:
    return FakeEngine(catalogue)


class FakeResources:
    """The parts of :class:`agent.resources.Resources` a turn engine reads, over the hand-made catalogue."""

    def __init__(self, catalogue: Catalogue, settings: object | None = None) -> None:
        import pandas as pd

        from agent.explain.explainer import TemplateExplainer
        from agent.settings import Settings

        self.settings = settings or Settings(llm="none", prior="none", data_dir=None)
        self.catalogue = catalogue
        self.item_embeddings = item_embeddings(catalogue)
        self.ratings = pd.DataFrame({"userId": [1, 1, 2], "movieId": [3, 5, 3], "rating": [5.0, 4.5, 4.0]})
        self.explainer = TemplateExplainer()
        self.notices: list[str] = []


def fake_engine_over(catalogue: Catalogue, *, flaky: bool = False):  # type: ignore[no-untyped-def]
    """The real :class:`TurnEngine` over fake resources and a real pipeline (exact search)."""
    from agent.conversation.engine import TurnEngine

    return TurnEngine(FakeResources(catalogue), build_pipeline(catalogue, flaky=flaky))  # type: ignore[arg-type]
