"""Synthetic MovieLens-shaped data: ``movies.csv``, ``ratings.csv``, ``tags.csv`` and ``links.csv``.

``reelchat data synth --users U --items I --ratings R --seed S --out DIR`` writes a folder that every
command reads like ml-latest-small. The generative story, in order:

1. **Items.** Each movie gets a unit latent taste vector ``v_i`` (``LATENT_DIM`` dims), a year drawn
   from the MovieLens year histogram and genres: genre ``g`` goes to the ``share_g`` fraction of movies
   whose ``v_i · c_g + noise`` is highest (``c_g`` a random genre direction), so genre shares match
   MovieLens and genres follow taste. A movie left without a genre gets its best-aligned one, except
   for the MovieLens share of "(no genres listed)". Titles are made of word lists plus the year.
2. **Popularity.** Movies get a random popularity rank ``k`` and the weight
   ``(k + POP_SHIFT * items) ** -POP_EXPONENT`` (Zipf-Mandelbrot), so ratings per movie follow a power
   law; at ml-latest-small's size the top 10% of movies get 60% of the ratings and the top 1% 16%, as
   there.
3. **Users.** Each user belongs to one of ``N_TASTES`` taste clusters (centre ``t_c``) and rates a
   Pareto-distributed number of movies (at least 20 when the budget allows, like MovieLens), scaled so
   the total is about ``ratings``.
4. **Choices.** A user's movies are drawn without repeats from their cluster's distribution, a mixture
   of ``p_c(i) ∝ w_i exp(TASTE_STRENGTH · v_i · t_c)`` (weight ``1 - EXPLORE``) and plain popularity
   ``w_i``: this is the latent structure collaborative filtering can learn. (Draws with replacement,
   repeats dropped, then Gumbel top-k for the few heavy users still short.)
5. **Ratings.** A score ``v_i · t_c + user bias + item bias + noise`` is mapped through its rank onto
   the MovieLens distribution of rating values (0.5 to 5.0), so liked movies are the well-aligned ones.
   Timestamps fall in a per-user window between 1996 and 2018.

Marginals (genre shares, share of each genre count, year histogram, rating values) are estimated from
an ml-latest-small folder when one is given, else taken from :data:`BUILTIN` (measured on it).
Generation is vectorised numpy in chunks of users and the ratings are appended chunk by chunk, so
memory stays small even at 20M ratings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

LATENT_DIM = 16
N_TASTES = 48
POP_EXPONENT = 1.95
POP_SHIFT = 0.01  # Zipf-Mandelbrot shift, as a share of the catalogue: a flatter head
ACTIVITY_ALPHA = 1.6  # Pareto (Lomax) tail index of ratings per user
TASTE_STRENGTH = 14.0
EXPLORE = 0.1
MIN_USER_RATINGS = 20
USER_CHUNK = 20_000
T_START, T_END = 820_454_400, 1_537_000_000  # 1996-01-01 .. 2018-09

RATING_VALUES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)


@dataclass(frozen=True)
class Marginals:
    """MovieLens marginals the generator reproduces."""

    genre_share: dict[str, float]  # share of movies with each genre
    no_genre_share: float  # share of movies with "(no genres listed)"
    years: dict[int, float]  # year -> share of movies
    ratings: tuple[float, ...]  # share of each value of RATING_VALUES


_YEAR_BINS = {  # ml-latest-small: movies per 5-year bin (first year of the bin)
    1900: 2, 1905: 1, 1915: 7, 1920: 13, 1925: 24, 1930: 51, 1935: 85, 1940: 92, 1945: 105,
    1950: 112, 1955: 167, 1960: 193, 1965: 208, 1970: 223, 1975: 277, 1980: 452, 1985: 725,
    1990: 896, 1995: 1316, 2000: 1446, 2005: 1403, 2010: 1251, 2015: 680,
}  # fmt: skip
_BIN_TOTAL = sum(_YEAR_BINS.values())

BUILTIN = Marginals(
    genre_share={
        "Drama": 0.4476,
        "Comedy": 0.3855,
        "Thriller": 0.1944,
        "Action": 0.1876,
        "Romance": 0.1638,
        "Adventure": 0.1296,
        "Crime": 0.1231,
        "Sci-Fi": 0.1006,
        "Horror": 0.1004,
        "Fantasy": 0.08,
        "Children": 0.0682,
        "Animation": 0.0627,
        "Mystery": 0.0588,
        "Documentary": 0.0452,
        "War": 0.0392,
        "Musical": 0.0343,
        "Western": 0.0171,
        "IMAX": 0.0162,
        "Film-Noir": 0.0089,
    },
    no_genre_share=0.0035,
    years={
        b + k: n / _BIN_TOTAL / (4 if b == 2015 else 5)
        for b, n in _YEAR_BINS.items()
        for k in range(5)
        if b + k <= 2018
    },
    ratings=(0.0136, 0.0279, 0.0178, 0.0749, 0.055, 0.1988, 0.1303, 0.266, 0.0848, 0.131),
)

_YEAR = re.compile(r"\((\d{4})\)\s*$")
NO_GENRES = "(no genres listed)"


def estimate_marginals(ml_dir: Path) -> Marginals:
    """The marginals of the MovieLens folder ``ml_dir`` (movies.csv and ratings.csv)."""
    movies = pd.read_csv(Path(ml_dir) / "movies.csv")
    genres = movies["genres"].astype(str).str.split("|")
    n = len(movies)
    counts = genres.explode().value_counts()
    share = {str(g): float(c) / n for g, c in counts.items() if g != NO_GENRES}
    years = movies["title"].astype(str).str.extract(_YEAR)[0].dropna().astype(int)
    year_share = (years.value_counts() / len(years)).sort_index()
    values = pd.read_csv(Path(ml_dir) / "ratings.csv", usecols=["rating"])["rating"]
    dist = values.round(1).value_counts(normalize=True)
    return Marginals(
        share,
        float(counts.get(NO_GENRES, 0)) / n,
        {int(y): float(s) for y, s in year_share.items()},
        tuple(float(dist.get(v, 0.0)) for v in RATING_VALUES),
    )


_ADJ = (  # noqa: SIM905
    "Silent Crimson Last Hidden Broken Golden Dark Lost Wild Secret Eternal Frozen Burning Savage "
    "Quiet Electric Midnight Forgotten Distant Little Iron Scarlet Endless Hollow Bitter Brave "
    "Velvet Paper Northern Lonely Fallen Restless Shattered Sweet Stolen Wicked Gentle Final Hungry "
    "Strange"
).split()
_NOUN = (  # noqa: SIM905
    "River Kingdom Road Heart Summer Shadow Empire Garden Storm Island Mirror Promise Horizon "
    "Letter Stranger Machine Harbor Orchard Frontier Witness Circus Lantern Winter Highway Dream "
    "Signal Forest Ocean Detective Valley Station Ghost Bridge Carnival Desert Melody Planet "
    "Prophet Journey City"
).split()
_FORMS = ("The {a} {n}", "{a} {n}", "A {n} of {a} Days", "The {n}", "{n} of the {a} {m}", "{a} {n}s")
_SEQUEL = ("", "", "", "", "", "", " II", " 2", " III", ": Part Two")


def make_titles(rng: np.random.Generator, years: np.ndarray) -> list[str]:
    """MovieLens-style titles ``"Name (Year)"`` from word lists (repeats across years are allowed)."""
    n = len(years)
    a = rng.integers(0, len(_ADJ), n)
    b = rng.integers(0, len(_NOUN), n)
    c = rng.integers(0, len(_NOUN), n)
    f = rng.integers(0, len(_FORMS), n)
    s = rng.integers(0, len(_SEQUEL), n)
    return [
        _FORMS[f[i]].format(a=_ADJ[a[i]], n=_NOUN[b[i]], m=_NOUN[c[i]]) + _SEQUEL[s[i]] + f" ({years[i]})"
        for i in range(n)
    ]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _genres(rng: np.random.Generator, v: np.ndarray, m: Marginals) -> list[str]:
    """Genre strings: each genre on its share of movies, chosen by alignment with a genre direction."""
    names = list(m.genre_share)
    n = len(v)
    dirs = _unit(rng.standard_normal((len(names), v.shape[1])))
    align = v @ dirs.T + 0.5 * rng.standard_normal((n, len(names)))
    has = np.zeros((n, len(names)), dtype=bool)
    for g, name in enumerate(names):
        k = round(m.genre_share[name] * n)
        if k:
            has[np.argpartition(-align[:, g], k - 1)[:k], g] = True
    empty = ~has.any(axis=1)
    keep_empty = empty & (rng.random(n) < m.no_genre_share / max(empty.mean(), 1e-9))
    fill = np.flatnonzero(empty & ~keep_empty)
    has[fill, align[fill].argmax(axis=1)] = True
    return ["|".join(names[g] for g in np.flatnonzero(row)) or NO_GENRES for row in has]


def _activity(rng: np.random.Generator, users: int, ratings: int, items: int) -> np.ndarray:
    """Ratings per user: a floor plus a Pareto tail, summing to about ``ratings``."""
    floor = min(MIN_USER_RATINGS, max(1, ratings // (2 * users)))
    tail = rng.pareto(ACTIVITY_ALPHA, users)
    tail = np.minimum(tail, np.quantile(tail, 0.999))
    extra = max(ratings - floor * users, 0)
    n = floor + np.floor(tail / tail.sum() * extra).astype(np.int64)
    n[rng.choice(users, size=max(ratings - int(n.sum()), 0) % users, replace=False)] += 1
    return np.minimum(n, max(items // 2, 1))


@dataclass(frozen=True)
class _World:
    """The latent structure shared by every chunk of users."""

    cdf: np.ndarray  # (N_TASTES, items): cumulative choice distribution of each taste cluster
    tastes: np.ndarray  # (N_TASTES, d)
    v: np.ndarray  # (items, d)
    item_bias: np.ndarray

    @cached_property
    def log_pdf(self) -> np.ndarray:
        """(N_TASTES, items) float32 log choice probabilities."""
        return np.log(np.maximum(np.diff(self.cdf, axis=1, prepend=0.0), 1e-300)).astype(np.float32)

    @property
    def n_items(self) -> int:
        return int(self.cdf.shape[1])


def _world(rng: np.random.Generator, v: np.ndarray) -> _World:
    n = len(v)
    weight = np.empty(n)
    weight[rng.permutation(n)] = (np.arange(1, n + 1) + POP_SHIFT * n) ** -POP_EXPONENT
    weight /= weight.sum()
    tastes = _unit(rng.standard_normal((N_TASTES, v.shape[1])))
    logits = TASTE_STRENGTH * (tastes @ v.T)
    p = weight * np.exp(logits - logits.max(axis=1, keepdims=True))
    p = (1.0 - EXPLORE) * p / p.sum(axis=1, keepdims=True) + EXPLORE * weight
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    return _World(cdf, tastes, v, 0.3 * rng.standard_normal(n))


def _top_up(
    rng: np.random.Generator,
    world: _World,
    user: np.ndarray,
    item: np.ndarray,
    need: np.ndarray,
    taste: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Extra distinct items for the users short of ``need`` (Gumbel top-k: sampling without repeats).

    ``user`` must be sorted; heavy users (thousands of movies) mostly come through here.
    """
    have = np.bincount(user, minlength=len(need))
    start = np.concatenate([[0], np.cumsum(have)])
    extra_u, extra_i = [], []
    for u in np.flatnonzero(have < need):
        keys = world.log_pdf[taste[u]] + rng.gumbel(size=world.n_items).astype(np.float32)
        keys[item[start[u] : start[u + 1]]] = -np.inf
        k = int(need[u] - have[u])
        extra_i.append(np.argpartition(-keys, k - 1)[:k])
        extra_u.append(np.full(k, u))
    if not extra_u:
        return user, item
    user, item = np.concatenate([user, *extra_u]), np.concatenate([item, *extra_i])
    order = np.argsort(user, kind="stable")
    return user[order], item[order]


def _chunk(
    rng: np.random.Generator, world: _World, n_per_user: np.ndarray, taste: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local user, item row, score) of one chunk of users; no user rates a movie twice.

    Light users draw with replacement and drop repeats; heavy users and any still short are topped
    up by :func:`_top_up`.
    """
    n = world.n_items
    light = np.where(n_per_user <= max(50, n // 200), n_per_user, 0)
    user = np.repeat(np.arange(len(n_per_user)), np.ceil(light * 1.5).astype(np.int64))
    item = np.empty(len(user), dtype=np.int64)
    u01, dist = rng.random(len(user)), taste[user]
    for c in np.unique(dist):
        at = dist == c
        item[at] = np.minimum(np.searchsorted(world.cdf[c], u01[at]), n - 1)
    key = np.unique(user * n + item)  # sorted by user, repeats gone
    user, item = key // n, key % n
    order = np.lexsort((rng.random(len(key)), user))  # random order within each user
    user, item = user[order], item[order]
    rank = np.arange(len(user)) - np.searchsorted(user, np.arange(len(n_per_user)))[user]
    keep = rank < n_per_user[user]
    user, item = _top_up(rng, world, user[keep], item[keep], n_per_user, taste)
    ubias = 0.3 * rng.standard_normal(len(n_per_user))
    affinity = np.einsum("nd,nd->n", world.tastes[taste[user]], world.v[item])
    score = affinity + ubias[user] + world.item_bias[item] + 0.35 * rng.standard_normal(len(user))
    return user, item, score


def _rating_values(score: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Map scores by rank onto the rating-value distribution ``shares``."""
    q = (np.argsort(np.argsort(score, kind="stable"), kind="stable") + 0.5) / max(len(score), 1)
    cum = np.cumsum(np.asarray(shares) / sum(shares))
    idx = np.minimum(np.searchsorted(cum, q), len(RATING_VALUES) - 1)
    return np.asarray(RATING_VALUES, dtype=np.float64)[idx]


def _rating_chunks(
    rng: np.random.Generator, world: _World, users: int, ratings: int, m: Marginals
) -> Iterator[pd.DataFrame]:
    n_items = world.n_items
    per_user = _activity(rng, users, ratings, n_items)
    taste = rng.integers(0, N_TASTES, users)
    for lo in range(0, users, USER_CHUNK):
        hi = min(users, lo + USER_CHUNK)
        u, item, score = _chunk(rng, world, per_user[lo:hi], taste[lo:hi])
        span = rng.integers(86_400, 6 * 365 * 86_400, hi - lo)
        start = rng.integers(T_START, T_END - span)
        ts = start[u] + (rng.random(len(u)) * span[u]).astype(np.int64)
        yield pd.DataFrame(
            {
                "userId": u + lo + 1,
                "movieId": item + 1,
                "rating": _rating_values(score, m.ratings),
                "timestamp": ts,
            }
        )


def synthesize(
    out: Path, users: int, items: int, ratings: int, seed: int = 0, marginals: Marginals | None = None
) -> dict[str, int]:
    """Write the four MovieLens CSVs for ``users`` × ``items`` with about ``ratings`` ratings.

    Returns the counts written. ``marginals`` defaults to :data:`BUILTIN`.
    """
    if min(users, items, ratings) < 1:
        raise ValueError("users, items and ratings must be positive")
    m = marginals or BUILTIN
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    v = _unit(rng.standard_normal((items, LATENT_DIM)))
    yrs = np.array(sorted(m.years))
    p = np.array([m.years[y] for y in yrs])
    years = rng.choice(yrs, size=items, p=p / p.sum())
    ids = np.arange(1, items + 1)
    genres = _genres(rng, v, m)
    pd.DataFrame({"movieId": ids, "title": make_titles(rng, years), "genres": genres}).to_csv(
        out / "movies.csv", index=False
    )
    pd.DataFrame({"movieId": ids, "imdbId": [f"{i + 1_000_000:07d}" for i in ids], "tmdbId": ids}).to_csv(
        out / "links.csv", index=False
    )
    world = _world(rng, v)
    n_ratings = 0
    tag_rows = []
    path = out / "ratings.csv"
    for i, frame in enumerate(_rating_chunks(rng, world, users, ratings, m)):
        frame.to_csv(path, index=False, header=i == 0, mode="w" if i == 0 else "a", float_format="%.1f")
        n_ratings += len(frame)
        pick = frame.sample(n=max(1, len(frame) // 50), random_state=int(rng.integers(1 << 31)))
        tag_rows.append(pick[["userId", "movieId", "timestamp"]])
    tags = pd.concat(tag_rows, ignore_index=True)
    first_genre = np.array([g.split("|")[0].lower() for g in genres])
    words = np.array(["classic", "atmospheric", "funny", "twist ending", "slow", "visually appealing"])
    tags["tag"] = np.where(
        rng.random(len(tags)) < 0.5, first_genre[tags["movieId"] - 1], words[rng.integers(0, 6, len(tags))]
    )
    tags[["userId", "movieId", "tag", "timestamp"]].to_csv(out / "tags.csv", index=False)
    return {"users": users, "items": items, "ratings": n_ratings, "tags": len(tags)}
