"""Fine-tuning: warm-start the ensemble on MovieLens plus stored chat feedback, then gate on validation.

Each feedback user becomes a pseudo-user (repeated ``feedback_repeat`` times, which upweights them):
their last ``liked`` / ``disliked`` signal per movie becomes a 5.0 / 1.0 rating, so liked movies are
positives and disliked ones the set model's dislike inputs; ``seen`` carries no taste and is ignored.

What changes: every set model of the bag continues training from its saved state for a few epochs
(same sampling and loss as :func:`ranking.set_training.fit_set_model`, lower learning rate); EASE is
refitted on the same data with the already tuned regularisation, so feedback co-occurrences count at once.
What stays: popularity, blend weights and text weights (tuned on validation users during training).

The gate uses the training protocol: the same validation users (``config.seed`` split), reveal sizes
and targets; the result is accepted iff validation NDCG@10 after >= ``min_ratio`` x before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ranking.config import TrainConfig
from ranking.evaluation import Tasks, evaluate, make_tasks, metrics_from_scores
from ranking.interactions import Interactions, build_interactions, split_users
from ranking.set_training import cpu_state, load_set_model, set_model_optimizer, train_epoch, training_device
from ranking.train import TrainedModel, fit_item_models

FEEDBACK_COLUMNS = ("user_key", "movie_id", "signal")
MIN_RATIO = 0.98  # refuse a model whose validation NDCG@10 drops by more than 2 %
LIKED_RATING, DISLIKED_RATING = 5.0, 1.0


@dataclass(frozen=True)
class FinetuneResult:
    """The fine-tuned model and the validation gate's verdict."""

    model: TrainedModel
    val_before: float
    val_after: float
    accepted: bool
    reason: str


def feedback_frame(feedback: pd.DataFrame | Iterable[tuple[str, int, str]]) -> pd.DataFrame:
    """Feedback as a ``user_key, movie_id, signal`` frame (row order = time order)."""
    if isinstance(feedback, pd.DataFrame):
        missing = [c for c in FEEDBACK_COLUMNS if c not in feedback.columns]
        if missing:
            raise ValueError(f"feedback frame lacks columns {missing}")
        df = feedback[list(FEEDBACK_COLUMNS)]
    else:
        df = pd.DataFrame(list(feedback), columns=list(FEEDBACK_COLUMNS))
    return df.astype({"user_key": str, "movie_id": np.int64, "signal": str}).reset_index(drop=True)


def feedback_ratings(
    feedback: pd.DataFrame | Iterable[tuple[str, int, str]], first_user: int, repeat: int = 1, t0: int = 0
) -> tuple[pd.DataFrame, int]:
    """MovieLens-style rating rows for feedback pseudo-users and the number of distinct users.

    The last liked/disliked signal per (user, movie) wins. Copy ``c`` of feedback user ``k`` gets the
    user id ``first_user + c * n_users + k``.
    """
    df = feedback_frame(feedback)
    df = df[df["signal"].isin(["liked", "disliked"])]
    df = df.drop_duplicates(["user_key", "movie_id"], keep="last")
    keys = sorted(df["user_key"].unique())
    code = {k: i for i, k in enumerate(keys)}
    rating = np.where(df["signal"].to_numpy() == "liked", LIKED_RATING, DISLIKED_RATING)
    base = pd.DataFrame(
        {
            "userId": df["user_key"].map(code).to_numpy(np.int64),
            "movieId": df["movie_id"].to_numpy(np.int64),
            "rating": rating.astype(np.float64),
            "timestamp": t0 + np.arange(len(df), dtype=np.int64),
        }
    )
    copies = [base.assign(userId=base["userId"] + first_user + c * len(keys)) for c in range(max(repeat, 1))]
    out = pd.concat(copies, ignore_index=True) if len(base) else base
    return out, len(keys)


def validation_tasks(model: TrainedModel, ratings: pd.DataFrame) -> dict[int, Tasks]:
    """The validation fold-in tasks of training: same user split, reveal sizes and seed."""
    cfg = model.config
    inter = build_interactions(ratings, model.item_ids)
    _, val_users = split_users(inter.users, cfg.val_fraction, cfg.seed)
    val = inter.subset(val_users)
    tasks = make_tasks(val, val.users.tolist(), cfg.reveal_sizes, cfg.min_val_positives, cfg.seed)
    if not tasks or len(next(iter(tasks.values()))) == 0:
        raise ValueError("no validation users with enough positives; lower min_val_positives")
    return tasks


def validation_ndcg(
    model: TrainedModel, tasks: dict[int, Tasks], device: torch.device | str = "cpu"
) -> float:
    """Mean NDCG@10 of the tuned blend over the reveal sizes of ``tasks``."""
    blend = model.scorer(device)
    vals = [
        float(metrics_from_scores(evaluate(blend.score_batch, t), t)["ndcg@10"].mean())
        for t in tasks.values()
    ]
    return float(np.mean(vals))


def _continue_set_model(
    state: dict[str, torch.Tensor],
    inter: Interactions,
    config: TrainConfig,
    device: torch.device,
    *,
    seed: int,
    epochs: int,
    lr: float,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """Train a set model further from ``state`` (same samples and loss as training)."""
    torch.manual_seed(seed)
    net = load_set_model(state, config, device).train()
    opt = set_model_optimizer(net, config, lr)
    for epoch in tqdm(range(epochs), desc="fine-tune set model", disable=not progress, leave=False):
        train_epoch(net, opt, inter, config, device, np.random.default_rng([seed, epoch, 1]))
    return cpu_state(net)


@dataclass(frozen=True)
class _FeedbackData:
    """The users fine-tuning trains on: MovieLens users plus the feedback pseudo-users."""

    inter: Interactions
    pseudo_users: np.ndarray
    n_feedback_users: int
    n_feedback_rows: int  # distinct liked / disliked signals (before repetition)


def _feedback_data(
    model: TrainedModel,
    ratings: pd.DataFrame,
    feedback: pd.DataFrame | Iterable[tuple[str, int, str]],
    feedback_repeat: int,
) -> _FeedbackData:
    cfg = model.config
    first_user = int(ratings["userId"].max()) + 1 if len(ratings) else 1
    t0 = int(ratings["timestamp"].max()) + 1 if len(ratings) else 0
    fb_rows, n_fb_users = feedback_ratings(feedback, first_user, feedback_repeat, t0)
    movielens = build_interactions(ratings, model.item_ids)
    base_users = movielens.users
    if not cfg.refit_full:
        base_users, _ = split_users(movielens.users, cfg.val_fraction, cfg.seed)
    combined = build_interactions(pd.concat([ratings, fb_rows], ignore_index=True), model.item_ids)
    pseudo = combined.users[combined.users >= first_user]
    inter = combined.subset(np.concatenate([base_users, pseudo]))
    return _FeedbackData(inter, pseudo, n_fb_users, int(len(fb_rows) // max(feedback_repeat, 1)))


def _verdict(before: float, after: float, min_ratio: float) -> tuple[bool, str]:
    """Whether validation NDCG@10 kept at least ``min_ratio`` of its value, and why."""
    accepted = after >= min_ratio * before
    change = (after / before - 1.0) * 100.0 if before > 0 else 0.0
    if accepted:
        return accepted, f"validation NDCG@10 {before:.4f} -> {after:.4f} ({change:+.1f}%)"
    return accepted, (
        f"validation NDCG@10 fell from {before:.4f} to {after:.4f} ({change:+.1f}%, "
        f"more than the {(1.0 - min_ratio) * 100:.0f}% allowed)"
    )


def finetune(
    model: TrainedModel,
    ratings: pd.DataFrame,
    feedback: pd.DataFrame | Iterable[tuple[str, int, str]],
    *,
    epochs: int = 3,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
    feedback_repeat: int = 5,
    lr_scale: float = 0.5,
    refit_ease: bool = True,
    min_ratio: float = MIN_RATIO,
) -> FinetuneResult:
    """Warm-start ``model`` on ``ratings`` plus ``feedback`` and gate it on validation NDCG@10.

    ``feedback`` has columns ``user_key`` (str), ``movie_id`` (int), ``signal`` (liked / disliked /
    seen), oldest first. Training uses all MovieLens users when the model was refitted on all of
    them (``config.refit_full``), else the training users only; feedback users are never validated
    on. Reproducible for a given ``seed`` on one device.
    """
    if epochs < 1:
        raise ValueError("epochs must be at least 1")
    cfg = model.config
    dev = training_device(device, cfg)
    tasks = validation_tasks(model, ratings)
    before = validation_ndcg(model, tasks, dev)
    data = _feedback_data(model, ratings, feedback, feedback_repeat)
    lr = cfg.lr * lr_scale
    states = tuple(
        _continue_set_model(
            st, data.inter, cfg, dev, seed=seed * 1000 + i, epochs=epochs, lr=lr, progress=progress
        )
        for i, st in enumerate(model.set_states)
    )
    ease = model.ease
    lam = model.info.get("ease_lambda")
    if refit_ease and lam is not None and len(data.pseudo_users):
        ease = fit_item_models(data.inter, [float(lam)], cfg)[float(lam)]
    run = {
        "epochs": epochs,
        "seed": seed,
        "lr": lr,
        "feedback_users": data.n_feedback_users,
        "feedback_rows": data.n_feedback_rows,
        "feedback_repeat": feedback_repeat,
        "ease_refit": ease is not model.ease,
        "device": str(dev),
    }
    n_finetunes = int(model.info.get("n_finetunes", 0)) + 1
    info: dict[str, Any] = {**model.info, "n_finetunes": n_finetunes, "finetune": run}
    tuned = dataclasses.replace(model, set_states=states, ease=ease, info=info)
    after = validation_ndcg(tuned, tasks, dev)
    accepted, reason = _verdict(before, after, min_ratio)
    tuned.info["finetune"] |= {"val_ndcg_before": before, "val_ndcg_after": after, "accepted": accepted}
    return FinetuneResult(tuned, before, after, accepted, reason)


__all__ = [
    "FEEDBACK_COLUMNS",
    "MIN_RATIO",
    "FinetuneResult",
    "feedback_frame",
    "feedback_ratings",
    "finetune",
    "validation_ndcg",
    "validation_tasks",
]
