"""ReDial replay: feed each dev turn's context to a recommender, score its top 50 against the turn's targets.

Movies mentioned in the context are removed from the targets and must never be scored as recommendations.
The data loaders and the title mapping live in :mod:`retrieval.redial`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from agent.evaluation.metrics import RecallSummary, recall_curve, summarise_recall
from retrieval.redial import RedialTurn, TitleMapper, mentioned_ids, user_text


def recommendation_prior(
    turns: Iterable[RedialTurn], mapper: TitleMapper, *, tune_only: bool = True
) -> dict[int, int]:
    """movieId → how often ReDial recommenders named it in ``turns`` (the tune half; checked by default)."""
    counts: Counter[int] = Counter()
    for t in turns:
        if tune_only and t.half != "tune":
            raise ValueError(
                f"dialogue {t.dialog_id} is in the report half; the prior must use the tune half"
            )
        for label in set(t.rec):
            if (mid := mapper.map(label)) is not None:
                counts[mid] += 1
    return dict(counts)


@dataclass(frozen=True, slots=True)
class TurnInput:
    """What a variant sees for one turn."""

    turn: RedialTurn
    messages: tuple[Mapping[str, str], ...]
    mentioned: frozenset[int]
    text: str


Variant = Callable[[TurnInput], Sequence[int]]


class LeakageError(AssertionError):
    """A scored list contains a movie mentioned in the context, or a target was mentioned."""


@dataclass(frozen=True)
class RedialResult:
    half: str
    k: int
    turns: int  # turns replayed
    pairs_total: int  # (turn, rec title) pairs
    pairs_mapped: int  # ... whose title maps to a catalogue movie
    pairs_mentioned: int  # ... mapped but mentioned in the context (dropped from the targets)
    summaries: Mapping[str, RecallSummary]
    curves: Mapping[str, list[float]]
    latencies_ms: Mapping[str, list[float]]
    leaks: Mapping[str, int]  # turns in which the variant returned a mentioned movie (filtered out)
    failures: Mapping[str, int]  # turns in which the variant raised (scored as an empty list)
    mapped_via: Mapping[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return self.pairs_mapped / self.pairs_total if self.pairs_total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "half": self.half,
            "k": self.k,
            "turns": self.turns,
            "pairs_total": self.pairs_total,
            "pairs_mapped": self.pairs_mapped,
            "pairs_mentioned": self.pairs_mentioned,
            "coverage": self.coverage,
            "mapped_via": dict(self.mapped_via),
            "variants": {
                name: {
                    **s.as_dict(),
                    "leaks": self.leaks[name],
                    "failures": self.failures[name],
                    "latency_ms_mean": _mean(self.latencies_ms[name]),
                    "recall_curve": self.curves[name],
                }
                for name, s in self.summaries.items()
            },
        }


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def replay(
    turns: Sequence[RedialTurn],
    variants: Mapping[str, Variant],
    mapper: TitleMapper,
    *,
    k: int = 50,
    half: str = "report",
    progress: bool = True,
) -> RedialResult:
    """Run every variant on every turn and score the top ``k`` (mentioned movies filtered and asserted)."""
    runs: dict[str, list[tuple[list[int], frozenset[int]]]] = {v: [] for v in variants}
    lat: dict[str, list[float]] = {v: [] for v in variants}
    leaks = dict.fromkeys(variants, 0)
    failures = dict.fromkeys(variants, 0)
    total = mapped = mentioned_pairs = 0
    for turn in tqdm(turns, desc=f"ReDial {half}", unit="turn", disable=not progress):
        mentioned = mentioned_ids(turn, mapper)
        ids = [mapper.map(r) for r in dict.fromkeys(turn.rec)]
        total += len(ids)
        hits = {m for m in ids if m is not None}
        mapped += sum(m is not None for m in ids)
        mentioned_pairs += sum(m is not None and m in mentioned for m in ids)
        targets = frozenset(hits - mentioned)
        if targets & mentioned:
            raise LeakageError(f"turn {turn.dialog_id}/{turn.turn_id}: a target is a mentioned movie")
        inp = TurnInput(turn, tuple(turn.messages), mentioned, user_text(turn))
        for name, fn in variants.items():
            t0 = time.perf_counter()
            try:
                ranked = [int(x) for x in fn(inp)]
            except Exception:
                failures[name] += 1
                ranked = []
            lat[name].append((time.perf_counter() - t0) * 1000.0)
            if any(m in mentioned for m in ranked):
                leaks[name] += 1
            scored = list(dict.fromkeys(m for m in ranked if m not in mentioned))[:k]
            if set(scored) & mentioned:
                raise LeakageError(f"{name}: mentioned movie scored in turn {turn.dialog_id}/{turn.turn_id}")
            runs[name].append((scored, targets))
    return RedialResult(
        half=half,
        k=k,
        turns=len(turns),
        pairs_total=total,
        pairs_mapped=mapped,
        pairs_mentioned=mentioned_pairs,
        summaries={v: summarise_recall(r) for v, r in runs.items()},
        curves={v: recall_curve(r, k) for v, r in runs.items()},
        latencies_ms=lat,
        leaks=leaks,
        failures=failures,
        mapped_via=dict(mapper.via),
    )
