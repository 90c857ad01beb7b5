"""Fold-in ranking benchmark: ReelChat's reranker against popularity, item-kNN, EASE, content and blends.

    python bench/ranking.py [--json FILE] [--seeds 0 1]

For each seed: 20% of users are test users; the rest train every model, with validation users carved
out of them for every choice (EASE lambda, blend weights, epochs). Each test user with >= 6 positives
reveals r in {1, 3, 5} random positives (nested); targets are the other positives; the whole catalogue
minus the revealed movies is ranked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ranking.baselines import Blend, Content, Popularity, fit_ease, fit_itemknn, zscore
from ranking.config import TrainConfig
from ranking.evaluation import Tasks, evaluate, make_tasks, metrics_from_scores, tune_blend
from ranking.interactions import build_interactions, split_users
from ranking.metrics import paired_se
from ranking.reranker import Reranker
from ranking.train import TrainedModel, _candidates, train, tune_ease
from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder, catalogue_embeddings
from retrieval.types import Movie

DATA_DIR = Path(os.environ.get("REELCHAT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
ML_DIR = DATA_DIR / "ml-latest-small"
CACHE_DIR = Path.home() / ".cache" / "reelchat"
REVEALS = (1, 3, 5)
METRICS = ("recall@10", "recall@50", "ndcg@10")
NAMES = ("reelchat", "popularity", "itemknn", "ease", "content", "ease+pop", "ease+pop+content")
COLD_MAX_RATINGS = 5
_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$")


def _display_title(raw: str) -> tuple[str, int | None]:
    m = _YEAR.search(raw)
    year = int(m.group(1)) if m else None
    title = raw[: m.start()].strip() if m else raw.strip()
    a = _ARTICLE.match(title)
    if a:
        title = f"{a.group(2)} {a.group(1)}" if not a.group(2).endswith("'") else a.group(2) + a.group(1)
    return title, year


def _minimal_catalogue(ml_dir: Path) -> Catalogue:
    """Catalogue from movies.csv (+ top tags), used until ``retrieval.movielens`` exists."""
    movies = pd.read_csv(ml_dir / "movies.csv")
    tags: dict[int, tuple[str, ...]] = {}
    if (ml_dir / "tags.csv").exists():
        t = pd.read_csv(ml_dir / "tags.csv")
        t["tag"] = t["tag"].astype(str).str.strip().str.lower()
        counts = t.groupby(["movieId", "tag"]).size().reset_index(name="n")
        counts = counts.sort_values(["movieId", "n", "tag"], ascending=[True, False, True])
        tags = {int(k): tuple(g["tag"]) for k, g in counts.groupby("movieId")}
    records = []
    for mid, raw, genres in movies[["movieId", "title", "genres"]].itertuples(index=False):
        title, year = _display_title(str(raw))
        records.append(
            Movie(int(mid), title, year, tuple(str(genres).split("|")), tags=tags.get(int(mid), ()))
        )
    digest = hashlib.sha256((ml_dir / "movies.csv").read_bytes()).hexdigest()[:16]
    return Catalogue(records, source_fingerprint=f"bench-min-{digest}")


def load_data(ml_dir: Path) -> tuple[Catalogue, np.ndarray, pd.DataFrame]:
    """Catalogue, its MiniLM matrix (cached) and the ratings."""
    try:
        from retrieval.catalogue_loader import load_catalogue, load_ratings
    except ImportError:
        catalogue = _minimal_catalogue(ml_dir)
        ratings = pd.read_csv(ml_dir / "ratings.csv")
    else:
        catalogue = load_catalogue(ml_dir)
        ratings = load_ratings(ml_dir)
    emb = catalogue_embeddings(catalogue, Encoder(), cache_dir=CACHE_DIR, progress=True)
    return catalogue, emb, ratings


def _restricted(scores: np.ndarray, cand: np.ndarray) -> np.ndarray:
    out = np.full_like(scores, -np.inf)
    np.put_along_axis(out, cand, np.take_along_axis(scores, cand, axis=1), axis=1)
    return out


def _reelchat_candidates(model: TrainedModel, scores: np.ndarray, cand: np.ndarray, sims: np.ndarray, r: int):
    """What ``Reranker.score`` does with 200 retrieved candidates and their text similarity."""
    from ranking.baselines import bucket_of

    out = np.full_like(scores, -np.inf)
    w = float(model.text_weights[bucket_of(r)])
    base = zscore(np.take_along_axis(scores, cand, axis=1)) + w * zscore(sims)
    np.put_along_axis(out, cand, base, axis=1)
    return out


def _latency(model: TrainedModel, tasks: Tasks, content: Content, n: int = 200) -> dict[str, float]:
    reranker = Reranker(model)
    cand, sims = _candidates(content, tasks)
    ids = model.item_ids
    times = []
    for i in range(min(n, len(tasks))):
        liked = [int(x) for x in ids[tasks.liked[i]]]
        cids = [int(x) for x in ids[cand[i]]]
        t = time.perf_counter()
        reranker.score(liked, [], cids, sims[i].tolist())
        times.append(time.perf_counter() - t)
    ms = np.array(times[5:] or times) * 1000
    return {"score200_p50_ms": float(np.percentile(ms, 50)), "score200_p95_ms": float(np.percentile(ms, 95))}


def run_seed(
    seed: int,
    ratings: pd.DataFrame,
    ids: np.ndarray,
    emb: np.ndarray,
    progress: bool,
    dense_item_max: int | None = None,
) -> dict[str, Any]:
    """Train and tune every model on the training users of ``seed``; evaluate on its test users."""
    inter = build_interactions(ratings, ids)
    train_users, test_users = split_users(inter.users, 0.2, seed)
    train_inter, test_inter = inter.subset(train_users), inter.subset(test_users)
    config = TrainConfig(seed=seed, num_threads=torch.get_num_threads())
    if dense_item_max is not None:  # 0 forces sparse RP3beta in place of dense EASE in ReelChat's blend
        config = config.model_copy(update={"dense_item_max": dense_item_max})
    t0 = time.perf_counter()
    model = train(ratings[ratings["userId"].isin(train_users)], ids, emb, config, progress=progress)
    train_s = time.perf_counter() - t0

    # baselines: every choice on validation users carved from the training users (same split as train)
    t0 = time.perf_counter()
    fit_users, val_users = split_users(train_users, config.val_fraction, seed)
    fit, val = train_inter.subset(fit_users), train_inter.subset(val_users)
    val_tasks = make_tasks(val, val.users, REVEALS, config.min_val_positives, seed)
    lam, _ = tune_ease(fit, val_tasks, config.ease_lambdas)
    content = Content(model.item_emb)
    fit_parts = {"ease": fit_ease(fit, [lam])[lam], "pop": Popularity.fit(fit), "content": content}
    raw = {n: {r: evaluate(c.score_batch, t) for r, t in val_tasks.items()} for n, c in fit_parts.items()}
    w2 = tune_blend([raw["ease"], raw["pop"]], val_tasks, config.blend_grid)
    w3 = tune_blend([raw["ease"], raw["pop"], raw["content"]], val_tasks, config.blend_grid)
    ease = fit_ease(train_inter, [lam])[lam]
    pop = Popularity.fit(train_inter)
    scorers = {
        "reelchat": model.scorer(),
        "popularity": pop,
        "itemknn": fit_itemknn(train_inter),
        "ease": ease,
        "content": content,
        "ease+pop": Blend({"ease": ease, "pop": pop}, w2),
        "ease+pop+content": Blend({"ease": ease, "pop": pop, "content": content}, w3),
    }
    baseline_s = time.perf_counter() - t0

    tasks = make_tasks(test_inter, test_inter.users, REVEALS, 6, seed)
    cold = train_inter.rating_counts() < COLD_MAX_RATINGS
    per_user: dict[str, dict[str, dict[str, dict[str, np.ndarray]]]] = {}
    for name, scorer in scorers.items():
        per_user[name] = {"full": {}, "cand200": {}, "cold": {}}
        for r, t in tasks.items():
            s = evaluate(scorer.score_batch, t)
            cand, sims = _candidates(content, t)
            cs = _reelchat_candidates(model, s, cand, sims, r) if name == "reelchat" else _restricted(s, cand)
            per_user[name]["full"][f"r{r}"] = metrics_from_scores(s, t)
            per_user[name]["cand200"][f"r{r}"] = metrics_from_scores(cs, t)
            cm = metrics_from_scores(s, t, t.targets & cold[None, :])
            per_user[name]["cold"][f"r{r}"] = {"recall@50": cm["recall@50"][cm["has_targets"]]}

    def summary(section: str) -> dict[str, Any]:
        return {
            n: {
                rk: {m: float(v[m].mean()) for m in METRICS if m in v}
                for rk, v in per_user[n][section].items()
            }
            for n in NAMES
        }

    ours = per_user["reelchat"]
    se = {
        n: {
            rk: {m: paired_se(per_user[n]["full"][rk][m], ours["full"][rk][m]) for m in METRICS}
            for rk in ours["full"]
        }
        for n in NAMES
        if n != "reelchat"
    }
    timing = {
        "train_s": round(train_s, 2),
        "baselines_s": round(baseline_s, 2),
        "train_info": {
            k: model.info.get(k)
            for k in ("best_epoch", "ease_lambda", "item_model", "seconds_total", "device")
        },
        **_latency(model, tasks[3], content),
    }
    return {
        "models": summary("full"),
        "retrieval200": summary("cand200"),
        "cold_recall@50": {
            n: {rk: float(v["recall@50"].mean()) for rk, v in per_user[n]["cold"].items()} for n in NAMES
        },
        "paired_se": se,
        "n_test_users": len(tasks[1]),
        "ease_lambda": lam,
        "timing": timing,
    }


def _table(res: dict[str, Any], seed: int) -> str:
    lines = [f"seed {seed}: {res['n_test_users']} test users (EASE lambda {res['ease_lambda']:g})"]
    head = f"{'model':18s}" + "".join(f"  r{r} R@10  R@50 (se)  N@10 (se)  " for r in REVEALS)
    for section in ("models", "retrieval200"):
        lines += [f"-- {'whole catalogue' if section == 'models' else '200 retrieved candidates'}", head]
        for n in NAMES:
            row = f"{n:18s}"
            for r in REVEALS:
                m = res[section][n][f"r{r}"]
                se = res["paired_se"].get(n, {}).get(f"r{r}") if section == "models" else None
                s50 = f"({se['recall@50']:.3f})" if se else "       "
                s10 = f"({se['ndcg@10']:.3f})" if se else "       "
                row += f"  {m['recall@10']:.3f} {m['recall@50']:.3f} {s50} {m['ndcg@10']:.3f} {s10}"
            lines.append(row)
    lines.append("-- cold-item Recall@50 (targets with < 5 training ratings)")
    for n in NAMES:
        lines.append(f"{n:18s}" + "".join(f"  r{r} {res['cold_recall@50'][n][f'r{r}']:.4f}" for r in REVEALS))
    lines.append(f"timing: {json.dumps(res['timing'])}")
    lines.append("acceptance (ours / best baseline): " + _acceptance(res))
    return "\n".join(lines)


def _acceptance(res: dict[str, Any]) -> str:
    parts = []
    for r in REVEALS:
        rk = f"r{r}"
        ours = res["models"]["reelchat"][rk]
        base = {m: max(res["models"][n][rk][m] for n in NAMES if n != "reelchat") for m in METRICS}
        r50, n10 = ours["recall@50"] / base["recall@50"], ours["ndcg@10"] / base["ndcg@10"]
        parts.append(f"{rk} R@50 x{r50:.3f} N@10 x{n10:.3f}")
    return "; ".join(parts)


def _mean_runs(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    first = next(iter(runs.values()))
    models = {
        n: {rk: {m: float(np.mean([run["models"][n][rk][m] for run in runs.values()])) for m in METRICS}
            for rk in first["models"][n]}
        for n in NAMES
    }  # fmt: skip
    timing = {
        k: float(np.mean([run["timing"][k] for run in runs.values()]))
        for k in first["timing"]
        if isinstance(first["timing"][k], float | int)
    }
    return {"models": models, "timing": timing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--ml-dir", type=Path, default=ML_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--dense-item-max", type=int, help="TrainConfig.dense_item_max (0: sparse RP3beta in the blend)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    catalogue, emb, ratings = load_data(args.ml_dir)
    runs = {}
    for seed in args.seeds:
        runs[str(seed)] = run_seed(
            seed, ratings, np.asarray(catalogue.ids), emb, not args.quiet, args.dense_item_max
        )
        print(_table(runs[str(seed)], seed), flush=True)
    out = {**_mean_runs(runs), "seeds": args.seeds, "runs": runs}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
