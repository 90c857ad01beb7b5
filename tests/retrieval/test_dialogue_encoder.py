"""The dialogue-context retriever: context text, training pairs, batches, and a tiny real training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.dialogue_encoder import (
    CONTEXT_CHARS,
    DONE_FILE,
    DialogueRetriever,
    TrainConfig,
    context_text,
    is_trained,
)
from retrieval.dialogue_training import _batches, data_digest, encoder_for_folder, training_pairs
from retrieval.redial import TrainDialogue, TrainMapping, TrainMessage

CUDA = False
try:
    import torch

    CUDA = torch.cuda.is_available()
except ImportError:  # pragma: no cover - torch is a dependency
    pass


def test_context_text_keeps_the_last_turns_with_roles() -> None:
    msgs = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "  what do you like? "},
        {"role": "user", "content": ""},
        {"role": "user", "content": "I loved Heat (1995)"},
    ]
    assert context_text(msgs, 2) == "Recommender: what do you like? User: I loved Heat (1995)"
    assert context_text(msgs) == "User: hi Recommender: what do you like? User: I loved Heat (1995)"
    assert context_text([{"role": "seeker", "content": "x" * 2000}]).endswith("x")
    assert len(context_text([{"role": "seeker", "content": "x" * 2000}])) == CONTEXT_CHARS
    assert context_text([]) == ""


def _dialogue() -> tuple[TrainDialogue, TrainMapping]:
    msgs = (
        TrainMessage(0, "recommender", "Hi! Have you seen @11?", ("11",), 1),  # no context yet: no pair
        TrainMessage(1, "seeker", "I liked @10 a lot", ("10",), 2),
        TrainMessage(2, "recommender", "Then @10 fans like @11 and @12", ("10", "11", "12"), 3),
        TrainMessage(3, "seeker", "thanks &amp; bye", (), 4),
        TrainMessage(4, "recommender", "Also @99 and @13", ("99", "13"), 5),
    )
    d = TrainDialogue("c1", {"10": "Heat (1995)", "11": "Unforgiven (1992)"}, msgs, {}, {})
    return d, TrainMapping({"10": 10, "11": 11, "12": 12, "13": 13}, 5)


def test_training_pairs_are_contexts_and_newly_suggested_movies() -> None:
    d, mapping = _dialogue()
    pairs = training_pairs([d], mapping, {"12": "Up (2009)"}, n_messages=2)
    # Heat and Unforgiven were named before message 2: only Up is new; @99 does not map
    assert [m for _, m in pairs] == [12, 13]
    assert pairs[0][0] == "Recommender: Hi! Have you seen Unforgiven (1992)? User: I liked Heat (1995) a lot"
    assert pairs[1][0].endswith("User: thanks & bye")
    assert pairs[1][0].startswith("Recommender: Then Heat (1995) fans like Unforgiven (1992) and Up (2009)")
    assert data_digest(pairs) != data_digest(pairs[:1])


def test_batches_never_repeat_a_movie() -> None:
    import random

    pairs = [(f"c{i}", i % 5) for i in range(40)]
    batches = _batches(pairs, 4, random.Random(0))
    assert all(len({m for _, m in b}) == len(b) for b in batches)
    assert all(len(b) >= 2 for b in batches)  # a lone pair has no in-batch negative: dropped
    assert 40 - 4 <= sum(len(b) for b in batches) <= 40


def _tiny_training(data_dir: Path, tmp_path: Path, device: str) -> None:
    from retrieval.catalogue_loader import load_catalogue
    from retrieval.embeddings import Encoder, catalogue_embeddings
    from tests.conftest import test_cache_dir

    train_dir = data_dir / "redial-train"
    if not train_dir.is_dir():
        pytest.skip("no redial-train/ in the data folder")
    catalogue = load_catalogue(data_dir / "ml-latest-small", data_dir / "redial-ievalm")
    item_emb = catalogue_embeddings(catalogue, Encoder(), test_cache_dir() / "embeddings")  # the index's
    id2info = data_dir / "redial-ievalm" / "id2info.json"
    config = TrainConfig(batch_size=8, epochs=2, max_steps=0, max_pairs=16)
    steps: list[tuple[int, int]] = []
    path = encoder_for_folder(
        catalogue,
        train_dir,
        id2info,
        item_emb,
        tmp_path,
        config,
        device=device,
        progress=lambda s, n: steps.append((s, n)),
    )
    assert path is not None and is_trained(path)
    facts = json.loads((path / DONE_FILE).read_text())
    assert facts["pairs"] == 16 and facts["device"] == device
    assert steps[-1][0] == steps[-1][1] == facts["steps"] >= 3
    assert facts["loss_last"] < facts["loss_first"]  # it learns its tiny slice
    # the cache: the same config finds the saved encoder without training; another config does not
    done_stamp = (path / DONE_FILE).stat().st_mtime_ns
    again: list[tuple[int, int]] = []
    assert encoder_for_folder(catalogue, train_dir, id2info, item_emb, tmp_path, config, train=False) == path

    # train=True with a saved encoder for this config: no training step runs, nothing is rewritten
    def note(s: int, n: int) -> None:
        again.append((s, n))

    same = encoder_for_folder(catalogue, train_dir, id2info, item_emb, tmp_path, config, progress=note)
    assert same == path
    assert again == [] and (path / DONE_FILE).stat().st_mtime_ns == done_stamp
    other = TrainConfig(batch_size=8, epochs=2, max_steps=0, max_pairs=8)
    assert encoder_for_folder(catalogue, train_dir, id2info, item_emb, tmp_path, other, train=False) is None
    # the tuned encoder serves: its contexts against the index's document vectors
    retriever = DialogueRetriever.open(catalogue, item_emb, path, device=device)
    assert retriever.kind == "tuned"
    s = retriever.scores("User: I loved Toy Story (1995), something for my kids?")
    assert s is not None and s.shape == (len(catalogue),) and np.isfinite(s).all()


@pytest.mark.slow
def test_tiny_training_run_learns_and_is_cached(data_dir: Path, tmp_path: Path) -> None:
    _tiny_training(data_dir, tmp_path, "cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_tiny_training_run_on_cuda(data_dir: Path, tmp_path: Path) -> None:
    _tiny_training(data_dir, tmp_path, "cuda")


def test_train_retriever_without_train_dialogues_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.commands.cli import main

    monkeypatch.setenv("REELCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REELCHAT_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["train", "--retriever"]) == 2
    err = capsys.readouterr().err.strip()
    assert "redial-train" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_train_retriever_cli_on_a_tiny_slice(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.commands.cli import main
    from tests.conftest import test_cache_dir

    if not (data_dir / "redial-train").is_dir():
        pytest.skip("no redial-train/ in the data folder")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "embeddings").symlink_to(test_cache_dir() / "embeddings")  # the index's vectors, if built
    monkeypatch.setenv("REELCHAT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REELCHAT_CACHE_DIR", str(cache))
    assert main(["train", "--retriever", "--max-pairs", "8", "--max-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "step 1/1" in out and "ready" in out
    assert [p for p in cache.glob("dialogue-encoder-*") if (p / DONE_FILE).is_file()]
