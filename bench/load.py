"""Load test: N concurrent chat sessions against the running Gradio app over HTTP (127.0.0.1 only).

Each simulated session states its own genre + decade, then asks follow-ups that keep them, through the
``/chat`` endpoint with its ``session_id``. Every reply is checked against catalogue facts (each pick's
genres and year) and its returned query must carry exactly that session's constraints; a reply carrying
another session's genre or years is a cross-session leak. The last output line is one JSON object.

    python bench/load.py --sessions 20 --seconds 120            # starts `reelchat ui` itself
    python bench/load.py --url http://127.0.0.1:7860 --sessions 5
    python bench/load.py --replicas 1 3 --kill-after 20         # PostgreSQL + Chroma server + nginx
    python bench/load.py --replicas 1 3 1 3 --seconds 45        # interleaved, for the throughput ratio

``--replicas`` brings up on 127.0.0.1 a PostgreSQL, a Chroma server (indexed once), the largest number of
``reelchat ui`` replicas (conversations in the database) and nginx (``bench/cluster.py``); it runs the load
through nginx in front of the first 1, then 3, replicas and reports the throughput ratio. ``--kill-after S``
adds a run in front of all replicas that SIGKILLs one S seconds in: every conversation must continue on
the others, each failing at most once (its turn in flight).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent.conversation.limits import memory  # noqa: E402

GENRES = (
    "Comedy",
    "Drama",
    "Action",
    "Thriller",
    "Romance",
    "Crime",
    "Adventure",
    "Sci-Fi",
    "Horror",
    "Fantasy",
)
DECADES = (1980, 1990, 2000)
FOLLOW_UPS = ("more please", "something else", "any others?", "show me a few more", "something different")
TURNS_PER_CONVERSATION = 4  # then a new conversation starts (small genre x decade pools run dry)


@dataclass(frozen=True, slots=True)
class Persona:
    genre: str
    decade: int

    @property
    def opening(self) -> str:
        return f"{self.genre.lower()} movies from the {self.decade}s"

    @property
    def years(self) -> tuple[int, int]:
        return self.decade, self.decade + 9


def personas(n: int) -> list[Persona]:
    """``n`` sessions; the first 30 have distinct (genre, decade) pairs and neighbours differ in both."""
    return [Persona(GENRES[i % len(GENRES)], DECADES[i % len(DECADES)]) for i in range(n)]


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    limited: int = 0
    picks: int = 0
    failures: dict[int, int] = field(default_factory=dict)  # per conversation (persona index)
    served_after: dict[int, int] = field(default_factory=dict)  # turns served after ``mark``
    replicas: dict[str, int] = field(default_factory=dict)  # turns per replica id
    replicas_after: dict[str, int] = field(default_factory=dict)  # ... after ``mark``
    mark: float = float("inf")  # monotonic time of the kill
    lock: threading.Lock = field(default_factory=threading.Lock)


def check_reply(
    payload: dict[str, Any],
    me: Persona,
    others: Sequence[Persona],
    facts: dict[int, tuple[int | None, set[str]]],
) -> tuple[list[str], list[str]]:
    """(violations, leaks) of one reply for session ``me``."""
    violations, leaks = [], []
    q = payload.get("query") or {}
    lo, hi = me.years
    required, excluded = set(q.get("genres_required") or ()), set(q.get("genres_excluded") or ())
    if required != {me.genre} or excluded or (q.get("year_min"), q.get("year_max")) != (lo, hi):
        violations.append(f"query {required}/{excluded}/{q.get('year_min')}-{q.get('year_max')} != {me}")
    for other in others:
        if other.genre != me.genre and other.genre in required | excluded:
            leaks.append(f"{me} got genre of {other}")
        if other.decade != me.decade and other.decade in (q.get("year_min"), q.get("year_max")):
            leaks.append(f"{me} got years of {other}")
    for rec in payload.get("recommendations") or ():
        year, genres = facts.get(int(rec["movie_id"]), (None, set()))
        if me.genre not in genres or year is None or not lo <= year <= hi:
            violations.append(f"{me}: {rec.get('title')} ({year}, {sorted(genres)})")
    return violations, leaks


def run_session(
    url: str,
    n: int,
    people: Sequence[Persona],
    facts: dict[int, tuple[int | None, set[str]]],
    stop_at: float,
    think_s: float,
    stats: Stats,
    turn_timeout_s: float = 300.0,
) -> None:
    """Conversation ``n``: turns until ``stop_at``. A failed turn is retried on a new client (a new
    Gradio session, which nginx may route to another replica), with the same ``session_id``."""
    from gradio_client import Client

    me = people[n]
    client: Client | None = None
    session_id, turn = "", 0
    while time.monotonic() < stop_at:
        message = me.opening if turn % TURNS_PER_CONVERSATION == 0 else FOLLOW_UPS[turn % len(FOLLOW_UPS)]
        if turn % TURNS_PER_CONVERSATION == 0:
            session_id = ""
        t0, t_start = time.perf_counter(), time.monotonic()
        try:
            client = client or Client(url, verbose=False)
            _, payload = client.submit(message, session_id, api_name="/chat").result(timeout=turn_timeout_s)
        except Exception as err:  # transport errors, server-side exceptions, a replica killed mid-turn
            with stats.lock:
                stats.errors.append(f"{me}: {type(err).__name__}: {' '.join(str(err).split())[:160]}")
                stats.failures[n] = stats.failures.get(n, 0) + 1
            client = None
            time.sleep(0.5)
            continue
        ms = (time.perf_counter() - t0) * 1000.0
        session_id = payload.get("session_id") or ""
        violations, leaks = check_reply(payload, me, [p for p in people if p != me], facts)
        limited = payload.get("error") == "rate limited"
        with stats.lock:
            stats.latencies_ms.append(ms)
            stats.picks += len(payload.get("recommendations") or ())
            stats.violations += violations
            stats.leaks += leaks
            stats.limited += limited
            replica = str(payload.get("replica") or "?")
            stats.replicas[replica] = stats.replicas.get(replica, 0) + 1
            if t_start > stats.mark:  # a turn sent after the kill
                stats.served_after[n] = stats.served_after.get(n, 0) + 1
                stats.replicas_after[replica] = stats.replicas_after.get(replica, 0) + 1
            if payload.get("error") and not limited:
                stats.errors.append(f"{me}: reply error {payload['error']}")
        turn += 1
        if think_s:
            time.sleep(think_s)


def load_facts() -> dict[int, tuple[int | None, set[str]]]:
    """movie id -> (year, genres) from the same catalogue the app serves."""
    from agent.resources import locate_data
    from agent.settings import Settings
    from retrieval.catalogue_loader import load_catalogue

    ml_dir, redial = locate_data(Settings(), progress=False)
    return {m.movie_id: (m.year, set(m.genres)) for m in load_catalogue(ml_dir, redial)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "agent", "ui", "--host", "127.0.0.1", "--port", str(port)]
    env = os.environ | {
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None) -> float:
    """Seconds until ``/chat`` answers (the agent loads in the background after the server is up)."""
    from gradio_client import Client

    t0 = time.monotonic()
    client = None
    while time.monotonic() - t0 < timeout_s:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode} before it was ready")
        try:
            client = client or Client(url, verbose=False)
            client.predict("hello", "", api_name="/chat")
            return time.monotonic() - t0
        except Exception:
            time.sleep(2.0)
    raise SystemExit(f"the app at {url} was not ready within {timeout_s:.0f} s")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100.0 * (len(s) - 1))))]


def run_load(
    url: str,
    args: argparse.Namespace,
    facts: dict[int, tuple[int | None, set[str]]],
    kill: Callable[[], None] | None = None,
) -> tuple[Stats, float]:
    """``args.sessions`` conversations against ``url`` for ``args.seconds``; ``kill`` at ``--kill-after``."""
    people = personas(args.sessions)
    stats = Stats()
    stop_at = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=run_session,
            args=(url, n, people, facts, stop_at, args.think, stats, args.turn_timeout),
            daemon=True,
        )
        for n in range(len(people))
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    if kill is not None:
        time.sleep(args.kill_after)
        kill()
        stats.mark = time.monotonic()
    for t in threads:
        t.join(args.seconds + args.turn_timeout + 60)
    return stats, time.monotonic() - t0


def summary(stats: Stats, wall: float, sessions: int) -> dict[str, Any]:
    lat = stats.latencies_ms
    for kind, items in (("error", stats.errors), ("violation", stats.violations), ("leak", stats.leaks)):
        for line in items[:5]:
            print(f"{kind}: {line}")
    return {
        "sessions": sessions,
        "seconds": round(wall, 1),
        "turns": len(lat),
        "throughput_turns_per_s": round(len(lat) / wall, 3) if wall else 0.0,
        "errors": len(stats.errors),
        "violations": len(stats.violations),
        "leaks": len(stats.leaks),
        "rate_limited": stats.limited,
        "picks": stats.picks,
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        "turns_per_replica": dict(sorted(stats.replicas.items())),
        "llm": os.environ.get("REELCHAT_LLM", "smollm2"),
    }


def replicated(args: argparse.Namespace) -> int:
    """PostgreSQL + Chroma server + replicas + nginx; one run per replica count, then the kill run."""
    from bench.cluster import Cluster

    runs: list[dict[str, Any]] = []
    with Cluster() as c:
        c.start_postgres()
        c.start_chroma()
        env = {**os.environ, "REELCHAT_CHROMA_URL": c.chroma_url}
        subprocess.run([sys.executable, "-m", "agent", "index"], cwd=ROOT, env=env, check=True)
        c.start_replicas(max(args.replicas))  # runs with fewer use the first ones
        t0 = time.monotonic()
        for r in c.replicas:  # every replica loaded its agent
            wait_ready(r.url, args.startup_timeout, r.proc)
        print(
            f"{len(c.replicas)} replicas ready after {time.monotonic() - t0:.0f} s; logs in {c.tmp}",
            flush=True,
        )
        facts = load_facts()
        if args.warmup:  # a fresh replica's first turns are slow (lazy loads): not part of any figure
            warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup, "sessions": 4})
            for r in c.replicas:
                run_load(r.url, warm, facts)
        for n in args.replicas:
            url = c.start_nginx(c.replicas[:n])
            print(f"load through nginx {url} -> {n} replica(s) ({os.getloadavg()[0]:.1f} load)", flush=True)
            load = round(os.getloadavg()[0], 1)
            stats, wall = run_load(url, args, facts)
            runs.append(
                {
                    "replicas": n,
                    "kill": False,
                    "loadavg_1m_at_start": load,
                    **summary(stats, wall, args.sessions),
                }
            )
        rss = {r.name: round(memory(r.proc.pid).peak_mb, 1) for r in c.replicas}
        if args.kill_after:
            victim = c.replicas[min(1, len(c.replicas) - 1)]
            url = c.start_nginx()
            print(f"kill run: SIGKILL {victim.name} after {args.kill_after:.0f} s", flush=True)
            stats, wall = run_load(url, args, facts, kill=lambda: c.kill(victim))
            row = {"replicas": len(c.replicas), "kill": True, **summary(stats, wall, args.sessions)}
            row["killed"] = victim.name
            row["max_failures_per_conversation"] = max(stats.failures.values(), default=0)
            row["conversations_continued"] = sum(1 for n in range(args.sessions) if stats.served_after.get(n))
            row["turns_by_killed_after_kill"] = stats.replicas_after.get(victim.name, 0)
            runs.append(row)
    print_table(runs)
    by_n = throughput_by_replicas(runs)
    lo, hi = min(args.replicas), max(args.replicas)
    result = {
        "runs": runs,
        "throughput_turns_per_s": by_n,
        "throughput_ratio": round(by_n[hi] / by_n[lo], 3) if by_n.get(lo) else None,
        "ratio_of": f"{hi} vs {lo} replicas",
        "replica_peak_rss_mb": rss,
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    bad = any(r["errors"] or r["leaks"] or r["violations"] for r in runs if not r["kill"])
    kill_ok = all(
        r["leaks"] == 0
        and r["violations"] == 0
        and r["max_failures_per_conversation"] <= 1
        and r["conversations_continued"] == args.sessions
        for r in runs
        if r["kill"]
    )
    return 0 if not bad and kill_ok else 1


def throughput_by_replicas(runs: Sequence[dict[str, Any]]) -> dict[int, float]:
    """Turns per second for each replica count, over all its runs (``--replicas 1 3 1 3`` interleaves
    them, so that other load on the machine weighs on both alike)."""
    turns: dict[int, float] = {}
    wall: dict[int, float] = {}
    for r in runs:
        if not r["kill"]:
            turns[r["replicas"]] = turns.get(r["replicas"], 0) + r["turns"]
            wall[r["replicas"]] = wall.get(r["replicas"], 0.0) + r["seconds"]
    return {n: round(turns[n] / wall[n], 3) for n in sorted(turns) if wall[n]}


def print_table(runs: Sequence[dict[str, Any]]) -> None:
    print(
        f"{'replicas':>8} {'kill':>5} {'turns':>6} {'turns/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'errors':>6} {'leaks':>5} {'viol.':>5}"
    )
    for r in runs:
        print(
            f"{r['replicas']:>8} {r['kill']!s:>5} {r['turns']:>6} {r['throughput_turns_per_s']:>8} "
            f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['errors']:>6} {r['leaks']:>5} {r['violations']:>5}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--url", help="a running app on 127.0.0.1 (default: start `reelchat ui` on a free port)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--think", type=float, default=0.5, help="reading time after each reply (s)")
    p.add_argument("--startup-timeout", type=float, default=900.0)
    p.add_argument("--turn-timeout", type=float, default=300.0, help="a turn without a reply fails (s)")
    p.add_argument("--replicas", type=int, nargs="+", help="e.g. `1 3`: a cluster behind nginx, one run each")
    p.add_argument("--kill-after", type=float, default=0.0, help="with --replicas: the kill run (s into it)")
    p.add_argument(
        "--warmup", type=float, default=15.0, help="with --replicas: unmeasured turns per replica (s)"
    )
    args = p.parse_args(argv)
    if args.replicas:
        return replicated(args)

    proc = None
    if args.url:
        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit("--url must point at 127.0.0.1 (the load test never leaves this machine)")
        url = args.url
    else:
        port = args.port or free_port()
        url = f"http://127.0.0.1:{port}/"
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"reelchat-load-{port}.log"
        print(f"starting `reelchat ui --port {port}` (log: {log_path})", flush=True)
        proc = start_app(port, log_path)
    peak = {"mb": 0.0}
    try:
        ready_s = wait_ready(url, args.startup_timeout, proc)
        print(f"app ready after {ready_s:.0f} s; facts from the catalogue…", flush=True)
        facts = load_facts()
        done = threading.Event()

        def sample() -> None:
            while proc is not None and not done.wait(1.0):
                try:
                    peak["mb"] = max(peak["mb"], memory(proc.pid).peak_mb)
                except OSError:
                    return

        threading.Thread(target=sample, daemon=True).start()
        stats, wall = run_load(url, args, facts)
        done.set()
        if proc is not None:
            peak["mb"] = max(peak["mb"], memory(proc.pid).peak_mb)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    result = summary(stats, wall, args.sessions)
    result["server_peak_rss_mb"] = round(peak["mb"], 1) if proc is not None else None
    print(json.dumps(result))
    return 0 if not (stats.errors or stats.leaks or stats.violations) else 1


if __name__ == "__main__":
    sys.exit(main())
