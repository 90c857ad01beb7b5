"""Reports: a markdown file, a JSON file and PNG plots (matplotlib, Agg backend) per evaluation."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.evaluation.metrics import KS, summarise_recall
from agent.evaluation.redial import RedialResult
from agent.evaluation.scripts import ScriptResult
from agent.evaluation.scripts import summarise as summarise_scripts
from agent.evaluation.simulate import MAX_TURNS, Episode
from agent.evaluation.simulate import summarise as summarise_episodes


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    markdown: str
    data: Mapping[str, Any]
    latencies_ms: Sequence[float] = ()
    curves: Mapping[str, Sequence[float]] | None = None  # variant -> y at x = 1..n (recall@k by default)
    curve_axes: tuple[str, str] = ("k", "Recall@k (per target)")


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_plot(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _curves_plot(plt: Any, report: Report, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, ys in (report.curves or {}).items():
        ax.plot(range(1, len(ys) + 1), ys, label=name)
    ax.set(
        xlabel=report.curve_axes[0],
        ylabel=report.curve_axes[1],
        title=f"{report.name}: {report.curve_axes[1]}",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_plot(plt, fig, out / f"{report.name}_recall.png")


def _latency_plot(plt: Any, report: Report, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.hist(list(report.latencies_ms), bins=40)
    ax.set(xlabel="turn latency (ms)", ylabel="turns", title=f"{report.name}: turn latency")
    return _save_plot(plt, fig, out / f"{report.name}_latency.png")


def write_report(report: Report, out_dir: Path | str) -> list[Path]:
    """Write ``NAME.md``, ``NAME.json`` and the plots into ``out_dir``; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    plt = _pyplot()
    md = report.markdown
    if report.curves:
        paths.append(_curves_plot(plt, report, out))
        md += f"\n![{report.curve_axes[1]}]({paths[-1].name})\n"
    if report.latencies_ms:
        paths.append(_latency_plot(plt, report, out))
        md += f"\n![turn latency]({paths[-1].name})\n"
    (out / f"{report.name}.md").write_text(md, encoding="utf-8")
    (out / f"{report.name}.json").write_text(json.dumps(report.data, indent=2, default=str), encoding="utf-8")
    return [out / f"{report.name}.md", out / f"{report.name}.json", *paths]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _latency_line(lat: Sequence[float]) -> str:
    if not lat:
        return ""
    s = sorted(lat)
    p50, p95 = s[len(s) // 2], s[min(len(s) - 1, int(0.95 * len(s)))]
    return f"Turn latency: median {p50:.0f} ms, p95 {p95:.0f} ms over {len(s)} turns.\n"


def scripts_report(results: Sequence[ScriptResult]) -> Report:
    data = summarise_scripts(results)
    lines = [
        "# Scripted conversations\n",
        f"{data['scripts_passed']}/{data['scripts']} scripts and "
        f"{data['turns_passed']}/{data['turns']} turns pass.\n",
        "| script | result | failing turns |",
        "|---|---|---|",
    ]
    for r in results:
        bad = [f"{t.index}: {'; '.join(t.reasons)[:300]}" for t in r.turns if not t.passed]
        lines.append(f"| {r.script.name} | {'pass' if r.passed else 'FAIL'} | {' <br> '.join(bad) or ''} |")
    lat = [t.latency_ms for r in results for t in r.turns]
    md = "\n".join(lines) + "\n\n" + _latency_line(lat)
    return Report("scripts", md, data, lat)


def redial_report(result: RedialResult, notes: Mapping[str, Any] | None = None) -> Report:
    notes = dict(notes or {})
    head = "| variant | " + " | ".join(f"R@{k}" for k in KS) + " | " + " | ".join(f"turn R@{k}" for k in KS)
    head += " | " + " | ".join(f"hit@{k}" for k in KS) + " | leaks | errors | ms/turn |"
    first = next(iter(result.summaries.values()), summarise_recall([]))
    lines = [
        f"# ReDial replay ({result.half} half)\n",
        f"{result.turns} turns; {result.pairs_total} (turn, target) pairs, {result.pairs_mapped} mapped to "
        f"MovieLens (coverage {_pct(result.coverage)}%), {result.pairs_mentioned} dropped as the context "
        f"already mentions them. Scored over {first.pairs} pairs in {first.turns} turns.\n",
        "R@k: per (turn, target) pair, % of targets in the top k. turn R@k: per turn, % of its targets in "
        "the top k, averaged over turns with a target. hit@k: % of turns with any target in the top k. "
        "Movies mentioned in the context are never scored (leaks: turns where a variant returned one; "
        "they are filtered before scoring).\n",
        head,
        "|---" * (2 + 3 * len(KS) + 2) + "|",
    ]
    for name, s in result.summaries.items():
        lat = result.latencies_ms[name]
        cells = [_pct(s.pair_recall[k]) for k in KS] + [_pct(s.turn_recall[k]) for k in KS]
        cells += [_pct(s.turn_hit[k]) for k in KS]
        ms = sum(lat) / len(lat) if lat else 0.0
        lines.append(
            f"| {name} | {' | '.join(cells)} | {result.leaks[name]} | {result.failures[name]} | {ms:.0f} |"
        )
    if notes:
        lines.append("\nNotes: " + "; ".join(f"{k} = {v}" for k, v in notes.items()) + "\n")
    lat = result.latencies_ms.get("agent") or next(iter(result.latencies_ms.values()), [])
    md = "\n".join(lines) + "\n\n" + _latency_line(lat)
    return Report("redial", md, {**result.as_dict(), "notes": notes}, lat, result.curves)


def simulate_report(
    episodes: Mapping[str, Sequence[Episode]], note: str = "", seed: int = 0, examples: int = 3
) -> Report:
    lines = [
        "# Simulated users\n",
        f"Seed {seed}. Each user hides a target among their positives, opens with 2–3 liked movies and the "
        f"target's genres, decade and a tag, and critiques each miss, for at most {MAX_TURNS} turns. "
        f"success@k: target in a reply's top k; avg turns: turns until the target shows in the top 5 "
        f"(a failure counts {MAX_TURNS + 1}).\n",
        note + "\n" if note else "",
        "| variant | users | success@1 | success@5 | avg turns | ms/turn |",
        "|---|---|---|---|---|---|",
    ]
    data: dict[str, Any] = {"seed": seed, "note": note, "variants": {}}
    lat_all: list[float] = []
    for name, eps in episodes.items():
        s = summarise_episodes(eps)
        lines.append(
            f"| {name} | {s.users} | {_pct(s.success_at1)} | {_pct(s.success_at5)} | {s.avg_turns:.2f} | "
            f"{s.latency_ms_mean:.0f} |"
        )
        data["variants"][name] = {
            **s.as_dict(),
            "episodes": [
                {
                    "user": e.user_id,
                    "target": e.target,
                    "rank": e.rank,
                    "turns": e.turns,
                    "messages": list(e.messages),
                }
                for e in eps
            ],
        }
        if name == "agent" or not lat_all:
            lat_all = [x for e in eps for x in e.latencies_ms]
    first = next(iter(episodes.values()), [])
    if first:
        lines.append("\nExample conversations (first variant):\n")
        for e in first[:examples]:
            lines.append(f"- user {e.user_id}, target {e.target}, rank {e.rank}: " + " → ".join(e.messages))
    md = "\n".join(lines) + "\n\n" + _latency_line(lat_all)
    curves = {
        name: [
            sum(e.success_at5 and e.turns <= t for e in eps) / max(len(eps), 1)
            for t in range(1, MAX_TURNS + 1)
        ]
        for name, eps in episodes.items()
    }
    return Report("simulate", md, data, lat_all, curves, ("turn", "success@5 within t turns"))
