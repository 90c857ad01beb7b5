"""Ablations of the real agent: the pipeline without its reranker, and stateless state replay."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agent.understanding.state import SessionState
from ranking.protocol import ScoredList
from retrieval.catalogue import Catalogue


class SimilarityRanker:
    """Stand-in reranker: keeps the retrieval order (vector similarity), popularity when there is none.

    Implements both reranker interfaces the pipeline may call (``top_ids``/``rerank`` and
    ``score``/``rank_all``); it uses no collaborative-filtering signal.
    """

    def __init__(self, catalogue: Catalogue) -> None:
        self._by_pop = [m.movie_id for m in sorted(catalogue, key=lambda m: (-m.rating_count, m.movie_id))]
        self._pop = {mid: i for i, mid in enumerate(self._by_pop)}

    def top_ids(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Any = (), n: int = 50
    ) -> list[int]:
        banned = set(liked) | set(disliked) | set(exclude)
        return [m for m in self._by_pop if m not in banned][:n]

    def _order(
        self, ids: Sequence[int], text_sim: Sequence[float] | None, banned: set[int]
    ) -> list[tuple[int, float]]:
        best: dict[int, float] = {}
        for i, mid in enumerate(ids):
            if int(mid) in banned:
                continue
            s = float(text_sim[i]) if text_sim is not None else 0.0
            s = 0.0 if not np.isfinite(s) else s
            best[int(mid)] = max(best.get(int(mid), -np.inf), s)
        return sorted(best.items(), key=lambda kv: (-kv[1], self._pop.get(kv[0], len(self._pop)), kv[0]))

    def rerank(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        k: int | None = None,
        exclude: Any = (),
        **_: Any,
    ) -> ScoredList:
        ranked = self._order(ids, text_sim, set(liked) | set(disliked) | set(exclude))[: k or None]
        return ScoredList(tuple(m for m, _ in ranked), tuple(s for _, s in ranked))

    def score(
        self,
        liked: Sequence[int],
        disliked: Sequence[int],
        candidate_ids: Sequence[int],
        text_sim: Sequence[float] | None = None,
        *,
        exclude: Sequence[int] = (),
        **_: Any,
    ) -> ScoredList:
        return self.rerank(liked, disliked, candidate_ids, text_sim, None, exclude)

    def rank_all(
        self, liked: Sequence[int], disliked: Sequence[int], exclude: Sequence[int] = (), k: int = 50
    ) -> ScoredList:
        ids = self.top_ids(liked, disliked, exclude, k)
        return ScoredList(tuple(ids), tuple(-float(self._pop[m]) for m in ids))


def without_reranker(app: Any) -> Any:
    """A shallow copy of a :class:`agent.app.RecommenderAgent` whose pipeline ignores the CF reranker."""
    from agent.pipeline.pipeline import Pipeline

    res = app.resources
    clone = copy.copy(app)
    clone.__dict__["pipeline"] = Pipeline(
        app.catalogue,
        res.retriever(),
        SimilarityRanker(app.catalogue),
        res.item_embeddings,
        res.encoder,
        app.pipeline_config,
        fallback_retriever=res.exact_retriever(),
    )
    return clone


def replay_state(app: Any, messages: Sequence[Mapping[str, str]], k: int = 50) -> SessionState:
    """The session state :meth:`RecommenderAgent.recommend` builds from ``messages`` (same rules)."""
    return app.state_from_messages(messages, k)
