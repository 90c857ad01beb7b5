"""``reelchat eval critiques``: do critiques move the next picks the way the user asked?

Each of 30 starting conversations (one message: a title, a genre, a period...) gets its first picks;
then, from that same state, each of the 8 directions is asked with one of its phrasings ("something
funnier", "darker please"...), and the next picks are compared with the shown ones. A neutral follow-up
("show me more") from the same state is the control: how often picks "move" without being asked to.

Two statistics per direction:

- **axis** (:mod:`agent.understanding.directions`): a pick moves when its axis value (genres and tags,
  year, or log rating count) lies beyond the shown picks' mean. The pipeline orders candidates by this
  same axis ("movers first"), so this share is partly circular: it shows that the picks moved along the
  axis we defined, not that people would agree they are funnier.
- **text** (independent of the ordering; for the 5 mood directions): a pick moves when its catalogue
  embedding (MiniLM over its document) is closer to a description of the asked direction, relative to its
  opposite, than the shown picks' mean. The ordering never reads it; the critique's retrieval words feed
  the ranker's text similarity, though, so it is not fully independent either. Years and rating counts
  have no second source: the year *is* what "more recent" asks about.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.evaluation.report import Report
from agent.understanding.deltas import Critique
from agent.understanding.directions import moves, reference
from agent.understanding.state import SessionState

#: (phrasings, text anchor towards, text anchor away) per benchmarked direction.
DIRECTIONS: dict[Critique, tuple[tuple[str, ...], str, str]] = {
    Critique.FUNNIER: (
        ("something funnier", "funnier please", "can you make them funnier?"),
        "a hilarious comedy full of jokes and laughs",
        "a serious, sombre film with no humour",
    ),
    Critique.DARKER: (
        ("something darker", "darker please", "these are too light, go darker"),
        "a bleak, disturbing, grim film about death and crime",
        "a cheerful, feel-good, light-hearted family film",
    ),
    Critique.LIGHTER: (
        ("something lighter", "lighter please", "these are too dark, something less heavy"),
        "a cheerful, feel-good, light-hearted family film",
        "a bleak, disturbing, grim film about death and crime",
    ),
    Critique.LESS_VIOLENT: (
        ("less violent please", "something less violent", "these are too violent"),
        "a gentle, peaceful film without any fighting or bloodshed",
        "a brutal film full of fights, shootings, killing and blood",
    ),
    Critique.MORE_ROMANTIC: (
        ("something more romantic", "more romantic please", "not romantic enough, more romance"),
        "a love story about a couple falling in love",
        "a film with no love story or romance at all",
    ),
    Critique.MORE_RECENT: (("something more recent", "newer ones please", "these are too old"), "", ""),
    Critique.OLDER: (("something older", "older ones please", "these are too new, more classic"), "", ""),
    Critique.LESS_POPULAR: (
        ("something less famous", "lesser-known ones please", "these are too mainstream, hidden gems"),
        "",
        "",
    ),
}
NEUTRAL = "show me some more"
#: Starting conversations: one message each, over titles, genres, periods and moods.
STARTS: tuple[str, ...] = (
    "movies like Toy Story",
    "I loved The Godfather",
    "a thriller from the 90s",
    "something like Pulp Fiction",
    "I want a romantic comedy",
    "recommend an action movie",
    "I liked Alien and Aliens",
    "a good drama",
    "movies like The Notebook",
    "a war film",
    "I enjoyed Finding Nemo",
    "sci-fi like The Matrix",
    "a horror movie",
    "something like Amelie",
    "a crime film from the 70s",
    "I love westerns",
    "a mystery",
    "movies like Inception",
    "animated movies",
    "I liked Titanic",
    "a musical",
    "a fantasy adventure",
    "movies like Die Hard",
    "something like Forrest Gump",
    "I liked Se7en and Fight Club",
    "a family movie",
    "movies like Groundhog Day",
    "an 80s adventure",
    "I liked The Shawshank Redemption",
    "something like Shrek",
)
TARGET = 0.8


@dataclass(frozen=True, slots=True)
class Step:
    """One critique from one start: the shown picks and the next picks."""

    start: str
    message: str
    direction: Critique | None  # None for the neutral control
    shown: tuple[int, ...]
    picks: tuple[int, ...]


def run_steps(engine: Any, starts: Sequence[str] = STARTS, k: int = 5) -> list[Step]:
    """Play every start, then every direction (and the neutral control) from its state."""
    steps: list[Step] = []
    for i, start in enumerate(starts):
        base = SessionState()
        engine.absorb(base, start, groups=False)
        shown = tuple(m for m, _ in engine.recommend(base, k).picks)
        base.show(shown)
        asks: list[tuple[Critique | None, str]] = [(None, NEUTRAL)]
        asks += [(d, phrasings[i % len(phrasings)]) for d, (phrasings, _, _) in DIRECTIONS.items()]
        for direction, message in asks:
            state = copy.deepcopy(base)
            engine.absorb(state, message, groups=False)
            picks = tuple(m for m, _ in engine.recommend(state, k).picks)
            steps.append(Step(start, message, direction, shown, picks))
    return steps


class TextAxis:
    """The independent statistic: cosine to the direction's description minus cosine to its opposite."""

    def __init__(self, engine: Any) -> None:
        self.catalogue = engine.catalogue
        self.item_emb = engine.pipeline.item_emb
        self.encoder = engine.pipeline.encoder
        self._anchors: dict[Critique, np.ndarray] = {}

    def value(self, direction: Critique, movie_id: int) -> float | None:
        towards, away = DIRECTIONS[direction][1:]
        if not towards or movie_id not in self.catalogue:
            return None
        if direction not in self._anchors:
            vecs = self.encoder.encode([towards, away])
            self._anchors[direction] = np.asarray(vecs[0] - vecs[1], dtype=np.float32)
        return float(self.item_emb[self.catalogue.row(movie_id)] @ self._anchors[direction])


def _shares(steps: Sequence[Step], direction: Critique, engine: Any, text: TextAxis) -> dict[str, Any]:
    cat = engine.catalogue
    axis_moved = text_moved = n = n_text = 0
    shift: list[float] = []
    for s in steps:
        ref = reference(cat, direction, s.shown)
        if ref is None or not s.picks:
            continue
        n += len(s.picks)
        axis_moved += sum(moves(cat, m, direction, ref) for m in s.picks)
        after = reference(cat, direction, s.picks)
        if after is not None:
            shift.append(after - ref)
        tv = [v for m in s.shown if (v := text.value(direction, m)) is not None]
        if tv:
            tref = sum(tv) / len(tv)
            vals = [v for m in s.picks if (v := text.value(direction, m)) is not None]
            n_text += len(vals)
            text_moved += sum(v > tref for v in vals)
    return {
        "picks": n,
        "axis_share": axis_moved / n if n else 0.0,
        "text_share": text_moved / n_text if n_text else None,
        "mean_axis_shift": float(np.mean(shift)) if shift else 0.0,
    }


def summarise(steps: Sequence[Step], engine: Any) -> dict[str, Any]:
    """Per direction: the asked share (axis and text statistics) beside the neutral control's."""
    text = TextAxis(engine)
    neutral = [s for s in steps if s.direction is None]
    out: dict[str, Any] = {}
    for d in DIRECTIONS:
        asked = _shares([s for s in steps if s.direction is d], d, engine, text)
        control = _shares(neutral, d, engine, text)
        out[d.value] = {
            **asked,
            "control_axis_share": control["axis_share"],
            "control_text_share": control["text_share"],
            "meets_target": asked["axis_share"] >= TARGET,
        }
    return out


def critiques_report(summary: Mapping[str, Any], n_starts: int) -> Report:
    """Markdown and JSON (``critiques``) of one run."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    rows = [
        f"| {d} | {pct(v['axis_share'])} | {pct(v['control_axis_share'])} | {pct(v['text_share'])} | "
        f"{pct(v['control_text_share'])} | {v['mean_axis_shift']:+.2f} | {v['picks']} |"
        for d, v in summary.items()
    ]
    md = "\n".join(
        [
            "# Critique directions\n",
            f"{n_starts} starting conversations; each direction asked once from each start's first picks "
            f"(phrasings rotate); control: the neutral follow-up {NEUTRAL!r}. Target: axis share "
            f"≥ {TARGET:.0%} per direction.\n",
            "| direction | axis share | control | text share | control | mean axis shift | picks |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "A pick *moves* when its value lies beyond the mean of the shown picks' values. Axis: genres "
            "and tags (funnier, darker, lighter, less violent, more romantic), year (more recent, older), "
            "minus log(1 + MovieLens rating count) (less famous); the pipeline orders candidates by this "
            "same axis, so the axis share is partly circular. Text: the catalogue embedding's cosine to a "
            "description of the direction minus to its opposite; the ordering never reads it.\n",
        ]
    )
    data = {"n_starts": n_starts, "target": TARGET, "directions": dict(summary)}
    return Report("critiques", md, data)
