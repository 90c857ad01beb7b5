"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so tests are reproducible."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder ($REELCHAT_DATA_DIR, else shared/data beside the repo); skips when absent."""
    env = os.environ.get("REELCHAT_DATA_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (path / "ml-latest-small" / "movies.csv").is_file():
        pytest.skip(f"ml-latest-small not found under {path} (set REELCHAT_DATA_DIR)")
    return path
