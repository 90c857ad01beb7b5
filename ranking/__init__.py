"""Ranking: collaborative-filtering rerankers over plain item arrays (no retrieval / UI imports)."""

from ranking.checkpoint import CheckpointError, load, load_or_train, save
from ranking.config import RankerConfig, TrainConfig
from ranking.protocol import ItemScorer, Ranker, ScoredList
from ranking.reranker import Reranker
from ranking.train import TrainedModel, train

__all__ = [
    "CheckpointError",
    "ItemScorer",
    "Ranker",
    "RankerConfig",
    "Reranker",
    "ScoredList",
    "TrainConfig",
    "TrainedModel",
    "load",
    "load_or_train",
    "save",
    "train",
]
