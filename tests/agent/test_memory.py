"""Session memory: constraints accumulate, the latest statement wins, references resolve."""

from __future__ import annotations

from agent.settings import DEFAULT_LIMITS
from agent.understanding.deltas import Critique, Understanding
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue


def test_constraints_accumulate_across_turns(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(liked=(1,), genres_excluded=("Horror",)), catalogue)
    apply_understanding(st, Understanding(year_min=1990), catalogue)
    q = st.query()
    assert q.liked == (1,)
    assert q.genres_excluded == ("Horror",)
    assert q.year_min == 1990


def test_contradiction_resolves_to_latest_and_says_so(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(genres_required=("Comedy",)), catalogue)
    notes = apply_understanding(st, Understanding(genres_excluded=("Comedy",)), catalogue)
    assert st.genres_required == [] and st.genres_excluded == ["Comedy"]
    assert any("Comedy" in n for n in notes)


def test_like_then_dislike_moves_the_movie(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(liked=(3,)), catalogue)
    notes = apply_understanding(st, Understanding(disliked=(3,)), catalogue)
    assert st.liked == [] and st.disliked == [3]
    assert any("The Matrix (1999)" in n for n in notes)


def test_references_resolve_against_last_picks(catalogue: Catalogue) -> None:
    st = SessionState(last_picks=[2, 3, 5])
    apply_understanding(st, Understanding(disliked_refs=(0,), liked_refs=(1,), seen_refs=(2,)), catalogue)
    assert st.disliked == [2] and st.liked == [3] and st.seen == [5]


def test_seen_all_shown_marks_every_last_pick(catalogue: Catalogue) -> None:
    st = SessionState(last_picks=[2, 3])
    apply_understanding(st, Understanding(seen_all_shown=True), catalogue)
    assert st.seen == [2, 3]
    assert {2, 3} <= st.excluded_ids()


def test_reset_forgets_everything_before_applying_the_rest(catalogue: Catalogue) -> None:
    st = SessionState(liked=[1], genres_excluded=["Horror"], shown=[2], year_min=1990)
    apply_understanding(st, Understanding(reset=True, liked=(4,)), catalogue)
    assert st.liked == [4] and st.genres_excluded == [] and st.shown == [] and st.year_min is None


def test_year_contradiction_drops_older_bound(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(year_max=1980), catalogue)
    notes = apply_understanding(st, Understanding(year_min=2000), catalogue)
    assert st.year_min == 2000 and st.year_max is None and notes


def test_swapped_range_is_normalised(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(year_min=2000, year_max=1990), catalogue)
    assert (st.year_min, st.year_max) == (1990, 2000)


def test_k_is_clamped(catalogue: Catalogue) -> None:
    st = SessionState()
    notes = apply_understanding(st, Understanding(k=500), catalogue)
    assert st.k == DEFAULT_LIMITS.max_picks and notes
    apply_understanding(st, Understanding(k=0), catalogue)
    assert st.k == 1


def test_critiques_move_years_around_last_picks(catalogue: Catalogue) -> None:
    st = SessionState(last_picks=[1, 2, 3])  # median year 1986
    apply_understanding(st, Understanding(critiques=(Critique.MORE_RECENT,)), catalogue)
    assert st.year_min == 1987
    st = SessionState(last_picks=[3, 4, 5])  # median 2001
    apply_understanding(st, Understanding(critiques=(Critique.OLDER,)), catalogue)
    assert st.year_max == 2000


def test_lighter_excludes_horror(catalogue: Catalogue) -> None:
    st = SessionState(genres_required=["Horror"])
    apply_understanding(st, Understanding(critiques=(Critique.LIGHTER,)), catalogue)
    assert "Horror" in st.genres_excluded and "Horror" not in st.genres_required


def test_excluded_ids_cover_shown_seen_liked_disliked() -> None:
    st = SessionState(liked=[1], disliked=[2], seen=[3], shown=[4])
    assert st.excluded_ids() == {1, 2, 3, 4}


def test_liked_genres_are_tastes_that_yield_to_requests(catalogue: Catalogue) -> None:
    st = SessionState()
    apply_understanding(st, Understanding(genres_liked=("Comedy", "Action")), catalogue)
    assert st.query().genres_liked == ("Comedy", "Action")
    assert st.query().filters.genres_required == ()  # a taste ranks; it never filters
    apply_understanding(st, Understanding(genres_required=("Action",)), catalogue)
    apply_understanding(st, Understanding(genres_excluded=("Comedy",)), catalogue)
    assert st.genres_liked == [] and st.genres_required == ["Action"] and st.genres_excluded == ["Comedy"]
    notes = apply_understanding(st, Understanding(genres_liked=("Comedy",)), catalogue)
    assert st.genres_liked == ["Comedy"] and st.genres_excluded == []
    assert any("Comedy" in n for n in notes)
