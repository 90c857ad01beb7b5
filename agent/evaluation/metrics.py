"""Recall definitions used by the ReDial replay (and checked against hand-computed answers in tests).

For one turn with ranked list ``R`` and mapped targets ``T`` (mentioned movies removed):

* pair recall@k: every (turn, target) pair scores 1 when the target is in ``R[:k]``; averaged over pairs
  (the usual CRS "Recall@k").
* turn recall@k: ``|T ∩ R[:k]| / |T|``, averaged over turns with ``|T| >= 1``.
* turn hit@k: 1 when any target is in ``R[:k]``, averaged over turns with ``|T| >= 1``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

KS = (1, 10, 50)


@dataclass(frozen=True, slots=True)
class RecallSummary:
    turns: int  # turns with at least one target
    pairs: int  # (turn, target) pairs
    pair_recall: Mapping[int, float]
    turn_recall: Mapping[int, float]
    turn_hit: Mapping[int, float]

    def as_dict(self) -> dict[str, object]:
        return {
            "turns": self.turns,
            "pairs": self.pairs,
            "pair_recall": {str(k): v for k, v in self.pair_recall.items()},
            "turn_recall": {str(k): v for k, v in self.turn_recall.items()},
            "turn_hit": {str(k): v for k, v in self.turn_hit.items()},
        }


def hits_at(ranked: Sequence[int], targets: Collection[int], k: int) -> int:
    """Number of distinct targets in the first ``k`` ranked ids."""
    top = set(ranked[:k])
    return sum(1 for t in set(targets) if t in top)


def summarise_recall(
    runs: Sequence[tuple[Sequence[int], Collection[int]]], ks: Sequence[int] = KS
) -> RecallSummary:
    """Pair recall, turn recall and turn hit rate over ``(ranked, targets)`` runs; empty targets skipped."""
    scored = [(list(r), set(t)) for r, t in runs if t]
    pairs = sum(len(t) for _, t in scored)
    pair, turn, hit = {}, {}, {}
    for k in ks:
        h = [hits_at(r, t, k) for r, t in scored]
        pair[k] = sum(h) / pairs if pairs else 0.0
        turn[k] = (
            sum(x / len(t) for x, (_, t) in zip(h, scored, strict=True)) / len(scored) if scored else 0.0
        )
        hit[k] = sum(1 for x in h if x) / len(scored) if scored else 0.0
    return RecallSummary(len(scored), pairs, pair, turn, hit)


def recall_curve(runs: Sequence[tuple[Sequence[int], Collection[int]]], max_k: int = 50) -> list[float]:
    """Pair recall@k for k = 1..max_k."""
    return [summarise_recall(runs, (k,)).pair_recall[k] for k in range(1, max_k + 1)]
