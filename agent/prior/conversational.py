"""What people recommend in conversations: a prior learned from ReDial dialogues, when they are present.

Two signals, both counted over dialogues (research-use data, read from the data folder, never shipped):
how often recommenders named a movie, and how often two movies appear in the same dialogue. The
evaluation builds it from the tune half only; the product uses every dialogue it is given.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from retrieval.catalogue import Catalogue
from retrieval.redial import RedialTurn, TitleMapper, load_turns, mentioned_ids

Half = Literal["all", "tune", "report"]


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
        cooc: dict[int, Counter[int]] = defaultdict(Counter)
        for movies in by_dialog.values():
            for a in movies:
                cooc[a].update(b for b in movies if b != a)
        return cls(counts, dict(cooc))

    @classmethod
    def load(cls, redial_dir: Path, catalogue: Catalogue, half: Half = "all") -> ConversationPrior | None:
        """From ``redial_dir/dev_turns.jsonl`` (``None`` when absent); ``half`` keeps one half of it."""
        path = Path(redial_dir) / "dev_turns.jsonl"
        if not path.is_file():
            return None
        turns = [t for t in load_turns(path) if half == "all" or t.half == half]
        return cls.from_turns(turns, TitleMapper.from_path(catalogue, Path(redial_dir) / "id2info.json"))

    def popularity(self, movie_id: int) -> float:
        return math.log1p(self.counts.get(movie_id, 0))

    def related(self, seeds: Iterable[int]) -> dict[int, float]:
        """Co-occurrence score of every movie seen in dialogues with any of ``seeds``."""
        out: dict[int, float] = defaultdict(float)
        for s in seeds:
            for b, n in self.cooc.get(s, {}).items():
                out[b] += math.log1p(n)
        return dict(out)
