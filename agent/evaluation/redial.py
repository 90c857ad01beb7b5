"""ReDial replay: feed each dev turn's context to a recommender, score its top 50 against the turn's targets.

Titles ("Title (Year)") map to MovieLens ids through id2info.json's IMDb ids (joined with the catalogue's
links.csv IMDb ids), falling back to a normalised title + year match. Movies mentioned in the context are
removed from the targets and must never be scored as recommendations. Dialogues are split into a tuning half
and a report half by a hash of ``dialog_id``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm.auto import tqdm

from agent.evaluation.metrics import RecallSummary, recall_curve, summarise_recall
from retrieval.catalogue import Catalogue

Half = Literal["tune", "report"]
_LABEL = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(the|a|an)\s+|,\s*(the|a|an)$")


@dataclass(frozen=True, slots=True)
class RedialTurn:
    dialog_id: str
    turn_id: int
    context: tuple[str, ...]  # alternating user / assistant, starting with the user
    entity: tuple[str, ...]  # entities mentioned in the context (movies as "Title (Year)")
    rec: tuple[str, ...]  # the movies the human recommender named in the response

    @property
    def half(self) -> Half:
        return half_of(self.dialog_id)

    @property
    def messages(self) -> list[dict[str, str]]:
        return context_messages(self.context)


def load_turns(path: Path | str) -> list[RedialTurn]:
    """Turns of a ReDial-iEvalM jsonl file."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append(
                    RedialTurn(
                        str(d["dialog_id"]),
                        int(d["turn_id"]),
                        tuple(str(x) for x in d.get("context") or ()),
                        tuple(str(x) for x in d.get("entity") or ()),
                        tuple(str(x) for x in d.get("rec") or ()),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}:{n}: not a ReDial turn ({err})") from err
    return out


def half_of(dialog_id: str) -> Half:
    """Fixed half of a dialogue: low bit of the first sha256 byte of its id (1 = report)."""
    return "report" if hashlib.sha256(str(dialog_id).encode()).digest()[0] & 1 else "tune"


def split_turns(turns: Iterable[RedialTurn]) -> tuple[list[RedialTurn], list[RedialTurn]]:
    """(tune, report) halves; every turn of a dialogue lands in the same half."""
    tune: list[RedialTurn] = []
    report: list[RedialTurn] = []
    for t in turns:
        (report if t.half == "report" else tune).append(t)
    return tune, report


def context_messages(context: Sequence[str]) -> list[dict[str, str]]:
    """Chat messages from an alternating context; an empty first (user) utterance is a placeholder."""
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(context)]
    if msgs and not msgs[0]["content"].strip():
        msgs = msgs[1:]
    return msgs


def normalise_title(title: str) -> str:
    """Case, accents, punctuation and leading/trailing articles folded away."""
    t = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().casefold().strip()
    t = _ARTICLE.sub("", t)
    t = t.replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", t).split())


def split_label(label: str) -> tuple[str, int | None]:
    """("Title", year) from "Title (Year)"; year None when absent."""
    m = _LABEL.match(label.strip())
    return (m.group("title"), int(m.group("year"))) if m else (label.strip(), None)


class TitleMapper:
    """ReDial "Title (Year)" → MovieLens movieId (IMDb id first, then normalised title + year)."""

    def __init__(self, catalogue: Catalogue, id2info: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        by_imdb = {m.imdb_id: m.movie_id for m in catalogue if m.imdb_id}
        self._by_name: dict[str, int] = {}
        for entry in (id2info or {}).values():
            name, imdb = str(entry.get("name") or "").strip(), str(entry.get("imdb_id") or "").strip()
            m = re.fullmatch(r"tt(\d+)", imdb)
            mid = by_imdb.get(f"tt{int(m.group(1)):07d}") if m else None
            if name and mid is not None:
                self._by_name.setdefault(name, mid)
        self._by_title: dict[tuple[str, int | None], set[int]] = {}
        for movie in catalogue:
            self._by_title.setdefault((normalise_title(movie.title), movie.year), set()).add(movie.movie_id)
        self.via: Counter[str] = Counter()

    @classmethod
    def from_path(cls, catalogue: Catalogue, id2info: Path | str | None) -> TitleMapper:
        info = json.loads(Path(id2info).read_text(encoding="utf-8")) if id2info else None
        return cls(catalogue, info)

    def map(self, label: str) -> int | None:
        """The movieId of a ReDial title, None when it is not (unambiguously) in the catalogue."""
        label = label.strip()
        if label in self._by_name:
            self.via["imdb"] += 1
            return self._by_name[label]
        title, year = split_label(label)
        ids = self._by_title.get((normalise_title(title), year), set())
        if year is not None and not ids:  # ReDial and MovieLens years differ by one for some releases
            near = [self._by_title.get((normalise_title(title), year + d), set()) for d in (-1, 1)]
            ids = near[0] | near[1]
        if len(ids) == 1:
            self.via["title"] += 1
            return next(iter(ids))
        self.via["unmapped"] += 1
        return None


def mentioned_ids(turn: RedialTurn, mapper: TitleMapper) -> frozenset[int]:
    """Movies (dated entities) mentioned anywhere in the context, mapped to the catalogue."""
    out = set()
    for e in turn.entity:
        if split_label(e)[1] is not None and (mid := mapper.map(e)) is not None:
            out.add(mid)
    return frozenset(out)


def user_text(turn: RedialTurn, max_chars: int = 1000) -> str:
    """The user's utterances with movie titles removed (the last ``max_chars`` characters)."""
    text = " ".join(m["content"] for m in turn.messages if m["role"] == "user")
    for e in sorted(turn.entity, key=len, reverse=True):
        if split_label(e)[1] is not None:
            text = text.replace(e, " ")
    return " ".join(text.split())[-max_chars:]


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
