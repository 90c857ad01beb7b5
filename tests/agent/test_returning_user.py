"""Returning users across processes: the real agent and catalogue over a temporary SQLite store.

Process A signs up "sam", tells the agent it loved Alien and dislikes one pick, then exits; process B, a
new interpreter with the same ``db_url``, must sign in with sam's password first (the returning-user flow
needs a sign-in since accounts: a name alone gets nothing), then starts a session for the user the token
names and must already know both. Anonymous sessions store nothing; deleting the account removes all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import conftest

pytestmark = pytest.mark.slow

ALIEN = 1214
REPO = Path(__file__).resolve().parents[2]
TABLES = ("users", "credentials", "sessions", "messages", "feedback")

SCRIPT = """
import json, sys
from pathlib import Path
from agent.app import RecommenderAgent
from agent.settings import Settings

phase, data_dir, cache_dir, db_url = sys.argv[1:5]
settings = Settings(data_dir=Path(data_dir), cache_dir=Path(cache_dir), llm="none", db_url=db_url)
app = RecommenderAgent.load(settings, progress=False)
TABLES = ("users", "credentials", "sessions", "messages", "feedback")
counts = lambda: {t: app.engine.store.count(t) for t in TABLES}
out = {"before": counts()}
if phase == "A":
    anon = app.start_session()
    reply = anon.send("I loved Alien (1979)")
    anon.feedback(reply.recommendations[0].movie_id, "liked")
    out["after_anonymous"] = counts()
    signed = app.accounts.sign_up("sam", "sam's long secret")
    sam = app.start_session(user_id=app.accounts.authenticate(signed.token))
    reply = sam.send("I loved Alien (1979)")
    out["liked"] = list(reply.query.liked)
    out["disliked_pick"] = reply.recommendations[0].movie_id
    out["note"] = sam.feedback(out["disliked_pick"], "disliked")
else:
    try:
        app.accounts.sign_in("sam", "not sam's password")
    except Exception as err:
        out["wrong_password"] = str(err)
    token = app.accounts.sign_in("sam", "sam's long secret").token
    reply = app.start_session(user_id=app.accounts.authenticate(token)).send("something new")
    out["liked"], out["disliked"] = list(reply.query.liked), list(reply.query.disliked)
    out["deleted"] = app.accounts.delete(token)
    try:
        app.accounts.sign_in("sam", "sam's long secret")
    except Exception as err:
        out["after_delete"] = str(err)
out["end"] = counts()
print("RESULT " + json.dumps(out))
"""


def run_phase(phase: str, data_dir: Path, db_url: str) -> dict[str, Any]:
    """Run one phase in a fresh interpreter and return what it printed."""
    # a key from the environment: the shared test cache folder must not get a generated secret_key file
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env["REELCHAT_SECRET_KEY"] = "returning-user-test-key-" + "k" * 24
    env.pop("REELCHAT_DB_URL", None)
    args = [sys.executable, "-c", SCRIPT, phase, str(data_dir), str(conftest.test_cache_dir()), db_url]
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(lines[-1].removeprefix("RESULT "))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def phases(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """Process A, then process B over the same temporary SQLite store."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'feedback.db'}"
    a = run_phase("A", data_dir, db_url)
    return a, run_phase("B", data_dir, db_url)


def test_anonymous_sessions_store_nothing(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, _ = phases
    assert a["before"] == dict.fromkeys(TABLES, 0)
    assert a["after_anonymous"] == a["before"]


def test_a_named_session_is_stored(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = phases
    assert a["liked"] == [ALIEN]
    assert a["disliked_pick"] != ALIEN and "isn't for you" in a["note"]
    assert a["end"]["users"] == 1 and a["end"]["credentials"] == 1 and a["end"]["sessions"] == 1
    assert a["end"]["messages"] == 2 and a["end"]["feedback"] >= 1
    assert b["before"] == a["end"]


def test_feedback_clicks_come_back_in_a_new_process(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = phases
    assert a["disliked_pick"] in b["disliked"] and a["disliked_pick"] not in b["liked"]


def test_likes_said_in_chat_come_back_in_a_new_process(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, b = phases
    assert ALIEN in b["liked"], "'I loved Alien (1979)' in process A was not restored in process B"


def test_returning_needs_the_password(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, b = phases
    assert b["wrong_password"] == "Wrong user name or password."


def test_delete_my_account_deletes_everything(phases: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, b = phases
    assert b["deleted"]["user"] == 1 and b["deleted"]["account"] == 1 and b["deleted"]["feedback"] >= 1
    assert b["after_delete"] == "Wrong user name or password."
    assert b["end"] == dict.fromkeys(TABLES, 0)
