"""The synthetic MovieLens generator: same files as MovieLens, MovieLens marginals, learnable taste."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrieval.movielens import read_movielens
from retrieval.synth import BUILTIN, RATING_VALUES, estimate_marginals, synthesize


def _stats(folder: Path) -> dict[str, object]:
    movies = pd.read_csv(folder / "movies.csv")
    ratings = pd.read_csv(folder / "ratings.csv")
    genres = movies["genres"].str.split("|").explode().value_counts() / len(movies)
    years = movies["title"].str.extract(r"\((\d{4})\)\s*$")[0].dropna().astype(int)
    values = ratings["rating"].round(1).value_counts(normalize=True)
    per_item = np.sort(ratings["movieId"].value_counts().to_numpy())[::-1]
    per_user = ratings["userId"].value_counts().to_numpy()
    return {
        "genres": genres.to_dict(),
        "year_q": np.quantile(years, [0.1, 0.25, 0.5, 0.75, 0.9]),
        "values": np.array([values.get(v, 0.0) for v in RATING_VALUES]),
        "top10": per_item[: len(per_item) // 10].sum() / per_item.sum(),
        "top1": per_item[: len(per_item) // 100].sum() / per_item.sum(),
        "user_median": float(np.median(per_user)),
        "user_min": int(per_user.min()),
        "n": len(ratings),
    }


@pytest.fixture(scope="module")
def ml_shaped(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """ml-latest-small and a synthetic set of its size, with marginals estimated from it."""
    real = data_dir / "ml-latest-small"
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, users=610, items=9742, ratings=100_836, seed=0, marginals=estimate_marginals(real))
    return real, out


def test_marginals_match_ml_latest_small(ml_shaped: tuple[Path, Path]) -> None:
    real, syn = (_stats(p) for p in ml_shaped)
    for genre, share in real["genres"].items():  # type: ignore[attr-defined]
        assert abs(syn["genres"].get(genre, 0.0) - share) < 0.03, genre  # type: ignore[attr-defined]
    assert np.abs(syn["year_q"] - real["year_q"]).max() <= 3  # type: ignore[operator]
    assert np.abs(syn["values"] - real["values"]).sum() / 2 < 0.01  # type: ignore[operator]
    assert abs(syn["n"] - real["n"]) / real["n"] < 0.03  # type: ignore[operator]


def test_popularity_and_activity_are_skewed_like_movielens(ml_shaped: tuple[Path, Path]) -> None:
    real, syn = (_stats(p) for p in ml_shaped)
    # ml-latest-small: the top 10% of movies get 60% of the ratings, the top 1% 16%
    assert abs(syn["top10"] - real["top10"]) < 0.08  # type: ignore[operator]
    assert abs(syn["top1"] - real["top1"]) < 0.06  # type: ignore[operator]
    assert syn["user_min"] == real["user_min"] == 20
    assert 0.6 < syn["user_median"] / real["user_median"] < 1.6  # type: ignore[operator]


def test_writes_valid_movielens_files_with_builtin_marginals(tmp_path: Path) -> None:
    counts = synthesize(tmp_path, users=50, items=300, ratings=3000, seed=1)
    tables = read_movielens(tmp_path)  # the project's own validation of a MovieLens folder
    assert len(tables["movies.csv"]) == 300 and counts["items"] == 300
    assert len(tables["ratings.csv"]) == counts["ratings"]
    assert set(tables["ratings.csv"]["rating"].unique()) <= set(RATING_VALUES)
    assert not tables["ratings.csv"].duplicated(["userId", "movieId"]).any()
    assert tables["movies.csv"]["title"].str.match(r".+ \(\d{4}\)$").all()
    assert abs(sum(BUILTIN.ratings) - 1.0) < 1e-3


def test_same_seed_same_files(tmp_path: Path) -> None:
    synthesize(tmp_path / "a", users=30, items=100, ratings=900, seed=3)
    synthesize(tmp_path / "b", users=30, items=100, ratings=900, seed=3)
    for name in ("movies.csv", "ratings.csv", "tags.csv", "links.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_collaborative_filtering_learns_the_latent_taste(tmp_path: Path) -> None:
    """Item-item CF beats popularity on held-out users: the ratings carry taste, not only popularity."""
    from ranking.baselines import Popularity
    from ranking.evaluation import evaluate, make_tasks, metrics_from_scores
    from ranking.interactions import build_interactions, split_users
    from ranking.sparse import fit_rp3beta

    synthesize(tmp_path, users=1000, items=3000, ratings=60_000, seed=2)
    ratings = pd.read_csv(tmp_path / "ratings.csv")
    inter = build_interactions(ratings, np.arange(1, 3001))
    fit_users, test_users = split_users(inter.users, 0.2, 0)
    fit, test = inter.subset(fit_users), inter.subset(test_users)
    tasks = make_tasks(test, test.users, [3], 6, 0)[3]
    cf = fit_rp3beta(fit, [0.3])[0.3]
    ndcg = {
        name: float(metrics_from_scores(evaluate(m.score_batch, tasks), tasks)["ndcg@10"].mean())
        for name, m in (("cf", cf), ("pop", Popularity.fit(fit)))
    }
    assert ndcg["cf"] > 1.3 * ndcg["pop"], ndcg
