"""Ablations of the real agent: the same understanding and pipeline with the CF reranker replaced."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.pipeline.pipeline import Pipeline
from ranking.fallback import SimilarityRanker

if TYPE_CHECKING:
    from agent.app import RecommenderAgent


def similarity_pipeline(app: RecommenderAgent) -> Pipeline:
    """The agent's pipeline (no conversational prior) ranking by retrieval similarity, no CF signal."""
    res, cat = app.resources, app.catalogue
    return Pipeline(
        cat,
        res.retriever(),
        SimilarityRanker(cat.ids, [m.rating_count for m in cat]),
        res.item_embeddings,
        res.encoder,
        app.settings.pipeline,
        fallback_retriever=res.exact_retriever(),
    )


def without_reranker(app: RecommenderAgent) -> RecommenderAgent:
    """The same agent recommending through :func:`similarity_pipeline`."""
    return app.with_pipeline(similarity_pipeline(app))
