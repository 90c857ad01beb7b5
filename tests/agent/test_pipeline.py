"""The pipeline on the hand-made catalogue: hard constraints, exclusions, counts, and per-run notices."""

from __future__ import annotations

import threading

from agent.pipeline.pipeline import Pipeline, PipelineRequest
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from retrieval.types import Filters
from tests.agent.conftest import build_pipeline

INDEX_NOTICE = "The search index has a problem"


def test_picks_meet_every_hard_constraint(pipeline: Pipeline, catalogue: Catalogue) -> None:
    req = PipelineRequest(liked=(3,), filters=Filters(1990, 2012, ("Action",), ("Horror",)), k=5)
    result = pipeline.run(req)
    assert result.picks, result.notices
    for mid, _ in result.picks:
        m = catalogue.get(mid)
        assert 1990 <= (m.year or 0) <= 2012 and "Action" in m.genres and "Horror" not in m.genres
    assert 3 not in dict(result.picks)  # a liked movie is never recommended back


def test_excluded_movies_never_come_back(pipeline: Pipeline) -> None:
    shown = (5, 7)
    req = PipelineRequest(liked=(3,), shown=shown, exclude=frozenset({3, *shown}), k=10)
    assert not {5, 7, 3} & set(dict(pipeline.run(req).picks))


def test_short_of_k_says_so_in_the_result(pipeline: Pipeline) -> None:
    result = pipeline.run(PipelineRequest(filters=Filters(genres_required=("Western",)), k=3))
    assert [m for m, _ in result.picks] == [11]
    assert result.notices == ("Only 1 movie meets all your constraints (you asked for 3).",)
    none = pipeline.run(PipelineRequest(filters=Filters(year_min=2030), k=3))
    assert none.picks == () and none.notices == ("No movie in the catalogue meets all your constraints.",)


def test_request_from_state_carries_the_whole_query() -> None:
    st = SessionState(liked=[1], disliked=[8], seen=[6], shown=[2], genres_required=["Sci-Fi"], year_min=1980)
    st.k, st.text, st.diversity = 7, "space", 0.3
    req = PipelineRequest.from_state(st)
    assert (req.liked, req.disliked, req.seen, req.shown, req.k) == ((1,), (8,), (6,), (2,), 7)
    assert req.filters == Filters(1980, None, ("Sci-Fi",), ())
    assert req.exclude == frozenset({1, 8, 6, 2}) and req.text == "space" and req.diversity == 0.3
    assert PipelineRequest.from_state(st, k=3).k == 3


def test_broken_index_falls_back_with_a_notice(catalogue: Catalogue) -> None:
    pipe = build_pipeline(catalogue, flaky=True)
    bad = pipe.run(PipelineRequest(liked=(3,), filters=Filters(year_min=1900), k=3))
    assert len(bad.picks) == 3
    assert [n for n in bad.notices if n.startswith(INDEX_NOTICE)]
    good = pipe.run(PipelineRequest(liked=(3,), filters=Filters(year_min=1901), k=3))
    assert good.notices == ()
    assert not hasattr(pipe, "notice")  # nothing per run is kept on the shared pipeline


def _one_round(pipe: Pipeline) -> dict[int, tuple[str, ...]]:
    barrier = threading.Barrier(8)
    results: dict[int, tuple[str, ...]] = {}

    def run(i: int) -> None:
        req = PipelineRequest(liked=(3,), filters=Filters(year_min=1900 if i % 2 else 1901), k=4)
        barrier.wait()
        results[i] = pipe.run(req).notices

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_runs_each_carry_exactly_their_own_notices(catalogue: Catalogue) -> None:
    """8 threads share one pipeline; the index fails for half of them. 20 rounds, no notice leaks."""
    pipe = build_pipeline(catalogue, flaky=True)
    for _ in range(20):
        results = _one_round(pipe)
        assert sorted(results) == list(range(8))
        for i, notices in results.items():
            failed = any(n.startswith(INDEX_NOTICE) for n in notices)
            assert failed == bool(i % 2), (i, notices)
            assert len(notices) == (1 if i % 2 else 0), (i, notices)
