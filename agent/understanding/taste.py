"""The user's *taste* reading of the titles in a message, apart from what the message states.

The parser's stated reading answers "what did the user say about X": "have you seen Heat?" likes
nothing. For ranking, a movie the user brings up without a negative cue is evidence of taste: in ReDial,
96% of the movies seekers mention are ones they end up saying they liked. :func:`taste_reading` is that
reading: the stated dislikes, plus the mentions a small learned cue model reads as not liked
(``doubtful``), are disliked; every other resolved mention is liked.

The cue model (:class:`CueModel`) is a logistic regression over the words of the message and of a window
around the mention (the mention itself a placeholder), fitted on the labels of the ReDial train
dialogues' *fit half* only (``python -m agent.evaluation.taste_fit``); its weights ship in
``cue_model.json``. It only ever moves a mention from liked to disliked where the parser stated no liking.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("cue_model.json")
TARGET, OTHER = "__tgt__", "__oth__"
WINDOW = 6
_TOKEN_RE = re.compile(r"__tgt__|__oth__|[a-z0-9]+(?:'[a-z]+)?|[.!?;,]")


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (curly quotes folded); placeholders kept whole."""
    return _TOKEN_RE.findall(text.lower().replace("’", "'").replace("‘", "'"))


def placeholder_text(text: str, spans: Sequence[tuple[int, int]], target: int) -> str:
    """``text`` with span ``target`` replaced by the target placeholder and the other spans by another."""
    out, prev = [], 0
    for i, (start, end) in sorted(enumerate(spans), key=lambda x: x[1][0]):
        if start < prev:
            continue
        out += [text[prev:start], f" {TARGET if i == target else OTHER} "]
        prev = end
    out.append(text[prev:])
    return "".join(out)


def features(toks: Sequence[str]) -> dict[str, float]:
    """Bag of words and bigrams of the message, and of the words on each side of the target."""
    feats: dict[str, float] = {}
    for t in toks:
        feats["u:" + t] = 1.0
    for a, b in zip(toks, toks[1:], strict=False):
        feats[f"b:{a} {b}"] = 1.0
    for i, t in enumerate(toks):
        if t != TARGET:
            continue
        left, right = toks[max(0, i - WINDOW) : i], toks[i + 1 : i + 1 + WINDOW]
        for w in left:
            feats["l:" + w] = 1.0
        for w in right:
            feats["r:" + w] = 1.0
        for a, b in zip(left, left[1:], strict=False):
            feats[f"lb:{a} {b}"] = 1.0
        for a, b in zip(right, right[1:], strict=False):
            feats[f"rb:{a} {b}"] = 1.0
    return feats


@dataclass(frozen=True, slots=True)
class CueModel:
    """Weights per feature, an intercept, and the probability above which a mention is doubtful."""

    weights: Mapping[str, float]
    intercept: float
    threshold: float

    def probability(self, toks: Sequence[str]) -> float:
        """P(not liked) for the target placeholder in ``toks``."""
        z = self.intercept + sum(self.weights.get(f, 0.0) for f in features(toks))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def doubtful(self, text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
        """Indices of the spans of ``text`` that the model reads as not liked."""
        return [
            i
            for i in range(len(spans))
            if self.probability(tokens(placeholder_text(text, spans, i))) > self.threshold
        ]

    def to_json(self) -> str:
        data = {"intercept": self.intercept, "threshold": self.threshold, "weights": dict(self.weights)}
        return json.dumps(data, indent=0, sort_keys=True)


@lru_cache(maxsize=1)
def cue_model(path: Path = MODEL_PATH) -> CueModel | None:
    """The shipped cue model; None when its file is absent (every unstated mention then reads liked)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    weights = {str(k): float(v) for k, v in data["weights"].items()}
    return CueModel(weights, float(data["intercept"]), float(data["threshold"]))


def taste_reading(
    liked: Iterable[int], disliked: Iterable[int], mentioned: Iterable[int | None], doubtful: Iterable[int]
) -> tuple[frozenset[int], frozenset[int]]:
    """(liked, disliked) for taste: stated dislikes and doubtful mentions are disliked; every other
    stated like or resolved mention is liked."""
    bad = frozenset(disliked) | frozenset(doubtful)
    good = (frozenset(liked) | frozenset(m for m in mentioned if m is not None)) - bad
    return good, bad


def in_fit_half(conversation_id: str) -> bool:
    """Whether a ReDial train dialogue belongs to the half the cue model is fitted on (a fixed hash
    split); the other half is held out for scoring."""
    import hashlib

    return hashlib.sha1(f"taste:{conversation_id}".encode()).digest()[0] % 2 == 0
