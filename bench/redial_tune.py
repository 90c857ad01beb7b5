"""Tune the conversational prior on the ReDial dev *tune half* only (2-fold inside it, no report-half data).

Usage: python bench/redial_tune.py [--turns FILE] [--out FILE.json]
For each tune-half turn the pipeline ranks a pool of 300 movies; offline we add
``w_prior * log1p(count)`` (how often ReDial recommenders named the movie, counted on the *other* fold)
and ``w_year * log(share of recommendations from the movie's 5-year bin)``, and grid-search the weights
for Recall@10 + Recall@50 per (turn, target) pair.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("REELCHAT_LLM", "none")
    from agent.app import RecommenderAgent
    from agent.evaluation.redial import TitleMapper, load_turns, mentioned_ids
    from agent.settings import Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    settings = Settings()
    turns_path = args.turns or Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    app = RecommenderAgent.load(settings, progress=False)
    app.pipeline.config.diversity = 0.0
    mapper = TitleMapper.from_path(app.catalogue, turns_path.parent / "id2info.json")
    tune = [t for t in load_turns(turns_path) if t.half == "tune"]
    fold = {t.dialog_id: hashlib.sha256(f"fold:{t.dialog_id}".encode()).digest()[0] & 1 for t in tune}

    def counts(f: int) -> Counter[int]:
        c: Counter[int] = Counter()
        for t in tune:
            if fold[t.dialog_id] == f:
                c.update({m for r in set(t.rec) if (m := mapper.map(r)) is not None})
        return c

    prior = {0: counts(1), 1: counts(0)}  # each fold's prior comes from the other fold
    rows = []
    for t in tune:
        mentioned = mentioned_ids(t, mapper)
        targets = {m for r in t.rec if (m := mapper.map(r)) is not None} - mentioned
        if not targets:
            continue
        recs = app.recommend(t.messages, k=300)
        pool = [(r.movie_id, r.score) for r in recs if r.movie_id not in mentioned]
        rows.append((fold[t.dialog_id], pool, targets))
    years = {m.movie_id: m.year or 0 for m in app.catalogue}

    def year_prior(c: Counter[int]) -> dict[int, float]:
        bins: Counter[int] = Counter()
        for mid, n in c.items():
            bins[years.get(mid, 0) // 5] += n
        total = sum(bins.values()) or 1
        return {b: math.log((n + 1) / total) for b, n in bins.items()}

    ypr = {f: year_prior(prior[f]) for f in prior}
    floor = math.log(1 / 1000)

    def evaluate(wp: float, wy: float) -> dict[str, float]:
        hits10 = hits50 = pairs = 0
        for f, pool, targets in rows:
            scored = sorted(
                pool,
                key=lambda p: (
                    -(
                        p[1]
                        + wp * math.log1p(prior[f].get(p[0], 0))
                        + wy * ypr[f].get(years.get(p[0], 0) // 5, floor)
                    )
                ),
            )
            top = [m for m, _ in scored]
            for tgt in targets:
                pairs += 1
                hits10 += tgt in top[:10]
                hits50 += tgt in top[:50]
        return {"recall@10": hits10 / pairs, "recall@50": hits50 / pairs, "pairs": pairs}

    grid = []
    for wp in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
        for wy in (0.0, 0.25, 0.5, 1.0):
            m = evaluate(wp, wy)
            grid.append({"w_prior": wp, "w_year": wy, **m})
            print(f"w_prior={wp:<5} w_year={wy:<5} R@10={m['recall@10']:.3f} R@50={m['recall@50']:.3f}")
    best = max(grid, key=lambda g: g["recall@10"] + g["recall@50"])
    print(json.dumps({"best": best, "turns": len(rows)}))
    if args.out:
        args.out.write_text(json.dumps({"grid": grid, "best": best}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
