"""Search for people: similarity plus a popularity prior (unit, with a FAKE retriever) and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalogue import Catalogue
from retrieval.search import popularity, search
from retrieval.types import Filters, Movie, ScoredList


class FakeRetriever:
    """Returns fixed similarities, honouring exclusions and n."""

    def __init__(self, sims: dict[int, float]) -> None:
        self.sims = sims

    def search(
        self, text: str, filters: Filters | None = None, exclude_ids: Collection[int] = (), n: int = 200
    ) -> ScoredList:
        ranked = sorted((m for m in self.sims if m not in exclude_ids), key=lambda m: -self.sims[m])[:n]
        return ScoredList(tuple(ranked), tuple(self.sims[m] for m in ranked))

    def search_vector(self, vec: np.ndarray, filters=None, exclude_ids=(), n=200):  # type: ignore[no-untyped-def]
        raise NotImplementedError


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(
        [
            Movie(1, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=150),
            Movie(2, "Ghost Ship", 2002, ("Horror",), rating_count=2),
            Movie(3, "Galaxy of Terror", 1981, ("Horror", "Sci-Fi"), rating_count=1),
            Movie(4, "Toy Story", 1995, ("Animation",), rating_count=200),
        ]
    )


def test_popularity_is_scaled_log_counts(catalogue: Catalogue) -> None:
    pop = popularity(catalogue)
    assert pop[4] == pytest.approx(1.0)
    assert pop[1] == pytest.approx(np.log1p(150) / np.log1p(200))
    assert 0 < pop[3] < pop[2] < pop[1]


def test_prior_breaks_near_ties_but_not_clear_matches(catalogue: Catalogue) -> None:
    fake = FakeRetriever({1: 0.46, 2: 0.49, 3: 0.48, 4: 0.10})
    assert search(fake, catalogue, "q", k=3, prior=0.0).ids == (2, 3, 1)
    assert search(fake, catalogue, "q", k=3, prior=0.1).ids == (1, 2, 3)
    # a clear semantic match is not overridden by popularity
    assert 4 not in search(fake, catalogue, "q", k=3, prior=0.1).ids


def test_exclusions_and_k_are_honoured(catalogue: Catalogue) -> None:
    fake = FakeRetriever({1: 0.46, 2: 0.49, 3: 0.48, 4: 0.10})
    res = search(fake, catalogue, "q", exclude_ids={1}, k=2)
    assert 1 not in res.ids and len(res) == 2
    assert list(res.scores) == sorted(res.scores, reverse=True)


@pytest.mark.slow
def test_cli_search_acceptance(data_dir: Path) -> None:
    from tests.conftest import test_cache_dir

    def run(*extra: str) -> list[dict]:
        env = {**os.environ, "REELCHAT_DATA_DIR": str(data_dir), "REELCHAT_CACHE_DIR": str(test_cache_dir())}
        out = subprocess.run(
            [sys.executable, "-m", "agent", "search", "space horror on a ship", "--k", "10", "--json",
             *extra],
            capture_output=True, text=True, env=env, check=True, timeout=900,
        )  # fmt: skip
        return json.loads(out.stdout)

    rows = run()
    assert len(rows) == 10 and set(rows[0]) == {"movie_id", "title", "year", "genres", "score"}
    assert 1214 in [r["movie_id"] for r in rows]
    filtered = run("--exclude-genre", "Horror", "--year-min", "2000")  # one run (each loads the index)
    assert len(filtered) == 10 and 1214 not in [r["movie_id"] for r in filtered]
    assert all("Horror" not in r["genres"] and r["year"] >= 2000 for r in filtered)


def test_cli_bad_data_dir_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "ml-latest-small").mkdir()
    (tmp_path / "ml-latest-small" / "movies.csv").write_text("movieId,title\n1,broken")
    out = subprocess.run(
        [sys.executable, "-m", "agent", "--data-dir", str(tmp_path), "--cache-dir", str(tmp_path / "c"),
         "data"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in out.stderr
    assert ".csv" in lines[0]
