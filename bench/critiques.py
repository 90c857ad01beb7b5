"""Critique directions: the share of next picks that move the asked way, per direction (target ≥ 0.8).

Usage: python bench/critiques.py [--starts N] [--out FILE.json]

The same measurement as ``reelchat eval critiques`` (see :mod:`agent.evaluation.critiques` for both
statistics and why the axis one is partly circular); prints a table and the JSON, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    """Load the agent (templates, no LLM), run every start and direction, print the table and JSON."""
    from agent.app import RecommenderAgent
    from agent.evaluation.critiques import STARTS, TARGET, run_steps, summarise
    from agent.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=len(STARTS))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    app = RecommenderAgent.load(Settings().model_copy(update={"llm": "none"}), progress=False)
    t0 = time.perf_counter()
    starts = STARTS[: args.starts]
    summary = summarise(run_steps(app.engine, starts), app.engine)
    seconds = round(time.perf_counter() - t0, 1)
    lines = [f"{'direction':14s} | axis share | control | text share | control | shift"]
    for d, v in summary.items():
        text = "   n/a" if v["text_share"] is None else f"{v['text_share']:.3f}"
        ctext = "   n/a" if v["control_text_share"] is None else f"{v['control_text_share']:.3f}"
        lines.append(
            f"{d:14s} | {v['axis_share']:10.3f} | {v['control_axis_share']:7.3f} | {text:>10s} | "
            f"{ctext:>7s} | {v['mean_axis_shift']:+.2f}"
        )
    missed = [d for d, v in summary.items() if v["axis_share"] < TARGET]
    lines.append(f"target axis share >= {TARGET}: " + ("met by all" if not missed else f"missed {missed}"))
    print("\n".join(lines), file=sys.stderr)
    payload = {"starts": len(starts), "seconds": seconds, "target": TARGET, "directions": summary}
    if args.out:
        args.out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
