"""Runs ``reelchat eval explanations``: builds the explainers, explains the cases, writes the report.

``DIR/explanations.json`` maps each explainer's name to its figures (``unsupported_rate``,
``evidence_rate``, ``second_person_rate``, ``p50_ms`` and more) and ``default`` to the shipped one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.evaluation.claim_audit import ClaimAuditor
from agent.evaluation.explanations import (
    DEFAULT_N,
    SCRIPTED_SHARE,
    build_cases,
    figures,
    redial_requests,
    run_explainer,
    scripted_requests,
)
from agent.evaluation.report import Report, write_report
from agent.explain.choice import EXPLAINER_NAMES, build_explainer, needs_llm
from agent.explain.explainer import Explainer

log = logging.getLogger(__name__)

_COLUMNS = (
    ("unsupported_rate", "unsupported %"),
    ("rejected_rate", "rejected→template %"),
    ("evidence_rate", "evidence %"),
    ("second_person_rate", "2nd person %"),
    ("shared_6gram_rate", "share with a shared 6-gram %"),
    ("top_6gram_share", "top 6-gram %"),
)


def make_explainers(app: Any, llm: str, names: Sequence[str]) -> tuple[dict[str, Explainer], dict[str, str]]:
    """The explainers called ``names``, over the chat model ``llm`` (loaded once, only when needed);
    with the reason for each one that could not be built."""
    from agent.explain.llm import LLMUnavailable, build_chat_model, parse_llm_spec

    built: dict[str, Explainer] = {}
    missing: dict[str, str] = {}
    model = None
    if any(needs_llm(n) for n in names):
        settings = app.resources.settings
        try:
            model = build_chat_model(
                parse_llm_spec(llm), cache_dir=settings.cache_dir, device=settings.device
            )
        except (LLMUnavailable, ValueError) as err:
            log.warning("LLM %s unavailable: %s", llm, err)
            missing.update({n: f"LLM unavailable: {err}" for n in names if needs_llm(n)})
    timeout = app.resources.settings.llm_timeout_s
    for name in names:
        if needs_llm(name) and model is None:
            missing.setdefault(name, f"no LLM ({llm})")
            continue
        built[name] = build_explainer(name, model, app.catalogue, timeout)
    return built, missing


def merged_rows(folders: Sequence[Path], n: int, skip: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Explainer rows from earlier reports over the same ``n`` requests (not those in ``skip``)."""
    rows: dict[str, dict[str, Any]] = {}
    for folder in folders:
        data = json.loads((Path(folder) / "explanations.json").read_text(encoding="utf-8"))
        if data.get("notes", {}).get("n") != n:
            raise ValueError(f"{folder}: its report is over another --n, not {n}")
        for name, row in data.items():
            if isinstance(row, dict) and "unsupported_rate" in row and name not in skip:
                rows[name] = row
    return rows


def explanations_report(
    results: Mapping[str, dict[str, Any]], default: str, notes: Mapping[str, Any]
) -> Report:
    """The side-by-side table (markdown) and every figure (JSON)."""
    head = "| explainer | " + " | ".join(c for _, c in _COLUMNS) + " | distinct 3-grams | p50 ms | p95 ms |"
    lines = [
        "# Explanations, side by side",
        "",
        f"{notes['cases']} picks from {notes['requests']} requests ({notes['scripted']} scripted, "
        f"{notes['redial']} ReDial dev tune-half turns); LLM: `{notes['llm']}`. Claims are checked by the "
        "independent catalogue audit (`agent/evaluation/claim_audit.py`). Default explainer: "
        f"**{default}**.",
        "",
        head,
        "|" + "---|" * (len(_COLUMNS) + 4),
    ]
    for name, f in results.items():
        cells = " | ".join(f"{100 * f[k]:.1f}" for k, _ in _COLUMNS)
        mark = f"**{name}**" if name == default else name
        lines.append(f"| {mark} | {cells} | {f['distinct_3grams']} | {f['p50_ms']:.0f} | {f['p95_ms']:.0f} |")
    for name, why in notes.get("missing", {}).items():
        lines.append(f"| {name} | not run: {why} |")
    for name, f in results.items():
        lines += ["", f"## {name}", "", f"Unsupported by kind: {f['unsupported_by_kind'] or 'none'}; "
                  f"rejected by the grounding filter: {f['rejected_reasons'] or 'none'}; "
                  f"most shared 6-gram: \"{f['top_6gram']}\".", "", "Examples:", ""]  # fmt: skip
        lines += [f"- {t}" for t in f["examples"]]
        if f["unsupported_examples"]:
            lines += ["", "Unsupported:", ""]
            lines += [f"- {b['text']} — *{'; '.join(b['unsupported'])}*" for b in f["unsupported_examples"]]
    data = {**results, "default": default, "notes": dict(notes)}
    return Report("explanations", "\n".join(lines) + "\n", data)


def eval_explanations(
    app: Any,
    settings: Any,
    out: Path,
    n: int = DEFAULT_N,
    names: Sequence[str] = EXPLAINER_NAMES,
    progress: bool = True,
    merge: Sequence[Path] = (),
) -> int:
    """Explain ``n`` requests' picks with each explainer in ``names``; write the report into ``out``.
    Rows of other explainers in the reports under ``merge`` (run with the same ``n``) join the table."""
    t0 = time.perf_counter()
    turns = Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    redial = redial_requests(turns, n - round(n * SCRIPTED_SHARE)) if turns.is_file() else []
    requests = scripted_requests(app.catalogue, n - len(redial)) + redial
    cases = build_cases(app, requests)
    llm = settings.llm if settings.llm != "none" else "smollm2"
    explainers, missing = make_explainers(app, llm, names)
    auditor = ClaimAuditor(app.catalogue)
    results = {
        name: figures(run_explainer(name, ex, cases, progress), cases, auditor)
        for name, ex in explainers.items()
    }
    merged = merged_rows(merge, n, skip=results)
    results.update(merged)
    default = str(getattr(settings, "explainer", "templates"))
    notes = {
        "n": n,
        "requests": len(requests),
        "scripted": sum(r.source == "scripted" for r in requests),
        "redial": sum(r.source == "redial" for r in requests),
        "cases": len(cases),
        "llm": llm,
        "missing": {k: v for k, v in missing.items() if k not in merged},
        "merged_from": [str(p) for p in merge],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    report = explanations_report(results, default, notes)
    print("wrote " + ", ".join(str(p) for p in write_report(report, out)))
    for name, f in results.items():
        print(
            f"{name:14s} unsupported {f['unsupported_rate']:.3f}  rejected {f['rejected_rate']:.3f}  "
            f"evidence {f['evidence_rate']:.3f}  2nd person {f['second_person_rate']:.3f}  "
            f"top 6-gram {f['top_6gram_share']:.3f}  p50 {f['p50_ms']:.0f} ms"
        )
    for name, why in missing.items():
        print(f"{name:14s} not run: {why}")
    return 0


__all__ = ["eval_explanations", "explanations_report", "make_explainers"]
