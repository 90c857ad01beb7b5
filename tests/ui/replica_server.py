"""One UI replica over the fake agent, for the replica tests (a child process, like a real ``reelchat ui``).

    python -m tests.ui.replica_server --port P   # with REELCHAT_DB_URL, REELCHAT_SECRET_KEY

Its API conversations live in ``REELCHAT_DB_URL`` (``session_store="database"``), so that the replicas
behind nginx share them; the fake agent answers at once, so a test's turns cost no model time.
"""

from __future__ import annotations

import argparse
import os

from agent.settings import Settings
from agent.store import FeedbackStore
from tests.ui.fakes import FakeAgent
from ui.app import browser_secret, build_app, launch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    settings = Settings()
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    store = FeedbackStore.open(settings.db_url)
    replica = settings.replica_id or f"127.0.0.1:{args.port}"
    demo = build_app(
        lambda: FakeAgent(store, settings.limits, secret=secret),
        limits=settings.limits,
        session_store=settings.session_store,
        replica=replica,
        browser_secret=browser_secret(settings),
    )
    print(f"fake replica {replica} (pid {os.getpid()})", flush=True)
    launch(demo, args.host, args.port, block=True)


if __name__ == "__main__":
    main()
