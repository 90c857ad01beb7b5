"""Training of the set model and tuning of the shipped ensemble (set model + EASE + popularity + content)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ranking.baselines import (
    N_BUCKETS,
    Blend,
    Content,
    Popularity,
    SparseItemModel,
    bucket_of,
    fit_ease,
    zscore,
)
from ranking.config import TrainConfig
from ranking.evaluation import Tasks, configured_split, evaluate, metrics_from_scores, objective
from ranking.evaluation import tune_blend as _tune_blend
from ranking.interactions import Interactions, build_interactions
from ranking.model import SetModel, SetScorer, pca_factors
from ranking.set_training import fit_set_model, load_set_model, training_device
from ranking.sparse import NeighbourModel, fit_rp3beta

COMPONENTS = ("set", "ease", "pop", "content")
TEXT_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
N_CANDIDATES = 200
ItemModel = SparseItemModel | NeighbourModel  # the "ease" component: dense EASE or sparse RP3beta


@dataclass(frozen=True)
class TrainedModel:
    """Everything the reranker needs; saved by :func:`ranking.checkpoint.save`."""

    config: TrainConfig
    item_ids: np.ndarray  # (n,) int64 movie ids, row order of every item array
    item_emb: np.ndarray  # (n, e) float32 L2-normalised MiniLM vectors
    set_states: tuple[dict[str, torch.Tensor], ...]  # a bag of set models
    ease: ItemModel  # dense EASE, or RP3beta above ``config.dense_item_max`` items
    log_pop: np.ndarray  # (n,) float32 log(1 + positive count)
    weights: np.ndarray  # (N_BUCKETS, len(COMPONENTS)) blend weights tuned on validation users
    text_weights: np.ndarray  # (N_BUCKETS,) weight of retrieval similarity among candidates
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def set_models(self, device: torch.device | str = "cpu") -> list[SetModel]:
        return [load_set_model(s, self.config, device) for s in self.set_states]

    def scorer(self, device: torch.device | str = "cpu") -> Blend:
        comps = {
            "set": SetScorer(self.set_models(device), device),
            "ease": self.ease,
            "pop": Popularity(self.log_pop),
            "content": Content(self.item_emb),
        }
        return Blend(comps, self.weights)


def _normalise(item_emb: np.ndarray) -> np.ndarray:
    e = np.asarray(item_emb, dtype=np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def uses_sparse(n_items: int, config: TrainConfig) -> bool:
    """Whether a catalogue of ``n_items`` gets sparse RP3beta instead of dense EASE."""
    return n_items > config.dense_item_max


def item_model_grid(n_items: int, config: TrainConfig) -> tuple[float, ...]:
    """What validation chooses among: EASE lambdas, or RP3beta betas for a large catalogue."""
    return config.rp3_betas if uses_sparse(n_items, config) else config.ease_lambdas


def fit_item_models(
    inter: Interactions, params: Sequence[float], config: TrainConfig
) -> dict[float, ItemModel]:
    """The "ease" component for each value of ``params`` (see :func:`item_model_grid`)."""
    if uses_sparse(inter.n_items, config):
        return dict(fit_rp3beta(inter, params, config.rp3_alpha, config.sparse_topk))
    return dict(fit_ease(inter, params, config.ease_min_count))


def tune_ease(
    fit: Interactions,
    tasks: dict[int, Tasks],
    lambdas: Sequence[float],
    min_count: int = 1,
    config: TrainConfig | None = None,
) -> tuple[float, dict[float, float]]:
    """The item model parameter with the best mean validation objective over reveal sizes.

    Without ``config`` this tunes dense EASE's ``lambdas``; with it, :func:`fit_item_models` decides.
    """
    models = fit_item_models(fit, lambdas, config) if config else fit_ease(fit, lambdas, min_count)
    scores = {
        lam: float(
            np.mean([objective(metrics_from_scores(evaluate(m.score_batch, t), t)) for t in tasks.values()])
        )
        for lam, m in models.items()
    }
    return max(scores, key=lambda lam: scores[lam]), scores


def _candidates(content: Content, tasks: Tasks) -> tuple[np.ndarray, np.ndarray]:
    """Top-200 rows by content cosine (revealed excluded) and their similarities."""
    sims = content.score_batch(tasks.liked, tasks.disliked)
    sims = np.where(tasks.excluded(), -np.inf, sims)
    n = min(N_CANDIDATES, sims.shape[1])
    cand = np.argpartition(-sims, n - 1, axis=1)[:, :n]
    return cand, np.take_along_axis(sims, cand, axis=1)


def tune_text_weights(
    blend_scores: dict[int, np.ndarray], content: Content, tasks: dict[int, Tasks]
) -> np.ndarray:
    """Weight of the retrieval similarity when reranking 200 retrieved candidates, per bucket."""
    out = np.zeros(N_BUCKETS, dtype=np.float32)
    per_bucket: dict[int, dict[float, list[float]]] = {}
    for r, t in tasks.items():
        cand, sims = _candidates(content, t)
        base = np.take_along_axis(blend_scores[r], cand, axis=1)
        valid = np.isfinite(sims)  # tiny catalogues: fewer than 200 candidates
        sims = np.where(valid, sims, 0.0)
        for w in TEXT_GRID:
            s = np.full_like(blend_scores[r], -np.inf)
            np.put_along_axis(s, cand, np.where(valid, zscore(base) + w * zscore(sims), -np.inf), axis=1)
            val = objective(metrics_from_scores(s, t))
            per_bucket.setdefault(bucket_of(r), {}).setdefault(w, []).append(val)
    for b in range(N_BUCKETS):
        src = per_bucket.get(b) or per_bucket.get(min(per_bucket, key=lambda x: abs(x - b)), {})
        if src:
            out[b] = max(src, key=lambda w: float(np.mean(src[w])))
    return out


@dataclass(frozen=True)
class _TrainingData:
    """The catalogue rows and the users of training, split into fitting and validation users."""

    ids: np.ndarray
    emb: np.ndarray
    inter: Interactions  # all users
    fit: Interactions
    val: Interactions
    tasks: dict[int, Tasks]  # validation fold-in tasks per reveal size


def _training_data(
    ratings: pd.DataFrame, item_ids: Sequence[int] | np.ndarray, item_emb: np.ndarray, config: TrainConfig
) -> _TrainingData:
    ids = np.asarray(item_ids, dtype=np.int64)
    emb = _normalise(item_emb)
    if emb.shape[0] != len(ids):
        raise ValueError(f"item_emb has {emb.shape[0]} rows for {len(ids)} item ids")
    inter = build_interactions(ratings, ids)
    fit, val, tasks = configured_split(inter, config)
    if not tasks or len(next(iter(tasks.values()))) == 0:
        raise ValueError("no validation users with enough positives; lower min_val_positives")
    return _TrainingData(ids, emb, inter, fit, val, tasks)


@dataclass(frozen=True)
class _Tuned:
    """What validation chose: the EASE model and regularisation, blend and text weights."""

    ease_lambda: float
    ease_scores: dict[float, float]
    ease: ItemModel
    weights: np.ndarray
    text_weights: np.ndarray
    val_metrics: dict[str, dict[str, float]]


def _tune_ensemble(
    data: _TrainingData,
    states: Sequence[dict[str, torch.Tensor]],
    pop: Popularity,
    config: TrainConfig,
    device: torch.device,
) -> _Tuned:
    """Tune EASE, then the blend weights, then the text weights on the validation tasks."""
    tasks = data.tasks
    grid = item_model_grid(data.fit.n_items, config)
    models = fit_item_models(data.fit, grid, config)
    lam_scores = {
        lam: float(
            np.mean([objective(metrics_from_scores(evaluate(m.score_batch, t), t)) for t in tasks.values()])
        )
        for lam, m in models.items()
    }
    best_lam = max(lam_scores, key=lambda lam: lam_scores[lam])
    ease = models[best_lam]
    del models
    comps = {
        "set": SetScorer([load_set_model(st, config, device) for st in states], device),
        "ease": ease,
        "pop": pop,
        "content": Content(data.emb),
    }
    raw = [{r: evaluate(c.score_batch, t) for r, t in tasks.items()} for c in comps.values()]  # type: ignore[attr-defined]
    weights = _tune_blend(raw, tasks, config.blend_grid)
    blend = Blend(comps, weights)
    blend_scores = {r: evaluate(blend.score_batch, t) for r, t in tasks.items()}
    val_metrics = {
        f"r{r}": {
            k: float(v.mean()) for k, v in metrics_from_scores(s, tasks[r]).items() if k != "has_targets"
        }
        for r, s in blend_scores.items()
    }
    text_weights = tune_text_weights(blend_scores, Content(data.emb), tasks)
    return _Tuned(best_lam, lam_scores, ease, weights, text_weights, val_metrics)


def _refit_all_users(
    data: _TrainingData,
    content: np.ndarray,
    bag: Sequence[tuple[int, int]],
    ease_lambda: float,
    config: TrainConfig,
    device: torch.device,
    progress: bool,
) -> tuple[Popularity, tuple[dict[str, torch.Tensor], ...], ItemModel]:
    """Popularity, set models (``(seed, epochs)`` each) and EASE refitted on every user."""
    pop = Popularity.fit(data.inter)
    states = tuple(
        fit_set_model(
            data.inter, content, pop.log_counts, config, device, seed=s, epochs=e, progress=progress
        )[0]
        for s, e in bag
    )
    ease = fit_item_models(data.inter, [ease_lambda], config)[ease_lambda]
    return pop, states, ease


def train(
    ratings: pd.DataFrame,
    item_ids: Sequence[int] | np.ndarray,
    item_emb: np.ndarray,
    config: TrainConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> TrainedModel:
    """Train the set model, tune EASE and the blend on validation users, refit on all users."""
    config = config or TrainConfig()
    dev = training_device(device, config)
    t0 = time.perf_counter()
    data = _training_data(ratings, item_ids, item_emb, config)
    content = pca_factors(data.emb, config.dim)
    fit_pop = Popularity.fit(data.fit)
    seeds = [config.seed * 1000 + i for i in range(config.n_models)]
    bag = [
        fit_set_model(
            data.fit,
            content,
            fit_pop.log_counts,
            config,
            dev,
            seed=s,
            val_tasks=data.tasks,
            progress=progress,
        )
        for s in seeds
    ]
    states = tuple(b[0] for b in bag)
    epochs = [b[1] for b in bag]
    t_set = time.perf_counter() - t0
    tuned = _tune_ensemble(data, states, fit_pop, config, dev)
    t_tune = time.perf_counter() - t0
    pop, ease = fit_pop, tuned.ease
    if config.refit_full:
        bag_runs = list(zip(seeds, epochs, strict=True))
        pop, states, ease = _refit_all_users(
            data, content, bag_runs, tuned.ease_lambda, config, dev, progress
        )
    info = {
        "best_epoch": epochs,
        "val_history": [b[2] for b in bag],
        "ease_lambda": tuned.ease_lambda,
        "item_model": "rp3beta" if uses_sparse(len(data.ids), config) else "ease",
        "ease_val": {str(k): v for k, v in tuned.ease_scores.items()},
        "val_metrics": tuned.val_metrics,
        "n_fit_users": len(data.fit.users),
        "n_val_users": len(data.val.users),
        "seconds_set_model": round(t_set, 2),
        "seconds_until_tuned": round(t_tune, 2),
        "seconds_total": round(time.perf_counter() - t0, 2),
        "device": str(dev),
    }
    weights, text_weights = tuned.weights, tuned.text_weights
    return TrainedModel(config, data.ids, data.emb, states, ease, pop.log_counts, weights, text_weights, info)
