"""The query path minus Chroma at sizes whose HNSW index could not be built here (1M on 2 busy cores).

    python bench/scale_planner.py --items 100000 1000000 [--queries 60]

For each size it generates the synthetic catalogue of ``bench/scale.py`` (``bench/scale_data.py``) and runs
``MovieIndex.search_vector`` (filters of ``bench/retrieval.py``) and the popularity rerank of
``bench/scale.py``, with a stand-in for the Chroma collection that answers ``query`` by exact numpy top-k.
The stand-in's own time is subtracted: the figures are the CPU time (``time.process_time``; run with
``OPENBLAS_NUM_THREADS=1``) of the planner's in-memory work (filter mask, exact subset scoring,
post-filtering, rerank) that grows with the catalogue, so they hold on a busy machine too. What the
planner asks Chroma for (``n_results``, hence HNSW ef = max(ef_search, n_results)) is reported, so that
the Chroma time can be read from ``bench/scale.py`` at the sizes it measured. The last line of stdout is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scale import FILTER_SETS, base_set, queries
from scale_data import synthesize

from retrieval.embeddings import Encoder
from retrieval.index import IndexConfig, MovieIndex


class ExactCollection:
    """A stand-in for a Chroma collection (bench only): exact cosine top-k; its time is tallied apart."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self.vectors, self.ids = vectors, ids
        self.spent = 0.0
        self.asked: list[int] = []

    def count(self) -> int:
        return len(self.ids)

    def get(self, ids: Any = None, include: Any = None) -> dict:
        return {"ids": list(ids or [])}

    def query(self, query_embeddings: Any, n_results: int, where: Any = None, include: Any = None) -> dict:
        assert where is None, "the planner sent a `where` clause"
        t = time.process_time()
        scores = self.vectors @ np.asarray(query_embeddings[0], dtype=np.float32)
        top = np.argpartition(-scores, n_results - 1)[:n_results]
        top = top[np.argsort(-scores[top])]
        self.asked.append(n_results)
        out = {"ids": [[str(i) for i in self.ids[top]]], "distances": [(1.0 - scores[top]).tolist()]}
        self.spent += time.process_time() - t
        return out


def one_size(args: argparse.Namespace, base: Any, base_vecs: np.ndarray, n: int, vecs: np.ndarray) -> dict:
    from ranking.base import ScorerRanker
    from ranking.baselines import Popularity

    synth = synthesize(base, base_vecs, n, args.seed)
    stand_in = ExactCollection(synth.vectors, synth.catalogue.ids)
    with tempfile.TemporaryDirectory() as tmp:
        index = MovieIndex(IndexConfig(path=Path(tmp)), synth.catalogue, Encoder(), None, stand_in)
    index._vectors = synth.vectors  # unit rows already
    ranker = ScorerRanker(Popularity(synth.log_pop), synth.catalogue.ids, synth.vectors,
                          log_pop=synth.log_pop)  # fmt: skip
    planner_ms: list[float] = []
    rr_ms: list[float] = []
    per: dict[str, dict[str, Any]] = {}
    rng = np.random.default_rng(1)
    for i, vec in enumerate(vecs):
        filters = FILTER_SETS[i % len(FILTER_SETS)]
        liked = [int(x) for x in synth.catalogue.ids[rng.integers(0, n, 3)]]
        before, t = stand_in.spent, time.process_time()
        got = index.search_vector(vec, filters, liked, 200)
        t1 = time.process_time()
        ranker.score(liked, [], got.ids, got.scores)
        t2 = time.process_time()
        chroma = stand_in.spent - before
        planner_ms.append((t1 - t - chroma) * 1000)
        rr_ms.append((t2 - t - chroma) * 1000)
        row = per.setdefault(repr(filters), {"strategies": set(), "n_results": set(), "ms": []})
        row["strategies"].add(got.meta["strategy"])
        row["ms"].append(planner_ms[-1])
        if chroma:
            row["n_results"].add(stand_in.asked[-1])
    pct = lambda v, q: round(float(np.percentile(v, q)), 2)  # noqa: E731
    return {
        "items": n,
        "planner_p50_ms": pct(planner_ms, 50),
        "planner_p95_ms": pct(planner_ms, 95),
        "planner_rerank_p95_ms": pct(rr_ms, 95),
        "load_avg": os.getloadavg(),
        "per_filter": [
            {
                "filters": k,
                "strategies": sorted(v["strategies"]),
                "chroma_n_results": sorted(v["n_results"]),
                "p50_ms": pct(v["ms"], 50),
            }
            for k, v in per.items()
        ],
    }


def main() -> int:
    data = Path(os.environ.get("REELCHAT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    cache = Path(os.environ.get("REELCHAT_CACHE_DIR", Path.home() / ".cache" / "reelchat"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ml-dir", type=Path, default=data / "ml-latest-small")
    ap.add_argument("--redial-dir", type=Path, default=data / "redial-ievalm")
    ap.add_argument("--embeddings-cache", type=Path, default=cache / "embeddings")
    ap.add_argument("--torch-threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.torch_threads)
    encoder = Encoder()
    base, base_vecs = base_set(args, encoder)
    vecs = encoder.encode(queries(args.queries))
    rows = [one_size(args, base, base_vecs, n, vecs) for n in args.items]
    for r in rows:
        head = f"{r['items']:>9,} items: planner p50/p95 {r['planner_p50_ms']}/{r['planner_p95_ms']} ms"
        print(f"{head}, with rerank p95 {r['planner_rerank_p95_ms']} ms (Chroma excluded)", file=sys.stderr)
        for f in r["per_filter"]:
            print(f"    {f}", file=sys.stderr)
    print(json.dumps({"sizes": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
