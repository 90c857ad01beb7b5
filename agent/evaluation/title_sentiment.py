"""Title sentiment on ReDial labels (``reelchat eval understanding --redial-questions``).

For every seeker message of ``redial-train/train_dialogues.jsonl`` that mentions a movie the seeker
labelled liked = 0 (no) or 1 (yes), the message alone is read by the product's understanding, and our
reading of that movie (liked, disliked or neither) is compared with the label. ReDial ids map to catalogue
ids through their "Title (Year)" (``TitleMapper``); unmapped mentions are counted but not scored. 95.8% of
labelled mentions are "liked", so the score is balanced accuracy: the mean of liked recall and disliked
recall (a mention read as neither is a miss for both).

Two readings are scored:

- **taste** (the headline): :func:`agent.understanding.taste.taste_reading`. A ReDial label is the
  seeker's verdict at the end of the dialogue, so a mention without a negative reading counts as liked;
  stated dislikes and the mentions the cue model doubts are disliked. The cue model is fitted on the fit
  half of the train dialogues, so the headline is the **held-out half**; the whole file is shown too.
- **stated**: only what the message states (``Understanding.liked``/``disliked``): "have you seen X?"
  likes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from agent.evaluation.report import Report, write_report
from agent.understanding.deltas import Understanding
from agent.understanding.taste import (
    cue_model,
    doubted,
    in_fit_half,
    mention_spans,
    placeholder_text,
    taste_reading,
)
from retrieval.redial import (
    TitleMapper,
    TrainDialogue,
    load_movie_names,
    load_train_dialogues,
    render_mentions,
)

Reading = Literal["liked", "disliked", "neither"]
READINGS: tuple[Reading, ...] = ("liked", "disliked", "neither")
LABELS: dict[int, Reading] = {1: "liked", 0: "disliked"}
#: Reads one message alone; returns the catalogue ids it likes and dislikes.
Reader = Callable[[str], tuple[frozenset[int], frozenset[int]]]


@dataclass(frozen=True, slots=True)
class LabelledMention:
    """One seeker mention of a movie the seeker labelled liked (1) or not liked (0)."""

    dialogue: str
    message_index: int
    redial_id: str
    title: str  # "Title (Year)" as the message renders it
    label: Reading  # "liked" | "disliked"
    movie_id: int | None  # catalogue id; None when the title does not map
    text: str  # the message with every @id rendered as a title


@dataclass(frozen=True, slots=True)
class TitleSentiment:
    """The scores: label × reading counts over mapped mentions, and the mapped share."""

    confusion: Mapping[tuple[Reading, Reading], int]  # (label, ours) -> mentions
    n_labelled: int  # every labelled mention, mapped or not
    n_messages: int  # messages holding at least one scored mention

    @property
    def n(self) -> int:
        """Scored (mapped) mentions."""
        return sum(self.confusion.values())

    def _recall(self, label: Reading) -> float:
        total = sum(v for (lab, _), v in self.confusion.items() if lab == label)
        return self.confusion.get((label, label), 0) / total if total else 0.0

    @property
    def liked_recall(self) -> float:
        return self._recall("liked")

    @property
    def disliked_recall(self) -> float:
        return self._recall("disliked")

    @property
    def balanced_accuracy(self) -> float:
        return (self.liked_recall + self.disliked_recall) / 2

    @property
    def mapped_share(self) -> float:
        return self.n / self.n_labelled if self.n_labelled else 0.0


def labelled_mentions(
    dialogues: Iterable[TrainDialogue], names: Mapping[str, str], mapper: TitleMapper
) -> list[LabelledMention]:
    """Every (seeker message, mentioned movie) pair whose seeker label is liked 0 or 1."""
    out = []
    for d in dialogues:
        for msg in d.messages:
            if msg.role != "seeker":
                continue
            text = render_mentions(msg.text, names, d.movie_mentions)
            for rid in dict.fromkeys(msg.movie_ids):
                q = d.questions.get(rid)
                if q is None or q.liked not in LABELS:
                    continue
                title = names.get(rid) or d.movie_mentions.get(rid) or ""
                mid = mapper.map(title) if title else None
                out.append(
                    LabelledMention(d.conversation_id, msg.index, rid, title, LABELS[q.liked], mid, text)
                )
    return out


def score(mentions: Sequence[LabelledMention], read: Reader) -> TitleSentiment:
    """Read each message once and tally label × reading for its mapped mentions."""
    confusion: Counter[tuple[Reading, Reading]] = Counter()
    cache: dict[tuple[str, int], tuple[frozenset[int], frozenset[int]]] = {}
    for m in mentions:
        if m.movie_id is None:
            continue
        key = (m.dialogue, m.message_index)
        if key not in cache:
            cache[key] = read(m.text)
        liked, disliked = cache[key]
        ours: Reading = (
            "liked" if m.movie_id in liked else "disliked" if m.movie_id in disliked else "neither"
        )
        confusion[(m.label, ours)] += 1
    return TitleSentiment(dict(confusion), len(mentions), len(cache))


def engine_reader(app: Any, reading: str = "taste", prefetch: Sequence[str] = ()) -> Reader:
    """The product's reading of one message alone (``TurnEngine.understand``): its taste reading (the
    shipped cue model over the app's sentence encoder), or with ``reading="stated"`` only what it
    states. The placeholder texts of the ``prefetch`` messages are embedded in one batch up front."""
    model = cue_model() if reading == "taste" else None
    vectors: dict[str, Any] = {}

    def encode(texts: list[str]) -> Any:
        missing = [t for t in dict.fromkeys(texts) if t not in vectors]
        if missing:
            vectors.update(zip(missing, app.resources.encoder.encode(missing), strict=True))
        return [vectors[t] for t in texts]

    def placeholders(text: str, u: Understanding) -> list[str]:
        spans = mention_spans(text, [m.text for m in u.mentions])
        return [placeholder_text(text, spans, i) for i in range(len(spans))]

    @lru_cache(maxsize=8192)  # one read per message, however many of its mentions are scored
    def read(text: str) -> tuple[frozenset[int], frozenset[int]]:
        u = app.engine.understand(text)
        if reading == "stated":
            return frozenset(u.liked), frozenset(u.disliked)
        return taste_reading(u.liked, u.disliked, (m.movie_id for m in u.mentions), doubtful(text, u))

    def doubtful(text: str, u: Understanding) -> list[int]:
        return doubted(model, text, u, encode)

    if model is not None and prefetch:
        texts = [p for t in dict.fromkeys(prefetch) for p in placeholders(t, app.engine.understand(t))]
        if texts:
            encode(texts)
    return read


def held_out(mentions: Sequence[LabelledMention]) -> list[LabelledMention]:
    """The mentions of dialogues the cue model was not fitted on."""
    return [m for m in mentions if not in_fit_half(m.dialogue)]


def _summary(result: TitleSentiment) -> dict[str, Any]:
    c = result.confusion
    return {
        "n": result.n,
        "n_labelled": result.n_labelled,
        "n_messages": result.n_messages,
        "mapped_share": round(result.mapped_share, 4),
        "balanced_accuracy": round(result.balanced_accuracy, 4),
        "liked_recall": round(result.liked_recall, 4),
        "disliked_recall": round(result.disliked_recall, 4),
        "baseline_balanced_accuracy": 0.5,
        "confusion": {lab: {ours: c.get((lab, ours), 0) for ours in READINGS} for lab in LABELS.values()},
    }


def title_sentiment_report(
    result: TitleSentiment, others: Mapping[str, TitleSentiment] | None = None
) -> Report:
    """Markdown and JSON (``title_sentiment``) of one run (the headline: taste reading, held-out half),
    beside the every-mention-is-liked baseline and ``others`` (name -> result) for comparison."""
    c = result.confusion
    data = _summary(result)
    data["others"] = {name: _summary(r) for name, r in (others or {}).items()}
    rows = [
        f"| {lab} | " + " | ".join(str(c.get((lab, ours), 0)) for ours in READINGS) + " |"
        for lab in LABELS.values()
    ]
    md = "\n".join(
        [
            "# Title sentiment on ReDial seeker labels\n",
            "Headline: the taste reading on the held-out half of the train dialogues (the cue model is "
            "fitted on the other half).\n",
            f"{result.n_labelled} labelled seeker mentions (liked 0/1) in {result.n_messages} messages; "
            f"{result.n} map to the catalogue ({100 * result.mapped_share:.1f}%) and are scored.\n",
            "| label \\ ours | liked | disliked | neither |",
            "|---|---|---|---|",
            *rows,
            "",
            "| metric | ours | every mention liked |",
            "|---|---|---|",
            f"| liked recall | {result.liked_recall:.3f} | 1.000 |",
            f"| disliked recall | {result.disliked_recall:.3f} | 0.000 |",
            f"| balanced accuracy | {result.balanced_accuracy:.3f} | 0.500 |",
            "",
            "Other readings and sets (balanced accuracy / liked recall / disliked recall, mapped "
            "mentions):\n",
            *(
                f"- {name}: {r.balanced_accuracy:.3f} / {r.liked_recall:.3f} / {r.disliked_recall:.3f} "
                f"(n {r.n})"
                for name, r in (others or {}).items()
            ),
            "",
            "Each message is read alone, from an empty conversation. A mention read as neither liked nor "
            "disliked is a miss for both recalls. Data: ReDial (Li et al., NeurIPS 2018), CC BY 4.0.\n",
        ]
    )
    return Report("title_sentiment", md, data)


def run_title_sentiment(app: Any, data_dir: Path | str, out_dir: Path | str) -> TitleSentiment:
    """Score ``app``'s title sentiment on every labelled seeker mention; write ``title_sentiment.md/json``.

    Reads ``redial-train/train_dialogues.jsonl`` and ``movies_with_mentions.csv`` under ``data_dir``
    (``DataError`` when missing) and maps titles with ``redial-ievalm/id2info.json`` when present.
    """
    root = Path(data_dir)
    dialogues = load_train_dialogues(root / "redial-train" / "train_dialogues.jsonl")
    names = load_movie_names(root / "redial-train" / "movies_with_mentions.csv")
    id2info = root / "redial-ievalm" / "id2info.json"
    mapper = TitleMapper.from_path(app.catalogue, id2info if id2info.is_file() else None)
    mentions = labelled_mentions(dialogues, names, mapper)
    scored = held_out(mentions)
    taste = engine_reader(app, prefetch=[m.text for m in scored if m.movie_id is not None])
    stated = engine_reader(app, "stated")
    result = score(scored, taste)
    others = {
        "stated reading, held-out half": score(scored, stated),
        "stated reading, every train dialogue": score(mentions, stated),
    }
    paths = write_report(title_sentiment_report(result, others), out_dir)
    print("wrote " + ", ".join(str(p) for p in paths))
    print(
        f"title sentiment: n {result.n}  liked recall {result.liked_recall:.3f}  "
        f"disliked recall {result.disliked_recall:.3f}  balanced accuracy {result.balanced_accuracy:.3f} "
        f"(every-mention-liked baseline 0.500; taste reading, held-out half)"
    )
    for name, r in others.items():
        print(
            f"  {name}: balanced accuracy {r.balanced_accuracy:.3f}  liked {r.liked_recall:.3f}  "
            f"disliked {r.disliked_recall:.3f}  n {r.n}"
        )
    return result
