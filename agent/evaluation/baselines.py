"""ReDial replay variants: the agent, its ablations and the ranking baselines, as ``TurnInput -> ids``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agent.evaluation.metrics import summarise_recall
from agent.evaluation.redial import TurnInput, Variant, recommendation_prior
from agent.prior.conversational import ConversationPrior
from ranking.baselines import Popularity, SparseItemModel, fit_ease
from ranking.interactions import build_interactions
from retrieval.catalogue import Catalogue
from retrieval.redial import RedialTurn, TitleMapper, TrainDialogue, TrainMapping, mentioned_ids

EASE_LAMBDAS = (100.0, 500.0, 2000.0)
# Co-occurrence weight of the prior-only baseline. Taken from issue 16's throwaway check, which saw
# report-half figures: a baseline knob only, no agent setting depends on it.
PRIOR_COOC_WEIGHT = 4.0
EASE_MIN_COUNT = 2  # items with fewer positive ratings stay out of EASE (keeps the Gram matrix small)


def _top(scores: np.ndarray, ids: np.ndarray, banned: Sequence[int], k: int) -> list[int]:
    """The ``k`` best ids by ``scores`` (ties by id), skipping ``banned``."""
    order = np.lexsort((ids, -scores))
    ban = set(banned)
    out: list[int] = []
    for i in order:
        mid = int(ids[i])
        if mid not in ban:
            out.append(mid)
            if len(out) >= k:
                break
    return out


class ScoreBaseline:
    """Ranks the catalogue by a fixed per-movie score (popularity, a ReDial prior)."""

    def __init__(self, ids: np.ndarray, scores: np.ndarray, k: int = 50) -> None:
        self.ids, self.k = ids, k
        self.order = [int(ids[i]) for i in np.lexsort((ids, -scores))]

    def __call__(self, inp: TurnInput) -> list[int]:
        return [m for m in self.order[: self.k + len(inp.mentioned)] if m not in inp.mentioned][: self.k]


class PriorBaseline:
    """A conversational prior alone: log(1 + recommendation count) plus ``cooc_weight`` times the
    co-occurrence with the movies mentioned so far (:meth:`ConversationPrior.related`)."""

    def __init__(self, prior: ConversationPrior, cooc_weight: float = PRIOR_COOC_WEIGHT, k: int = 50) -> None:
        self.prior, self.w, self.k = prior, cooc_weight, k
        self.head = prior.top[: 8 * k]

    def __call__(self, inp: TurnInput) -> list[int]:
        related = self.prior.related(inp.mentioned)
        cands = (set(self.head) | set(related)) - inp.mentioned
        score = {m: self.prior.popularity(m) + self.w * related.get(m, 0.0) for m in cands}
        return sorted(cands, key=lambda m: (-score[m], m))[: self.k]


class EaseBaseline:
    """EASE fold-in: the mentioned movies are the user's positives (popularity breaks ties)."""

    def __init__(
        self, model: SparseItemModel, catalogue: Catalogue, log_pop: np.ndarray, k: int = 50
    ) -> None:
        self.model, self.catalogue, self.k = model, catalogue, k
        self.tie = 1e-6 * log_pop / max(float(log_pop.max()), 1.0)

    def __call__(self, inp: TurnInput) -> list[int]:
        rows = self.catalogue.rows(sorted(inp.mentioned))
        scores = self.model.score_batch([rows], [np.zeros(0, dtype=np.int64)])[0] + self.tie
        return _top(scores, self.catalogue.ids, list(inp.mentioned), self.k)


class RetrievalBaseline:
    """Vector search only: normalised mean of the mentioned movies' vectors plus the user's text."""

    def __init__(self, pipeline: Any, catalogue: Catalogue, item_emb: np.ndarray, k: int = 50) -> None:
        self.pipeline, self.catalogue, self.emb, self.k = pipeline, catalogue, item_emb, k
        self.fallback = ScoreBaseline(catalogue.ids, np.array([m.rating_count for m in catalogue], float), k)

    def __call__(self, inp: TurnInput) -> list[int]:
        vec = self.pipeline.query_vector(sorted(inp.mentioned), inp.text)
        if vec is None:
            return self.fallback(inp)
        return _top(self.emb @ vec, self.catalogue.ids, list(inp.mentioned), self.k)


def agent_variant(app: Any, k: int = 50) -> Variant:
    """The full agent through its public stateless API."""

    def run(inp: TurnInput) -> list[int]:
        return [r.movie_id for r in app.recommend(list(inp.messages), k=k, explain=False)]

    return run


def no_reranker_variant(app: Any, k: int = 50) -> Variant:
    """The agent's understanding and pipeline with the CF reranker replaced by retrieval similarity."""
    from agent.evaluation.variants import without_reranker

    return agent_variant(without_reranker(app), k)


DIALOGUE_LABELS = {"base": "MiniLM, untuned", "tuned": "tuned"}


class DialogueBaseline:
    """The dialogue retriever alone: the catalogue ranked by cosine to the turn's last messages."""

    def __init__(self, retriever: Any, k: int = 50) -> None:
        self.retriever, self.k = retriever, k

    def __call__(self, inp: TurnInput) -> list[int]:
        from retrieval.dialogue_encoder import context_text

        return [
            m for m in self.retriever.top(context_text(inp.messages), self.k * 2) if m not in inp.mentioned
        ]


def dialogue_variants(app: Any, retrievers: Mapping[str, Any], k: int = 50) -> dict[str, Variant]:
    """For each dialogue-context retriever (``kind -> DialogueRetriever``): the agent with it as a candidate
    source and blend feature (its weights those fitted for its kind; only when the agent has a prior), and
    the retriever alone."""
    pipe = app.engine.pipeline
    out: dict[str, Variant] = {}
    for kind, r in retrievers.items():
        if r is None:
            continue
        label = DIALOGUE_LABELS.get(kind, kind)
        if pipe.blend is not None:
            out[f"agent + dialogue retriever ({label})"] = agent_variant(
                app.with_pipeline(pipe.with_dialogue(r)), k
            )
        out[f"dialogue retriever alone ({label})"] = DialogueBaseline(r, k)
    return out


def tune_ease(
    ratings: pd.DataFrame,
    catalogue: Catalogue,
    tune_turns: Sequence[RedialTurn],
    mapper: TitleMapper,
    lambdas: Sequence[float] = EASE_LAMBDAS,
) -> tuple[float, SparseItemModel, dict[float, float]]:
    """EASE fitted on all MovieLens users; λ chosen by pair Recall@50 on the ReDial tune half."""
    inter = build_interactions(ratings, catalogue.ids)
    log_pop = Popularity.fit(inter).log_counts
    models = fit_ease(inter, lambdas, EASE_MIN_COUNT)
    inputs = [TurnInput(t, (), mentioned_ids(t, mapper), "") for t in tune_turns]
    targets = [
        frozenset(m for r in t.rec if (m := mapper.map(r)) is not None) - i.mentioned
        for t, i in zip(tune_turns, inputs, strict=True)
    ]
    scores = {}
    for lam, model in models.items():
        base = EaseBaseline(model, catalogue, log_pop)
        runs = [(base(i), tg) for i, tg in zip(inputs, targets, strict=True)]
        scores[lam] = summarise_recall(runs, (50,)).pair_recall[50]
    best = max(scores, key=lambda lam: (scores[lam], -lam))
    return best, models[best], scores


def build_variants(
    app: Any,
    tune_turns: Sequence[RedialTurn],
    mapper: TitleMapper,
    *,
    k: int = 50,
    include: Sequence[str] | None = None,
    train: tuple[Sequence[TrainDialogue], TrainMapping] | None = None,
    dialogue: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Variant], dict[str, Any]]:
    """Every variant for the real agent, plus notes (chosen EASE λ, prior size) for the report; with
    ``train`` (the ReDial train dialogues) also the prior-only baseline from the tune half + train; with
    ``dialogue`` (kind -> dialogue retriever) the agent with each of them (:func:`dialogue_variants`)."""
    cat, ratings = app.catalogue, app.resources.ratings
    inter = build_interactions(ratings, cat.ids)
    log_pop = Popularity.fit(inter).log_counts
    notes: dict[str, Any] = {}
    variants: dict[str, Variant] = {
        "agent": agent_variant(app, k),
        **dialogue_variants(app, dialogue or {}, k),
        "agent, no reranker": no_reranker_variant(app, k),
        "retrieval only": RetrievalBaseline(app.engine.pipeline, cat, app.resources.item_embeddings, k),
        "popularity": ScoreBaseline(cat.ids, log_pop, k),
    }
    lam, ease, lam_scores = tune_ease(ratings, cat, tune_turns, mapper)
    notes["ease_lambda"] = lam
    notes["ease_tune_recall@50"] = {str(x): v for x, v in lam_scores.items()}
    variants["EASE fold-in"] = EaseBaseline(ease, cat, log_pop, k)
    prior = recommendation_prior(tune_turns, mapper)
    notes["prior_movies"] = len(prior)
    variants["ReDial prior (tune half)"] = ScoreBaseline(
        cat.ids, prior_scores(prior, cat) + 1e-3 * log_pop, k
    )
    if train is not None:
        conv = ConversationPrior.from_turns(tune_turns, mapper).with_train(*train)
        variants["ReDial prior (tune half + train)"] = PriorBaseline(conv, k=k)
        notes["train_dialogues"] = len(train[0])
        notes["train_movies_mapped"] = round(train[1].share, 4)
    if include:
        variants = {n: v for n, v in variants.items() if n in include}
    return variants, notes


def prior_scores(prior: Mapping[int, int], catalogue: Catalogue) -> np.ndarray:
    """A prior (movieId → count) as a vector aligned with ``catalogue.ids``."""
    return np.array([prior.get(int(m), 0) for m in catalogue.ids], dtype=np.float64)
