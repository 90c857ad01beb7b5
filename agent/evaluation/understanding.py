"""``reelchat eval understanding``: the labelled corpus read by the product's understanding.

Each case's messages go through :meth:`TurnEngine.absorb` on a fresh state (the ids in ``shown`` are put in
front of the user between messages); the state after the last message is compared with ``expect``.
Scores: exact match per case (every field equal); per field, precision and recall over items (a movie, a
genre, or a scalar value such as ``year_min``: a wrong value is one false positive and one false negative);
the act confusion matrix (expected → read); every failure with its differing fields.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.evaluation.corpus import EXPECT_FIELDS, CorpusCase, load_corpus
from agent.evaluation.report import Report
from agent.understanding.deltas import ACTS
from agent.understanding.state import DEFAULT_K, SessionState
from retrieval.catalogue import Catalogue

LIST_FIELDS = ("liked", "disliked", "seen", "genres_required", "genres_excluded", "genres_liked")


class Absorber(Protocol):
    """What the evaluation needs from :class:`agent.conversation.engine.TurnEngine`."""

    @property
    def catalogue(self) -> Catalogue: ...

    def absorb(self, state: SessionState, text: str, *, groups: bool = True) -> Any: ...


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: the expected and the read values per field, and the time per message."""

    case: CorpusCase
    got: Mapping[str, Any]
    want: Mapping[str, Any]
    ms_per_message: float

    @property
    def diff(self) -> tuple[str, ...]:
        return tuple(f for f in EXPECT_FIELDS if self.got[f] != self.want[f])

    @property
    def passed(self) -> bool:
        return not self.diff


def _norm_list(field: str, values: Sequence[Any]) -> tuple[str, ...]:
    if field in ("liked", "disliked", "seen"):
        return tuple(sorted(" ".join(str(v).casefold().split()) for v in values))
    return tuple(sorted(str(v) for v in values))


def expected(case: CorpusCase) -> dict[str, Any]:
    """``case.expect`` normalised: lists sorted, movie labels case-folded, k's default as None."""
    e = case.expect
    out: dict[str, Any] = {f: _norm_list(f, e.get(f) or ()) for f in LIST_FIELDS}
    out["act"] = str(e.get("act") or "recommend")
    out["year_min"], out["year_max"] = e.get("year_min"), e.get("year_max")
    k = e.get("k")
    out["k"] = None if k in (None, DEFAULT_K) else int(k)
    return out


def read_case(engine: Absorber, case: CorpusCase) -> CaseResult:
    """Play ``case`` through ``engine`` and read the state after its last message."""
    state = SessionState()
    act = "recommend"
    t0 = time.perf_counter()
    for i, message in enumerate(case.messages):
        act = engine.absorb(state, message).understanding.act
        if i < len(case.messages) - 1 and i < len(case.shown):
            state.show(m for m in case.shown[i] if m in engine.catalogue)
    ms = (time.perf_counter() - t0) * 1000.0 / max(1, len(case.messages))
    q = state.query()
    label = engine.catalogue.get
    got: dict[str, Any] = {
        "act": act,
        "liked": _norm_list("liked", [label(m).label for m in q.liked]),
        "disliked": _norm_list("disliked", [label(m).label for m in q.disliked]),
        "seen": _norm_list("seen", [label(m).label for m in q.seen]),
        "genres_required": _norm_list("g", q.genres_required),
        "genres_excluded": _norm_list("g", q.genres_excluded),
        "genres_liked": _norm_list("g", q.genres_liked),
        "year_min": q.year_min,
        "year_max": q.year_max,
        "k": None if q.k == DEFAULT_K else q.k,
    }
    return CaseResult(case, got, expected(case), ms)


def _items(field: str, value: Any) -> Counter[str]:
    if field in LIST_FIELDS:
        return Counter(value)
    return Counter() if value is None else Counter([str(value)])


def field_scores(results: Sequence[CaseResult]) -> dict[str, dict[str, float | int]]:
    """Per field: true positives, false positives, false negatives, precision and recall (1.0 when a
    field never occurs on that side)."""
    out: dict[str, dict[str, float | int]] = {}
    for f in EXPECT_FIELDS:
        tp = fp = fn = 0
        for r in results:
            got, want = _items(f, r.got[f]), _items(f, r.want[f])
            hit = sum((got & want).values())
            tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(want.values()) - hit
        out[f] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
        }
    return out


def act_confusion(results: Sequence[CaseResult]) -> dict[str, dict[str, int]]:
    """Expected act → read act → cases."""
    table: dict[str, dict[str, int]] = {a: dict.fromkeys(ACTS, 0) for a in ACTS}
    for r in results:
        table.setdefault(r.want["act"], dict.fromkeys(ACTS, 0))
        table[r.want["act"]][r.got["act"]] = table[r.want["act"]].get(r.got["act"], 0) + 1
    return table


def evaluate(
    engine: Absorber, root: Path | str | None = None, data_dir: Path | None = None, limit: int = 0
) -> Report:
    """Read every runnable case of the corpus (``limit`` > 0: that many, evenly spread) and build the
    ``understanding`` report."""
    cases = load_corpus(root, data_dir) if root is not None else load_corpus(data_dir=data_dir)
    runnable = [c for c in cases if not c.skip]
    if 0 < limit < len(runnable):
        runnable = [runnable[i * len(runnable) // limit] for i in range(limit)]
    results = [read_case(engine, c) for c in runnable]
    return build_report(results, skipped=len(cases) - len(runnable))


def _p95(values: Sequence[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(0.95 * len(s)))] if s else 0.0


def _family_rates(results: Sequence[CaseResult]) -> dict[str, dict[str, float | int]]:
    fams: dict[str, list[CaseResult]] = {}
    for r in results:
        fams.setdefault(r.case.family, []).append(r)
    return {
        f: {"cases": len(rs), "exact_match": sum(r.passed for r in rs) / len(rs)}
        for f, rs in sorted(fams.items())
    }


def build_report(results: Sequence[CaseResult], skipped: int = 0) -> Report:
    """The report: JSON with top-level ``n_cases`` and ``exact_match`` (0–1), and its Markdown."""
    n = len(results)
    exact = sum(r.passed for r in results) / n if n else 0.0
    fields = field_scores(results)
    confusion = act_confusion(results)
    failures = [
        {
            "id": r.case.id,
            "family": r.case.family,
            "messages": list(r.case.messages),
            "diff": {f: {"expected": r.want[f], "read": r.got[f]} for f in r.diff},
        }
        for r in results
        if not r.passed
    ]
    latencies = [r.ms_per_message for r in results]
    data = {
        "n_cases": n,
        "exact_match": exact,
        "skipped": skipped,
        "fields": fields,
        "families": _family_rates(results),
        "act_confusion": confusion,
        "p95_ms_per_message": _p95(latencies),
        "failures": failures,
    }
    return Report("understanding", _markdown(data), data, latencies)


def _markdown(data: Mapping[str, Any]) -> str:
    lines = [
        "# Understanding corpus",
        "",
        f"{data['n_cases']} cases ({data['skipped']} skipped: their real messages need the data folder). "
        f"Exact match (every field of the state equal): **{data['exact_match']:.1%}**. "
        f"p95 {data['p95_ms_per_message']:.1f} ms per message.",
        "",
        "## Per field",
        "",
        "Items: a movie, a genre, or one scalar value (a wrong year is one false positive and one false "
        "negative).",
        "",
        "| field | precision | recall | tp | fp | fn |",
        "|---|---|---|---|---|---|",
    ]
    for f, s in data["fields"].items():
        lines.append(
            f"| {f} | {s['precision']:.3f} | {s['recall']:.3f} | {s['tp']} | {s['fp']} | {s['fn']} |"
        )
    lines += ["", "## Per family", "", "| family | cases | exact match |", "|---|---|---|"]
    for f, s in data["families"].items():
        lines.append(f"| {f} | {s['cases']} | {s['exact_match']:.1%} |")
    acts = list(data["act_confusion"])
    lines += ["", "## Acts (rows expected, columns read)", "", "| | " + " | ".join(acts) + " |"]
    lines.append("|---" * (len(acts) + 1) + "|")
    for a, row in data["act_confusion"].items():
        lines.append(f"| {a} | " + " | ".join(str(row.get(b, 0)) for b in acts) + " |")
    lines += ["", f"## Failures ({len(data['failures'])})", ""]
    for fl in data["failures"]:
        diff = "; ".join(f"{k}: expected {v['expected']}, read {v['read']}" for k, v in fl["diff"].items())
        lines.append(f"- `{fl['id']}` {' / '.join(repr(m[:80]) for m in fl['messages'])} — {diff}")
    return "\n".join(lines) + "\n"
