"""The set model: a user is the (dis)liked movies they name; items are MiniLM components + learned factors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import nn


def pca_factors(item_emb: np.ndarray, dim: int) -> np.ndarray:
    """Top ``dim`` principal components of the item embeddings, scaled to unit mean row norm."""
    x = np.asarray(item_emb, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    dim = min(dim, x.shape[0], x.shape[1])
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    f = u[:, :dim] * s[:dim]
    # make the sign of each component deterministic
    f *= np.sign(f[np.abs(f).argmax(axis=0), np.arange(dim)])
    f /= max(float(np.linalg.norm(f, axis=1).mean()), 1e-12)
    return f.astype(np.float32)


class SetModel(nn.Module):
    """Scores all items for a user given padded sets of liked and disliked item rows.

    Item vectors are a fixed MiniLM projection (``content``) plus learned deltas, with separate
    input and output tables; the output side has a bias initialised to log-popularity.
    """

    content: torch.Tensor  # registered buffer

    def __init__(self, content: torch.Tensor, log_pop: torch.Tensor, hidden: int = 256) -> None:
        super().__init__()
        n, d = content.shape
        self.register_buffer("content", content.float().clone())
        self.in_delta = nn.Parameter(torch.zeros(n, d))
        self.out_delta = nn.Parameter(torch.zeros(n, d))
        self.content_scale = nn.Parameter(torch.ones(2))
        self.bias = nn.Parameter(log_pop.float().clone())
        self.mlp = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))
        self.dislike = nn.Linear(d, d, bias=False)
        out_proj = cast(nn.Linear, self.mlp[-1])
        nn.init.zeros_(out_proj.weight)
        nn.init.zeros_(out_proj.bias)
        nn.init.zeros_(self.dislike.weight)

    @property
    def n_items(self) -> int:
        return int(self.content.shape[0])

    def item_in(self) -> torch.Tensor:
        return self.content * self.content_scale[0] + self.in_delta

    def item_out(self) -> torch.Tensor:
        return self.content * self.content_scale[1] + self.out_delta

    def user(
        self,
        liked: torch.Tensor,
        liked_mask: torch.Tensor,
        disliked: torch.Tensor,
        disliked_mask: torch.Tensor,
        table: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """User vectors ``(B, d)`` from padded row tensors ``(B, L)`` and float masks.

        ``table`` is the input item table, :meth:`item_in` unless a caller has it at hand.
        """
        table = self.item_in() if table is None else table
        lm = liked_mask.unsqueeze(-1)
        h = (table[liked] * lm).sum(1) / lm.sum(1).clamp_min(1.0)
        dm = disliked_mask.unsqueeze(-1)
        g = (table[disliked] * dm).sum(1) / dm.sum(1).clamp_min(1.0)
        return h + self.mlp(h) - self.dislike(g)

    def forward(
        self,
        liked: torch.Tensor,
        liked_mask: torch.Tensor,
        disliked: torch.Tensor,
        disliked_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Logits ``(B, n_items)``."""
        u = self.user(liked, liked_mask, disliked, disliked_mask)
        return u @ self.item_out().T + self.bias


def pad_sets(
    sets: Sequence[np.ndarray], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad variable-length row sets to ``(B, L)`` (L >= 1) with a float mask."""
    length = max([1, *(len(s) for s in sets)])
    rows = np.zeros((len(sets), length), dtype=np.int64)
    mask = np.zeros((len(sets), length), dtype=np.float32)
    for i, s in enumerate(sets):
        rows[i, : len(s)] = s
        mask[i, : len(s)] = 1.0
    return torch.from_numpy(rows).to(device), torch.from_numpy(mask).to(device)


class SetScorer:
    """:class:`ranking.protocol.ItemScorer` of a bag of trained :class:`SetModel` (mean log-softmax)."""

    def __init__(self, models: Sequence[SetModel], device: torch.device | str = "cpu") -> None:
        self.models = [m.eval() for m in models]
        self.device = torch.device(device)
        with torch.no_grad():
            self._in = [m.item_in().detach() for m in self.models]
            self._out = [m.item_out().detach() for m in self.models]

    @property
    def n_items(self) -> int:
        return self.models[0].n_items

    @torch.no_grad()
    def score_batch(self, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray]) -> np.ndarray:
        lr, lm = pad_sets(liked, self.device)
        dr, dm = pad_sets(disliked, self.device)
        total = None
        for m, tin, tout in zip(self.models, self._in, self._out, strict=True):
            u = m.user(lr, lm, dr, dm, table=tin)
            logp = torch.log_softmax((u @ tout.T + m.bias).float(), dim=-1)
            total = logp if total is None else total + logp
        assert total is not None
        return (total / len(self.models)).cpu().numpy()
