"""Fixtures: a tiny synthetic catalogue with two user groups of disjoint tastes, and a trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ranking.config import TrainConfig
from ranking.train import TrainedModel, train

N_ITEMS = 40
GROUP_A = list(range(1, 21))  # movie ids liked by group A
GROUP_B = list(range(21, 41))

TINY = TrainConfig(
    dim=8,
    hidden=16,
    n_models=2,
    samples_per_user=4,
    batch_size=64,
    lr=1e-2,
    max_epochs=6,
    patience=2,
    ease_lambdas=(10.0, 100.0),
    blend_grid=(0.0, 0.5, 1.0),
    min_val_positives=4,
)


def synthetic_ratings(n_users: int = 60, seed: int = 0) -> pd.DataFrame:
    """Group A users like movies 1-20 and dislike some of 21-40; group B the other way round."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        likes, hates = (GROUP_A, GROUP_B) if u % 2 == 0 else (GROUP_B, GROUP_A)
        for m in rng.choice(likes, size=10, replace=False):
            rows.append((u + 1, int(m), float(rng.choice([4.0, 4.5, 5.0])), 1_000_000 + len(rows)))
        for m in rng.choice(hates, size=3, replace=False):
            rows.append((u + 1, int(m), 1.0, 1_000_000 + len(rows)))
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


def synthetic_embeddings(seed: int = 0) -> np.ndarray:
    """Item vectors with a weak group signal plus noise."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(N_ITEMS, 16)).astype(np.float32)
    emb[:20, 0] += 1.0
    emb[20:, 0] -= 1.0
    return emb


@pytest.fixture(scope="session")
def item_ids() -> np.ndarray:
    return np.arange(1, N_ITEMS + 1, dtype=np.int64)


@pytest.fixture(scope="session")
def trained(item_ids: np.ndarray) -> TrainedModel:
    torch.set_num_threads(1)  # tiny tensors: extra threads only add overhead
    return train(synthetic_ratings(), item_ids, synthetic_embeddings(), TINY, device="cpu")


@pytest.fixture(
    params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)],
)
def device(request: pytest.FixtureRequest) -> str:
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return str(request.param)
