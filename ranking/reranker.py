"""The shipped ranker: tuned blend of the set model, EASE, popularity and content, with MMR and knobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, cast

import numpy as np
import torch
from scipy.special import erf
from torch import nn

from ranking.baselines import bucket_of, zscore
from ranking.config import RankerConfig
from ranking.model import SetModel
from ranking.protocol import ScoredList
from ranking.train import TrainedModel


def mmr_order(emb: np.ndarray, rel: np.ndarray, lam: float, top: int = 50) -> np.ndarray:
    """Greedy maximal-marginal-relevance order of the first ``top`` items (rest unchanged).

    ``emb`` holds unit item vectors in the current order, ``rel`` their relevance (higher is better,
    already sorted descending); ``lam`` = 1 is pure relevance.
    """
    head = min(top, len(rel))
    if lam >= 1.0 or head < 3:
        return np.arange(len(rel))
    sim = emb[:head] @ emb[:head].T
    r = rel[:head]
    span = r.max() - r.min()
    r = (r - r.min()) / span if span > 0 else np.zeros_like(r)
    chosen = [0]
    best_sim = sim[0].copy()
    left = np.ones(head, dtype=bool)
    left[0] = False
    while left.any():
        gain = np.where(left, lam * r - (1.0 - lam) * best_sim, -np.inf)
        j = int(np.argmax(gain))
        chosen.append(j)
        left[j] = False
        best_sim = np.maximum(best_sim, sim[j])
    return np.concatenate([np.array(chosen, dtype=np.int64), np.arange(head, len(rel))])


def finish_ranking(
    ids: np.ndarray,
    item_emb: np.ndarray,
    rows: np.ndarray,
    scores: np.ndarray,
    config: RankerConfig,
    k: int | None,
) -> ScoredList:
    """Sort by score (ties by movie id: stable under permutation), apply MMR, cut at ``k``."""
    order = np.lexsort((ids[rows], -scores))
    rows, scores = rows[order], scores[order]
    perm = mmr_order(item_emb[rows], scores, config.mmr_lambda, config.mmr_top)
    rows, scores = rows[perm], scores[perm]
    if k is not None:
        rows, scores = rows[:k], scores[:k]
    return ScoredList(tuple(int(i) for i in ids[rows]), tuple(float(s) for s in scores))


class Reranker:
    """Scores movie ids for a chat user described by liked / disliked movie ids (implements ``Ranker``)."""

    def __init__(
        self, model: TrainedModel, config: RankerConfig | None = None, device: torch.device | str = "cpu"
    ) -> None:
        self.model = model
        self.config = config or RankerConfig()
        self._scorer = model.scorer(device)
        self._row = {int(m): i for i, m in enumerate(model.item_ids)}
        self._ids = np.asarray(model.item_ids, dtype=np.int64)
        self._pop_z = zscore(model.log_pop[None, :])[0].astype(np.float64)
        self._fast = _CandidateScorer(model)

    def _rows(self, ids: Sequence[int]) -> np.ndarray:
        return np.array(sorted({self._row[int(i)] for i in ids if int(i) in self._row}), dtype=np.int64)

    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        s = self._scorer.score_batch([liked], [disliked])[0]
        if self.config.popularity_balance:
            s = s - self.config.popularity_balance * self._pop_z
        return s.astype(np.float64)

    def _mmr(self, rows: np.ndarray, rel: np.ndarray) -> np.ndarray:
        return mmr_order(self.model.item_emb[rows], rel, self.config.mmr_lambda, self.config.mmr_top)

    def _finish(self, rows: np.ndarray, scores: np.ndarray, k: int | None) -> ScoredList:
        return finish_ranking(self._ids, self.model.item_emb, rows, scores, self.config, k)

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        *,
        exclude: Sequence[int] = (),
    ) -> ScoredList:
        """Rerank ``candidate_ids`` (unknown ids, liked, disliked and ``exclude`` ids are dropped).

        ``text_sim`` is the retrieval similarity of each candidate; its blend weight was tuned on
        validation users. With ``mmr_lambda < 1`` the head is reordered for diversity.
        """
        if text_sim is not None and len(text_sim) != len(candidate_ids):
            raise ValueError(f"text_sim has {len(text_sim)} values for {len(candidate_ids)} candidates")
        lr, dr = self._rows(liked), self._rows(disliked)
        banned = set(lr.tolist()) | set(dr.tolist()) | set(self._rows(exclude).tolist())
        ts = np.zeros(len(candidate_ids)) if text_sim is None else np.asarray(text_sim, dtype=np.float64)
        ts = np.nan_to_num(ts, nan=0.0, posinf=1.0, neginf=-1.0).tolist()
        sims: dict[int, float] = {}
        for mid, t in zip(candidate_ids, ts, strict=True):
            row = self._row.get(int(mid))
            if row is None or row in banned:
                continue
            sims[row] = max(sims.get(row, -np.inf), t)
        if not sims:
            return ScoredList()
        rows = np.array(sorted(sims), dtype=np.int64)
        base = self._fast.scores(lr, dr, rows)
        if self.config.popularity_balance:
            base = base - self.config.popularity_balance * self._pop_z[rows]
        scores = zscore(base[None, :])[0].astype(np.float64)
        if text_sim is not None and self.config.use_text_sim:
            w = float(self.model.text_weights[bucket_of(len(lr))])
            scores = scores + w * zscore(np.array([[sims[r] for r in rows]]))[0]
        return self._finish(rows, np.nan_to_num(scores), None)

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList:
        """The top ``k`` of the whole catalogue, never returning liked, disliked or ``exclude`` ids."""
        lr, dr = self._rows(liked), self._rows(disliked)
        scores = self._catalogue_scores(lr, dr)
        keep = np.ones(len(scores), dtype=bool)
        for r in (lr, dr, self._rows(exclude)):
            keep[r] = False
        rows = np.flatnonzero(keep)
        s = scores[rows]
        h = min(max(k, self.config.mmr_top), len(rows))
        if k <= 0 or h == 0:
            return ScoredList()
        if h < len(rows):
            head = np.argpartition(-s, h - 1)[:h]
            rows, s = rows[head], s[head]
        return self._finish(rows, s, k)


class _MlpParams(TypedDict):
    """One set model's user-side layers as float64 numpy arrays."""

    ln_w: np.ndarray
    ln_b: np.ndarray
    ln_eps: float
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    wd: np.ndarray


def _mlp_params(m: SetModel) -> _MlpParams:
    ln, fc1, fc2 = cast(nn.LayerNorm, m.mlp[0]), cast(nn.Linear, m.mlp[1]), cast(nn.Linear, m.mlp[3])
    return {
        "ln_w": ln.weight.double().numpy(),
        "ln_b": ln.bias.double().numpy(),
        "ln_eps": float(ln.eps),
        "w1": fc1.weight.double().numpy(),
        "b1": fc1.bias.double().numpy(),
        "w2": fc2.weight.double().numpy(),
        "b2": fc2.bias.double().numpy(),
        "wd": m.dislike.weight.double().numpy(),
    }


class _CandidateScorer:
    """The tuned blend evaluated only at candidate rows.

    Each component is z-scored over the whole catalogue; for the set-model bag and the content
    cosine the catalogue mean and variance follow from precomputed first and second moments, so
    only the candidates' scores are computed. (The bag's mean log-softmax equals its mean logits
    up to a per-user constant, which z-scoring removes.)
    """

    def __init__(self, model: TrainedModel) -> None:
        self.model = model
        self.sets = model.set_models("cpu")
        with torch.no_grad():
            self.tin = [m.item_in().double().numpy() for m in self.sets]
            self.params = [_mlp_params(m) for m in self.sets]
            out = torch.cat([m.item_out().double() for m in self.sets], dim=1)  # (n, K*d)
            bias = torch.stack([m.bias.double() for m in self.sets]).mean(0)
        self.out, self.bias = out.numpy(), bias.numpy()
        n = out.shape[0]
        self.out_mean, self.bias_mean = self.out.mean(0), float(self.bias.mean())
        self.out_m2 = self.out.T @ self.out / n
        self.out_b = self.out.T @ self.bias / n
        self.bias_m2 = float((self.bias**2).mean())
        emb = model.item_emb.astype(np.float64)
        self.emb, self.emb_mean, self.emb_m2 = emb, emb.mean(0), emb.T @ emb / n
        self.pop_z = zscore(model.log_pop[None, :])[0].astype(np.float64)

    @staticmethod
    def _z(values: np.ndarray, mean: float, m2: float) -> np.ndarray:
        sd = np.sqrt(max(m2 - mean * mean, 0.0))
        return (values - mean) / sd if sd > 1e-12 else np.zeros_like(values)

    def _user(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        """Mean of the bag's user vectors, in numpy (tiny ops are faster there than in torch)."""
        parts = []
        for p, tin in zip(self.params, self.tin, strict=True):
            h = tin[liked].mean(0) if len(liked) else np.zeros(tin.shape[1])
            x = (h - h.mean()) / np.sqrt(h.var() + p["ln_eps"]) * p["ln_w"] + p["ln_b"]
            x = x @ p["w1"].T + p["b1"]
            x = 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
            u = h + x @ p["w2"].T + p["b2"]
            if len(disliked):
                u = u - p["wd"] @ tin[disliked].mean(0)
            parts.append(u)
        return np.concatenate(parts) / len(self.params)

    def scores(self, liked: np.ndarray, disliked: np.ndarray, rows: np.ndarray) -> np.ndarray:
        w = self.model.weights[bucket_of(len(liked))]
        total = np.zeros(len(rows), dtype=np.float64)
        if w[0]:
            u = self._user(liked, disliked)
            mean = float(u @ self.out_mean) + self.bias_mean
            m2 = float(u @ self.out_m2 @ u + 2 * u @ self.out_b) + self.bias_m2
            total += w[0] * self._z(self.out[rows] @ u + self.bias[rows], mean, m2)
        if w[1]:
            e = self.model.ease.score_batch([liked], [disliked])[0].astype(np.float64)
            total += w[1] * self._z(e[rows], float(e.mean()), float((e**2).mean()))
        if w[2]:
            total += w[2] * self.pop_z[rows]
        if w[3] and len(liked):
            q = self.emb[liked].mean(0)
            q = q / max(float(np.linalg.norm(q)), 1e-12)
            total += w[3] * self._z(self.emb[rows] @ q, float(q @ self.emb_mean), float(q @ self.emb_m2 @ q))
        return total
