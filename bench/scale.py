"""Catalogue growth: a Chroma server over 10k, 100k and 1M synthetic movies, through the product's index.

    python bench/scale.py --items 10000 100000 1000000 [--queries 100] [--out-dir out/scale]

For each size the bench generates a synthetic catalogue (``bench/scale_data.py``: real all-MiniLM-L6-v2
vectors of ml-latest-small movies mixed pairwise plus Gaussian noise, stated as such), starts its own
``chroma run`` server on 127.0.0.1, builds the index through :class:`retrieval.index.MovieIndex`
(HTTP, or ``--ingest persistent``: the in-process client writes the folder, then the server serves it)
and measures:

- build time (generation excluded) and ingestion rate; peak resident memory of the process holding the
  HNSW index during the build (the server; with ``persistent``, the bench itself, generated data
  included) and of the server after the queries;
- unfiltered and filtered query p50/p95 (``MovieIndex.search_vector``, n=200, the filter mix of
  ``bench/retrieval.py``) and the planner's strategy counts;
- recall@200 of both against exact numpy search over the same vectors and filters;
- retrieve+rerank p95: encode the text, search (half filtered), rerank the 200 candidates with the
  popularity ranker (:class:`ranking.base.ScorerRanker`, MMR on), no LLM.

Writes ``scale.md`` (growth table) and ``scale.png`` (log-log plot) to ``--out-dir``; the last line of
stdout is ``{"sizes": [{"items", "build_s", "p95_ms", "recall_at_200", "turn_p95_ms", ...}, ...]}``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository and bench/ importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scale_data import ChromaServer, Synthetic, exact_top, synthesize
from scale_report import plot, table

from retrieval.embeddings import Encoder, catalogue_embeddings
from retrieval.index import IndexConfig, MovieIndex
from retrieval.types import Filters

_spec = importlib.util.spec_from_file_location("bench_retrieval", Path(__file__).with_name("retrieval.py"))
assert _spec is not None and _spec.loader is not None
_bench_retrieval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench_retrieval)  # bench/retrieval.py: its queries and filter mix
FILTER_SETS: list[Filters] = _bench_retrieval.FILTER_SETS
queries = _bench_retrieval.queries
load_full_catalogue = _bench_retrieval.load_full_catalogue

log = logging.getLogger("scale")
N = 200


@contextlib.contextmanager
def quiet(lock: Path | None) -> Iterator[None]:
    """Hold the machine's quiet lock (``flock``) while timing, if one is given."""
    if lock is None:
        yield
        return
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _pct(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if len(values) else float("nan")


def _config(args: argparse.Namespace, path: Path, url: str | None) -> IndexConfig:
    return IndexConfig(
        path=path,
        chroma_url=url,
        ef_construction=args.ef_construction,
        ef_search=args.ef_search[0],
        max_neighbors=args.m,
        batch_size=args.batch_size,
    )


def base_set(args: argparse.Namespace, encoder: Encoder) -> tuple[Any, np.ndarray]:
    """The real encoded set: ml-latest-small and its MiniLM vectors (from the embeddings cache)."""
    redial = args.redial_dir if args.redial_dir.is_dir() else None
    catalogue = load_full_catalogue(args.ml_dir, redial)
    return catalogue, catalogue_embeddings(catalogue, encoder, args.embeddings_cache, progress=True)


def build(args: argparse.Namespace, synth: Synthetic, work: Path, encoder: Encoder) -> dict[str, Any]:
    """Build the index for ``synth`` on a fresh server; returns the open index, server and build figures."""
    work.mkdir(parents=True, exist_ok=True)
    n = len(synth.catalogue)
    built_in, local_peak = 0.0, float("nan")
    done = work / "build.json"
    if done.exists():  # --keep: a finished build of this size; its folder is reused (same fingerprint)
        server = ChromaServer(work / "chroma", work / "chroma.log")
        index = MovieIndex.open(_config(args, work / "local", server.url), synth.catalogue, encoder,
                                progress=args.progress, vectors=synth.vectors)  # fmt: skip
        return {"index": index, "server": server, **json.loads(done.read_text()), "reused_build": True}
    if args.ingest == "persistent":  # in-process client writes the folder; the server then serves it
        t = time.perf_counter()
        local = MovieIndex.open(_config(args, work / "chroma", None), synth.catalogue, encoder,
                                progress=args.progress, vectors=synth.vectors)  # fmt: skip
        local.close()
        built_in = time.perf_counter() - t
        local_peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    server = ChromaServer(work / "chroma", work / "chroma.log")
    t0 = time.perf_counter()
    index = MovieIndex.open(_config(args, work / "local", server.url), synth.catalogue, encoder,
                            progress=args.progress, vectors=synth.vectors)  # fmt: skip
    index.search_vector(synth.vectors[0], None, (), N)  # the first query: the index is usable
    build_s = (time.perf_counter() - t0) if args.ingest == "http" else built_in + time.perf_counter() - t0
    figures = {
        "build_s": round(build_s, 1),
        "ingest_items_per_s": round(n / build_s, 1),
        # http: the server's peak; persistent: this process's (the generated catalogue included)
        "build_peak_mb": server.peak_rss_mb() if args.ingest == "http" else local_peak,
        "build_load_avg": os.getloadavg(),
    }
    done.write_text(json.dumps(figures))
    return {"index": index, "server": server, **figures}


class CpuClock:
    """CPU seconds of this process plus the Chroma server: latency as a quiet machine would see it."""

    def __init__(self, server: ChromaServer) -> None:
        self.server = server

    def __call__(self) -> float:
        return time.process_time() + self.server.cpu_s()


def measure(
    synth: Synthetic,
    index: MovieIndex,
    ranker: Any,
    texts: list[str],
    vecs: np.ndarray,
    truth: dict,
    cpu: CpuClock,
) -> dict[str, Any]:
    """Query latencies, strategies, recall@200 against exact search and retrieve+rerank latency.

    ``truth`` caches the exact top 200 per query (it does not depend on the HNSW settings). The
    ``*_cpu_ms`` figures are the mean CPU time per query of the bench and the server together.
    """
    lat: dict[str, list[float]] = {"unfiltered": [], "filtered": [], "encode": [], "rr": [], "turn": []}
    rec: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    strategies: dict[str, int] = {}
    for vec in vecs[:5]:  # warm-up
        index.search_vector(vec, FILTER_SETS[0], (), N)
    spent = {"unfiltered": 0.0, "filtered": 0.0, "turn": 0.0}
    per_filter: dict[int, dict[str, Any]] = {}
    for i, vec in enumerate(vecs):
        for label in ("unfiltered", "filtered"):
            filters = FILTER_SETS[i % len(FILTER_SETS)] if label == "filtered" else None
            c, t = cpu(), time.perf_counter()
            got = index.search_vector(vec, filters, (), N)
            lat[label].append((time.perf_counter() - t) * 1000)
            spent[label] += cpu() - c
            if filters is not None:
                strategies[got.meta["strategy"]] = strategies.get(got.meta["strategy"], 0) + 1
                per = per_filter.setdefault(i % len(FILTER_SETS), {"ms": [], "strategies": set()})
                per["ms"].append(lat[label][-1])
                per["strategies"].add(got.meta["strategy"])
            if (i, label) not in truth:
                admitted = None if filters is None else index.mask(filters)
                truth[i, label] = exact_top(synth.vectors, vec, admitted, N)
            want = truth[i, label]
            rows = set(index.catalogue.rows(got.ids).tolist()) if got.ids else set()
            rec[label].append(len(rows & want) / len(want) if want else 1.0)
    rng = np.random.default_rng(1)
    for i, text in enumerate(texts):
        turn_filters = FILTER_SETS[i % len(FILTER_SETS)] if i % 2 else None
        liked = [int(x) for x in synth.catalogue.ids[rng.integers(0, len(synth.catalogue), 3)]]
        t0 = time.perf_counter()
        vec = index.encoder.encode([text])[0]
        t1, c = time.perf_counter(), cpu()
        cands = index.search_vector(vec, turn_filters, liked, N)
        ranked = ranker.score(liked, [], cands.ids, cands.scores)
        t2 = time.perf_counter()
        spent["turn"] += cpu() - c
        assert len(ranked) > 0
        lat["encode"].append((t1 - t0) * 1000)
        lat["rr"].append((t2 - t1) * 1000)
        lat["turn"].append((t2 - t0) * 1000)
    summary = _summary(lat, rec, spent, len(vecs), len(texts))
    summary["strategies"] = strategies
    summary["per_filter"] = [
        {
            "filters": repr(FILTER_SETS[j]),
            "admitted_share": round(float(index.mask(FILTER_SETS[j]).mean()), 4),
            "strategies": sorted(per["strategies"]),
            "p50_ms": _pct(per["ms"], 50),
            "max_ms": round(max(per["ms"]), 1),
        }
        for j, per in sorted(per_filter.items())
    ]
    return summary


def _summary(
    lat: dict[str, list[float]],
    rec: dict[str, list[float]],
    spent: dict[str, float],
    n_vecs: int,
    n_texts: int,
) -> dict[str, Any]:
    both = lat["unfiltered"] + lat["filtered"]
    return {
        "p50_ms": _pct(both, 50),
        "p95_ms": _pct(both, 95),
        "unfiltered_p50_ms": _pct(lat["unfiltered"], 50),
        "unfiltered_p95_ms": _pct(lat["unfiltered"], 95),
        "filtered_p50_ms": _pct(lat["filtered"], 50),
        "filtered_p95_ms": _pct(lat["filtered"], 95),
        "recall_unfiltered": round(float(np.mean(rec["unfiltered"])), 4),
        "recall_filtered": round(float(np.mean(rec["filtered"])), 4),
        "recall_at_200": round(float(min(np.mean(rec["unfiltered"]), np.mean(rec["filtered"]))), 4),
        "encode_p95_ms": _pct(lat["encode"], 95),
        "retrieve_rerank_p50_ms": _pct(lat["rr"], 50),
        "retrieve_rerank_p95_ms": _pct(lat["rr"], 95),
        "turn_p50_ms": _pct(lat["turn"], 50),
        "turn_p95_ms": _pct(lat["turn"], 95),
        "unfiltered_cpu_ms": round(spent["unfiltered"] * 1000 / n_vecs, 1),
        "filtered_cpu_ms": round(spent["filtered"] * 1000 / n_vecs, 1),
        "retrieve_rerank_cpu_ms": round(spent["turn"] * 1000 / n_texts, 1),
    }


def one_size(args: argparse.Namespace, base: Any, base_vecs: np.ndarray, n: int, encoder: Encoder,
             texts: list[str], vecs: np.ndarray, work: Path) -> dict[str, Any]:  # fmt: skip
    """Every figure for one catalogue size: one measurement per ``--ef-search`` value, the first
    value reaching recall@200 >= 0.98 (else the last) is the size's row."""
    from ranking.base import ScorerRanker
    from ranking.baselines import Popularity

    t = time.perf_counter()
    synth = synthesize(base, base_vecs, n, args.seed)
    log.warning("size %d: generated in %.1f s; building (%s ingest)", n, time.perf_counter() - t, args.ingest)
    built = build(args, synth, work / str(n), encoder)
    index, server = built.pop("index"), built.pop("server")
    ranker = ScorerRanker(Popularity(synth.log_pop), synth.catalogue.ids, index.vectors(),
                          log_pop=synth.log_pop)  # fmt: skip
    sweep: list[dict[str, Any]] = []
    truth: dict = {}
    for i, vec in enumerate(vecs):  # exact answers first, outside the timed (locked) part
        truth[i, "unfiltered"] = exact_top(synth.vectors, vec, None, N)
        truth[i, "filtered"] = exact_top(synth.vectors, vec, index.mask(FILTER_SETS[i % len(FILTER_SETS)]), N)
    current = None if built.get("reused_build") else args.ef_search[0]  # reused: ef of an earlier sweep
    try:
        log.warning("size %d: built in %.1f s; querying", n, built["build_s"])
        for ef in args.ef_search:
            if ef != current:  # a running server keeps the loaded index's ef: restart it
                index._collection.modify(configuration={"hnsw": {"ef_search": ef}})
                server.stop()
                server = ChromaServer(server.path, server.log)
                config = _config(args, work / str(n) / "local", server.url).model_copy(
                    update={"ef_search": ef}
                )
                index = MovieIndex.open(
                    config, synth.catalogue, encoder, progress=False, vectors=synth.vectors
                )
                index.search_vector(vecs[0], None, (), N)
                current = ef
            with quiet(args.lock):
                figures = measure(synth, index, ranker, texts, vecs, truth, CpuClock(server))
            figures.update(ef_search=ef, load_avg=os.getloadavg(), server_peak_mb=server.peak_rss_mb())
            log.warning("size %d, ef_search %d: %s", n, ef, json.dumps(figures))
            sweep.append(figures)
    finally:
        server.stop()
    best = next((f for f in sweep if f["recall_at_200"] >= 0.98), sweep[-1])
    settings = {k: getattr(args, k) for k in ("ingest", "batch_size", "ef_construction", "m")}
    row = {"items": n, **built, **best, "settings": {**settings, "ef_search": best["ef_search"]}}
    keys = ("ef_search", "p95_ms", "recall_unfiltered", "recall_filtered", "retrieve_rerank_p95_ms",
            "unfiltered_cpu_ms", "filtered_cpu_ms", "retrieve_rerank_cpu_ms")  # fmt: skip
    row["ef_sweep"] = [{k: f[k] for k in keys} for f in sweep]
    log.warning("size %d: %s", n, json.dumps(row))
    return row


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    data = Path(os.environ.get("REELCHAT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    cache = Path(os.environ.get("REELCHAT_CACHE_DIR", Path.home() / ".cache" / "reelchat"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ingest", choices=("http", "persistent"), default="http")
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef-search", type=int, nargs="+", default=[1600],
                    help="measure at each (the collection is modified between)")  # fmt: skip
    ap.add_argument("--torch-threads", type=int, default=1, help="query encoding threads")
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ml-dir", type=Path, default=data / "ml-latest-small")
    ap.add_argument("--redial-dir", type=Path, default=data / "redial-ievalm")
    ap.add_argument("--embeddings-cache", type=Path, default=cache / "embeddings")
    ap.add_argument("--work-dir", type=Path, help="temp dirs for the Chroma folders go here")
    ap.add_argument("--keep", type=Path, help="build in DIR/SIZE and keep it; a later run reuses the build")
    ap.add_argument("--lock", type=Path, help="flock this file while timing queries (/tmp/quiet.lock)")
    ap.add_argument("--out-dir", type=Path, default=Path("out/scale"))
    ap.add_argument("--include", type=Path, nargs="*", default=[],
                    help="scale.json files of earlier runs: their sizes join the table and plot")  # fmt: skip
    ap.add_argument("--progress", action="store_true")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(args.torch_threads)  # 2 threads on 2 busy cores: 1.5 s per query, not 50 ms
    encoder = Encoder()
    base, base_vecs = base_set(args, encoder)
    texts = queries(args.queries)
    vecs = encoder.encode(texts)
    rows = []
    with contextlib.ExitStack() as stack:
        tmp = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.work_dir)))
        for n in args.items:
            rows.append(one_size(args, base, base_vecs, n, encoder, texts, vecs, tmp))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"scale-{'-'.join(map(str, args.items))}.json").write_text(json.dumps(rows, indent=1))
    for path in args.include:  # earlier runs (each row keeps its own settings)
        rows += [r for r in json.loads(path.read_text()) if r["items"] not in args.items]
    rows.sort(key=lambda r: r["items"])
    md = table(rows, args)
    (args.out_dir / "scale.md").write_text(md + "\n")
    print(md)
    print(plot(rows, args.out_dir / "scale.png"))
    keys = ("items", "build_s", "p95_ms", "recall_at_200", "turn_p95_ms")
    print(json.dumps({"sizes": [{**{k: r[k] for k in keys}, **r} for r in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
