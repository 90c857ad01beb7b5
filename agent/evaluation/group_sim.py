"""Synthetic groups of held-out MovieLens users: how well each strategy serves every member.

Each group has 2–4 held-out users (drawn at random, or a random user and the users whose positives
overlap theirs most); each member reveals 3 liked movies, and a strategy's top 10 is scored by NDCG@10
against every member's own other positives. Per strategy: the mean member NDCG@10, the minimum member
NDCG@10 per group (averaged over groups) and the fairness gap (max − min member NDCG@10 per group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agent.group.aggregate import STRATEGIES, aggregate
from agent.group.recommend import GroupRecommender, group_filters
from agent.understanding.state import SessionState
from ranking.metrics import ndcg_at_k
from retrieval.catalogue import Catalogue

REVEAL = 3
MIN_POSITIVES = 10  # a member needs targets beyond the revealed movies
MIN_REVEAL_RATINGS = 10  # revealed movies are ones other MovieLens users rated too
K = 10
SOLO = "solo (own list)"  # reference: each member's own ranking of the same pool
MAX_LOSS = 0.05  # the default may lose at most 5% mean NDCG@10 against the best strategy on the mean


@dataclass(frozen=True, slots=True)
class SynthGroup:
    kind: str  # "random" or "similar"
    users: tuple[int, ...]
    revealed: tuple[tuple[int, ...], ...]
    targets: tuple[frozenset[int], ...]


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    group: SynthGroup
    ndcg: dict[str, tuple[float, ...]]  # strategy -> per-member NDCG@10


def _positives(ratings: pd.DataFrame, catalogue: Catalogue) -> dict[int, list[int]]:
    pos = ratings[ratings["rating"] >= 4.0].sort_values(["userId", "timestamp", "movieId"], kind="stable")
    return {
        int(u): [int(m) for m in dict.fromkeys(g["movieId"].tolist()) if m in catalogue]
        for u, g in pos.groupby("userId")
    }


def make_groups(
    ratings: pd.DataFrame,
    catalogue: Catalogue,
    users: Sequence[int] | np.ndarray,
    n_per_kind: int,
    seed: int = 0,
) -> list[SynthGroup]:
    """``n_per_kind`` random and ``n_per_kind`` similar-taste groups of 2–4 of ``users`` (deterministic)."""
    by_user = _positives(ratings, catalogue)
    eligible = sorted(int(u) for u in users if len(by_user.get(int(u), ())) >= MIN_POSITIVES)
    if len(eligible) < 4:
        return []
    sets = {u: set(by_user[u]) for u in eligible}
    rng = np.random.default_rng(seed)
    out: list[SynthGroup] = []
    for kind in ("random", "similar"):
        for _ in range(n_per_kind):
            size = int(rng.integers(2, 5))
            if kind == "random":
                members = [eligible[i] for i in rng.choice(len(eligible), size=size, replace=False)]
            else:
                first = eligible[int(rng.integers(len(eligible)))]

                def by_overlap(u: int, f: int = first) -> tuple[float, int]:
                    return (-len(sets[u] & sets[f]) / len(sets[u] | sets[f]), u)

                sim = sorted((u for u in eligible if u != first), key=by_overlap)
                members = [first, *sim[: size - 1]]
            out.append(_reveal(kind, members, by_user, catalogue, rng))
    return out


def _reveal(
    kind: str, members: Sequence[int], by_user: dict[int, list[int]], cat: Catalogue, rng: np.random.Generator
) -> SynthGroup:
    revealed = []
    for u in members:
        known = [m for m in by_user[u] if cat.get(m).rating_count >= MIN_REVEAL_RATINGS] or by_user[u]
        idx = rng.choice(len(known), size=min(REVEAL, len(known)), replace=False)
        revealed.append(tuple(int(known[i]) for i in sorted(idx)))
    shown = {m for r in revealed for m in r}
    targets = tuple(frozenset(by_user[u]) - shown for u in members)
    return SynthGroup(kind, tuple(int(u) for u in members), tuple(revealed), targets)


def group_state(group: SynthGroup) -> SessionState:
    """The group as a session: the first member is the speaker, the others are named members."""
    state = SessionState(liked=list(group.revealed[0]))
    for i, rev in enumerate(group.revealed[1:], 2):
        state.members[f"member {i}"] = SessionState(liked=list(rev))
    return state


def score_group(rec: GroupRecommender, group: SynthGroup, strategies: Sequence[str]) -> GroupOutcome:
    """Per-member NDCG@10 of every strategy's top 10 (and of each member's own ranking of the pool)."""
    state = group_state(group)
    members = state.member_list()
    exclude = state.excluded_ids()
    ids = rec.candidates(members, "", group_filters(members), exclude, [])
    ms = rec.member_scores(members, ids, "", exclude)
    pool = np.asarray(ms.ids, dtype=np.int64)
    out: dict[str, tuple[float, ...]] = {}
    for name in strategies:
        group_scores = aggregate(ms.scores, name)
        top = pool[np.lexsort((pool, -group_scores))][:K]
        out[name] = tuple(ndcg_at_k(top, t, K) for t in group.targets)
    solo = []
    for j, t in enumerate(group.targets):
        top = pool[np.lexsort((pool, -ms.scores[j]))][:K]
        solo.append(ndcg_at_k(top, t, K))
    out[SOLO] = tuple(solo)
    return GroupOutcome(group, out)


def run_groups(
    rec: GroupRecommender,
    groups: Sequence[SynthGroup],
    strategies: Sequence[str] = tuple(STRATEGIES),
    progress: Callable[[Sequence[SynthGroup]], Sequence[SynthGroup]] = lambda g: g,
) -> list[GroupOutcome]:
    return [score_group(rec, g, strategies) for g in progress(groups)]


def summarise(outcomes: Sequence[GroupOutcome], kind: str | None = None) -> dict[str, dict[str, float]]:
    """Per strategy: mean member NDCG@10, mean per-group minimum, mean per-group gap (max − min)."""
    rows = [o for o in outcomes if kind is None or o.group.kind == kind]
    names = list(rows[0].ndcg) if rows else []
    out: dict[str, dict[str, float]] = {}
    for name in names:
        per = [np.asarray(o.ndcg[name]) for o in rows]
        out[name] = {
            "groups": len(per),
            "mean_ndcg@10": float(np.mean(np.concatenate(per))),
            "min_member_ndcg@10": float(np.mean([p.min() for p in per])),
            "fairness_gap": float(np.mean([p.max() - p.min() for p in per])),
        }
    return out


def choose_default(summary: dict[str, dict[str, float]], max_loss: float = MAX_LOSS) -> str:
    """The strategy with the best minimum-member NDCG@10 among those within ``max_loss`` of the best mean."""
    cands = {k: v for k, v in summary.items() if k in STRATEGIES}
    best_mean = max(v["mean_ndcg@10"] for v in cands.values())
    ok = {k: v for k, v in cands.items() if v["mean_ndcg@10"] >= (1.0 - max_loss) * best_mean}
    return max(ok, key=lambda k: (ok[k]["min_member_ndcg@10"], ok[k]["mean_ndcg@10"]))
