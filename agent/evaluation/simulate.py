"""Simulated users: a held-out MovieLens user hides a target movie and critiques picks until it shows up.

The simulator opens with 2–3 of the user's other liked movies and the target's attributes (a genre or two,
its decade, a tag; never its title), then rejects each reply that misses the target with one critique
derived from the target ("older", "more recent", "more of a comedy", "no horror", "less violent", "more
popular"), for at most :data:`MAX_TURNS` turns. Success@k: the target is in the top k of some reply (the
episode ends at the first reply showing it in the top 5). Average turns counts a failure as ``MAX_TURNS + 1``.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MAX_TURNS = 5
MIN_TARGET_RATINGS = 10  # the target is a movie at least this many MovieLens users rated
MIN_OPENING_RATINGS = 20  # movies the user names are reasonably well known
VIOLENT = ("Action", "War", "Crime", "Horror")
WORD = {  # genre -> how a user says it before "movie" (IMAX is a format, not a taste)
    "Action": "action",
    "Adventure": "adventure",
    "Animation": "animated",
    "Children": "family",
    "Comedy": "comedy",
    "Crime": "crime",
    "Documentary": "documentary",
    "Drama": "drama",
    "Fantasy": "fantasy",
    "Film-Noir": "film noir",
    "Horror": "horror",
    "Musical": "musical",
    "Mystery": "mystery",
    "Romance": "romance",
    "Sci-Fi": "sci-fi",
    "Thriller": "thriller",
    "War": "war",
    "Western": "western",
}
NOUN = {
    "Action": "an action movie",
    "Adventure": "an adventure",
    "Animation": "an animated movie",
    "Children": "a family movie",
    "Comedy": "a comedy",
    "Crime": "a crime movie",
    "Documentary": "a documentary",
    "Drama": "a drama",
    "Fantasy": "a fantasy movie",
    "Film-Noir": "a film noir",
    "Horror": "a horror movie",
    "IMAX": "an IMAX movie",
    "Musical": "a musical",
    "Mystery": "a mystery",
    "Romance": "a romance",
    "Sci-Fi": "a sci-fi movie",
    "Thriller": "a thriller",
    "War": "a war movie",
    "Western": "a western",
}


@dataclass(frozen=True, slots=True)
class SimUser:
    user_id: int
    target: int
    opening_liked: tuple[int, ...]
    opening: str


@dataclass(frozen=True, slots=True)
class Episode:
    user_id: int
    target: int
    rank: int | None  # 1-based rank of the target in the reply that showed it, None if never shown
    turns: int  # turns played
    messages: tuple[str, ...]
    latencies_ms: tuple[float, ...]

    @property
    def success_at5(self) -> bool:
        return self.rank is not None and self.rank <= 5

    @property
    def success_at1(self) -> bool:
        return self.rank == 1

    @property
    def turns_to_success(self) -> int:
        return self.turns if self.success_at5 else MAX_TURNS + 1


@dataclass(frozen=True, slots=True)
class SimSummary:
    users: int
    success_at1: float
    success_at5: float
    avg_turns: float
    latency_ms_mean: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "users": self.users,
            "success@1": self.success_at1,
            "success@5": self.success_at5,
            "avg_turns": self.avg_turns,
            "latency_ms_mean": self.latency_ms_mean,
        }


def summarise(episodes: Sequence[Episode]) -> SimSummary:
    n = len(episodes)
    lat = [x for e in episodes for x in e.latencies_ms]
    return SimSummary(
        n,
        sum(e.success_at1 for e in episodes) / n if n else 0.0,
        sum(e.success_at5 for e in episodes) / n if n else 0.0,
        sum(e.turns_to_success for e in episodes) / n if n else 0.0,
        sum(lat) / len(lat) if lat else 0.0,
    )


# -- users ---------------------------------------------------------------------------------------------
def held_out_users(ratings: pd.DataFrame, catalogue: Catalogue, seed: int = 0) -> tuple[np.ndarray, str]:
    """The ranking benchmark's test users (``split_users(users, 0.2, seed)``) and a note on leakage."""
    from ranking.config import TrainConfig
    from ranking.interactions import build_interactions, split_users

    inter = build_interactions(ratings, catalogue.ids)
    _, held = split_users(inter.users, 0.2, seed)
    note = f"Held-out users: the ranking benchmark's 20% test split (split_users, seed {seed}): {len(held)}."
    if TrainConfig().refit_full:
        note += (
            " The shipped reranker is refit on ALL users (TrainConfig.refit_full), so by default the"
            " evaluation trains one without these users (--no-holdout-model skips that and is optimistic)."
        )
    return held, note


def _decade(year: int) -> str:
    return f"{year // 10 * 10}s"


def _tag(target: Movie, rng: np.random.Generator) -> str | None:
    title = target.title.casefold()
    ok = [
        t
        for t in target.tags
        if t and t.casefold() not in title and title not in t.casefold() and len(t) < 40
    ]
    return str(ok[int(rng.integers(len(ok)))]) if ok else None


def opening_message(target: Movie, liked: Sequence[Movie], rng: np.random.Generator) -> str:
    """First message: named favourites and the target's attributes, never its title."""
    names = [m.label for m in liked]
    loved = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    genres = [g for g in target.genres if g in WORD]
    rng.shuffle(genres)
    want = " ".join([*(WORD[g] for g in genres[: int(rng.integers(1, 3))]), "movie"])
    article = "an" if want[:1] in "aeiou" else "a"
    text = f"I loved {loved}. I'm looking for {article} {want}"
    if target.year:
        text += f" from the {_decade(target.year)}"
    tag = _tag(target, rng)
    return text + (f", ideally {tag}." if tag else ".")


def make_user(
    user_id: int, positives: Sequence[int], catalogue: Catalogue, rng: np.random.Generator
) -> SimUser | None:
    """A simulated user from their positively rated movies (None when there are too few usable ones)."""
    movies = [m for mid in dict.fromkeys(positives) if (m := catalogue.find(mid)) is not None]
    targets = [
        m for m in movies if m.year and set(m.genres) & WORD.keys() and m.rating_count >= MIN_TARGET_RATINGS
    ]
    if not targets:
        return None
    target = targets[int(rng.integers(len(targets)))]
    known = [m for m in movies if m.movie_id != target.movie_id and m.rating_count >= MIN_OPENING_RATINGS]
    n = min(len(known), int(rng.integers(2, 4)))
    if n < 2:
        return None
    picks = [known[i] for i in sorted(rng.choice(len(known), size=n, replace=False))]
    msg = opening_message(target, picks, rng)
    return SimUser(user_id, target.movie_id, tuple(m.movie_id for m in picks), msg)


def sample_users(
    ratings: pd.DataFrame, catalogue: Catalogue, users: Sequence[int] | np.ndarray, n: int, seed: int = 0
) -> list[SimUser]:
    """``n`` simulated users drawn deterministically (by ``seed``) from ``users``."""
    pos = ratings[ratings["rating"] >= 4.0].sort_values(["userId", "timestamp", "movieId"], kind="stable")
    by_user = {int(u): g["movieId"].tolist() for u, g in pos.groupby("userId")}
    order = np.random.default_rng(seed).permutation(np.asarray(sorted(int(u) for u in users), dtype=np.int64))
    out = []
    for u in order:
        sim = make_user(int(u), by_user.get(int(u), []), catalogue, np.random.default_rng([seed, int(u)]))
        if sim is not None:
            out.append(sim)
            if len(out) >= n:
                break
    return out


# -- critiques -----------------------------------------------------------------------------------------
def critique(target: Movie, picks: Sequence[Movie]) -> str:
    """One rejection derived from how the picks differ from the target (always true of the target)."""
    if not picks:
        return "Anything else? Show me something different."
    years = [m.year for m in picks if m.year]
    pivot = statistics.median(years) if years else None
    if target.year and pivot is not None and abs(target.year - pivot) >= 8:
        return (
            "Not those. Something older, please."
            if target.year < pivot
            else "Not those. Something more recent."
        )
    half = len(picks) / 2
    for g in target.genres:
        if g in NOUN and sum(g in m.genres for m in picks) < half:
            return f"Not quite. More of {NOUN[g]}, please."
    if "Horror" not in target.genres and any("Horror" in m.genres for m in picks):
        return "No horror, please."
    if (
        not set(VIOLENT) & set(target.genres)
        and sum(bool(set(VIOLENT) & set(m.genres)) for m in picks) >= half
    ):
        return "Something less violent, please."
    if target.year and pivot is not None and abs(target.year - pivot) >= 3:
        return "A bit older, please." if target.year < pivot else "Something a bit more recent, please."
    counts = sorted(m.rating_count for m in picks)
    typical = counts[len(counts) // 2]
    if target.rating_count >= 3 * max(typical, 1):
        return "Something more popular, please."
    if 3 * target.rating_count <= typical:
        return "Something less popular, please."
    return "Not those. Something else, please."


def run_episode(app: Any, user: SimUser, max_turns: int = MAX_TURNS) -> Episode:
    """Play one simulated user against ``app`` (anything with ``start_session()`` and ``catalogue``)."""
    cat: Catalogue = app.catalogue
    target = cat.get(user.target)
    session = app.start_session()
    messages, lat = [user.opening], []
    rank = None
    for turn in range(1, max_turns + 1):
        t0 = time.perf_counter()
        reply = session.send(messages[-1])
        lat.append((time.perf_counter() - t0) * 1000.0)
        ids = [r.movie_id for r in reply.recommendations][:5]
        if user.target in ids:
            rank = ids.index(user.target) + 1
            return Episode(user.user_id, user.target, rank, turn, tuple(messages), tuple(lat))
        if turn < max_turns:
            messages.append(critique(target, [cat.get(m) for m in ids if m in cat]))
    return Episode(user.user_id, user.target, rank, max_turns, tuple(messages), tuple(lat))


def simulate(
    apps: Mapping[str, Any], users: Sequence[SimUser], *, progress: bool = True
) -> dict[str, list[Episode]]:
    """Every user against every variant (same users, same order)."""
    out: dict[str, list[Episode]] = {}
    for name, app in apps.items():
        out[name] = [
            run_episode(app, u)
            for u in tqdm(users, desc=f"simulate {name}", unit="user", disable=not progress)
        ]
    return out


def holdout_app(
    app: Any, held_users: Sequence[int] | np.ndarray, progress: bool = True, name: str = "eval-holdout"
) -> Any:
    """A copy of the agent whose reranker is trained without ``held_users`` (cached in ``cache_dir/name``)."""
    res = copy.copy(app.resources)
    ratings = res.ratings
    res.__dict__["_dataset"] = (res.catalogue, ratings[~ratings["userId"].isin(list(held_users))])
    res.settings = res.settings.model_copy(update={"cache_dir": res.settings.cache_dir / name})
    res._reranker = None
    res.progress = progress
    clone = type(app)(res)
    _ = clone.engine.pipeline  # trains (or loads) the held-out model now, with progress bars
    return clone


def variant_apps(app: Any, holdout: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Full agent and retrieval only (reranker replaced by retrieval similarity)."""
    from agent.evaluation.variants import without_reranker

    base = holdout(app) if holdout else app
    return {"agent": base, "retrieval only": without_reranker(base)}
