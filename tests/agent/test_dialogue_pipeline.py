"""The dialogue retriever in the pipeline: a candidate source and a blend feature, only for requests that
carry a dialogue context (unit tests on the hand-made catalogue; ``Fake*`` are test doubles)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from agent.pipeline.pipeline import Pipeline, PipelineRequest
from agent.prior.blend import FEATURES, BlendWeights, PriorBlend, TurnContext
from agent.prior.conversational import ConversationPrior
from agent.settings import PipelineConfig
from retrieval.catalogue import Catalogue
from retrieval.dialogue_encoder import DialogueRetriever
from retrieval.types import ScoredList
from tests.agent.conftest import build_pipeline, item_embeddings

HEAT, UNFORGIVEN, PADDINGTON = 10, 11, 7


class FakeDialogueEncoder:
    """Encodes every context as the one-hot vector of dimension 0; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls += len(texts)
        v = np.zeros((len(texts), 3), dtype=np.float32)
        v[:, 0] = 1.0
        return v


def _retriever(catalogue: Catalogue) -> tuple[DialogueRetriever, FakeDialogueEncoder]:
    """A retriever whose scores are known: Unforgiven .9, Heat .5, Paddington .4, every other movie 0."""
    emb = np.zeros((len(catalogue), 3), dtype=np.float32)
    emb[:, 1] = 1.0
    for mid, s in ((UNFORGIVEN, 0.9), (HEAT, 0.5), (PADDINGTON, 0.4)):
        emb[catalogue.row(mid)] = (s, 0.0, 0.0)
    enc = FakeDialogueEncoder()
    return DialogueRetriever(catalogue, enc, emb, "base"), enc  # type: ignore[arg-type]


def _with_prior(catalogue: Catalogue, config: PipelineConfig) -> Pipeline:
    base = build_pipeline(catalogue)
    prior = ConversationPrior(Counter({3: 5, 5: 2}), {})
    return Pipeline(
        catalogue,
        base.retriever,
        base.reranker,
        base.item_emb,
        base.encoder,
        config,
        fallback_retriever=base.fallback_retriever,
        prior=prior,
        blend_weights=BlendWeights(weights={"prior": 1.0}),
    )


def test_best_orders_by_score_then_id(catalogue: Catalogue) -> None:
    retriever, _ = _retriever(catalogue)
    assert retriever.top("User: a western please", 3) == [UNFORGIVEN, HEAT, PADDINGTON]
    assert retriever.top("   ", 3) == []
    scores = np.zeros(len(catalogue))
    assert DialogueRetriever.best(catalogue, scores, 2) == [1, 2]  # ties: lower id first


def test_the_dialogue_features_are_the_retrievers_cosine(catalogue: Catalogue) -> None:
    retriever, _ = _retriever(catalogue)
    emb = item_embeddings(catalogue)
    blend = PriorBlend(catalogue, emb, ConversationPrior(Counter(), {}), BlendWeights(weights={}))
    cf = ScoredList((HEAT, UNFORGIVEN, 1), (0.0, 0.0, 0.0))
    scores = retriever.scores("User: hi")
    _, x = blend.features(cf, TurnContext(dialogue=scores))
    raw = x[:, FEATURES.index("dialogue_raw")]
    assert raw.tolist() == pytest.approx([0.5, 0.9, 0.0])
    assert x[:, FEATURES.index("dialogue")].mean() == pytest.approx(0.0, abs=1e-9)
    _, none = blend.features(cf, TurnContext())
    assert not none[:, FEATURES.index("dialogue_raw")].any()


def test_a_context_request_draws_candidates_and_ranks_by_the_dialogue(catalogue: Catalogue) -> None:
    # no index, CF or prior candidates beyond one: the dialogue retriever must bring its movies in
    config = PipelineConfig(n_retrieve=1, n_cf=0, n_prior=0, n_related=0, n_dialogue=3, diversity=0.0)
    retriever, enc = _retriever(catalogue)
    pipe = _with_prior(catalogue, config).with_dialogue(retriever, {"dialogue_raw": 100.0})
    res = pipe.run(PipelineRequest(text="something", context="User: a western please", k=3))
    assert [m for m, _ in res.picks] == [UNFORGIVEN, HEAT, PADDINGTON]
    assert enc.calls == 1


def test_a_live_request_without_context_never_asks_the_retriever(catalogue: Catalogue) -> None:
    config = PipelineConfig(n_retrieve=20, n_cf=20, diversity=0.0)
    plain = _with_prior(catalogue, config)
    retriever, enc = _retriever(catalogue)
    with_dialogue = plain.with_dialogue(retriever, {"dialogue_raw": 100.0})
    req = PipelineRequest(liked=(3,), text="space", k=5)
    assert with_dialogue.run(req).picks == plain.run(req).picks
    assert enc.calls == 0
    assert plain.dialogue is None  # the copy, not the original, has the retriever


def test_without_a_prior_the_retriever_is_not_used(catalogue: Catalogue) -> None:
    retriever, enc = _retriever(catalogue)
    pipe = build_pipeline(catalogue).with_dialogue(retriever)
    pipe.run(PipelineRequest(text="space", context="User: a western please", k=3))
    assert enc.calls == 0


def test_blend_weights_merge_the_dialogue_weights() -> None:
    w = BlendWeights(weights={"prior": 1.0}).merged({"dialogue": 2.0})
    assert w.weights == {"prior": 1.0, "dialogue": 2.0}
    with pytest.raises(ValueError, match="unknown blend features"):
        BlendWeights(weights={"prior": 1.0}).merged({"dialog": 2.0})
