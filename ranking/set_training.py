"""Training loop of the set model, shared by :func:`ranking.train.train` and fine-tuning.

Samples, loss, optimiser and epochs are the same for a model trained from scratch and for one that
continues from a saved state; only the seeds of the sampling differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ranking.config import TrainConfig
from ranking.evaluation import Tasks, evaluate, metrics_from_scores, objective
from ranking.interactions import Interactions
from ranking.model import SetModel, SetScorer, pad_sets


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def training_device(device: torch.device | str | None, config: TrainConfig) -> torch.device:
    """``device`` (default: CUDA when available), after applying ``config.num_threads``."""
    dev = torch.device(device) if device is not None else default_device()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    return dev


def load_set_model(
    state: dict[str, torch.Tensor], config: TrainConfig, device: torch.device | str
) -> SetModel:
    """A set model holding ``state``, on ``device``, in eval mode."""
    model = SetModel(state["content"], state["bias"], config.hidden)
    model.load_state_dict(state)
    return model.to(device).eval()


def epoch_samples(
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


def set_objective(model: SetModel, tasks: dict[int, Tasks], device: torch.device) -> float:
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
    forward: torch.nn.Module | None = None,
) -> torch.Tensor:
    """Softmax loss of predicting each sample's held-out positives from its liked/disliked sets.

    ``forward`` computes the logits in place of ``model`` (a DistributedDataParallel wrapper of it).
    """
    lr_, lm = pad_sets([c[0] for c in chunk], device)
    dr, dm = pad_sets([c[1] for c in chunk], device)
    cols = np.concatenate([c[2] for c in chunk]).astype(np.int64, copy=False)
    rows = np.repeat(np.arange(len(chunk)), [len(c[2]) for c in chunk])
    tgt = torch.zeros(len(chunk), model.n_items, device=device)
    tgt[torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)] = 1.0
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        logits = (forward or model)(lr_, lm, dr, dm).float()
    shown = torch.zeros_like(logits).scatter_add_(1, lr_, lm) > 0  # inputs are never targets
    logp = torch.log_softmax(logits.masked_fill(shown, -1e9), dim=-1)
    loss = -((logp * tgt).sum(1) / tgt.sum(1)).mean()
    return loss + config.factor_l2 * (model.in_delta.pow(2).sum() + model.out_delta.pow(2).sum())


def set_model_optimizer(model: SetModel, config: TrainConfig, lr: float) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not on biases, scales or item deltas)."""
    decay = [p for n, p in model.named_parameters() if "delta" not in n and p.ndim > 1]
    other = [p for n, p in model.named_parameters() if "delta" not in n and p.ndim <= 1]
    deltas = [model.in_delta, model.out_delta]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": other, "weight_decay": 0.0},
            {"params": deltas, "weight_decay": 0.0},
        ],
        lr=lr,
    )


def train_epoch(
    model: SetModel,
    opt: torch.optim.Optimizer,
    inter: Interactions,
    config: TrainConfig,
    device: torch.device,
    rng: np.random.Generator,
) -> float:
    """One epoch over fresh samples drawn with ``rng``, one step per batch; the mean sample loss."""
    amp = device.type == "cuda" and config.mixed_precision
    samples = epoch_samples(inter, config, rng)
    total = 0.0
    for i in range(0, len(samples), config.batch_size):
        chunk = samples[i : i + config.batch_size]
        loss = batch_loss(model, chunk, config, device, amp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(chunk)
    return total / max(len(samples), 1)


def cpu_state(model: SetModel) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state (survives further training)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


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
    opt = set_model_optimizer(model, config, config.lr)
    n_epochs = epochs if epochs is not None else config.max_epochs
    best, best_epoch, best_state, history, stale = -np.inf, 0, None, [], 0
    bar = tqdm(range(n_epochs), desc="train set model", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        loss = train_epoch(model, opt, inter, config, device, np.random.default_rng([seed, epoch]))
        if val_tasks is None:
            continue
        score = set_objective(model, val_tasks, device)
        history.append(score)
        bar.set_postfix(loss=f"{loss:.3f}", val=f"{score:.4f}")
        if score > best + 1e-6:
            best, best_epoch, stale = score, epoch + 1, 0
            best_state = cpu_state(model)
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is None:
        best_state = cpu_state(model)
        best_epoch = n_epochs
    return best_state, best_epoch, history
