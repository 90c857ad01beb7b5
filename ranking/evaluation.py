"""Fold-in evaluation: reveal a few positives of held-out users, rank the catalogue, score the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ranking.baselines import N_BUCKETS, bucket_of, zscore
from ranking.config import TrainConfig
from ranking.interactions import Interactions, split_users

ScoreFn = Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], np.ndarray]
_DISC = 1.0 / np.log2(np.arange(2, 52))


@dataclass(frozen=True)
class Tasks:
    """Fold-in queries for one reveal size: revealed rows and a target mask per user."""

    reveal: int
    users: np.ndarray
    liked: tuple[np.ndarray, ...]
    targets: np.ndarray  # (n_users, n_items) bool

    def __len__(self) -> int:
        return len(self.users)

    @property
    def disliked(self) -> tuple[np.ndarray, ...]:
        return tuple(np.zeros(0, dtype=np.int64) for _ in self.liked)

    def excluded(self) -> np.ndarray:
        mask = np.zeros_like(self.targets)
        for i, r in enumerate(self.liked):
            mask[i, r] = True
        return mask


def make_tasks(
    inter: Interactions,
    users: Sequence[int] | np.ndarray,
    reveal_sizes: Sequence[int],
    min_positives: int,
    seed: int,
) -> dict[int, Tasks]:
    """Nested reveal sets per user (one permutation per user and seed); targets = other positives."""
    eligible = [int(u) for u in sorted(users) if len(inter.positives[int(u)]) >= min_positives]
    perms = {}
    for u in eligible:
        rng = np.random.default_rng([seed, u])
        pos = np.unique(inter.positives[u])
        perms[u] = pos[rng.permutation(len(pos))]
    out = {}
    for r in reveal_sizes:
        targets = np.zeros((len(eligible), inter.n_items), dtype=bool)
        for i, u in enumerate(eligible):
            targets[i, perms[u][r:]] = True
        out[r] = Tasks(r, np.array(eligible, dtype=np.int64), tuple(perms[u][:r] for u in eligible), targets)
    return out


def metrics_from_scores(
    scores: np.ndarray, tasks: Tasks, target_mask: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-user recall@10, recall@50, ndcg@10; revealed rows are excluded, ``-inf`` never counts."""
    s = np.where(tasks.excluded(), -np.inf, scores.astype(np.float32))
    targets = tasks.targets if target_mask is None else target_mask
    k = min(50, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    hits = np.take_along_axis(targets, top, axis=1) & np.isfinite(np.take_along_axis(s, top, axis=1))
    n_t = targets.sum(axis=1).astype(np.float64)
    safe = np.maximum(n_t, 1.0)
    ideal = np.array([_DISC[: int(min(10, n))].sum() if n else 1.0 for n in n_t])
    return {
        "recall@10": hits[:, :10].sum(axis=1) / np.minimum(10, safe),
        "recall@50": hits[:, :50].sum(axis=1) / np.minimum(50, safe),
        "ndcg@10": (hits[:, :10] * _DISC[:10]).sum(axis=1) / ideal,
        "has_targets": n_t > 0,
    }


def evaluate(score_fn: ScoreFn, tasks: Tasks, batch: int = 256) -> np.ndarray:
    """Scores of ``score_fn`` for every task, ``(n_users, n_items)``."""
    parts = [
        score_fn(tasks.liked[i : i + batch], tasks.disliked[i : i + batch])
        for i in range(0, len(tasks), batch)
    ]
    return np.concatenate(parts, axis=0)


NDCG_WEIGHT = 0.5


def objective(m: dict[str, np.ndarray]) -> float:
    """What tuning maximises: mean Recall@50 plus half the mean NDCG@10."""
    return float(m["recall@50"].mean() + NDCG_WEIGHT * m["ndcg@10"].mean())


def tune_blend(
    components: Sequence[dict[int, np.ndarray]],
    tasks: dict[int, Tasks],
    grid: Sequence[float],
    sweeps: int = 3,
) -> np.ndarray:
    """Blend weights per evidence bucket by coordinate ascent over ``grid``.

    ``components[c][r]`` holds component ``c``'s raw scores for the tasks of reveal size ``r``;
    the weights of bucket ``b`` are tuned on the reveal sizes that fall in it.
    """
    n_c = len(components)
    weights = np.zeros((N_BUCKETS, n_c), dtype=np.float32)
    weights[:, 0] = 1.0
    by_bucket: dict[int, list[int]] = {}
    for r in tasks:
        by_bucket.setdefault(bucket_of(r), []).append(r)
    for b, reveals in by_bucket.items():
        z = {r: [zscore(comp[r]) for comp in components] for r in reveals}

        def score(w: np.ndarray, z: dict[int, list[np.ndarray]] = z, reveals: list[int] = reveals) -> float:
            total = 0.0
            for r in reveals:
                s = sum(wc * zc for wc, zc in zip(w, z[r], strict=True) if wc != 0)
                total += objective(metrics_from_scores(np.asarray(s), tasks[r])) if np.any(w) else -1.0
            return total / len(reveals)

        w = weights[b].copy()
        best = score(w)
        for _ in range(sweeps):
            improved = False
            for c in range(n_c):
                for g in grid:
                    if g == w[c]:
                        continue
                    trial = w.copy()
                    trial[c] = g
                    val = score(trial)
                    if val > best + 1e-9:
                        best, w, improved = val, trial, True
            if not improved:
                break
        weights[b] = w
    # buckets without validation reveal sizes borrow the nearest tuned bucket
    tuned = sorted(by_bucket)
    for b in range(N_BUCKETS):
        if b not in by_bucket and tuned:
            weights[b] = weights[min(tuned, key=lambda t: abs(t - b))]
    return weights


def mean_metrics(m: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(v.mean()) for k, v in m.items() if k != "has_targets"}


def configured_split(
    inter: Interactions, config: TrainConfig
) -> tuple[Interactions, Interactions, dict[int, Tasks]]:
    """:func:`validation_split` with ``config``'s fraction, reveal sizes, minimum, seed and cap (what the
    trainer and distributed training both use)."""
    return validation_split(
        inter,
        config.val_fraction,
        config.reveal_sizes,
        config.min_val_positives,
        config.seed,
        config.max_val_users,
    )


def validation_split(
    inter: Interactions,
    val_fraction: float,
    reveal_sizes: Sequence[int],
    min_positives: int,
    seed: int,
    max_val_users: int | None = None,
) -> tuple[Interactions, Interactions, dict[int, Tasks]]:
    """Fitting users, validation users and their fold-in tasks (at most ``max_val_users`` if set)."""
    fit_users, val_users = split_users(inter.users, val_fraction, seed)
    fit, val = inter.subset(fit_users), inter.subset(val_users)
    task_users = val.users
    if max_val_users and len(task_users) > max_val_users:
        pick = np.random.default_rng([seed, 7]).choice(len(task_users), max_val_users, replace=False)
        task_users = np.sort(task_users[pick])
    return fit, val, make_tasks(val, task_users, reveal_sizes, min_positives, seed)
