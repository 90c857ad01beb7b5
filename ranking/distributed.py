"""Distributed training of the set model with PyTorch DDP, launched by ``torchrun``.

    torchrun --standalone --nproc-per-node N -m ranking.distributed --data DIR --out DIR [--epochs E]

The same command runs with one process or N (or without torchrun, as one process). Backend: gloo on
CPU, NCCL on CUDA (rank ``r`` uses ``cuda:LOCAL_RANK``). Every rank draws the same epoch samples from
the same seed (:func:`ranking.set_training.epoch_samples`); a ``DistributedSampler`` gives each rank
its shard and each rank's batch is ``batch_size / world_size``, so one optimiser step sees the same
global batch whatever the number of processes, and DDP averages the gradients. Loss and optimiser are
those of :mod:`ranking.set_training`. Rank 0 measures validation NDCG@10 after each epoch and writes
the checkpoint: ``OUT/set_model.safetensors`` (the state :func:`ranking.set_training.load_set_model`
reads) and ``OUT/train.json`` (config, per-epoch metrics, throughput).

``DIR`` is a MovieLens-shaped folder (ml-latest-small or ``reelchat data synth`` output). Item content
vectors come from ``--item-emb FILE.npy`` (rows in movies.csv order), else from genre and decade
indicators, so the command needs no encoder.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from safetensors.torch import save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset
from torch.utils.data.distributed import DistributedSampler

from ranking.baselines import Popularity
from ranking.config import TrainConfig
from ranking.evaluation import Tasks, configured_split, evaluate, metrics_from_scores
from ranking.interactions import Interactions, build_interactions
from ranking.model import SetModel, SetScorer, pca_factors
from ranking.set_training import batch_loss, cpu_state, epoch_samples, set_model_optimizer


@dataclass(frozen=True)
class Rank:
    """This process's place in the job."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Rank:
    """Join the torchrun job (NCCL on CUDA, else gloo); one process without torchrun's variables."""
    cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if "RANK" not in os.environ:
        return Rank(0, 1, torch.device("cuda" if cuda else "cpu"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return Rank(dist.get_rank(), dist.get_world_size(), dev)


def item_features(movies: pd.DataFrame) -> np.ndarray:
    """Genre and decade indicators of each movie (movies.csv order), L2-normalised rows."""
    genres = movies["genres"].astype(str).str.get_dummies(sep="|").to_numpy(np.float32)
    year = movies["title"].astype(str).str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
    decade = ((year.fillna(1990) // 10).clip(191, 202) - 191).astype(int).to_numpy()
    x = np.concatenate([genres, np.eye(12, dtype=np.float32)[decade]], axis=1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Data:
    """Fitting users, validation tasks and the set model's fixed inputs."""

    fit: Interactions
    tasks: dict[int, Tasks]
    content: np.ndarray
    log_pop: np.ndarray
    n_ratings: int


def load_data(folder: Path, config: TrainConfig, item_emb: Path | None = None) -> Data:
    """Read ``folder``'s movies and ratings; split users as :func:`ranking.train.train` does."""
    movies = pd.read_csv(folder / "movies.csv")
    ratings = pd.read_csv(folder / "ratings.csv")
    emb = np.load(item_emb) if item_emb else item_features(movies)
    inter = build_interactions(ratings, movies["movieId"].to_numpy(np.int64))
    fit, _val, tasks = configured_split(inter, config)
    n_fit = int(sum(len(fit.histories[int(u)].rows) for u in fit.users))
    return Data(fit, tasks, pca_factors(emb, config.dim), Popularity.fit(fit).log_counts, n_fit)


def validation_ndcg(model: SetModel, tasks: dict[int, Tasks], device: torch.device) -> dict[str, float]:
    """Mean NDCG@10 per reveal size (``r1``, ``r3``...) and their mean (``mean``)."""
    scorer = SetScorer([model], device)
    out = {f"r{r}": float(metrics_from_scores(evaluate(scorer.score_batch, t), t)["ndcg@10"].mean())
           for r, t in tasks.items()}  # fmt: skip
    model.train()
    return {**out, "mean": float(np.mean(list(out.values())))}


def train_epoch_ddp(
    model: SetModel,
    ddp: torch.nn.Module,
    opt: torch.optim.Optimizer,
    samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    config: TrainConfig,
    rank: Rank,
    epoch: int,
) -> float:
    """One epoch over this rank's shard of ``samples``; the mean loss of this rank's batches."""
    data = cast("Dataset[Any]", samples)  # the sampler only needs len()
    sampler: DistributedSampler[Any] = DistributedSampler(
        data, num_replicas=rank.world, rank=rank.rank, shuffle=True, seed=config.seed
    )
    sampler.set_epoch(epoch)
    idx = list(sampler)
    per_rank = max(1, config.batch_size // rank.world)
    amp = rank.device.type == "cuda" and config.mixed_precision
    total, steps = 0.0, 0
    for i in range(0, len(idx), per_rank):
        chunk = [samples[j] for j in idx[i : i + per_rank]]
        loss = batch_loss(model, chunk, config, rank.device, amp, forward=ddp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total, steps = total + float(loss.detach()), steps + 1
    return total / max(steps, 1)


def run(data: Data, config: TrainConfig, rank: Rank, epochs: int, out: Path) -> dict[str, Any]:
    """Train for ``epochs`` epochs; rank 0 validates every epoch and saves to ``out``."""
    torch.manual_seed(config.seed)
    pop = torch.from_numpy(data.log_pop - data.log_pop.mean())
    model = SetModel(torch.from_numpy(data.content), pop, config.hidden).to(rank.device)
    ddp: torch.nn.Module = model
    if rank.world > 1:
        ids = [rank.device.index] if rank.device.type == "cuda" else None
        ddp = DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)  # content is fixed
    opt = set_model_optimizer(model, config, config.lr)
    history: list[dict[str, Any]] = []
    train_s, n_samples = 0.0, 0
    for epoch in range(epochs):
        model.train()
        samples = epoch_samples(data.fit, config, np.random.default_rng([config.seed, epoch]))
        t0 = time.perf_counter()
        loss = train_epoch_ddp(model, ddp, opt, samples, config, rank, epoch)
        if rank.device.type == "cuda":
            torch.cuda.synchronize(rank.device)
        train_s += time.perf_counter() - t0
        n_samples += len(samples)
        if rank.main:
            row = {
                "epoch": epoch + 1,
                "loss": loss,
                "val_ndcg@10": validation_ndcg(model, data.tasks, rank.device),
            }
            history.append(row)
            print(json.dumps(row), flush=True)
    report = {
        "world_size": rank.world,
        "backend": dist.get_backend() if dist.is_initialized() else "none",
        "device": str(rank.device),
        "epochs": epochs,
        "history": history,
        "val_ndcg@10": history[-1]["val_ndcg@10"]["mean"] if history else None,
        "train_seconds": round(train_s, 3),
        "samples_per_s": round(n_samples / max(train_s, 1e-9), 1),
        "ratings_per_s": round(epochs * data.n_ratings / max(train_s, 1e-9), 1),
        "n_items": model.n_items,
        "config": json.loads(config.model_dump_json()),
    }
    if rank.main:
        out.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in cpu_state(model).items()}, str(out / "set_model.safetensors")
        )
        (out / "train.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Train the set model with DDP (run under torchrun).")
    p.add_argument("--data", type=Path, required=True, help="MovieLens-shaped folder")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder (written by rank 0)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256, help="global batch (split over ranks)")
    p.add_argument("--samples-per-user", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-val-users", type=int, default=None)
    p.add_argument("--item-emb", type=Path, help=".npy item vectors in movies.csv order")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    args = p.parse_args(argv)
    rank = setup(args.device)
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // rank.world))
    config = TrainConfig(
        seed=args.seed, batch_size=args.batch_size, samples_per_user=args.samples_per_user,
        max_val_users=args.max_val_users, n_models=1,
    )  # fmt: skip
    try:
        data = load_data(args.data, config, args.item_emb)
        report = run(data, config, rank, args.epochs, args.out)
        if rank.main:
            print(
                json.dumps({k: report[k] for k in ("world_size", "backend", "val_ndcg@10", "samples_per_s")})
            )
    finally:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
