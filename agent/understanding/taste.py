"""The user's *taste* reading of the titles in a message, apart from what the message states.

The parser's stated reading answers "what did the user say about X": "have you seen Heat?" likes
nothing. For ranking, a movie the user brings up without a negative cue is evidence of taste: in ReDial,
96% of the movies seekers mention are ones they end up saying they liked. :func:`taste_reading` is that
reading: the stated dislikes, plus the mentions a small learned cue model reads as not liked
(``doubtful``), are disliked; every other resolved mention is liked.

The cue model (:class:`CueModel`) is a logistic regression over the MiniLM sentence embedding of the
message, with the mention written as "that movie" and the other titles as "another movie". It is fitted
on the labels of the ReDial train dialogues' *fit half* only (``python -m agent.evaluation.taste_fit``);
its weights ship in ``cue_model.json``. It only ever moves a mention from liked to disliked where the
parser stated no liking. It is not part of a live turn (it needs one embedding per mention); replayed
transcripts (``RecommenderAgent.recommend(messages)``, the ReDial evaluation) use it when
``settings.replay_cues`` is on (off by default: no gain on the ReDial tune half); the title-sentiment
evaluation reads it beside the stated reading.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.understanding.deltas import Understanding

MODEL_PATH = Path(__file__).with_name("cue_model.json")
TARGET, OTHER = "that movie", "another movie"
#: Encodes texts to unit vectors (``retrieval.embeddings.Encoder.encode``).
Encode = Callable[[list[str]], np.ndarray]


def placeholder_text(text: str, spans: Sequence[tuple[int, int]], target: int) -> str:
    """``text`` with span ``target`` written as "that movie" and the other spans as "another movie"."""
    out, prev = [], 0
    for i, (start, end) in sorted(enumerate(spans), key=lambda x: x[1][0]):
        if start < prev:
            continue
        out += [text[prev:start], f" {TARGET if i == target else OTHER} "]
        prev = end
    out.append(text[prev:])
    return " ".join("".join(out).split())


def mention_spans(text: str, mentions: Iterable[str]) -> list[tuple[int, int]]:
    """The (start, end) of each mention's text in ``text``, searched left to right."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in mentions:
        i = text.find(m, pos)
        if i < 0:
            i = text.find(m)
        spans.append((max(0, i), max(0, i) + len(m)) if i >= 0 else (len(text), len(text)))
        pos = max(pos, i + len(m)) if i >= 0 else pos
    return spans


@dataclass(frozen=True, slots=True)
class CueModel:
    """Weights over the embedding, an intercept, and the probability above which a mention is doubtful."""

    weights: np.ndarray
    intercept: float
    threshold: float

    def probabilities(self, texts: Sequence[str], encode: Encode) -> list[float]:
        """P(not liked) for the "that movie" of each placeholder text."""
        if not texts:
            return []
        z = np.asarray(encode(list(texts)), dtype=np.float64) @ self.weights + self.intercept
        return [1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, float(v))))) for v in z]

    def doubtful(self, text: str, spans: Sequence[tuple[int, int]], encode: Encode) -> list[int]:
        """Indices of the spans of ``text`` that the model reads as not liked."""
        texts = [placeholder_text(text, spans, i) for i in range(len(spans))]
        return [i for i, p in enumerate(self.probabilities(texts, encode)) if p > self.threshold]

    def to_json(self) -> str:
        data = {
            "intercept": self.intercept,
            "threshold": self.threshold,
            "weights": [round(float(w), 6) for w in self.weights],
        }
        return json.dumps(data)


@lru_cache(maxsize=1)
def cue_model(path: Path = MODEL_PATH) -> CueModel | None:
    """The shipped cue model; None when its file is absent (every unstated mention then reads liked)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    weights = np.asarray(data["weights"], dtype=np.float64)
    return CueModel(weights, float(data["intercept"]), float(data["threshold"]))


def doubted(model: CueModel | None, text: str, u: Understanding, encode: Encode) -> list[int]:
    """The resolved mentions of ``u`` that ``model`` reads as not liked, never one the message states a
    liking for (``u.liked`` apart from the ``assumed`` likes)."""
    if model is None or not u.mentions:
        return []
    flagged = model.doubtful(text, mention_spans(text, [m.text for m in u.mentions]), encode)
    stated = set(u.liked) - set(u.assumed)
    ids = [u.mentions[i].movie_id for i in flagged]
    return [m for m in ids if m is not None and m not in stated]


def in_fit_half(conversation_id: str) -> bool:
    """Whether a ReDial train dialogue belongs to the half the cue model is fitted on (a fixed hash
    split); the other half is held out for scoring."""
    return hashlib.sha1(f"taste:{conversation_id}".encode()).digest()[0] % 2 == 0


def taste_reading(
    liked: Iterable[int], disliked: Iterable[int], mentioned: Iterable[int | None], doubtful: Iterable[int]
) -> tuple[frozenset[int], frozenset[int]]:
    """(liked, disliked) for taste: stated dislikes and doubtful mentions are disliked; every other
    stated like or resolved mention is liked."""
    bad = frozenset(disliked) | frozenset(doubtful)
    good = (frozenset(liked) | frozenset(m for m in mentioned if m is not None)) - bad
    return good, bad
