"""``reelchat finetune`` / ``model list|rollback`` handlers on tiny synthetic data (fake resources)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch

from agent.commands.model import add_model_parsers, run_finetune, run_handler
from agent.settings import Settings
from agent.store import FeedbackStore
from ranking import save, train
from ranking.registry import ModelRegistry, RegistryError
from tests.ranking.conftest import GROUP_A, TINY, synthetic_embeddings, synthetic_ratings

FP = "synthetic-catalogue"


@dataclass
class FakeCatalogue:
    fingerprint: str = FP


@dataclass
class FakeResources:
    """What the handlers use of :class:`agent.resources.Resources`."""

    settings: Settings
    ratings: pd.DataFrame
    catalogue: FakeCatalogue
    checkpoint_dir: Path
    progress: bool = False


@pytest.fixture
def fake(tmp_path: Path) -> FakeResources:
    torch.set_num_threads(1)
    ratings = synthetic_ratings(n_users=40)
    ids = sorted(range(1, 41))
    settings = Settings(
        cache_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'fb.db'}", device="cpu", llm="none"
    )
    res = FakeResources(settings, ratings, FakeCatalogue(), tmp_path / "models" / "reranker")
    save(train(ratings, ids, synthetic_embeddings(), TINY, device="cpu"), res.checkpoint_dir, FP)  # legacy
    return res


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reelchat")
    add_model_parsers(p.add_subparsers(dest="command", required=True))
    return p


def _call(fake: FakeResources, *argv: str) -> int:
    args = _parser().parse_args(list(argv))
    return int(args.handler(args, fake.settings, resources=fake))


def test_finetune_list_and_rollback(fake: FakeResources, capsys: pytest.CaptureFixture[str]) -> None:
    assert _call(fake, "finetune", "--epochs", "1") == 0
    assert "nothing to fine-tune" in capsys.readouterr().out

    with FeedbackStore.open(fake.settings.db_url) as store:
        for k in range(4):
            for m in GROUP_A[:4]:
                store.add_feedback(f"user{k}", f"s{k}", m, "liked", "button")
            store.add_feedback(f"user{k}", f"s{k}", 40, "seen", "chat")
    rc = _call(fake, "finetune", "--epochs", "1", "--force")
    out = capsys.readouterr().out.strip()
    assert rc == 0 and out.startswith("published v0001 (previous v0000): validation NDCG@10 ")
    assert "16 feedback events of 4 users" in out and "\n" not in out

    assert _call(fake, "model", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("- v0000") and listing[1].startswith("* v0001  finetune")
    assert "NDCG@10" in listing[1]

    assert _call(fake, "model", "rollback") == 0
    assert "v0000 is current again (was v0001)" in capsys.readouterr().out
    assert ModelRegistry(fake.checkpoint_dir).current() == fake.checkpoint_dir
    with pytest.raises(RegistryError, match="no previous model version"):
        _call(fake, "model", "rollback")


def test_finetune_refusal_exit_code_with_fake_gate(
    fake: FakeResources, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FeedbackStore.open(fake.settings.db_url) as store:
        for m in GROUP_A[:3]:
            store.add_feedback("ann", None, m, "liked")
    values = iter([0.6, 0.5])
    monkeypatch.setattr("ranking.finetune.validation_ndcg", lambda *a, **k: next(values))
    assert _call(fake, "finetune", "--epochs", "1") == 1
    out = capsys.readouterr().out
    assert (
        out.startswith("refused: validation NDCG@10 fell from 0.6000 to 0.5000")
        and "v0000 stays current" in out
    )
    assert ModelRegistry(fake.checkpoint_dir).versions() == ["v0000"]


def test_store_failure_is_one_line(fake: FakeResources, capsys: pytest.CaptureFixture[str]) -> None:
    fake.settings = fake.settings.model_copy(update={"db_url": "nosuchdriver://x"})
    assert _call(fake, "finetune") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: feedback store") and err.count("\n") == 1


def test_no_model_and_parser_wiring(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'fb.db'}")
    empty = FakeResources(settings, synthetic_ratings(4), FakeCatalogue(), tmp_path / "none")
    with pytest.raises(RegistryError, match="run `reelchat train` first"):
        run_finetune(empty, epochs=1)
    args = _parser().parse_args(["finetune"])
    assert (args.epochs, args.force, args.seed, args.func) == (3, False, 0, run_handler)
    custom = argparse.ArgumentParser()
    add_model_parsers(custom.add_subparsers(dest="command"), func=print)  # type: ignore[arg-type]
    assert custom.parse_args(["model", "list"]).func is print
