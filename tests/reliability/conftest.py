"""Agents for fault tests: the shared real agent's catalogue and models over COPIES of its files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.app import RecommenderAgent
from agent.resources import Resources
from agent.settings import Settings
from tests.conftest import test_cache_dir as shared_cache_dir

SharedAgent = Callable[..., RecommenderAgent]
__all__ = ["SharedAgent", "copy_cache", "shared_cache_dir"]


def copy_cache(dst: Path, *, index: bool = True, checkpoint: bool = False) -> Path:
    """A private cache folder holding copies of the shared index and ranking checkpoint."""
    src = shared_cache_dir()
    dst.mkdir(parents=True, exist_ok=True)
    if index:
        shutil.copytree(src / "index", dst / "index")
    if checkpoint:
        shutil.copytree(src / "models" / "reranker", dst / "models" / "reranker")
    return dst


@pytest.fixture
def agent_on(real_agent: RecommenderAgent, data_dir: Path) -> SharedAgent:
    """``agent_on(cache_dir, **settings)``: a new agent whose index, checkpoint, LLM and store come from
    ``cache_dir``, sharing the real agent's catalogue, encoder and item vectors (read-only, so cheap)."""

    def build(cache_dir: Path, *, reuse_reranker: bool = True, **overrides: object) -> RecommenderAgent:
        options: dict[str, object] = {"data_dir": data_dir, "cache_dir": cache_dir, "llm": "none"}
        settings = Settings(**(options | overrides))
        res = Resources(settings, progress=False)
        shared = real_agent.resources
        res.__dict__.update(
            _dataset=shared._dataset, encoder=shared.encoder, item_embeddings=shared.item_embeddings
        )
        if reuse_reranker:
            from ranking.registry import ModelRegistry

            res._reranker = shared.reranker()
            # the injected model counts as current: no reload (or training) on the first turn
            res._reranker_stamp = ModelRegistry(res.checkpoint_dir).stamp()
        res.prepare()
        return RecommenderAgent(res)

    return build
