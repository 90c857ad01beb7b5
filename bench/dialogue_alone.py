"""The dialogue retriever alone on the ReDial dev halves: pair and turn Recall@1/10/50 per encoder.

    python bench/dialogue_alone.py base <cache>/dialogue-encoder-<fingerprint>

Each turn's context (``context_text``, the last 4 messages) is encoded in one batch and ranked against the
index's document vectors (read from ``$REELCHAT_CACHE_DIR/embeddings``); movies mentioned in the context are
skipped and targets already mentioned dropped, as in ``reelchat eval redial``. Nothing is chosen from it.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sys
import time
from pathlib import Path

import numpy as np

from retrieval.catalogue_loader import load_catalogue
from retrieval.dialogue_encoder import context_text
from retrieval.embeddings import EmbeddingConfig, Encoder, catalogue_embeddings
from retrieval.redial import TitleMapper, load_turns, mentioned_ids

d = Path(os.environ.get("REELCHAT_DATA_DIR", "../shared/data"))
cat = load_catalogue(d / "ml-latest-small", d / "redial-ievalm")
emb = catalogue_embeddings(
    cat, Encoder(), Path(os.environ.get("REELCHAT_CACHE_DIR", ".cache")) / "embeddings"
)
m = TitleMapper.from_path(cat, d / "redial-ievalm/id2info.json")
allturns = load_turns(d / "redial-ievalm/dev_turns.jsonl")
for half in ("tune", "report"):
    rows = []
    for t in allturns:
        if t.half != half:
            continue
        men = mentioned_ids(t, m)
        tg = {x for lab in set(t.rec) if (x := m.map(lab)) is not None} - men
        if tg:
            rows.append((context_text(t.messages), men, tg))
    for path in sys.argv[1:]:
        enc = Encoder(EmbeddingConfig(model_path=None if path == "base" else Path(path)))
        t0 = time.perf_counter()
        q = enc.encode([c for c, _, _ in rows])
        s = q @ emb.T
        hits = {1: 0, 10: 0, 50: 0}
        turn = {1: 0.0, 10: 0.0, 50: 0.0}
        pairs = 0
        for (_, men, tg), sc in zip(rows, s, strict=True):
            top = [int(x) for x in cat.ids[np.argsort(-sc)[:120]] if int(x) not in men][:50]
            pairs += len(tg)
            for k in hits:
                h = len(tg & set(top[:k]))
                hits[k] += h
                turn[k] += h / len(tg)
        print(
            half,
            path.split("/")[-1],
            "pair",
            {k: round(v / pairs, 4) for k, v in hits.items()},
            "turn",
            {k: round(v / len(rows), 4) for k, v in turn.items()},
            "turns",
            len(rows),
            "pairs",
            pairs,
            round(time.perf_counter() - t0),
            "s",
            flush=True,
        )
