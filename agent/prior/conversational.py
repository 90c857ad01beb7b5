"""What people recommend in conversations: a prior learned from ReDial dialogues, when they are present.

Two signals, both counted over dialogues (research-use data, read from the data folder, never shipped):
how often recommenders named a movie, and how often two movies appear in the same dialogue. The
recommendation counts come from the dev dialogues only (the ReDial *train* split's counts are a worse
popularity signal for the test split: a distribution shift); the co-occurrence adds the train dialogues of
``redial-train/`` when present, at weight :data:`TRAIN_COOC_WEIGHT`. The evaluation builds the dev part from
the tune half only; train dialogues are always allowed (they are disjoint from the test split).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from retrieval.catalogue import Catalogue
from retrieval.redial import (
    RedialTurn,
    TitleMapper,
    TrainDialogue,
    TrainMapping,
    load_train_folder,
    load_turns,
    mentioned_ids,
    train_movie_sets,
)

Half = Literal["all", "tune", "report"]
TRAIN_COOC_WEIGHT = 1  # a train dialogue's co-occurrence counts as much as a dev dialogue's


class ConversationPrior:
    """Recommendation counts and within-dialogue co-occurrence of catalogue movies."""

    def __init__(self, counts: Counter[int], cooc: dict[int, Counter[int]]) -> None:
        self.counts = counts
        self.cooc = cooc
        self.top = [m for m, _ in counts.most_common()]

    @classmethod
    def from_turns(cls, turns: Iterable[RedialTurn], mapper: TitleMapper) -> ConversationPrior:
        counts: Counter[int] = Counter()
        by_dialog: dict[str, set[int]] = defaultdict(set)
        for t in turns:
            recs = {m for r in set(t.rec) if (m := mapper.map(r)) is not None}
            counts.update(recs)
            by_dialog[t.dialog_id] |= set(mentioned_ids(t, mapper)) | recs
        return cls(counts, _cooc(by_dialog.values()))

    def with_train(
        self, dialogues: Iterable[TrainDialogue], mapping: TrainMapping, weight: int = TRAIN_COOC_WEIGHT
    ) -> ConversationPrior:
        """This prior with the train dialogues' within-dialogue co-occurrence added (``weight`` per
        dialogue); the recommendation counts stay those of the dev dialogues."""
        extra = _cooc(train_movie_sets(d, mapping)[1] for d in dialogues)
        cooc: dict[int, Counter[int]] = {a: Counter(c) for a, c in self.cooc.items()}
        for a, c in extra.items():
            mine = cooc.setdefault(a, Counter())
            for b, n in c.items():
                mine[b] += weight * n
        return ConversationPrior(Counter(self.counts), cooc)

    @classmethod
    def load(
        cls, redial_dir: Path, catalogue: Catalogue, half: Half = "all", train_dir: Path | None = None
    ) -> ConversationPrior | None:
        """From ``redial_dir/dev_turns.jsonl`` (``None`` when absent); ``half`` keeps one half of it. With
        ``train_dir`` (``redial-train/``) its dialogues' co-occurrence is added."""
        path = Path(redial_dir) / "dev_turns.jsonl"
        if not path.is_file():
            return None
        turns = [t for t in load_turns(path) if half == "all" or t.half == half]
        mapper = TitleMapper.from_path(catalogue, Path(redial_dir) / "id2info.json")
        prior = cls.from_turns(turns, mapper)
        if train_dir is None:
            return prior
        return prior.with_train(*load_train_folder(train_dir, mapper))

    def popularity(self, movie_id: int) -> float:
        return math.log1p(self.counts.get(movie_id, 0))

    def related(self, seeds: Iterable[int]) -> dict[int, float]:
        """Co-occurrence score of every movie seen in dialogues with any of ``seeds``."""
        out: dict[int, float] = defaultdict(float)
        for s in seeds:
            for b, n in self.cooc.get(s, {}).items():
                out[b] += math.log1p(n)
        return dict(out)


def _cooc(groups: Iterable[Iterable[int]]) -> dict[int, Counter[int]]:
    """For every movie, how many groups (dialogues) it shares with every other movie."""
    cooc: dict[int, Counter[int]] = defaultdict(Counter)
    for group in groups:
        movies = set(group)
        for a in movies:
            cooc[a].update(b for b in movies if b != a)
    return dict(cooc)
