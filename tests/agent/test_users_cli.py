"""``reelchat users claim NAME`` and ``users list`` over a temporary SQLite store (no model needed)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agent.commands.cli import main
from agent.settings import Settings
from agent.store import Accounts, FeedbackStore


def test_claim_a_name_only_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("REELCHAT_DB_URL", db_url)
    monkeypatch.setenv("REELCHAT_SECRET_KEY", "test-key-" + "x" * 32)
    with FeedbackStore.open(db_url) as store:
        store.add_feedback("sam", None, 1214, "liked")  # saved before accounts existed
    argv = ["--cache-dir", str(tmp_path), "users"]
    assert main([*argv, "list"]) == 0
    assert "name-only  sam" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    assert main([*argv, "claim", "sam", "--password-stdin"]) == 2
    assert "at least 8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine long secret\n"))
    assert main([*argv, "claim", "sam", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "now an account" in out and "a fine long secret" not in out
    monkeypatch.setattr("sys.stdin", io.StringIO("another secret here\n"))
    assert main([*argv, "claim", "sam", "--password-stdin"]) == 2  # claimed once, then it is theirs
    assert "not a name-only profile" in capsys.readouterr().err
    assert main([*argv, "claim", "nobody", "--password-stdin"]) == 2

    settings = Settings(cache_dir=tmp_path, db_url=db_url)
    with FeedbackStore.open(db_url) as store:
        acc = Accounts.from_settings(store, settings)
        signed = acc.sign_in("sam", "a fine long secret")
        assert [f["movie_id"] for f in acc.export(signed.token)["feedback"]] == [1214]
