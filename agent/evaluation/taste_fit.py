"""Fit the taste cue model on the ReDial train dialogues' fit half: ``python -m agent.evaluation.taste_fit``.

Each example is one (seeker message, labelled movie) pair: the message with that movie's ``@id`` written
"that movie" and the other mentions "another movie", embedded by the product's sentence encoder
(all-MiniLM-L6-v2); the label is 1 when the seeker said they did not like the movie (liked = 0). Only
dialogues of the fit half (:func:`in_fit_half`) are read. The regularisation and the decision threshold
are chosen by 5-fold cross-validation grouped by dialogue inside the fit half: the threshold is the
lowest that keeps the false-alarm rate on liked mentions at or below ``--max-false-alarms`` (default 4%).
Writes ``agent/understanding/cue_model.json``.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.understanding.taste import MODEL_PATH, OTHER, TARGET, CueModel, in_fit_half
from retrieval.redial import TrainDialogue, load_train_dialogues

_MENTION = re.compile(r"@(\d+)")


def examples(dialogues: Sequence[TrainDialogue], fit: bool = True) -> tuple[list[str], list[int], list[str]]:
    """(placeholder texts, labels, dialogue ids) of every labelled seeker mention of the chosen half."""
    texts: list[str] = []
    ys: list[int] = []
    groups: list[str] = []
    for d in dialogues:
        if in_fit_half(d.conversation_id) != fit:
            continue
        for msg in d.messages:
            if msg.role != "seeker":
                continue
            for rid in dict.fromkeys(msg.movie_ids):
                q = d.questions.get(rid)
                if q is None or q.liked not in (0, 1):
                    continue

                def sub(m: re.Match[str], target: str = rid) -> str:
                    return f" {TARGET if m.group(1) == target else OTHER} "

                texts.append(" ".join(_MENTION.sub(sub, html.unescape(msg.text)).split()))
                ys.append(1 if q.liked == 0 else 0)
                groups.append(d.conversation_id)
    return texts, ys, groups


def _threshold(p: np.ndarray, y: np.ndarray, max_false_alarms: float) -> float:
    """The lowest threshold whose false-alarm rate on liked (y = 0) examples is at most the limit."""
    liked = np.sort(p[y == 0])[::-1]
    allowed = int(max_false_alarms * len(liked))
    return float(liked[allowed]) if allowed < len(liked) else 0.5


def fit(
    x: np.ndarray, ys: Sequence[int], groups: Sequence[str], max_false_alarms: float
) -> tuple[CueModel, dict[str, Any]]:
    """Cross-validate C and the threshold inside the fit half, then refit on all of it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    y = np.asarray(ys)
    best: tuple[float, float, float, float] | None = None
    for c in (0.1, 0.3, 1.0):
        p = np.zeros(len(y))
        for tr, te in GroupKFold(5).split(x, y, list(groups)):
            m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x[tr], y[tr])
            p[te] = m.predict_proba(x[te])[:, 1]
        t = _threshold(p, y, max_false_alarms)
        recall = float((p[y == 1] > t).mean())
        if best is None or recall > best[2]:
            best = (c, t, recall, float((p[y == 0] > t).mean()))
    assert best is not None
    c, t, recall, false_alarms = best
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
    cv = {"C": c, "threshold": round(t, 5), "cv_disliked_recall": round(recall, 4),
          "cv_false_alarms": round(false_alarms, 4), "n": len(y), "n_disliked": int(y.sum())}  # fmt: skip
    return CueModel(m.coef_[0].astype(np.float64), float(m.intercept_[0]), round(t, 5)), cv


def main(argv: list[str] | None = None) -> int:
    """Fit on the fit half of ``DATA/redial-train/train_dialogues.jsonl``; write the model file."""
    from retrieval.embeddings import EmbeddingConfig, Encoder

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("REELCHAT_DATA_DIR", "../shared/data")))
    ap.add_argument("--max-false-alarms", type=float, default=0.04)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args(argv)
    dialogues = load_train_dialogues(args.data / "redial-train" / "train_dialogues.jsonl")
    texts, ys, groups = examples(dialogues, fit=True)
    x = np.asarray(Encoder(EmbeddingConfig()).encode(texts), dtype=np.float64)
    model, cv = fit(x, ys, groups, args.max_false_alarms)
    args.out.write_text(model.to_json() + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(model.weights)} weights; cross-validated on the fit half: {cv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
