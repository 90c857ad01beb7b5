"""Fit the dialogue retriever's two blend weights on the ReDial dev tune half, the other weights held fixed.

    python bench/dialogue_tune.py [--kinds base tuned] [--limit N] [--write agent/prior/dialogue.json]

For each retriever kind ("base": the shipped MiniLM, untuned; "tuned": fine-tuned on ``redial-train/``, from
the cache), the tune half is replayed through the agent with that retriever attached, each fold's prior
counted on the other fold plus the train dialogues (as ``bench/redial_tune.py``). The candidates' feature
rows are recorded once; then a grid over the weights of ``dialogue`` and ``dialogue_raw`` is scored by pair
Recall@10 + Recall@50 over the whole tune half. The report half is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # after the repo root: bench/agent.py is no package

from redial_tune import collect, fold_of, recall

GRID_Z = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
GRID_RAW = (0.0, 1.0, 2.0, 4.0, 8.0)


def grid(rows: list[dict[str, Any]], base: np.ndarray, iz: int, iraw: int) -> list[dict[str, Any]]:
    """Tune-half figures for every weight pair of the grid, best (R@10 + R@50) first."""
    out = []
    for wz, wr in product(GRID_Z, GRID_RAW):
        w = base.copy()
        w[iz], w[iraw] = wz, wr
        r = recall(rows, w)
        out.append({"dialogue": wz, "dialogue_raw": wr, **r})
    return sorted(out, key=lambda r: -(r["pair_recall@10"] + r["pair_recall@50"]))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("REELCHAT_LLM", "none")
    from agent.app import RecommenderAgent
    from agent.prior.blend import FEATURES, BlendWeights
    from agent.prior.conversational import ConversationPrior
    from agent.resources import locate_redial_train
    from agent.settings import PipelineConfig, Settings
    from retrieval.redial import TitleMapper, load_train_folder, load_turns

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", nargs="+", default=["base", "tuned"])
    ap.add_argument("--limit", type=int, default=0, help="at most N tune-half turns per fold (0 = all)")
    ap.add_argument("--write", type=Path, help="write the chosen weights here (agent/prior/dialogue.json)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    settings = Settings(llm="none", prior="none", pipeline=PipelineConfig(diversity=0.0))
    turns_path = Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    t0 = time.perf_counter()
    app = RecommenderAgent.load(settings, progress=False)
    mapper = TitleMapper.from_path(app.catalogue, turns_path.parent / "id2info.json")
    tune = [t for t in load_turns(turns_path) if t.half == "tune"]
    folds = {f: [t for t in tune if fold_of(t.dialog_id) == f] for f in (0, 1)}
    if args.limit:
        folds = {f: ts[: args.limit] for f, ts in folds.items()}
    train_dir = locate_redial_train(settings)
    train = load_train_folder(train_dir, mapper) if train_dir else None

    def prior_of(turns: list) -> ConversationPrior:
        prior = ConversationPrior.from_turns(turns, mapper)
        return prior.with_train(*train) if train else prior

    base = BlendWeights.load().vector
    iz, iraw = FEATURES.index("dialogue"), FEATURES.index("dialogue_raw")
    result: dict[str, Any] = {"turns": {f: len(folds[f]) for f in folds}}
    chosen: dict[str, dict[str, float]] = {}
    for kind in args.kinds:
        retriever = app.resources.dialogue_retriever(kind)
        if retriever is None:
            print(f"{kind}: no retriever (train it with `reelchat train --retriever`)", file=sys.stderr)
            continue
        variant = app.with_pipeline(app.engine.pipeline.with_dialogue(retriever, {}))
        rows = [r for f in (0, 1) for r in collect(variant, folds[f], mapper, prior_of(folds[1 - f]))]
        ranked = grid(rows, base, iz, iraw)
        shipped = recall(rows, base)
        best = ranked[0]
        result[kind] = {"without": shipped, "best": best, "grid": ranked}
        print(f"{kind}: without {json.dumps(shipped)}")
        print(f"{kind}: best    {json.dumps(best)}")
        gain = (
            best["pair_recall@10"]
            + best["pair_recall@50"]
            - shipped["pair_recall@10"]
            - shipped["pair_recall@50"]
        )
        chosen[kind] = (
            {"dialogue": best["dialogue"], "dialogue_raw": best["dialogue_raw"]} if gain > 0 else {}
        )
    result["chosen"] = chosen
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({"chosen": chosen, "seconds": result["seconds"]}))
    if args.write:
        note = (
            "weights of the dialogue features per retriever kind, the other blend weights held fixed; chosen"
            " by bench/dialogue_tune.py on the ReDial dev tune half (grid, pair R@10 + R@50)"
        )
        args.write.write_text(json.dumps({"note": note, **chosen}, indent=1) + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
