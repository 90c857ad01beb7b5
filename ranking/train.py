"""Training of the set model and tuning of the shipped ensemble (set model + EASE + popularity + content)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

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
from ranking.evaluation import Tasks, evaluate, make_tasks, metrics_from_scores, objective
from ranking.evaluation import tune_blend as _tune_blend
from ranking.interactions import Interactions, build_interactions, split_users
from ranking.model import SetModel, SetScorer, pad_sets, pca_factors

COMPONENTS = ("set", "ease", "pop", "content")
TEXT_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
N_CANDIDATES = 200


@dataclass(frozen=True)
class TrainedModel:
    """Everything the reranker needs; saved by :func:`ranking.checkpoint.save`."""

    config: TrainConfig
    item_ids: np.ndarray  # (n,) int64 movie ids, row order of every item array
    item_emb: np.ndarray  # (n, e) float32 L2-normalised MiniLM vectors
    set_states: tuple[dict[str, torch.Tensor], ...]  # a bag of set models
    ease: SparseItemModel
    log_pop: np.ndarray  # (n,) float32 log(1 + positive count)
    weights: np.ndarray  # (N_BUCKETS, len(COMPONENTS)) blend weights tuned on validation users
    text_weights: np.ndarray  # (N_BUCKETS,) weight of retrieval similarity among candidates
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def set_models(self, device: torch.device | str = "cpu") -> list[SetModel]:
        return [_load_set_model(s, self.config, device) for s in self.set_states]

    def scorer(self, device: torch.device | str = "cpu") -> Blend:
        comps = {
            "set": SetScorer(self.set_models(device), device),
            "ease": self.ease,
            "pop": Popularity(self.log_pop),
            "content": Content(self.item_emb),
        }
        return Blend(comps, self.weights)


def _load_set_model(
    state: dict[str, torch.Tensor], config: TrainConfig, device: torch.device | str
) -> SetModel:
    model = SetModel(state["content"], state["bias"], config.hidden)
    model.load_state_dict(state)
    return model.to(device).eval()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _normalise(item_emb: np.ndarray) -> np.ndarray:
    e = np.asarray(item_emb, dtype=np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def _epoch_samples(
    inter: Interactions, config: TrainConfig, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(liked, disliked, targets) triples: random subsets of 1..10 positives predict the rest."""
    out = []
    for u in inter.users:
        pos = np.unique(inter.positives[int(u)])
        if len(pos) < 2:
            continue
        neg = inter.negatives[int(u)]
        for _ in range(config.samples_per_user):
            perm = rng.permutation(pos)
            k = int(rng.integers(1, min(config.max_set_size, len(pos) - 1) + 1))
            if rng.random() < config.single_fraction:
                k = 1
            dis = np.zeros(0, dtype=np.int64)
            if len(neg) and config.max_dislikes and rng.random() < 0.5:
                n_d = int(rng.integers(1, min(config.max_dislikes, len(neg)) + 1))
                dis = rng.choice(neg, size=n_d, replace=False)
            out.append((perm[:k], dis, perm[k:]))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _set_objective(model: SetModel, tasks: dict[int, Tasks], device: torch.device) -> float:
    scorer = SetScorer([model], device)
    vals = [objective(metrics_from_scores(evaluate(scorer.score_batch, t), t)) for t in tasks.values()]
    model.train()
    return float(np.mean(vals))


def batch_loss(
    model: SetModel,
    chunk: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    config: TrainConfig,
    device: torch.device,
    amp: bool,
) -> torch.Tensor:
    """Softmax loss of predicting each sample's held-out positives from its liked/disliked sets."""
    lr_, lm = pad_sets([c[0] for c in chunk], device)
    dr, dm = pad_sets([c[1] for c in chunk], device)
    tgt = torch.zeros(len(chunk), model.n_items, device=device)
    for j, c in enumerate(chunk):
        tgt[j, torch.from_numpy(c[2]).to(device)] = 1.0
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(lr_, lm, dr, dm).float()
    shown = torch.zeros_like(logits).scatter_add_(1, lr_, lm) > 0  # inputs are never targets
    logp = torch.log_softmax(logits.masked_fill(shown, -1e9), dim=-1)
    loss = -((logp * tgt).sum(1) / tgt.sum(1)).mean()
    return loss + config.factor_l2 * (model.in_delta.pow(2).sum() + model.out_delta.pow(2).sum())


def fit_set_model(
    inter: Interactions,
    content: np.ndarray,
    log_pop: np.ndarray,
    config: TrainConfig,
    device: torch.device,
    *,
    seed: int = 0,
    epochs: int | None = None,
    val_tasks: dict[int, Tasks] | None = None,
    progress: bool = False,
) -> tuple[dict[str, torch.Tensor], int, list[float]]:
    """Train; with ``val_tasks`` stop early and keep the best epoch, else run ``epochs`` epochs."""
    torch.manual_seed(seed)
    pop = torch.from_numpy(log_pop - log_pop.mean())
    model = SetModel(torch.from_numpy(content), pop, config.hidden).to(device)
    decay = [p for n, p in model.named_parameters() if "delta" not in n and p.ndim > 1]
    other = [p for n, p in model.named_parameters() if "delta" not in n and p.ndim <= 1]
    deltas = [model.in_delta, model.out_delta]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": other, "weight_decay": 0.0},
            {"params": deltas, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    amp = device.type == "cuda" and config.mixed_precision
    n_epochs = epochs if epochs is not None else config.max_epochs
    best, best_epoch, best_state, history, stale = -np.inf, 0, None, [], 0
    bar = tqdm(range(n_epochs), desc="train set model", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        rng = np.random.default_rng([seed, epoch])
        samples = _epoch_samples(inter, config, rng)
        total = 0.0
        for i in range(0, len(samples), config.batch_size):
            chunk = samples[i : i + config.batch_size]
            loss = batch_loss(model, chunk, config, device, amp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(chunk)
        if val_tasks is None:
            continue
        score = _set_objective(model, val_tasks, device)
        history.append(score)
        bar.set_postfix(loss=f"{total / max(len(samples), 1):.3f}", val=f"{score:.4f}")
        if score > best + 1e-6:
            best, best_epoch, stale = score, epoch + 1, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is None:
        best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        best_epoch = n_epochs
    return best_state, best_epoch, history


def tune_ease(
    fit: Interactions, tasks: dict[int, Tasks], lambdas: Sequence[float], min_count: int = 1
) -> tuple[float, dict[float, float]]:
    """The EASE regularisation with the best mean validation objective over reveal sizes."""
    models = fit_ease(fit, lambdas, min_count)
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
    dev = torch.device(device) if device is not None else default_device()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    t0 = time.perf_counter()
    ids = np.asarray(item_ids, dtype=np.int64)
    emb = _normalise(item_emb)
    if emb.shape[0] != len(ids):
        raise ValueError(f"item_emb has {emb.shape[0]} rows for {len(ids)} item ids")
    inter = build_interactions(ratings, ids)
    fit_users, val_users = split_users(inter.users, config.val_fraction, config.seed)
    fit, val = inter.subset(fit_users), inter.subset(val_users)
    tasks = make_tasks(val, val.users, config.reveal_sizes, config.min_val_positives, config.seed)
    if not tasks or len(next(iter(tasks.values()))) == 0:
        raise ValueError("no validation users with enough positives; lower min_val_positives")
    content = pca_factors(emb, config.dim)
    fit_pop = Popularity.fit(fit)

    seeds = [config.seed * 1000 + i for i in range(config.n_models)]
    bag = [
        fit_set_model(
            fit, content, fit_pop.log_counts, config, dev, seed=s, val_tasks=tasks, progress=progress
        )
        for s in seeds
    ]
    states = tuple(b[0] for b in bag)
    epochs = [b[1] for b in bag]
    t_set = time.perf_counter() - t0
    best_lam, lam_scores = tune_ease(fit, tasks, config.ease_lambdas, config.ease_min_count)
    ease_fit = fit_ease(fit, [best_lam], config.ease_min_count)[best_lam]
    comps = {
        "set": SetScorer([_load_set_model(st, config, dev) for st in states], dev),
        "ease": ease_fit,
        "pop": fit_pop,
        "content": Content(emb),
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
    text_weights = tune_text_weights(blend_scores, Content(emb), tasks)
    t_tune = time.perf_counter() - t0

    pop = fit_pop
    ease = ease_fit
    if config.refit_full:
        pop = Popularity.fit(inter)
        states = tuple(
            fit_set_model(inter, content, pop.log_counts, config, dev, seed=s, epochs=e, progress=progress)[0]
            for s, e in zip(seeds, epochs, strict=True)
        )
        ease = fit_ease(inter, [best_lam], config.ease_min_count)[best_lam]
    info = {
        "best_epoch": epochs,
        "val_history": [b[2] for b in bag],
        "ease_lambda": best_lam,
        "ease_val": {str(k): v for k, v in lam_scores.items()},
        "val_metrics": val_metrics,
        "n_fit_users": len(fit.users),
        "n_val_users": len(val.users),
        "seconds_set_model": round(t_set, 2),
        "seconds_until_tuned": round(t_tune, 2),
        "seconds_total": round(time.perf_counter() - t0, 2),
        "device": str(dev),
    }
    return TrainedModel(config, ids, emb, states, ease, pop.log_counts, weights, text_weights, info)
