"""Three UI replicas behind nginx sharing conversations through PostgreSQL (issue 18, "Replicas").

The test brings up, on 127.0.0.1: a throwaway PostgreSQL, three replicas of the fast fake agent
(``tests/ui/replica_server.py``, real Gradio servers with ``session_store="database"``) and Debian's nginx
with the config of ``bench/cluster.py``. Then, through nginx and the public ``/chat`` API:

- a conversation whose turns land on different replicas (seen in each reply's ``replica``) keeps its
  state: the liked movie and the excluded genre stay, and no pick is ever shown twice;
- a session stays bound to its owner on every replica;
- after SIGKILL of one replica, every conversation continues on the others, each failing at most once.

The full-size run (the real agent, a Chroma server, throughput of 1 vs 3 replicas) is ``bench/load.py``.
Skips without the Debian packages ``postgresql`` and ``nginx``.
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bench.cluster import Cluster, missing_tools

pytestmark = pytest.mark.slow

SECRET = "replica-test-secret-" + "k" * 24
FAKE = [sys.executable, "-m", "tests.ui.replica_server"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    yield from fake_cluster(SECRET)


def fake_cluster(secret: str) -> Iterator[Cluster]:
    """PostgreSQL, three replicas of the fake agent sharing ``secret`` and nginx, all on 127.0.0.1 (a
    fixture body: it skips without the Debian packages)."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs Debian packages {missing}: apt-get install -y {' '.join(missing)}")
    with Cluster() as c:
        c.start_postgres()
        c.start_replicas(3, FAKE, {"REELCHAT_SECRET_KEY": secret})
        c.wait_replicas(120)
        c.start_nginx()
        yield c


def _chat(url: str, message: str, session_id: str, token: str = "") -> dict[str, Any]:
    """One turn through a new client (a new Gradio session, so nginx may route it anywhere)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        _, data = client.predict(message, session_id, token, api_name="/chat")
    finally:
        client.close()
    return dict(data)


def test_turns_on_different_replicas_keep_the_conversation(cluster: Cluster) -> None:
    first = _chat(cluster.url, "I loved Alien, no horror", "")
    sid, shown, served = first["session_id"], [r["movie_id"] for r in first["recommendations"]], set()
    served.add(first["replica"])
    for _ in range(8):
        data = _chat(cluster.url, "more please", sid)
        assert data["session_id"] == sid
        assert data["query"]["liked"] == [1214] and data["query"]["genres_excluded"] == ["Horror"]
        picks = [r["movie_id"] for r in data["recommendations"]]
        assert not set(picks) & set(shown), f"{data['replica']} repeated a pick shown on another replica"
        shown += picks
        served.add(data["replica"])
        if len(served) == 3 and not picks:
            break
    assert len(served) >= 2, f"every turn landed on {served}"
    assert served <= {r.name for r in cluster.replicas}
    assert sorted(shown) == sorted({1, 260, 541, 1240, 2571, 9999, 1097})  # every non-horror fake movie once
    with urllib.request.urlopen(cluster.replicas[0].url + "config") as resp:  # the header names the replica
        assert resp.headers["X-ReelChat-Replica"] == cluster.replicas[0].name


def test_a_session_stays_bound_to_its_owner_on_every_replica(cluster: Cluster) -> None:
    from gradio_client import Client

    from agent.store import FeedbackStore
    from tests.ui.fakes import FakeAgent

    with FeedbackStore.open(cluster.db_url) as store:
        FakeAgent(store, secret=SECRET).accounts.sign_up("rita", "a long enough passphrase 7")
    client = Client(cluster.url, verbose=False)
    token = client.predict("rita", "a long enough passphrase 7", api_name="/sign_in")
    client.close()
    sid = _chat(cluster.url, "I loved Alien", "", token)["session_id"]
    for _ in range(2):  # anonymous callers get the one-line refusal wherever they land
        with pytest.raises(Exception, match="belongs to someone else"):
            _chat(cluster.url, "more", sid)
    for _ in range(2):  # the owner continues it on whichever replica serves the turn
        data = _chat(cluster.url, "more", sid, token)
        assert data["session_id"] == sid and data["query"]["liked"] == [1214], data["replica"]


def _conversation(url: str, conv: dict[str, Any], stop: threading.Event) -> None:
    """Turns until ``stop``, recorded in ``conv``; a failed turn is counted and the client rebuilt."""
    from gradio_client import Client

    client, sid, shown = None, "", []
    while not stop.is_set():
        try:
            client = client or Client(url, verbose=False)
            message = "I loved The Matrix" if not sid else "more"
            _, data = client.submit(message, sid, api_name="/chat").result(timeout=8)
        except Exception as err:  # a turn in flight on the killed replica, or its broken stream
            conv["errors"].append(f"{type(err).__name__}: {str(err)[:80]}")
            client = None
            continue
        if sid and (data["session_id"] != sid or data["query"]["liked"] != [2571]):
            conv["lost"].append(f"state lost on {data['replica']}")
        sid = data["session_id"]
        picks = [r["movie_id"] for r in data["recommendations"]]
        if set(picks) & set(shown):
            conv["lost"].append(f"{data['replica']} repeated a pick")
        shown += picks
        conv["replicas"].append(data["replica"])
        if not picks:
            sid, shown = "", []  # the fake catalogue ran dry: start over
        time.sleep(0.05)


def test_sigkill_one_replica_every_conversation_continues(cluster: Cluster) -> None:
    stop = threading.Event()
    convs: list[dict[str, Any]] = [{"errors": [], "lost": [], "replicas": []} for _ in range(6)]
    threads = [threading.Thread(target=_conversation, args=(cluster.url, c, stop)) for c in convs]
    for t in threads:
        t.start()
    time.sleep(3)
    serving = Counter(c["replicas"][-1] for c in convs if c["replicas"])
    victim = next(r for r in cluster.replicas if r.name == serving.most_common(1)[0][0])
    cluster.kill(victim)  # the replica that serves the most conversations right now
    killed_at = [len(c["replicas"]) for c in convs]
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and any(
        len(c["replicas"]) < k + 4 for c, k in zip(convs, killed_at, strict=True)
    ):
        time.sleep(0.5)  # until every conversation has had a few turns after the kill
    stop.set()
    for t in threads:
        t.join(30)
    assert any(victim.name in c["replicas"][:k] for c, k in zip(convs, killed_at, strict=True))
    for n, (conv, k) in enumerate(zip(convs, killed_at, strict=True)):
        assert conv["lost"] == [], f"conversation {n}: {conv['lost']}"
        assert len(conv["errors"]) <= 1, f"conversation {n} failed more than once: {conv['errors']}"
        after = conv["replicas"][k:]
        assert len(after) >= 3, f"conversation {n} did not continue: {conv}"
        assert victim.name not in after[1:], f"conversation {n} still served by the killed replica"
