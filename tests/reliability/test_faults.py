"""Faults while serving: index, checkpoint, dataset, LLM and database. Each gives a one-line message to
the user and the log, the app keeps serving what it can, and nothing already stored is lost."""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from sqlalchemy import event

import ranking
from agent.app import RecommenderAgent
from agent.conversation.session import Session
from agent.explain.explainer import LLMExplainer
from agent.records import Feedback, Reply
from agent.resources import Resources
from agent.settings import Settings
from agent.store import FeedbackStore, StoreError
from ranking.fallback import FallbackRanker
from ranking.registry import ModelRegistry
from retrieval.errors import IndexCorruptError
from retrieval.guarded import GuardedRetriever
from retrieval.index import IndexConfig
from tests.reliability.conftest import SharedAgent, copy_cache, shared_cache_dir

REBUILD = "reelchat index --rebuild"
SAVE_FAILED = "could not save it permanently right now"


def honours(reply: Reply) -> None:
    """Every recommendation meets the reply's own hard constraints and comes from the catalogue."""
    f = reply.query.filters
    assert reply.recommendations, reply.text
    for r in reply.recommendations:
        assert set(f.genres_required) <= set(r.genres), (r.title, r.genres, f)
        assert not set(f.genres_excluded) & set(r.genres), (r.title, r.genres, f)
        assert f.year_min is None or (r.year or 0) >= f.year_min, (r.title, r.year, f)
        assert f.year_max is None or (r.year or 9999) <= f.year_max, (r.title, r.year, f)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------- fast units
class FakeBrokenIndex:
    """A vector index whose every search fails like a Chroma store whose files were removed."""

    encoder = None

    def search_vector(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Error executing plan: no such table: embeddings\n  (details)")


def test_guarded_retriever_turns_failures_into_one_line_rebuild_hint() -> None:
    guarded = GuardedRetriever(FakeBrokenIndex(), None, where="/x/index")  # type: ignore[arg-type]
    with pytest.raises(IndexCorruptError) as err:
        guarded.search_vector(np.ones(4, dtype=np.float32))
    assert "\n" not in str(err.value) and REBUILD in str(err.value) and "no such table" in str(err.value)
    broken = GuardedRetriever(None, IndexCorruptError(f"unreadable; run `{REBUILD}`"), where="/x")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        broken.search("comedy")


def test_fallback_ranker_honours_exclusions_and_knobs(rng: np.random.Generator) -> None:
    n = 60
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = np.arange(100, 100 + n)
    ranker = FallbackRanker(ids, np.log1p(np.arange(n, dtype=np.float32)), emb)
    top = ranker.rank_all([], [], k=5)
    assert top.ids == (159, 158, 157, 156, 155)  # popularity when nothing is known
    liked, disliked, exclude = [100, 101], [102], [103, 104]
    ranked = ranker.rank_all(liked, disliked, exclude, k=n)
    assert not set(ranked.ids) & {*liked, *disliked, *exclude} and len(ranked) == n - 5
    cands = [105, 106, 107, 108, 999]
    scored = ranker.score(liked, disliked, cands, text_sim=[0.1, 0.9, 0.2, 0.3, 0.5], exclude=[108])
    assert set(scored.ids) == {105, 106, 107}
    tuned = ranker.config.model_copy(update={"mmr_lambda": 0.3, "popularity_balance": 1.0})
    ranker.config = tuned  # the pipeline's per-session knobs
    assert ranker.rank_all(liked, [], k=10).ids != ranked.ids[:10]


def test_missing_dataset_folder_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.commands.cli import main

    missing = tmp_path / "no-such-data"
    code = main(["--data-dir", str(missing), "--cache-dir", str(tmp_path / "cache"), "chat"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: ") and "data folder does not exist" in err and str(missing) in err


def test_missing_dataset_folder_in_the_ui_is_a_status_line(tmp_path: Path) -> None:
    from ui.sessions import AgentLoader

    settings = Settings(data_dir=tmp_path / "gone", cache_dir=tmp_path / "cache", llm="none")
    loader = AgentLoader(lambda: RecommenderAgent.load(settings, progress=False)).start()
    assert loader.wait(30)
    kind, message = loader.status()
    assert kind == "failed" and "\n" not in message and "data folder does not exist" in message


def test_truncated_dataset_file_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    from agent.resources import locate_data
    from retrieval.errors import DataError

    copy = tmp_path / "data" / "ml-latest-small"
    shutil.copytree(data_dir / "ml-latest-small", copy)
    movies = copy / "movies.csv"
    movies.write_bytes(movies.read_bytes()[:1000].rsplit(b",", 1)[0])  # cut mid-row
    (copy / "ratings.csv").write_bytes(b"userId,movieId")
    with pytest.raises(DataError) as err:
        locate_data(Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"), progress=False)
    assert "\n" not in str(err.value) and ".csv" in str(err.value)


def _store_agent(tmp_path: Path, db_url: str | None) -> RecommenderAgent:
    """An agent used only for persistence (nothing heavy is loaded: Resources are lazy)."""
    return RecommenderAgent(
        Resources(Settings(cache_dir=tmp_path, db_url=db_url, llm="none"), progress=False)
    )


def test_database_unreachable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = _store_agent(tmp_path, "postgresql+psycopg://reelchat@127.0.0.1:1/reelchat?connect_timeout=2")
    session = Session(app.engine, "s1", "alice")
    with caplog.at_level(logging.ERROR):
        problem = app.engine.record_feedback(
            session.user_id, session.session_id, Feedback(1, "liked", "button")
        )  # type: ignore[arg-type]
        app.engine.record_turn(
            session.user_id, session.session_id, "hello", Reply("hi", (), session.state.query())
        )
    assert problem is not None and SAVE_FAILED in problem and "\n" not in problem
    assert any("feedback store" in r.getMessage() for r in caplog.records)


def fill_disk(store: FeedbackStore, session_id: str) -> None:
    """Simulate a full disk: the database file may not grow, and its free pages are used up."""
    with store.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda conn, _rec: conn.execute(f"PRAGMA max_page_count={pages}"))
    for size in (2000, 200, 1):  # use up the free space of every table's pages
        with pytest.raises(StoreError, match="full"):
            for _ in range(100_000):
                store.add_message(session_id, "user", "x" * size)
    store.ensure_user("filler")
    with pytest.raises(StoreError, match="full"):
        for mid in range(1_000_000, 1_100_000):
            store.add_feedback("filler", None, mid, "seen", "button")


def test_disk_full_at_feedback_write_keeps_what_was_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _store_agent(tmp_path, None)
    session = Session(app.engine, "s1", "bob")
    app.engine.store.start_session("s1", "bob")
    for mid in (1, 2, 3):
        assert (
            app.engine.record_feedback(session.user_id, session.session_id, Feedback(mid, "liked", "button"))
            is None
        )  # type: ignore[arg-type]
    fill_disk(app.engine.store, "s1")
    with caplog.at_level(logging.ERROR):
        app.engine.record_turn(
            session.user_id, session.session_id, "hello", Reply("hi", (), session.state.query())
        )
        problem = app.engine.record_feedback(
            session.user_id, session.session_id, Feedback(4, "disliked", "button")
        )  # type: ignore[arg-type]
    assert problem is not None and SAVE_FAILED in problem and "\n" not in problem
    assert any("full" in r.getMessage() for r in caplog.records)
    reopened = FeedbackStore.open(app.settings.db_url, cache_dir=tmp_path)  # the disk has room again
    assert reopened.profile("bob").liked == (1, 2, 3)
    reopened.add_feedback("bob", "s1", 4, "liked", "button")
    assert reopened.profile("bob").liked == (1, 2, 3, 4)


# ------------------------------------------------------------------------------------ real agent, copies
@pytest.mark.slow
def test_corrupt_checkpoint_serves_with_fallback_ranker(
    agent_on: SharedAgent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = copy_cache(tmp_path / "cache")
    dst = cache / "models" / "reranker"
    dst.mkdir(parents=True)
    original = ModelRegistry(shared_cache_dir() / "models" / "reranker").current()
    assert original is not None
    for name in ("config.json", "tuned.json"):
        shutil.copy(original / name, dst / name)
    with open(original / "weights.safetensors", "rb") as f:
        (dst / "weights.safetensors").write_bytes(f.read(1 << 20))  # truncated
    before = {p.name: sha(p) for p in dst.iterdir()}
    with caplog.at_level(logging.ERROR):
        app = agent_on(cache, reuse_reranker=False)
    assert isinstance(app.resources.reranker(), FallbackRanker)
    (notice,) = app.resources.notices
    assert "reelchat train" in notice and "\n" not in notice
    assert any("reelchat train" in r.getMessage() for r in caplog.records)
    session = app.start_session()
    for message in ("I loved The Matrix, no horror", "a comedy from the 90s", "something else"):
        honours(session.send(message))
    assert {p.name: sha(p) for p in dst.iterdir()} == before  # the broken files are left for inspection


@pytest.mark.slow
def test_missing_checkpoint_still_trains(
    real_agent: RecommenderAgent, agent_on: SharedAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    model = real_agent.resources.reranker().model

    def fake_train(*args: Any, **kwargs: Any) -> Any:  # stands in for minutes of training
        calls.append(1)
        return model

    monkeypatch.setattr(ranking, "train", fake_train)
    monkeypatch.setattr(ranking, "save", lambda m, path, fp: Path(path).mkdir(parents=True) or Path(path))
    app = agent_on(copy_cache(tmp_path / "cache"), reuse_reranker=False)
    assert calls == [1] and not app.resources.notices
    assert not isinstance(app.resources.reranker(), FallbackRanker)


@pytest.mark.slow
def test_index_corrupt_at_start_serves_exact_search_with_rebuild_hint(
    agent_on: SharedAgent, tmp_path: Path
) -> None:
    cache = copy_cache(tmp_path / "cache")
    db = cache / "index" / "chroma.sqlite3"
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.write(b"not a database" * 100)
    app = agent_on(cache)
    reply = app.start_session().send("horror movies after 2005")
    honours(reply)
    assert any(REBUILD in n for n in reply.notices) and REBUILD in reply.text
    assert db.stat().st_size == size  # not wiped behind the user's back: rebuilding is their call


@pytest.mark.slow
def test_index_deleted_or_corrupted_while_running(agent_on: SharedAgent, tmp_path: Path) -> None:
    cache = copy_cache(tmp_path / "cache")
    app = agent_on(cache)
    session = app.start_session()
    honours(session.send("a comedy from the 90s"))
    for seg in (cache / "index").iterdir():  # corrupt every file in place, then delete the folder
        if seg.is_file():
            seg.write_bytes(b"\0" * 4096)
    honours(session.send("no, make it horror after 2005"))
    shutil.rmtree(cache / "index")
    honours(session.send("something like Alien"))
    # a second app whose collection is dropped under it: searches fail, exact search answers with the hint
    other = agent_on(copy_cache(tmp_path / "other"))
    other.resources.index()._client.delete_collection(IndexConfig(path=tmp_path / "other").collection)
    reply = other.start_session().send("a war movie from the 60s")
    honours(reply)
    assert REBUILD in reply.text and "\n" not in next(n for n in reply.notices if REBUILD in n)


class FakeChatModelFailing(BaseChatModel):
    """An LLM that raises, or hangs until released."""

    hang: bool = False
    release: Any = None

    @property
    def _llm_type(self) -> str:
        return "fake-failing"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        if self.hang:
            self.release.wait(30)
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content="Too late."))])
        raise ConnectionError("LLM server went away")


@pytest.mark.slow
@pytest.mark.parametrize("hang", [False, True], ids=["raising", "hanging"])
def test_llm_failure_falls_back_to_template_explanations(
    agent_on: SharedAgent, tmp_path: Path, hang: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = agent_on(copy_cache(tmp_path / "cache"))
    release = threading.Event()
    model = FakeChatModelFailing(hang=hang, release=release)
    app.resources.__dict__["explainer"] = LLMExplainer(model, app.catalogue, timeout_s=1.0)
    t0 = time.monotonic()
    with caplog.at_level(logging.INFO, logger="agent.explain.explainer"):
        reply = app.start_session().send("I loved Toy Story, something for the family")
    elapsed = time.monotonic() - t0
    release.set()
    honours(reply)
    assert all(r.explanation_source == "template" and r.explanation for r in reply.recommendations)
    assert elapsed < 6.0
    reason = "timeout" if hang else "error: ConnectionError"
    assert any(f"fell back to template ({reason})" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_feedback_write_failure_in_a_session_keeps_earlier_feedback(
    agent_on: SharedAgent, tmp_path: Path
) -> None:
    app = agent_on(copy_cache(tmp_path / "cache"), db_url=None)
    session = app.start_session("carol")
    reply = session.send("a comedy from the 90s")
    first, second = reply.recommendations[0], reply.recommendations[1]
    assert SAVE_FAILED not in session.feedback(first.movie_id, "liked")
    assert SAVE_FAILED not in session.feedback(second.movie_id, "disliked")
    fill_disk(app.engine.store, session.session_id)
    notes = [session.feedback(r.movie_id, "seen") for r in reply.recommendations[1:]]
    notes += [session.feedback(second.movie_id, "liked")]
    assert any(SAVE_FAILED in n for n in notes) and all(n.startswith("Noted:") for n in notes)
    assert second.movie_id in session.state.liked  # still honoured in this conversation
    stored = FeedbackStore.open(app.settings.db_url, cache_dir=app.settings.cache_dir).profile("carol")
    assert stored.liked == (first.movie_id,) and stored.disliked == (second.movie_id,)
    honours(session.send("more like that"))
