"""Listwise fitting and scoring of the blend's weights over recorded feature rows (``bench/redial_tune.py``).

A *row* is one replayed turn: ``ids`` (the candidates, mentioned movies removed), ``x`` (their feature rows,
float32), ``y`` (which are targets) and ``n`` (the turn's targets, in the pool or not). A *pack* is a list of
rows concatenated once into tensors, so a fit's loss is a few matrix products instead of a loop over turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

L2 = (0.0, 1e-3, 1e-2, 1e-1)
KS = (1, 5, 10, 50)


@dataclass
class Pack:
    """Rows with at least one target in the pool, as one matrix plus segment (turn) indices."""

    x: Any  # torch (N, F) float32
    seg: Any  # torch (N,) int64: the turn of each candidate
    pos: Any  # torch (P,) int64: indices of the targets in x
    turns: int
    pairs: int


def pack(rows: Sequence[dict[str, Any]]) -> Pack | None:
    """The rows a fit can learn from (a target among the candidates), concatenated; None when none can."""
    import torch

    used = [r for r in rows if r["x"] is not None and bool(r["y"].any())]
    if not used:
        return None
    x = torch.from_numpy(np.concatenate([r["x"] for r in used]).astype(np.float32, copy=False))
    seg = torch.from_numpy(np.concatenate([np.full(len(r["ids"]), i) for i, r in enumerate(used)]))
    pos = torch.from_numpy(np.flatnonzero(np.concatenate([r["y"] for r in used])))
    return Pack(x, seg, pos, len(used), len(pos))


def _nll(p: Pack, w: Any) -> Any:
    """Sum over targets of -log softmax(score) within their turn."""
    import torch

    s = p.x @ w
    top = torch.full((p.turns,), -torch.inf).scatter_reduce(0, p.seg, s.detach(), "amax")
    lse = torch.zeros(p.turns).index_add(0, p.seg, torch.exp(s - top[p.seg])).log() + top
    return (lse[p.seg[p.pos]] - s[p.pos]).sum()


def fit(packs: Sequence[tuple[Pack | None, float]], l2: float, n_feat: int) -> np.ndarray:
    """Listwise softmax fit of linear weights (LBFGS); each pack's mean loss per target pair counts its
    share (``(pack, share)`` pairs; None packs are skipped)."""
    import torch

    groups = [(p, share) for p, share in packs if p is not None and share > 0]
    w = torch.zeros(n_feat, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = l2 * (w**2).sum()
        for p, share in groups:
            loss = loss + share * _nll(p, w) / p.pairs
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().double().numpy()


def recall(rows: list[dict[str, Any]], w: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """Pair recall@k (targets outside the candidate pool count as misses) and turn recall@k."""
    hits = dict.fromkeys(ks, 0)
    turn = dict.fromkeys(ks, 0.0)
    pairs = sum(r["n"] for r in rows)
    for r in rows:
        if r["x"] is None or not len(r["ids"]):
            continue
        s = r["x"].astype(np.float64) @ w
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


def mean_folds(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    """The mean of per-fold figures."""
    folds = list(figures.values())
    return {k: float(np.mean([f[k] for f in folds])) for k in folds[0]} if folds else {}


@dataclass(frozen=True)
class Recipe:
    """Which examples a fit sees: the tune half always, the train dialogues' turns and simulated users at
    their shares of the loss (0 = left out)."""

    name: str
    train: float = 0.0
    sim: float = 0.0


RECIPES = {
    r.name: r
    for r in (
        Recipe("tune"),
        Recipe("tune+sim", sim=0.5),
        Recipe("tune+train", train=1.0),
        Recipe("tune+train+sim", train=1.0, sim=0.5),
        Recipe("tune+train/2+sim", train=0.5, sim=0.5),
        Recipe("tune+train*2+sim", train=2.0, sim=0.5),
        Recipe("tune+train+sim*2", train=1.0, sim=1.0),
        Recipe("tune+train/2+sim*1.5", train=0.5, sim=0.75),
    )
}


def cross_fit(
    recipe: Recipe,
    tune: dict[int, list[dict[str, Any]]],
    sim: dict[int, list[dict[str, Any]]],
    packs: dict[str, Pack | None],
    n_feat: int,
) -> dict[str, Any]:
    """For every l2: weights fitted on one tune fold (+ all train turns, + the other fold's simulated users)
    and scored on the other fold; the l2 with the best ReDial turn R@10 + R@50 (+ sim R@5 + R@50 when the
    recipe uses simulated users) is chosen (:func:`final_fit` refits it on everything)."""
    out: dict[str, Any] = {"recipe": recipe.__dict__, "by_l2": {}}
    best, best_l2 = -1.0, L2[0]
    for l2 in L2:
        ws = {
            f: fit(
                [
                    (packs[f"tune{1 - f}"], 1.0),
                    (packs["train"], recipe.train),
                    (packs[f"sim{1 - f}"], recipe.sim),
                ],
                l2,
                n_feat,
            )
            for f in (0, 1)
        }
        red = mean_folds({str(f): recall(tune[f], ws[f]) for f in (0, 1)})
        simf = mean_folds({str(f): recall(sim[f], ws[f]) for f in (0, 1) if sim[f]})
        score = red["turn_recall@10"] + red["turn_recall@50"]
        if recipe.sim and simf:
            score += simf["pair_recall@5"] + simf["pair_recall@50"]
        out["by_l2"][f"{l2:g}"] = {"redial": red, "sim": simf, "score": score}
        if score > best:
            best, best_l2 = score, l2
    out["l2"] = best_l2
    out["redial"] = out["by_l2"][f"{best_l2:g}"]["redial"]
    out["sim"] = out["by_l2"][f"{best_l2:g}"]["sim"]
    return out


def final_fit(recipe: Recipe, l2: float, packs: dict[str, Pack | None], n_feat: int) -> np.ndarray:
    """The recipe's weights fitted on all of its examples."""
    every = [(packs["tune_all"], 1.0), (packs["train"], recipe.train), (packs["sim_all"], recipe.sim)]
    return fit(every, l2, n_feat)


def make_packs(
    tune: dict[int, list[dict[str, Any]]], train: list[dict[str, Any]], sim: dict[int, list[dict[str, Any]]]
) -> dict[str, Pack | None]:
    """The packs every recipe draws on."""
    return {
        "tune0": pack(tune[0]),
        "tune1": pack(tune[1]),
        "tune_all": pack(tune[0] + tune[1]),
        "train": pack(train),
        "sim0": pack(sim[0]),
        "sim1": pack(sim[1]),
        "sim_all": pack(sim[0] + sim[1]),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """One line per recipe: cross-fitted tune-half figures (mean of the folds) and the simulated users'."""
    head = f"{'recipe':28s} {'l2':>6s} {'pR@1':>6s} {'pR@10':>6s} {'pR@50':>6s} {'tR@10':>6s} {'tR@50':>6s}"
    lines = [head + f" {'pool':>6s} {'simR@5':>6s} {'simR@50':>7s}"]
    for name, r in results.items():
        red, simf = r["redial"], r.get("sim") or {}
        lines.append(
            f"{name:28s} {r.get('l2', '-')!s:>6s} {red['pair_recall@1']:6.3f} {red['pair_recall@10']:6.3f} "
            f"{red['pair_recall@50']:6.3f} {red['turn_recall@10']:6.3f} {red['turn_recall@50']:6.3f} "
            f"{red['pool_recall']:6.3f} {simf.get('pair_recall@5', float('nan')):6.3f} "
            f"{simf.get('pair_recall@50', float('nan')):7.3f}"
        )
    return "\n".join(lines)
