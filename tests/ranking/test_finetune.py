"""Fine-tuning on feedback: warm start, the feedback effect, the NDCG gate, reproducibility, rollback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ranking.finetune import feedback_frame, feedback_ratings, finetune
from ranking.registry import ModelRegistry
from ranking.reranker import Reranker
from ranking.train import TrainedModel
from tests.ranking.conftest import GROUP_A, GROUP_B, synthetic_ratings

A, B = GROUP_A[0], GROUP_B[9]  # B is of the other taste group: ranked low for a profile with A
FP = "synthetic"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _feedback(n_users: int = 6) -> pd.DataFrame:
    """Users who like A also like B (and one more movie of each group)."""
    rows = [(f"user{k}", m, "liked") for k in range(n_users) for m in (A, B, GROUP_A[1], GROUP_B[10])]
    return pd.DataFrame(rows, columns=["user_key", "movie_id", "signal"])


def _rank_of(model: TrainedModel, movie: int, liked: list[int]) -> int:
    ids = Reranker(model).rank_all(liked, [], k=len(model.item_ids)).ids
    return ids.index(movie)


def test_feedback_lifts_b_for_a_profile_and_rollback_restores(tmp_path: Path, trained: TrainedModel) -> None:
    reg = ModelRegistry(tmp_path / "reranker")
    reg.publish(trained, FP)
    before = Reranker(trained).score([A], [], list(trained.item_ids))
    result = finetune(trained, synthetic_ratings(), _feedback(), epochs=2, device="cpu")
    assert _rank_of(result.model, B, [A]) < _rank_of(trained, B, [A])
    assert 0.0 < result.val_before <= 1.0 and 0.0 <= result.val_after <= 1.0
    assert result.model.info["finetune"]["feedback_users"] == 6

    reg.publish(result.model, FP, info={"source": "finetune"})
    assert Reranker(reg.load_current(FP)).score([A], [], list(trained.item_ids)) != before  # type: ignore[arg-type]
    assert reg.rollback() == "v0001"
    restored = reg.load_current(FP)
    assert restored is not None
    assert Reranker(restored).score([A], [], list(trained.item_ids)) == before  # exactly


def test_warm_start_keeps_the_trained_state(trained: TrainedModel) -> None:
    """With a zero learning rate and EASE kept, fine-tuning returns the very same model."""
    res = finetune(trained, synthetic_ratings(), _feedback(), epochs=1, lr_scale=0.0, refit_ease=False)
    for new, old in zip(res.model.set_states, trained.set_states, strict=True):
        assert all(torch.equal(new[k], old[k]) for k in old)
    assert res.val_after == pytest.approx(res.val_before) and res.accepted
    assert res.model.ease is trained.ease and res.model.weights is trained.weights


def test_seeded_and_reproducible(trained: TrainedModel) -> None:
    runs = [finetune(trained, synthetic_ratings(), _feedback(2), epochs=1, seed=3) for _ in range(2)]
    for s1, s2 in zip(runs[0].model.set_states, runs[1].model.set_states, strict=True):
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
    np.testing.assert_array_equal(runs[0].model.ease.weights, runs[1].model.ease.weights)
    assert runs[0].val_after == runs[1].val_after
    assert not all(
        torch.equal(runs[0].model.set_states[0][k], trained.set_states[0][k]) for k in ("in_delta",)
    )


def test_gate_refuses_a_drop_with_fake_evaluator(
    trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    for values, accepted in (([0.5, 0.48], False), ([0.5, 0.491], True), ([0.0, 0.0], True)):
        it = iter(values)
        monkeypatch.setattr("ranking.finetune.validation_ndcg", lambda *a, _it=it, **k: next(_it))
        res = finetune(trained, synthetic_ratings(), [], epochs=1, refit_ease=False)
        assert res.accepted is accepted
        assert (res.val_before, res.val_after) == tuple(values)
        if not accepted:
            assert "fell from 0.5000 to 0.4800" in res.reason and "2%" in res.reason
            assert res.model.info["finetune"]["accepted"] is False


def test_feedback_rows_last_signal_wins_and_repeat() -> None:
    fb = [("ann", 5, "liked"), ("ann", 5, "disliked"), ("ann", 6, "seen"), ("bob", 7, "liked")]
    rows, n_users = feedback_ratings(fb, first_user=100, repeat=2)
    assert n_users == 2 and len(rows) == 4
    ann = rows[rows["userId"].isin([100, 102])]
    assert set(ann["movieId"]) == {5} and set(ann["rating"]) == {1.0}
    assert sorted(rows["userId"].unique()) == [100, 101, 102, 103]
    with pytest.raises(ValueError, match="lacks columns"):
        feedback_frame(pd.DataFrame({"user_key": ["ann"], "movie": [1]}))
