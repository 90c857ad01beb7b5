"""Ranking: collaborative-filtering rerankers over plain item arrays (no retrieval / UI imports)."""

from ranking.base import CatalogueRanker, ScorerRanker
from ranking.checkpoint import CheckpointError, load, load_or_train, save
from ranking.config import RankerConfig, TrainConfig
from ranking.fallback import FallbackRanker, SimilarityRanker
from ranking.protocol import ItemScorer, Ranker, ScoredList
from ranking.reranker import Reranker
from ranking.train import TrainedModel, train

__all__ = [
    "CatalogueRanker",
    "CheckpointError",
    "FallbackRanker",
    "ItemScorer",
    "Ranker",
    "RankerConfig",
    "Reranker",
    "ScoredList",
    "ScorerRanker",
    "SimilarityRanker",
    "TrainConfig",
    "TrainedModel",
    "load",
    "load_or_train",
    "save",
    "train",
]
