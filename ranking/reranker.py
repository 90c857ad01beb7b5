"""The shipped ranker: tuned blend of the set model, EASE, popularity and content, with MMR and knobs."""

from __future__ import annotations

from typing import TypedDict, cast

import numpy as np
import torch
from scipy.special import erf
from torch import nn

from ranking.base import CatalogueRanker, finish_ranking, mmr_order, popularity_z
from ranking.baselines import bucket_of
from ranking.config import RankerConfig
from ranking.model import SetModel
from ranking.train import TrainedModel

__all__ = ["Reranker", "finish_ranking", "mmr_order"]  # the last two moved to ranking.base


class Reranker(CatalogueRanker):
    """The shipped ranker: scores movie ids for a chat user given by liked / disliked movie ids.

    Implements :class:`ranking.protocol.Ranker` through :class:`ranking.base.CatalogueRanker`:
    ``rank_all`` uses the whole-catalogue blend, ``score`` the same blend evaluated only at the
    candidates, mixed with the retrieval similarity by the weight tuned on validation users.
    """

    def __init__(
        self, model: TrainedModel, config: RankerConfig | None = None, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(model.item_ids, model.item_emb, config, log_pop=model.log_pop)
        self.model = model
        self._scorer = model.scorer(device)
        self._fast = _CandidateScorer(model)

    def _catalogue_scores(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        return self._scorer.score_batch([liked], [disliked])[0].astype(np.float64)

    def _candidate_scores(self, liked: np.ndarray, disliked: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self._fast.scores(liked, disliked, rows)

    def _text_weight(self, n_liked: int) -> float:
        return float(self.model.text_weights[bucket_of(n_liked)])


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
        self.pop_z = popularity_z(model.log_pop)

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
