from __future__ import annotations

import numpy as np
import pytest

from ranking import CheckpointError, Reranker, TrainedModel, load, load_or_train, save
from ranking.baselines import Content, Popularity, fit_ease, fit_itemknn
from ranking.interactions import build_interactions
from ranking.train import train
from tests.ranking.conftest import GROUP_A, GROUP_B, TINY, synthetic_embeddings, synthetic_ratings


def test_planted_groups_ranked_in_group_first(trained: TrainedModel) -> None:
    reranker = Reranker(trained)
    for liked, own, other in ((GROUP_A[:3], GROUP_A, GROUP_B), (GROUP_B[:3], GROUP_B, GROUP_A)):
        top = reranker.rank_all(liked, [], k=10).ids
        assert set(top) <= set(own) - set(liked)
        scored = reranker.score(liked, [], own[5:] + other)
        assert set(scored.ids[:15]) == set(own[5:])


def test_set_model_alone_separates_groups(trained: TrainedModel) -> None:
    from ranking.model import SetScorer

    scorer = SetScorer(trained.set_models())
    s = scorer.score_batch([np.array([0, 1])], [np.zeros(0, dtype=np.int64)])[0]
    assert s[2:20].min() > s[20:].max()


def test_baselines_separate_groups(item_ids: np.ndarray) -> None:
    inter = build_interactions(synthetic_ratings(), item_ids)
    liked, none = [np.array([0, 1, 2])], [np.zeros(0, dtype=np.int64)]
    for scorer in (fit_itemknn(inter), fit_ease(inter, [10.0])[10.0]):
        s = scorer.score_batch(liked, none)[0]
        assert s[3:20].mean() > s[20:].mean()
    assert Popularity.fit(inter).score_batch(liked, none).shape == (1, len(item_ids))
    content = Content(synthetic_embeddings() / np.linalg.norm(synthetic_embeddings(), axis=1, keepdims=True))
    s = content.score_batch(liked, none)[0]
    assert s[3:20].mean() > s[20:].mean()


def test_training_is_reproducible_and_device_agnostic(device: str, item_ids: np.ndarray) -> None:
    ratings, emb = synthetic_ratings(40, seed=1), synthetic_embeddings(1)
    cfg = TINY.model_copy(update={"n_models": 1, "max_epochs": 2, "refit_full": False})
    a = train(ratings, item_ids, emb, cfg, device=device)
    b = train(ratings, item_ids, emb, cfg, device=device)
    if device == "cpu":
        for sa, sb in zip(a.set_states, b.set_states, strict=True):
            assert all(np.array_equal(sa[k].numpy(), sb[k].numpy()) for k in sa)
    ra, rb = Reranker(a, device=device), Reranker(b, device=device)
    assert ra.rank_all([1, 2], [], k=5).ids == rb.rank_all([1, 2], [], k=5).ids


def test_save_load_round_trip_identical_scores(trained: TrainedModel, tmp_path) -> None:
    save(trained, tmp_path / "ckpt", fingerprint="abc")
    loaded = load(tmp_path / "ckpt", fingerprint="abc")
    before = Reranker(trained).score([1, 2, 22], [30], list(range(1, 41)), [0.1] * 40)
    after = Reranker(loaded).score([1, 2, 22], [30], list(range(1, 41)), [0.1] * 40)
    assert before == after
    assert np.array_equal(loaded.weights, trained.weights)
    assert not list((tmp_path / "ckpt").glob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "garbage_json", "missing_weights", "fingerprint"])
def test_corrupt_checkpoint_raises_one_line_error(trained: TrainedModel, tmp_path, damage: str) -> None:
    folder = save(trained, tmp_path / "ckpt", fingerprint="abc")
    fingerprint = "abc"
    if damage == "truncate":
        data = (folder / "weights.safetensors").read_bytes()
        (folder / "weights.safetensors").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_json":
        (folder / "config.json").write_text("{not json")
    elif damage == "missing_weights":
        (folder / "weights.safetensors").unlink()
    else:
        fingerprint = "other"
    with pytest.raises(CheckpointError) as info:
        load(folder, fingerprint=fingerprint)
    msg = str(info.value)
    assert msg and "\n" not in msg
    assert info.value.exit_code == 2


def test_load_or_train_retrains_only_when_asked(trained: TrainedModel, tmp_path) -> None:
    folder = tmp_path / "ckpt"
    with pytest.raises(CheckpointError):
        load_or_train(folder, "fp", lambda: trained)
    model = load_or_train(folder, "fp", lambda: trained, retrain=True)
    assert model is trained and (folder / "config.json").exists()
    assert load_or_train(folder, "fp", lambda: pytest.fail("should load")).n_items == trained.n_items
