"""Critique axes on a hand-made catalogue with known answers, and "movers first" ordering."""

from __future__ import annotations

import pytest

from agent.understanding.deltas import Critique, Understanding
from agent.understanding.directions import axis_value, movers_first, moves, reference
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue
from retrieval.types import Movie, ScoredList

MOVIES = (
    Movie(1, "Heat", 1995, ("Action", "Crime", "Thriller"), ("violent",), rating_count=100),
    Movie(2, "Se7en", 1995, ("Mystery", "Thriller"), ("dark", "serial killer"), rating_count=200),
    Movie(3, "Toy Story", 1995, ("Animation", "Children", "Comedy"), ("funny",), rating_count=215),
    Movie(4, "Notting Hill", 1999, ("Comedy", "Romance"), ("romantic",), rating_count=80),
    Movie(5, "Arrival", 2016, ("Drama", "Sci-Fi"), (), rating_count=40),
    Movie(6, "Casablanca", 1942, ("Drama", "Romance"), ("love story",), rating_count=5),
)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(list(MOVIES))


@pytest.mark.parametrize(
    ("direction", "beyond", "behind"),
    [
        (Critique.FUNNIER, 3, 1),
        (Critique.DARKER, 2, 3),
        (Critique.LIGHTER, 3, 2),
        (Critique.LESS_VIOLENT, 4, 1),
        (Critique.MORE_ROMANTIC, 6, 5),
        (Critique.MORE_RECENT, 5, 6),
        (Critique.OLDER, 6, 5),
        (Critique.LESS_POPULAR, 6, 3),
    ],
)
def test_axis_orders_movies_as_the_direction_says(
    catalogue: Catalogue, direction: Critique, beyond: int, behind: int
) -> None:
    a, b = axis_value(catalogue.get(beyond), direction), axis_value(catalogue.get(behind), direction)
    assert a is not None and b is not None and a > b


def test_something_else_has_no_axis(catalogue: Catalogue) -> None:
    assert axis_value(catalogue.get(1), Critique.SOMETHING_ELSE) is None
    assert reference(catalogue, Critique.SOMETHING_ELSE, [1, 2]) is None


def test_movers_go_first_in_ranked_order(catalogue: Catalogue) -> None:
    ranked = ScoredList((1, 2, 6, 4, 3), (5.0, 4.0, 3.0, 2.0, 1.0))
    shown = [5]  # Arrival: a drama, no comedy (funny axis 0)
    ref = reference(catalogue, Critique.FUNNIER, shown)
    assert ref == 0.0
    out = movers_first(ranked, catalogue, [Critique.FUNNIER], shown)
    assert out.ids == (4, 3, 1, 2, 6)  # the comedies first, each part in the ranker's order
    assert out.scores == (2.0, 1.0, 5.0, 4.0, 3.0)
    assert all(moves(catalogue, m, Critique.FUNNIER, ref) for m in out.ids[:2])
    assert not moves(catalogue, 6, Critique.FUNNIER, ref)  # equal is not beyond
    # two directions at once: only movies beyond the shown mean on both (Notting Hill 1999 < 2016)
    both = movers_first(ranked, catalogue, [Critique.FUNNIER, Critique.MORE_RECENT], shown)
    assert both == ranked
    # nothing shown: unchanged
    assert movers_first(ranked, catalogue, [Critique.FUNNIER], []) == ranked


def test_a_critique_records_its_direction_for_one_turn(catalogue: Catalogue) -> None:
    state = SessionState()
    state.show([1, 2])
    apply_understanding(state, Understanding(critiques=(Critique.FUNNIER,)), catalogue)
    assert state.directions == ["funnier"] and state.direction_from == [1, 2]
    apply_understanding(state, Understanding(k=3), catalogue)
    assert state.directions == [] and state.direction_from == []
    # an explicit year beats the relative one: no year direction
    apply_understanding(state, Understanding(critiques=(Critique.MORE_RECENT,), year_min=2012), catalogue)
    assert state.directions == [] and state.year_min == 2012
