"""Unavailable databases fail fast with a one-line :class:`StoreError`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.store import FeedbackStore, StoreError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["missing-dir", "file-as-dir", "postgres-closed-port", "bad-url"])
def test_unavailable_database_is_a_one_line_store_error(kind: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    url = {
        "missing-dir": f"sqlite:///{tmp_path / 'missing' / 'deeper' / 'store.db'}",
        "file-as-dir": f"sqlite:///{blocker / 'store.db'}",  # fails even as root
        "postgres-closed-port": f"postgresql+psycopg://reelchat:secret@127.0.0.1:{_closed_port()}/reelchat",
        "bad-url": "nosuchdb://x/y",
    }[kind]
    with pytest.raises(StoreError) as info:
        FeedbackStore.open(url)
    message = str(info.value)
    assert message and "\n" not in message
    assert "secret" not in message  # passwords never reach logs
    assert not (tmp_path / "missing").exists()


def test_default_url_is_sqlite_in_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REELCHAT_DB_URL", raising=False)
    with FeedbackStore.open(cache_dir=tmp_path / "cache") as s:
        assert s.url.endswith("cache/reelchat.db")
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    monkeypatch.setenv("REELCHAT_DB_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with FeedbackStore.open(cache_dir=tmp_path / "cache") as s:
        assert s.url.endswith("env.db")
