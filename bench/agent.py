"""Agent turn latency over scripted turns, per LLM runtime: reply p50/p95, picks → first explanation
token, LLM load time, peak RSS.

Usage: python bench/agent.py [--llm SPEC ...] [--turns 50] [--out FILE.json]

By default it runs, each in a fresh process, ``none`` (templates), ``transformers`` (the embedded
SmolLM2 GGUF dequantised and run by transformers: ``hf:<embedded gguf>``, the old runtime) and
``llama.cpp`` (``smollm2``: the same GGUF file run by llama-cpp-python, the new runtime). Speed is also
reported as a ratio to a bare vector-search call measured in the same run.

- ``reply5_p50_ms``: whole turns whose reply has 5 explained picks (the default count).
- ``first_token_p50_ms``: from the picks (the reply's lead line) to the first explanation token. The
  transformers runtime generates the batch at once and streams nothing, so for it this is the time to
  the first explanation card; ``first_card_p50_ms`` is that time for every runtime.
- ``llm_load_s``: building the chat model; ``peak_rss_mb``: the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
TARGETS = {"reply5_p50_ms": 1500.0, "first_token_p50_ms": 500.0, "llm_load_s": 2.0, "peak_rss_mb": 1600.0}
ALIASES = {"transformers": "hf:{embedded}", "llama.cpp": "smollm2", "templates": "none"}


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 1) if xs else float("nan")


def resolve(name: str) -> str:
    """The ``REELCHAT_LLM`` spec for a bench name (an alias or a spec)."""
    from agent.explain.llm import smollm2_gguf_path

    return ALIASES.get(name, name).format(embedded=smollm2_gguf_path())


class _Clock:
    """First-token times, fed by the chat model's callbacks (llama.cpp streams; transformers does not)."""

    def __init__(self) -> None:
        self.first_token: float | None = None

    def handler(self) -> Any:
        from langchain_core.callbacks import BaseCallbackHandler

        clock = self

        class _FirstToken(BaseCallbackHandler):
            def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
                if token and clock.first_token is None:
                    clock.first_token = time.perf_counter()

        return _FirstToken()


def _load(llm: str) -> tuple[Any, float]:
    """The agent for ``llm`` and the seconds spent building its chat model."""
    import agent.explain.llm as llm_module
    from agent.app import RecommenderAgent
    from agent.settings import Settings

    os.environ["REELCHAT_LLM"] = llm
    # the LLM writes the explanations here (the product's default explainer is the templates)
    if llm != "none" and os.environ.get("REELCHAT_EXPLAINER", "templates") == "templates":
        os.environ["REELCHAT_EXPLAINER"] = "llm"
    build, spent = llm_module.build_chat_model, [0.0]

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return build(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    llm_module.build_chat_model = timed  # type: ignore[assignment]
    try:
        app = RecommenderAgent.load(Settings(), progress=False)
        _ = app.engine.explainer  # built lazily on some paths
    finally:
        llm_module.build_chat_model = build
    return app, spent[0]


def _turn(session: Any, msg: str, clock: _Clock) -> dict[str, float | int | None]:
    """One streamed turn: total ms, picks → first token / first card ms, number of picks."""
    clock.first_token = None
    t = time.perf_counter()
    picks = card = None
    n = 0
    for chunk in session.stream(msg):
        now = time.perf_counter()
        if chunk.recommendation is not None:
            n += 1
            card = card or now
        elif chunk.text and picks is None:
            picks = now
    total = (time.perf_counter() - t) * 1000
    first = clock.first_token if clock.first_token and picks and clock.first_token >= picks else card
    return {
        "total": total,
        "card": (card - picks) * 1000 if card and picks else None,
        "token": (first - picks) * 1000 if first and picks else None,
        "n": n,
    }


def run(name: str, turns: int) -> dict[str, Any]:
    """All measurements for one LLM configuration, in this process."""
    from agent.explain.explainer import LLMExplainer

    app, load_llm_s = _load(resolve(name))
    clock = _Clock()
    explainer = app.engine.explainer
    model = explainer.chat_model if isinstance(explainer, LLMExplainer) else None
    if model is not None:
        model.callbacks = [clock.handler()]
    app.start_session().send("warm up: I like Heat")

    vec = app.engine.pipeline.query_vector([], "space horror on a ship")
    base = []
    for _ in range(20):
        t = time.perf_counter()
        app.engine.pipeline.retriever.search_vector(vec, filters=None, exclude_ids=(), n=200)
        base.append((time.perf_counter() - t) * 1000)

    rows: list[dict[str, Any]] = []
    while len(rows) < turns:
        for convo in SCRIPT:
            session = app.start_session()
            for msg in convo[: turns - len(rows)]:
                rows.append(_turn(session, msg, clock))
    lat = [r["total"] for r in rows]
    base_p50 = statistics.median(base)
    return {
        "llm": name,
        "spec": resolve(name),
        "runtime": type(model).__name__ if model is not None else "templates",
        "turns": len(rows),
        "llm_load_s": round(load_llm_s, 2),
        "p50_ms": _median(lat),
        "p95_ms": round(_percentile(lat, 0.95), 1),
        "reply5_p50_ms": _median([r["total"] for r in rows if r["n"] >= 5]),
        "first_token_p50_ms": _median([r["token"] for r in rows if r["token"] is not None]),
        "first_card_p50_ms": _median([r["card"] for r in rows if r["card"] is not None]),
        "search_p50_ms": round(base_p50, 2),
        "turn_to_search_ratio": round(statistics.median(lat) / base_p50, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _in_subprocess(name: str, turns: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--llm", name, "--turns", str(turns)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1])["runs"][0])


def _table(results: list[dict[str, Any]]) -> str:
    keys = ["llm", "runtime", "turns", "llm_load_s", "p50_ms", "reply5_p50_ms", "first_token_p50_ms"]
    keys += ["first_card_p50_ms", "p95_ms", "peak_rss_mb"]
    lines = [" | ".join(f"{k:>18}" for k in keys)]
    for r in results:
        lines.append(" | ".join(f"{r[k]!s:>18}" for k in keys))
    lines.append("targets (LLM runs): " + ", ".join(f"{k} <= {v:g}" for k, v in TARGETS.items()))
    for r in results:
        if r["runtime"] != "templates":
            missed = [k for k, v in TARGETS.items() if not r[k] <= v]
            lines.append(f"  {r['llm']}: " + ("all targets met" if not missed else f"missed {missed}"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run each configuration (a fresh process each when several), print a table and the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llm", action="append", help="none | transformers | llama.cpp | any REELCHAT_LLM spec")
    ap.add_argument("--turns", type=int, default=50)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    names = args.llm or ["none", "transformers", "llama.cpp"]
    if len(names) > 1:  # each configuration in a fresh process so peak RSS is its own
        results = [_in_subprocess(n, args.turns) for n in names]
    else:
        results = [run(names[0], args.turns)]
    print(_table(results), file=sys.stderr)
    payload = {"runs": results, "targets": TARGETS}
    if args.out:
        args.out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
