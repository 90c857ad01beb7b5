"""Ranking at catalogue scale: train on synthetic MovieLens-shaped data, report peak memory and events/s.

    python bench/train_scale.py --users 200000 --items 100000 --ratings 20000000 --work DIR [--stages ...]

Stages (each prints one JSON line; the last line is a JSON object of all of them):

- ``synth``: ``retrieval.synth`` writes the four CSVs into ``DIR/data`` (skipped when present).
- ``load``: read ratings.csv and group them by user (:func:`ranking.interactions.build_interactions`).
- ``rp3``: sparse RP3beta (:func:`ranking.sparse.fit_rp3beta`, top-200 neighbours) on every user.
- ``set``: one epoch of the set model (``--samples-per-user`` samples per user, global batch 256), or only its
  first ``--set-batches`` batches: then ``samples_per_s`` and ``sample_events_per_s`` (ratings read by the
  processed samples: liked, disliked and target sets) are measured on those batches and
  ``projected_epoch_s`` extrapolates to the whole epoch.
- ``train``: the whole :func:`ranking.train.train` (set model, RP3beta in place of dense EASE, blend
  and text-weight tuning on ``--max-val-users`` validation users; one set model, ``--epochs`` epochs,
  no refit on all users).

Events are ratings: ``events_per_s`` = ratings in the data / stage seconds (for ``set``: training
samples / s too). Peak memory is the process's resident-set high-water mark (``VmHWM``), reset before
each stage where the kernel allows, so each stage reports its own peak. Item vectors are synthetic
(genre and decade indicators plus Gaussian noise, 384 dims), not MiniLM encodings: the set model's
memory and speed depend on their shape only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ranking.config import TrainConfig
from ranking.distributed import item_features
from ranking.interactions import Interactions, build_interactions
from ranking.set_training import epoch_samples, set_model_optimizer, train_epoch
from ranking.sparse import fit_rp3beta
from ranking.train import train
from retrieval.synth import synthesize

GIB = 1 << 30
STAGES = ("synth", "load", "rp3", "set", "train")


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def stage(name: str, fn: Callable[[], dict[str, Any]], results: dict[str, Any]) -> None:
    """Run ``fn`` and record its seconds, peak RSS and whatever it returns."""
    reset = _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    extra = fn()
    row = {
        "stage": name,
        "seconds": round(time.perf_counter() - t0, 2),
        "cpu_seconds": round(time.process_time() - c0, 2),
        "peak_rss_gib": round(_status("VmHWM") / GIB, 3),
        "peak_is_stage_own": reset,
        **extra,
    }
    if "events" in row:
        row["events_per_s"] = round(row["events"] / max(row["seconds"], 1e-9), 1)
    results[name] = row
    print(json.dumps(row), flush=True)


def synthetic_embeddings(movies: pd.DataFrame, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Genre/decade indicators projected to ``dim`` dims plus noise (stand-in for MiniLM vectors)."""
    feats = item_features(movies)
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((feats.shape[1], dim)).astype(np.float32)
    x = feats @ proj + 0.5 * rng.standard_normal((len(feats), dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=200_000)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--ratings", type=int, default=20_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, required=True, help="folder for the data (reused when present)")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    p.add_argument("--samples-per-user", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-val-users", type=int, default=1000)
    p.add_argument("--set-batches", type=int, help="set stage: train only this many batches of the epoch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = args.work / "data"
    results: dict[str, Any] = {"users": args.users, "items": args.items, "requested_ratings": args.ratings}
    if "synth" in args.stages and not (data / "ratings.csv").is_file():
        stage("synth", lambda: synthesize(data, args.users, args.items, args.ratings, args.seed), results)
    config = TrainConfig(
        seed=args.seed, n_models=1, max_epochs=args.epochs, samples_per_user=args.samples_per_user,
        refit_full=False, max_val_users=args.max_val_users, num_threads=args.threads,
    )  # fmt: skip
    movies = pd.read_csv(data / "movies.csv")
    ids = movies["movieId"].to_numpy(np.int64)
    holder: dict[str, Any] = {}

    def load() -> dict[str, Any]:
        ratings = pd.read_csv(data / "ratings.csv")
        holder["ratings"] = ratings
        holder["inter"] = build_interactions(ratings, ids)
        return {"events": len(ratings), "n_users": len(holder["inter"].users)}

    stage("load", load, results)
    n_ratings = len(holder["ratings"])
    results["ratings"] = n_ratings
    inter: Interactions = holder["inter"]
    if "rp3" in args.stages:

        def rp3() -> dict[str, Any]:
            model = fit_rp3beta(inter, [0.35], config.rp3_alpha, config.sparse_topk)[0.35]
            return {"events": n_ratings, "nnz": int(model.weights.nnz)}

        stage("rp3", rp3, results)
    if "set" in args.stages:
        stage("set", lambda: _set_epoch(inter, movies, config, n_ratings, args.set_batches), results)
    if "train" in args.stages:
        emb = synthetic_embeddings(movies)

        def full() -> dict[str, Any]:
            model = train(holder["ratings"], ids, emb, config, device="cpu")
            keys = ("item_model", "ease_lambda", "seconds_set_model", "seconds_until_tuned", "seconds_total")
            return {"events": n_ratings, **{k: model.info.get(k) for k in keys}}

        stage("train", full, results)
    print(json.dumps(results), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _set_epoch(
    inter: Interactions, movies: pd.DataFrame, config: TrainConfig, n_ratings: int, batches: int | None
) -> dict[str, Any]:
    """One epoch of set-model training on every user (what one epoch of :func:`train` costs), or its first
    ``batches`` batches."""
    from ranking.baselines import Popularity
    from ranking.model import SetModel, pca_factors
    from ranking.set_training import batch_loss

    content = pca_factors(synthetic_embeddings(movies), config.dim)
    log_pop = Popularity.fit(inter).log_counts
    torch.manual_seed(config.seed)
    model = SetModel(torch.from_numpy(content), torch.from_numpy(log_pop - log_pop.mean()), config.hidden)
    opt = set_model_optimizer(model, config, config.lr)
    if batches is None:
        n_samples = len(epoch_samples(inter, config, np.random.default_rng([config.seed, 0])))
        t0 = time.perf_counter()
        loss = train_epoch(
            model, opt, inter, config, torch.device("cpu"), np.random.default_rng([config.seed, 0])
        )
        secs = time.perf_counter() - t0
        return {"events": n_ratings, "samples": n_samples, "samples_per_s": round(n_samples / secs, 1),
                "loss": loss}  # fmt: skip
    samples = epoch_samples(inter, config, np.random.default_rng([config.seed, 0]))
    done = samples[: batches * config.batch_size]
    t0, losses = time.perf_counter(), []
    for i in range(0, len(done), config.batch_size):
        loss_t = batch_loss(model, done[i : i + config.batch_size], config, torch.device("cpu"), False)
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        opt.step()
        losses.append(float(loss_t.detach()))
    secs = time.perf_counter() - t0
    read = sum(len(a) + len(b) + len(c) for a, b, c in done)
    return {
        "samples": len(samples),
        "samples_done": len(done),
        "batches_done": -(-len(done) // config.batch_size),
        "train_seconds": round(secs, 2),
        "samples_per_s": round(len(done) / secs, 1),
        "sample_events_per_s": round(read / secs, 1),
        "projected_epoch_s": round(len(samples) * secs / max(len(done), 1), 1),
        "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)] if losses else [],
    }


if __name__ == "__main__":
    raise SystemExit(main())
