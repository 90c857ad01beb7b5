"""Simulated users: critiques derived from the target, openings without the title, episodes with fakes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from agent.evaluation.simulate import (
    MAX_TURNS,
    SimUser,
    critique,
    make_user,
    opening_message,
    run_episode,
    sample_users,
    summarise,
)
from agent.records import Query, Recommendation, Reply
from retrieval.catalogue import Catalogue
from retrieval.types import Movie


def movie(mid: int, year: int, genres: tuple[str, ...], count: int = 50, tags: tuple[str, ...] = ()) -> Movie:
    return Movie(mid, f"Movie {mid}", year, genres, tags=tags, rating_count=count)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(
        [
            movie(1, 1994, ("Comedy", "Romance"), tags=("quirky", "movie 1 sequel")),
            movie(2, 1999, ("Action", "Sci-Fi")),
            movie(3, 2010, ("Action", "Thriller")),
            movie(4, 2012, ("Horror",)),
            movie(5, 1995, ("Comedy",)),
            movie(6, 1993, ("Drama", "Romance")),
            movie(7, 1996, ("Crime", "Thriller")),
            movie(8, 1950, ("Film-Noir",), count=3),
            movie(9, 1995, ("Comedy",), count=5),
            movie(10, 1994, ("Comedy",), count=5),
            movie(11, 1999, ("Comedy", "Romance")),
        ]
    )


def test_critiques_follow_the_target(catalogue: Catalogue) -> None:
    c = catalogue.get
    target = c(1)  # 1994 comedy romance
    assert critique(target, [c(3), c(4)]) == "Not those. Something older, please."
    assert critique(c(3), [c(1), c(6)]) == "Not those. Something more recent."
    assert critique(target, [c(6), c(7)]) == "Not quite. More of a comedy, please."
    assert critique(c(5), [c(5), c(1), c(6)]).startswith("Not those. Something else")
    assert critique(c(6), [c(6), c(6), c(4)]) == "No horror, please."
    assert critique(c(6), [c(6), c(6), c(7), c(7)]) == "Something less violent, please."
    assert critique(c(5), [c(1), c(6), c(1)]) == "Not those. Something else, please."
    assert critique(c(9), [c(1), c(5), c(1)]) == "Something less popular, please."
    assert critique(c(5), [c(9), c(10), c(9)]) == "Something more popular, please."
    assert critique(c(1), [c(11), c(11)]) == "A bit older, please."
    assert critique(c(11), [c(1), c(1)]) == "Something a bit more recent, please."
    assert critique(target, []).startswith("Anything else")


def test_opening_never_names_the_target(catalogue: Catalogue) -> None:
    rng = np.random.default_rng(0)
    text = opening_message(catalogue.get(1), [catalogue.get(2), catalogue.get(3)], rng)
    assert "Movie 1 " not in text + " " and "Movie 1." not in text
    assert "Movie 2 (1999) and Movie 3 (2010)" in text
    assert "from the 1990s" in text
    assert "comedy" in text or "romance" in text
    assert "quirky" in text  # the tag naming the title is never used


def test_make_user_is_deterministic(catalogue: Catalogue) -> None:
    a = make_user(7, [1, 2, 3, 8], catalogue, np.random.default_rng([0, 7]))
    b = make_user(7, [1, 2, 3, 8], catalogue, np.random.default_rng([0, 7]))
    assert a == b and a is not None
    assert a.target not in a.opening_liked and a.target != 8  # rarely rated movies are never targets
    assert 2 <= len(a.opening_liked) <= 3
    assert make_user(7, [1], catalogue, np.random.default_rng(0)) is None


def test_sample_users_deterministic(catalogue: Catalogue) -> None:
    rows = [(u, m, 4.5, i) for u in (1, 2, 3) for i, m in enumerate((1, 2, 3, 5, 6))]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    a = sample_users(ratings, catalogue, [1, 2, 3], 2, seed=1)
    assert a == sample_users(ratings, catalogue, [3, 2, 1], 2, seed=1)
    assert len(a) == 2 and len({u.user_id for u in a}) == 2


class FakeSession:
    def __init__(self, app: FakeAgent) -> None:
        self.app = app

    def send(self, text: str) -> Reply:
        self.app.sent.append(text)
        ids = self.app.script[min(len(self.app.sent), len(self.app.script)) - 1]
        recs = tuple(
            Recommendation(m, f"Movie {m}", self.app.catalogue.get(m).year, (), 1.0, "x") for m in ids
        )
        return Reply("r", recs, Query())


class FakeAgent:
    def __init__(self, catalogue: Catalogue, script: Sequence[Sequence[int]]) -> None:
        self.catalogue, self.script = catalogue, script
        self.sent: list[str] = []

    def start_session(self) -> FakeSession:
        return FakeSession(self)


def test_episode_success_and_failure(catalogue: Catalogue) -> None:
    user = SimUser(9, 1, (2, 3), "I loved Movie 2 (1999) and Movie 3 (2010).")
    app = FakeAgent(catalogue, [[3, 4], [6, 7], [5, 1, 6]])
    ep = run_episode(app, user)
    assert (ep.turns, ep.rank, ep.success_at5, ep.success_at1) == (3, 2, True, False)
    assert app.sent == [
        user.opening,
        "Not those. Something older, please.",
        "Not quite. More of a comedy, please.",
    ]
    miss = run_episode(FakeAgent(catalogue, [[3, 4]]), user)
    assert (miss.turns, miss.rank, miss.turns_to_success) == (MAX_TURNS, None, MAX_TURNS + 1)
    hit = run_episode(FakeAgent(catalogue, [[1]]), user)
    s = summarise([ep, miss, hit])
    assert s.users == 3
    assert s.success_at1 == pytest.approx(1 / 3) and s.success_at5 == pytest.approx(2 / 3)
    assert s.avg_turns == pytest.approx((3 + 6 + 1) / 3)


def test_simulate_report(catalogue: Catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agent.evaluation.report import simulate_report, write_report
    from agent.evaluation.simulate import simulate

    user = SimUser(9, 1, (2, 3), "I loved Movie 2 (1999) and Movie 3 (2010).")
    eps = simulate(
        {"agent": FakeAgent(catalogue, [[3], [1]]), "retrieval only": FakeAgent(catalogue, [[3]])}, [user]
    )
    rep = simulate_report(eps, "note", seed=0)
    assert "| agent | 1 | 100.0 | 100.0 | 2.00 |" in rep.markdown
    assert rep.curves == {"agent": [0.0, 1.0, 1.0, 1.0, 1.0], "retrieval only": [0.0] * 5}
    names = {p.name for p in write_report(rep, tmp_path)}
    assert names == {"simulate.md", "simulate.json", "simulate_recall.png", "simulate_latency.png"}
