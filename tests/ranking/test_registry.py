"""Versioned checkpoints: publish, rollback, stamps, atomic pointer, corrupt versions, legacy roots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ranking.checkpoint import CheckpointError, save
from ranking.registry import LEGACY, ModelRegistry, RegistryError
from ranking.reranker import Reranker
from ranking.train import TrainedModel

FP = "synthetic"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _scores(model: TrainedModel) -> tuple[tuple[int, ...], tuple[float, ...]]:
    r = Reranker(model).rank_all([1, 2], [25], k=40)
    return r.ids, r.scores


def test_empty_registry(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "reranker")
    assert reg.current() is None and reg.versions() == [] and reg.load_current(FP) is None
    assert reg.stamp() == "none"
    with pytest.raises(RegistryError, match="no previous model version"):
        reg.rollback()


def test_publish_rollback_and_stamp(tmp_path: Path, trained: TrainedModel) -> None:
    reg = ModelRegistry(tmp_path / "reranker")
    v1 = reg.publish(trained, FP, info={"source": "train"})
    s1 = reg.stamp()
    assert v1 == "v0001" and reg.current() == tmp_path / "reranker" / "v0001"
    assert reg.previous_version() is None
    changed = dataclasses.replace(trained, weights=trained.weights[:, ::-1].copy())
    v2 = reg.publish(changed, FP, info={"source": "finetune"})
    assert v2 == "v0002" and reg.versions() == ["v0001", "v0002"]
    pointer = json.loads((tmp_path / "reranker" / "CURRENT").read_text())
    assert pointer == {"version": "v0002", "previous": "v0001", "history": ["v0001"]}
    s2 = reg.stamp()
    assert s2 != s1
    loaded = reg.load_current(FP)
    assert loaded is not None and loaded.info["publish"]["source"] == "finetune"
    assert loaded.info["publish"]["parent"] == "v0001"
    np.testing.assert_array_equal(loaded.weights, changed.weights)
    assert [r["version"] for r in reg.describe() if r["current"]] == ["v0002"]

    assert reg.rollback() == "v0001"
    assert reg.stamp() != s2  # a running app sees the switch
    back = reg.load_current(FP)
    assert back is not None and _scores(back) == _scores(trained)
    assert reg.versions() == ["v0001", "v0002"]  # rollback keeps the newer version on disk
    with pytest.raises(RegistryError, match="no previous"):
        reg.rollback()
    assert reg.publish(changed, FP) == "v0003"  # numbering never reuses a name
    assert reg.previous_version() == "v0001"


def test_failed_publish_leaves_current_untouched(
    tmp_path: Path, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "reranker"
    reg = ModelRegistry(root)
    reg.publish(trained, FP)
    before, stamp = (root / "CURRENT").read_bytes(), reg.stamp()

    def broken(model: TrainedModel, path: Path, fingerprint: str) -> Path:
        (Path(path) / "weights.safetensors").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("ranking.registry.save", broken)
    with pytest.raises(OSError, match="disk full"):
        reg.publish(trained, FP)
    assert (root / "CURRENT").read_bytes() == before and reg.stamp() == stamp
    assert reg.versions() == ["v0001"]
    assert sorted(p.name for p in root.iterdir()) == [".lock", "CURRENT", "v0001"]


def test_prune_keeps_current_and_previous(tmp_path: Path, trained: TrainedModel) -> None:
    reg = ModelRegistry(tmp_path / "reranker", keep=2)
    for _ in range(4):
        reg.publish(trained, FP)
    assert reg.versions() == ["v0003", "v0004"]
    assert reg.rollback() == "v0003"
    with pytest.raises(RegistryError):
        reg.rollback()


def test_corrupt_version_and_pointer_are_one_line_errors(tmp_path: Path, trained: TrainedModel) -> None:
    root = tmp_path / "reranker"
    reg = ModelRegistry(root)
    reg.publish(trained, FP)
    reg.publish(trained, FP)
    (root / "v0002" / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(RegistryError) as err:
        reg.load_current(FP)
    msg = str(err.value)
    assert "\n" not in msg and "v0002" in msg and "rollback" in msg
    assert isinstance(err.value, CheckpointError) and err.value.exit_code == 2
    assert reg.rollback() == "v0001"
    with pytest.raises(RegistryError, match="v0001: ranking checkpoint is for data"):
        reg.load_current("other catalogue")
    (root / "CURRENT").write_text("{not json")
    with pytest.raises(RegistryError) as err:
        reg.current()
    assert "\n" not in str(err.value) and "CURRENT" in str(err.value)
    (root / "CURRENT").write_text(json.dumps({"version": "v0009", "previous": None, "history": []}))
    with pytest.raises(RegistryError, match="v0009 is missing"):
        reg.current()


def test_legacy_root_is_version_zero(tmp_path: Path, trained: TrainedModel) -> None:
    root = tmp_path / "reranker"
    save(trained, root, FP)  # what Resources wrote before the registry existed
    reg = ModelRegistry(root)
    assert reg.current() == root and reg.versions() == [LEGACY] and reg.current_version() == LEGACY
    legacy_stamp = reg.stamp()
    assert legacy_stamp.startswith("legacy:")
    assert reg.publish(trained, FP) == "v0001"
    assert reg.previous_version() == LEGACY and reg.stamp() != legacy_stamp
    assert reg.rollback() == LEGACY and reg.current() == root
    model = reg.load_current(FP)
    assert model is not None and _scores(model) == _scores(trained)
