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


_AGENTS: dict[Path, object] = {}


def test_cache_dir() -> Path:
    """Index, embeddings and model built by the real-data tests: repo-local, reused across runs."""
    env = os.environ.get("REELCHAT_TEST_CACHE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".cache" / "test"


def load_real_agent(data_dir: Path):  # type: ignore[no-untyped-def]
    """The real agent (``llm="none"``), loaded once per test run; first load builds index and model."""
    if data_dir not in _AGENTS:
        from agent.app import RecommenderAgent
        from agent.settings import Settings

        settings = Settings(data_dir=data_dir, cache_dir=test_cache_dir(), llm="none", db_url=None)
        _AGENTS[data_dir] = RecommenderAgent.load(settings, progress=False)
    return _AGENTS[data_dir]


@pytest.fixture(scope="session")
def real_agent(data_dir: Path):  # type: ignore[no-untyped-def]
    return load_real_agent(data_dir)
