"""The growth table (markdown) and log-log plot of ``bench/scale.py``'s rows."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The growth table (markdown), one row per size with the settings it ran under."""
    head = (
        "| items | build s | items/s | build peak MiB | server peak MiB | unfiltered p50/p95 ms "
        "| filtered p50/p95 ms | recall@200 unfilt./filt. | retrieve+rerank p50/p95 ms "
        "| turn p95 ms (+ encoding) | CPU ms/query unfilt./filt./retr.+rerank | filtered strategies "
        "| M/efC/efS, ingest | load avg (1 min) |"
    )
    lines = [
        f"{args.queries} queries per size, n=200; synthetic vectors = real all-MiniLM-L6-v2 vectors of "
        f"ml-latest-small mixed pairwise plus Gaussian noise (bench/scale_data.py).",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in rows:
        st = r.get("settings", {})
        lines.append(
            f"| {r['items']:,} | {r['build_s']} | {r['ingest_items_per_s']} | {r['build_peak_mb']} "
            f"| {r['server_peak_mb']} | {r['unfiltered_p50_ms']} / {r['unfiltered_p95_ms']} "
            f"| {r['filtered_p50_ms']} / {r['filtered_p95_ms']} "
            f"| {r['recall_unfiltered']} / {r['recall_filtered']} "
            f"| {r['retrieve_rerank_p50_ms']} / {r['retrieve_rerank_p95_ms']} | {r['turn_p95_ms']} "
            f"| {r.get('unfiltered_cpu_ms')} / {r.get('filtered_cpu_ms')} "
            f"/ {r.get('retrieve_rerank_cpu_ms')} "
            f"| {r['strategies']} | {st.get('m')}/{st.get('ef_construction')}/{st.get('ef_search')}, "
            f"{st.get('ingest')} | {round(r.get('load_avg', [float('nan')])[0], 2)} |"
        )
    big = rows[-1]
    if big.get("per_filter"):
        lines += [
            "",
            f"Filters at {big['items']:,} items (ef_search {big['ef_search']}), 1 in 12 queries each:",
            "",
        ]
        lines += ["| filters | admitted share | strategies | p50 ms | max ms |", "|---|---|---|---|---|"]
        lines += [
            f"| `{f['filters']}` | {f['admitted_share']} | {', '.join(f['strategies'])} | {f['p50_ms']} "
            f"| {f['max_ms']} |"
            for f in big["per_filter"]
        ]
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> str:
    """Log-log plot of p95 latencies against catalogue size, with a linear-growth guide."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot"
    x = [r["items"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("unfiltered_p95_ms", "unfiltered p95"), ("filtered_p95_ms", "filtered p95"),
                       ("retrieve_rerank_p95_ms", "retrieve+rerank p95"),
                       ("turn_p95_ms", "encode+retrieve+rerank p95"),
                       ("retrieve_rerank_cpu_ms", "retrieve+rerank mean CPU")):  # fmt: skip
        ax.plot(x, [r.get(key, float("nan")) for r in rows], marker="o", label=label)
    first = rows[0]["retrieve_rerank_p95_ms"]
    ax.plot(x, [first * xi / x[0] for xi in x], "k:", label="linear growth")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("catalogue size (synthetic movies)")
    ax.set_ylabel("ms")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
