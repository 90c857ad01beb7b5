"""Brute force against one account over HTTP while another user chats (127.0.0.1 only).

Starts `reelchat ui` (no LLM) on a fresh feedback database with one account, measures another (anonymous)
user's turn latency quietly, then again while 200 wrong passwords are sent to ``/sign_in`` for the account.
Reports both p95s and their ratio (target ≤ 2×), how many wrong passwords the server actually evaluated
(the rest were refused by the throttle without hashing), and that the owner's right password works once the
lock-out has passed. The last output line is one JSON object.

    python bench/bruteforce.py [--attempts 200] [--turns 20]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emit import emit
from load import free_port, percentile, start_app, wait_ready

MESSAGES = ["a feel-good comedy from the 90s", "something darker", "I loved Heat (1995)", "more like that"]
OWNER, PASSWORD = "victim", "correct horse battery staple"


def _turns(url: str, n: int) -> list[float]:
    from gradio_client import Client

    client, sid, out = Client(url, verbose=False), "", []
    for i in range(n):
        t = time.perf_counter()
        _, data = client.predict(MESSAGES[i % len(MESSAGES)], sid, "", api_name="/chat")
        out.append((time.perf_counter() - t) * 1000)
        sid = data["session_id"]
    return out


def _attack(url: str, attempts: int, outcome: dict[str, int]) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    for i in range(attempts):
        try:
            client.predict(OWNER, f"guess-{i:04d}-wrong", api_name="/sign_in")
            outcome["succeeded"] += 1
        except Exception as err:
            key = "throttled" if "Too many failed sign-ins" in str(err) else "evaluated"
            outcome[key] += 1


def _make_account(db_url: str, cache: Path) -> None:
    from agent.settings import Settings
    from agent.store import Accounts, FeedbackStore

    store = FeedbackStore.open(db_url, cache_dir=cache)
    Accounts.from_settings(store, Settings(cache_dir=cache)).sign_up(OWNER, PASSWORD)


def run(attempts: int, turns: int, work: Path) -> dict[str, Any]:
    from gradio_client import Client

    db_url = f"sqlite:///{work / 'feedback.db'}"
    os.environ |= {
        "REELCHAT_DB_URL": db_url,
        "REELCHAT_LLM": "none",
        "REELCHAT_SECRET_KEY": secrets.token_hex(32),
    }
    _make_account(db_url, work)
    port = free_port()
    proc = start_app(port, work / "app.log")
    url = f"http://127.0.0.1:{port}/"
    try:
        ready_s = wait_ready(url, 900, proc)
        quiet = _turns(url, turns)
        outcome = {"evaluated": 0, "throttled": 0, "succeeded": 0}
        t0 = time.perf_counter()
        attacker = threading.Thread(target=_attack, args=(url, attempts, outcome))
        attacker.start()
        loaded = _turns(url, turns)
        attacker.join()
        attack_s = time.perf_counter() - t0
        owner_ok = False
        for _ in range(40):  # the account's lock-out (60 s at first) passes; then the owner signs in
            try:
                owner_ok = bool(Client(url, verbose=False).predict(OWNER, PASSWORD, api_name="/sign_in"))
                break
            except Exception:
                time.sleep(5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    q95, l95 = percentile(quiet, 95), percentile(loaded, 95)
    return {
        "ready_s": round(ready_s, 1),
        "attempts": attempts,
        **outcome,
        "attack_s": round(attack_s, 1),
        "evaluated_per_minute": round(outcome["evaluated"] / max(attack_s / 60.0, 1.0), 1),
        "quiet_p95_ms": round(q95, 1),
        "under_attack_p95_ms": round(l95, 1),
        "p95_ratio": round(l95 / q95, 2),
        "owner_signs_in_after": owner_ok,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=200)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reelchat-bruteforce-") as tmp:
        result = run(args.attempts, args.turns, Path(tmp))
    return emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
