"""Checkpoints: a folder of ``weights.safetensors``, ``config.json`` and ``tuned.json``, saved atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ranking.baselines import N_BUCKETS, SparseItemModel
from ranking.config import TrainConfig
from ranking.sparse import NeighbourModel
from ranking.train import COMPONENTS, ItemModel, TrainedModel

FORMAT_VERSION = 1
WEIGHTS, CONFIG, TUNED = "weights.safetensors", "config.json", "tuned.json"


class CheckpointError(Exception):
    """A ranking checkpoint is missing, corrupt or was trained on other data; ``str()`` is one line."""

    exit_code = 2


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _item_arrays(ease: ItemModel) -> dict[str, np.ndarray]:
    """Dense EASE as ``active`` + ``weights``; sparse RP3beta as CSR ``indptr``/``indices``/``data``."""
    if isinstance(ease, NeighbourModel):
        return ease.arrays()
    return {
        "active": np.asarray(ease.active, dtype=np.int64),
        "weights": np.asarray(ease.weights, dtype=np.float32),
    }


def _item_model(n_items: int, tensors: dict[str, torch.Tensor]) -> ItemModel:
    if "ease.indptr" in tensors:
        return NeighbourModel.from_arrays(
            n_items, {k: tensors[f"ease.{k}"].numpy() for k in ("indptr", "indices", "data")}
        )
    return SparseItemModel(n_items, tensors["ease.active"].numpy(), tensors["ease.weights"].numpy())


def save(model: TrainedModel, path: Path | str, fingerprint: str) -> Path:
    """Write ``model`` under folder ``path``; ``fingerprint`` identifies the training data."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        f"set{i}.{k}": v.detach().cpu().contiguous()
        for i, st in enumerate(model.set_states)
        for k, v in st.items()
    }
    tensors |= {
        "item_ids": torch.from_numpy(np.ascontiguousarray(model.item_ids, dtype=np.int64)),
        "item_emb": torch.from_numpy(np.ascontiguousarray(model.item_emb, dtype=np.float32)),
        "log_pop": torch.from_numpy(np.ascontiguousarray(model.log_pop, dtype=np.float32)),
    }
    tensors |= {
        f"ease.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in _item_arrays(model.ease).items()
    }
    _write_atomic(folder / WEIGHTS, lambda p: save_file(tensors, str(p)))
    tuned = {
        "components": list(COMPONENTS),
        "buckets": ["1 liked", "2-3 liked", "4+ liked"],
        "weights": np.asarray(model.weights, dtype=float).tolist(),
        "text_weights": np.asarray(model.text_weights, dtype=float).tolist(),
    }
    _write_atomic(folder / TUNED, lambda p: p.write_text(json.dumps(tuned, indent=2)))
    meta = {
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "weights_sha256": _sha256(folder / WEIGHTS),
        "tuned_sha256": _sha256(folder / TUNED),
        "n_models": len(model.set_states),
        "train_config": json.loads(model.config.model_dump_json()),
        "info": model.info,
    }
    _write_atomic(folder / CONFIG, lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
    return folder


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"ranking checkpoint incomplete: {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"ranking checkpoint corrupt: cannot parse {path.name} ({type(err).__name__})"
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(f"ranking checkpoint corrupt: {path.name} is not a JSON object")
    return data


def load(path: Path | str, fingerprint: str | None = None) -> TrainedModel:
    """Read a checkpoint; raises :class:`CheckpointError` if missing, corrupt or for other data."""
    folder = Path(path)
    if not (folder / CONFIG).exists():
        raise CheckpointError(f"no ranking checkpoint at {folder} (run `reelchat train`)")
    meta = _read_json(folder / CONFIG)
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"ranking checkpoint format {meta.get('format')!r} != {FORMAT_VERSION}; retrain"
        )
    if fingerprint is not None and meta.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"ranking checkpoint is for data {meta.get('fingerprint')!r}, not {fingerprint!r}; retrain"
        )
    for name, key in ((WEIGHTS, "weights_sha256"), (TUNED, "tuned_sha256")):
        if not (folder / name).exists():
            raise CheckpointError(f"ranking checkpoint incomplete: {folder / name} is missing")
        if _sha256(folder / name) != meta.get(key):
            raise CheckpointError(f"ranking checkpoint corrupt: {name} does not match its checksum")
    tuned = _read_json(folder / TUNED)
    try:
        config = TrainConfig.model_validate(meta["train_config"])
        tensors = load_file(str(folder / WEIGHTS))
        n_models = int(meta["n_models"])
        states = tuple(
            {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"set{i}.")}
            for i in range(n_models)
        )
        ids = tensors["item_ids"].numpy()
        ease = _item_model(len(ids), tensors)
        weights = np.asarray(tuned["weights"], dtype=np.float32)
        text_weights = np.asarray(tuned["text_weights"], dtype=np.float32)
        if tuned.get("components") != list(COMPONENTS) or weights.shape != (N_BUCKETS, len(COMPONENTS)):
            raise ValueError("tuned weights do not match the ensemble components")
        model = TrainedModel(
            config, ids, tensors["item_emb"].numpy(), states, ease, tensors["log_pop"].numpy(),
            weights, text_weights, dict(meta.get("info") or {}),
        )  # fmt: skip
        model.set_models()  # validates tensor names and shapes
    except CheckpointError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError, SafetensorError, ValidationError) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"ranking checkpoint corrupt: {first}") from None
    return model


def load_or_train(
    path: Path | str,
    fingerprint: str,
    train_fn: Callable[[], TrainedModel],
    *,
    retrain: bool = False,
) -> TrainedModel:
    """Load the checkpoint at ``path``; if that fails and ``retrain`` is set, call ``train_fn`` and save.

    Without ``retrain`` the :class:`CheckpointError` propagates.
    """
    try:
        return load(path, fingerprint)
    except CheckpointError:
        if not retrain:
            raise
    model = train_fn()
    save(model, path, fingerprint)
    return model
