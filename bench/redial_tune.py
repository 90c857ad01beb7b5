"""Fit the conversational blend's feature weights on dev data only: the ReDial tune half and simulated users.

    python bench/redial_tune.py [--turns FILE] [--sim-users N] [--write agent/prior/blend.json] [--json FILE]

Two sources of (turn, target) examples, each candidate a feature row (``agent.prior.blend.FEATURES``):

* ReDial: the tune half is split in two folds by dialogue; each fold's turns are replayed through the agent
  with a conversational prior counted on the *other* fold, plus the co-occurrence of the ReDial train
  dialogues (``redial-train/``, unless ``--no-train``). The report half is never read.
* Simulated MovieLens users (``agent.evaluation.simulate``) drawn from *tuning users*: neither the
  simulator's held-out evaluation users nor users the reranker used here was trained on (a reranker is
  trained without both, cached under ``cache_dir/eval-tune``). Every turn of each episode is recorded.

A linear model is fitted listwise (softmax over a turn's candidates, simulated users at half ReDial's weight,
L2-regularised): cross-fitted (fit on one fold, score the other) for the figures printed here, then on
everything for the shipped weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

L2 = (0.0, 1e-3, 1e-2, 1e-1)


def fold_of(dialog_id: str) -> int:
    return hashlib.sha256(f"fold:{dialog_id}".encode()).digest()[0] & 1


def _recorder(app: Any, prior: Any) -> Any:
    """Install (and return) a blend on ``app``'s pipeline that keeps the last feature matrix it built."""
    from agent.prior.blend import BlendWeights, PriorBlend

    class Recorder(PriorBlend):
        last: tuple[np.ndarray, np.ndarray] | None = None

        def features(self, *a: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
            out = super().features(*a, **kw)
            self.last = out
            return out

    pipe = app.engine.pipeline
    rec = Recorder(app.catalogue, pipe.item_emb, prior, BlendWeights.load())
    pipe.blend = rec
    return rec


def collect(app: Any, turns: list, mapper: Any, prior: Any) -> list[dict[str, Any]]:
    """Per turn: candidate ids, feature rows and which candidates are targets (plus the missed count)."""
    from retrieval.redial import mentioned_ids

    rec = _recorder(app, prior)
    rows = []
    for t in turns:
        mentioned = mentioned_ids(t, mapper)
        targets = {m for r in set(t.rec) if (m := mapper.map(r)) is not None} - mentioned
        if not targets:
            continue
        rec.last = None
        app.recommend(t.messages, k=50)
        if rec.last is None:
            rows.append({"ids": np.zeros(0, np.int64), "x": None, "y": np.zeros(0, bool), "n": len(targets)})
            continue
        ids, x = rec.last
        keep = np.array([int(m) not in mentioned for m in ids], dtype=bool)
        ids, x = ids[keep], x[keep]
        rows.append({"ids": ids, "x": x, "y": np.isin(ids, list(targets)), "n": len(targets)})
    return rows


def fit(sources: list[list[dict[str, Any]]], l2: float, share: Sequence[float] | None = None) -> np.ndarray:
    """Listwise softmax fit of linear weights (LBFGS); source ``i``'s mean loss counts ``share[i]``."""
    import torch

    groups = []
    share = share or [1.0] * len(sources)
    for rows, weight in zip(sources, share, strict=True):
        data = [(torch.from_numpy(r["x"]), torch.from_numpy(r["y"])) for r in rows if r["x"] is not None]
        data = [(x, y) for x, y in data if bool(y.any())]
        if data:
            groups.append((data, sum(int(y.sum()) for _, y in data) / weight))
    n_feat = groups[0][0][0][0].shape[1]
    w = torch.zeros(n_feat, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = l2 * (w**2).sum()
        for data, pairs in groups:
            loss = loss + sum(-torch.log_softmax(x @ w, 0)[y].sum() for x, y in data) / pairs
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy()


def recall(
    rows: list[dict[str, Any]], w: np.ndarray, ks: tuple[int, ...] = (1, 5, 10, 50)
) -> dict[str, float]:
    """Pair recall@k (targets outside the candidate pool count as misses) and turn recall@k."""
    hits = dict.fromkeys(ks, 0)
    turn = dict.fromkeys(ks, 0.0)
    pairs = sum(r["n"] for r in rows)
    for r in rows:
        if r["x"] is None or not len(r["ids"]):
            continue
        s = r["x"] @ w
        order = np.lexsort((r["ids"], -s))
        y = r["y"][order]
        for k in ks:
            h = int(y[:k].sum())
            hits[k] += h
            turn[k] += h / r["n"]
    out = {f"pair_recall@{k}": hits[k] / pairs for k in ks}
    out.update({f"turn_recall@{k}": turn[k] / len(rows) for k in ks})
    out["pool_recall"] = sum(int(r["y"].sum()) for r in rows) / pairs
    return out


def simulated_rows(app: Any, users: list, prior: Any) -> list[dict[str, Any]]:
    """Play each simulated user against ``app`` and record every turn's candidates and features."""
    from agent.evaluation.simulate import MAX_TURNS, critique

    rec = _recorder(app, prior)
    cat = app.catalogue
    rows = []
    for user in users:
        session = app.start_session()
        msg = user.opening
        for turn in range(1, MAX_TURNS + 1):
            rec.last = None
            reply = session.send(msg)
            if rec.last is not None:
                ids, x = rec.last
                rows.append({"ids": ids, "x": x, "y": ids == user.target, "n": 1, "user": user.user_id})
            top = [r.movie_id for r in reply.recommendations][:5]
            if user.target in top or turn == MAX_TURNS:
                break
            msg = critique(cat.get(user.target), [cat.get(m) for m in top if m in cat])
    return rows


def tuning_users(app: Any, n: int, seed: int = 1) -> tuple[list, list[int]]:
    """Simulated users from MovieLens users outside the simulator's evaluation split, and those users."""
    from agent.evaluation.simulate import held_out_users, sample_users
    from ranking.interactions import build_interactions, split_users

    ratings = app.resources.ratings
    held, _ = held_out_users(ratings, app.catalogue, seed=0)
    inter = build_interactions(ratings, app.catalogue.ids)
    rest = np.setdiff1d(inter.users, held)
    _, tune_users = split_users(rest, 0.2, seed)
    users = sample_users(ratings, app.catalogue, tune_users, n, seed=seed)
    return users, [int(u) for u in np.concatenate([held, tune_users])]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("REELCHAT_LLM", "none")
    from agent.app import RecommenderAgent
    from agent.prior.blend import FEATURES, BlendWeights
    from agent.prior.conversational import ConversationPrior
    from agent.resources import locate_redial_train
    from agent.settings import PipelineConfig, Settings
    from retrieval.redial import TitleMapper, load_train_folder, load_turns

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=Path)
    ap.add_argument("--write", type=Path, help="write the fitted weights here (agent/prior/blend.json)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--sim-users", type=int, default=200, help="simulated tuning users (0: ReDial only)")
    ap.add_argument(
        "--sim-share",
        type=float,
        default=0.5,
        help="weight of the simulated users' loss against ReDial's (ReDial conversations come first)",
    )
    ap.add_argument("--no-train", action="store_true", help="leave the ReDial train dialogues out")
    ap.add_argument("--n-cf", type=int)
    ap.add_argument("--n-prior", type=int)
    ap.add_argument("--n-related", type=int)
    args = ap.parse_args(argv)
    knobs = {k: getattr(args, k) for k in ("n_cf", "n_prior", "n_related") if getattr(args, k) is not None}
    settings = Settings(llm="none", prior="none", pipeline=PipelineConfig(diversity=0.0, **knobs))
    turns_path = args.turns or Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    t0 = time.perf_counter()
    app = RecommenderAgent.load(settings, progress=False)
    mapper = TitleMapper.from_path(app.catalogue, turns_path.parent / "id2info.json")
    tune = [t for t in load_turns(turns_path) if t.half == "tune"]
    folds = {f: [t for t in tune if fold_of(t.dialog_id) == f] for f in (0, 1)}
    train_dir = None if args.no_train else locate_redial_train(settings)
    train = load_train_folder(train_dir, mapper) if train_dir else None

    def prior_of(turns: list) -> ConversationPrior:
        prior = ConversationPrior.from_turns(turns, mapper)
        return prior.with_train(*train) if train else prior

    rows = {}
    for f in (0, 1):
        rows[f] = collect(app, folds[f], mapper, prior_of(folds[1 - f]))
    sim: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    if args.sim_users:
        from agent.evaluation.simulate import holdout_app

        users, excluded = tuning_users(app, args.sim_users)
        tuner = holdout_app(app, excluded, progress=True, name="eval-tune")
        pipe = tuner.engine.pipeline  # the simulator's users see the default diversity
        pipe.config = pipe.config.model_copy(update={"diversity": PipelineConfig().diversity})
        prior = prior_of(tune)
        for r in simulated_rows(tuner, users, prior):
            sim[r["user"] % 2].append(r)
    share = [1.0, args.sim_share]
    shipped = BlendWeights.load().vector
    result: dict[str, Any] = {"turns": {f: len(rows[f]) for f in rows}, "features": list(FEATURES)}
    result["sim_turns"] = {f: len(sim[f]) for f in sim}
    result["shipped"] = {f"fold{f}": recall(rows[f], shipped) for f in rows}
    result["shipped_sim"] = {f"fold{f}": recall(sim[f], shipped) for f in sim if sim[f]}
    best_l2, best = None, -1.0
    for l2 in L2:
        ws = {f: fit([rows[1 - f], sim[1 - f]], l2, share) for f in (0, 1)}
        cross = {f"fold{f}": recall(rows[f], ws[f]) for f in (0, 1)}
        cross_sim = {f"fold{f}": recall(sim[f], ws[f]) for f in (0, 1) if sim[f]}
        score = float(np.mean([c["pair_recall@10"] + c["pair_recall@50"] for c in cross.values()]))
        if cross_sim:
            score += float(np.mean([c["pair_recall@5"] + c["pair_recall@50"] for c in cross_sim.values()]))
        result[f"l2={l2:g}"] = cross
        result[f"l2={l2:g} sim"] = cross_sim
        print(f"l2={l2:<6g} cross-fitted: " + json.dumps({"redial": cross, "sim": cross_sim}))
        if score > best:
            best_l2, best = l2, score
    assert best_l2 is not None
    w = fit([rows[0] + rows[1], sim[0] + sim[1]], best_l2, share)
    result["chosen_l2"] = best_l2
    result["weights"] = {f: round(float(v), 4) for f, v in zip(FEATURES, w, strict=True)}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"chosen l2 {best_l2:g}; weights: " + json.dumps(result["weights"]))
    _table(result)
    if args.write:
        note = (
            f"fitted by bench/redial_tune.py on the ReDial dev tune half and {args.sim_users} simulated"
            f" tuning users (l2 {best_l2:g}, simulated share {args.sim_share:g});"
            f" train dialogues' co-occurrence {'left out' if train is None else 'in the prior'}"
        )
        args.write.write_text(json.dumps({"weights": result["weights"], "note": note}, indent=1) + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


def _table(result: dict[str, Any]) -> None:
    print(f"{'weights':20s} {'fold':5s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'R@50':>6s} {'pool':>6s}")
    chosen = f"l2={result['chosen_l2']:g}"
    for name in ["shipped", chosen, "shipped_sim", f"{chosen} sim"]:
        for fold, m in result.get(name, {}).items():
            print(
                f"{name:20s} {fold:5s} {m['pair_recall@1']:6.3f} {m['pair_recall@5']:6.3f} "
                f"{m['pair_recall@10']:6.3f} {m['pair_recall@50']:6.3f} {m['pool_recall']:6.3f}"
            )


if __name__ == "__main__":
    sys.exit(main())
