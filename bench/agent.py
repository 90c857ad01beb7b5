"""Agent turn latency over 50 scripted turns: p50/p95, time to first streamed chunk, peak RSS.

Usage: python bench/agent.py [--llm none|smollm2] [--turns 50] [--out FILE.json]
Runs with ``REELCHAT_LLM=none`` and with the embedded model by default; speed is also reported as a ratio
to a bare vector-search call measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCRIPT = [
    ["I loved Alien (1979). Something similar, no horror, after 1990", "more recent", "not the first one"],
    ["a feel-good comedy from the 90s", "give me 3", "something else"],
    ["I liked The Matrix and Inception", "no action", "more like the second"],
    ["hated Titanic, loved Pulp Fiction", "nothing before 1990", "start over", "an animated movie for kids"],
    ["mind-bending sci-fi", "older", "I've seen all of those"],
    ["Toy Story and Up were great", "not animated", "just one"],
    ["a romantic movie set in Paris", "less dark", "after 2000"],
    ["like The Godfather but funnier", "from the 70s", "the second one looks good, more like it"],
]


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


def run(llm: str, turns: int) -> dict[str, float]:
    os.environ["REELCHAT_LLM"] = llm
    from agent.app import RecommenderAgent
    from agent.settings import Settings

    t0 = time.perf_counter()
    app = RecommenderAgent.load(Settings(), progress=False)
    load_s = time.perf_counter() - t0
    app.start_session().send("warm up: I like Heat")

    vec = app.engine.pipeline.query_vector([], "space horror on a ship")
    base = []
    for _ in range(20):
        t = time.perf_counter()
        app.engine.pipeline.retriever.search_vector(vec, filters=None, exclude_ids=(), n=200)
        base.append((time.perf_counter() - t) * 1000)

    lat, ttft = [], []
    done = 0
    while done < turns:
        for convo in SCRIPT:
            session = app.start_session()
            for msg in convo:
                if done >= turns:
                    break
                t = time.perf_counter()
                first = None
                for chunk in session.stream(msg):
                    if first is None and chunk.text:
                        first = (time.perf_counter() - t) * 1000
                lat.append((time.perf_counter() - t) * 1000)
                ttft.append(first or lat[-1])
                done += 1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base_p50 = statistics.median(base)
    return {
        "llm": llm,
        "turns": len(lat),
        "load_s": round(load_s, 2),
        "p50_ms": round(statistics.median(lat), 1),
        "p95_ms": round(_percentile(lat, 0.95), 1),
        "ttft_p50_ms": round(statistics.median(ttft), 1),
        "ttft_p95_ms": round(_percentile(ttft, 0.95), 1),
        "search_p50_ms": round(base_p50, 2),
        "turn_to_search_ratio": round(statistics.median(lat) / base_p50, 1),
        "peak_rss_mb": round(rss_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llm", action="append", help="LLM spec(s) to run (default: none and smollm2)")
    ap.add_argument("--turns", type=int, default=50)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    llms = args.llm or ["none", "smollm2"]
    results = []
    for llm in llms:
        # each configuration in a fresh process so peak RSS is its own
        if len(llms) > 1:
            import subprocess

            out = (
                subprocess.run(
                    [sys.executable, __file__, "--llm", llm, "--turns", str(args.turns)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results.append(json.loads(out)["runs"][0])
        else:
            results.append(run(llm, args.turns))
    keys = ["llm", "turns", "p50_ms", "p95_ms", "ttft_p50_ms", "ttft_p95_ms", "turn_to_search_ratio"]
    keys.append("peak_rss_mb")
    print(" | ".join(f"{k:>14}" for k in keys), file=sys.stderr)
    for r in results:
        print(" | ".join(f"{r[k]!s:>14}" for k in keys), file=sys.stderr)
    payload = {"runs": results}
    if args.out:
        args.out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
