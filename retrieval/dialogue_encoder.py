"""A dialogue-context retriever: a bi-encoder that maps the last turns of a conversation (movies written as
titles) to the movies a recommender would suggest next.

The query side encodes :func:`context_text` of a conversation; the item side is the index's vectors of the
catalogue documents (:func:`retrieval.embeddings.document`, the shipped MiniLM). The context encoder is the
shipped MiniLM itself (``base``, untuned) or a copy fine-tuned on ReDial train dialogues by
:mod:`retrieval.dialogue_training` (``tuned``), cached under ``cache_dir/dialogue-encoder-<fingerprint>/``
(the fingerprint covers catalogue, training data, document vectors, base model and training config).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.embeddings import DOC_FORMAT_VERSION, EmbeddingConfig, Encoder, packaged_model_path

FORMAT_VERSION = 1
CONTEXT_MESSAGES = 4  # the last turns a context keeps
CONTEXT_CHARS = 300  # ... and at most this many characters of them, newest kept
MAX_SEQ_LENGTH = 64  # tokens per context (cut on the left: the newest words stay), training and serving
_ROLE = {"user": "User", "seeker": "User", "assistant": "Recommender", "recommender": "Recommender"}
DONE_FILE = "reelchat-dialogue-encoder.json"


def context_text(messages: Sequence[Mapping[str, str]], n: int = CONTEXT_MESSAGES) -> str:
    """The last ``n`` non-empty messages as one line ("User: ... Recommender: ..."), newest last, cut to
    the last :data:`CONTEXT_CHARS` characters; "" when there are none."""
    parts = []
    for m in messages:
        text = " ".join(str(m.get("content") or "").split())
        if text:
            parts.append(f"{_ROLE.get(str(m.get('role')), 'User')}: {text}")
    return " ".join(parts[-n:])[-CONTEXT_CHARS:] if n > 0 else ""


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """How the encoder is fine-tuned (every field is part of the cache fingerprint)."""

    batch_size: int = 32
    epochs: int = 1
    max_steps: int = 80  # cap (an epoch is about 225 steps): the training fits 20 minutes on the dev machine
    lr: float = 1e-4
    frozen_layers: int = 4  # lowest transformer layers kept frozen (the token embeddings always are)
    warmup: float = 0.1  # share of the steps with a linear warm-up
    seed: int = 0
    max_pairs: int = 0  # 0 = every pair (tests train on a tiny slice)
    context_messages: int = CONTEXT_MESSAGES


def encoder_fingerprint(
    catalogue: Catalogue, data_digest: str, item_emb: np.ndarray, config: TrainConfig
) -> str:
    """Digest of what a tuned encoder depends on: catalogue, training data, the fixed document vectors,
    base model and config."""
    key = json.dumps(
        {
            "catalogue": catalogue.fingerprint,
            "docs": hashlib.sha256(np.ascontiguousarray(item_emb, dtype=np.float32).tobytes()).hexdigest()[
                :16
            ],
            "data": data_digest,
            "base": packaged_model_path().name,
            "doc": DOC_FORMAT_VERSION,
            "format": FORMAT_VERSION,
            "seq": MAX_SEQ_LENGTH,
            "config": asdict(config),
        },
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def encoder_dir(cache_dir: Path, fingerprint: str) -> Path:
    """Where the tuned encoder with this fingerprint is (or will be) saved."""
    return Path(cache_dir) / f"dialogue-encoder-{fingerprint}"


def is_trained(path: Path) -> bool:
    """True when ``path`` holds a completely saved tuned encoder."""
    return (Path(path) / DONE_FILE).is_file()


class DialogueRetriever:
    """Scores every catalogue movie for a dialogue context (cosine of context and document vectors)."""

    def __init__(self, catalogue: Catalogue, encoder: Encoder, item_emb: np.ndarray, kind: str) -> None:
        if item_emb.shape[0] != len(catalogue):
            raise ValueError("dialogue item vectors are not aligned with the catalogue")
        self.catalogue = catalogue
        self.encoder = encoder
        self.item_emb = item_emb
        self.kind = kind  # "base" (the shipped MiniLM) or "tuned"

    @classmethod
    def open(
        cls,
        catalogue: Catalogue,
        item_emb: np.ndarray,
        model_path: Path | None = None,
        *,
        device: str = "cpu",
    ) -> DialogueRetriever:
        """The retriever whose contexts the encoder in ``model_path`` encodes (``None``: the untuned shipped
        MiniLM), against the index's document vectors ``item_emb``."""
        encoder = Encoder(EmbeddingConfig(model_path=model_path, device=device))
        return cls(catalogue, encoder, item_emb, "base" if model_path is None else "tuned")

    def scores(self, context: str) -> np.ndarray | None:
        """Cosine of ``context`` to every catalogue movie (aligned with ``catalogue.ids``); None if empty."""
        if not context.strip():
            return None
        return self.item_emb @ self.encoder.encode([context])[0]

    def top(self, context: str, n: int) -> list[int]:
        """The ``n`` catalogue ids nearest to ``context``, best first."""
        s = self.scores(context)
        return [] if s is None else self.best(self.catalogue, s, n)

    @staticmethod
    def best(catalogue: Catalogue, scores: np.ndarray, n: int) -> list[int]:
        """The ``n`` ids with the highest ``scores`` (aligned with ``catalogue.ids``), best first."""
        n = min(n, len(scores))
        if n <= 0:
            return []
        part = np.argpartition(-scores, n - 1)[:n]
        order = part[np.lexsort((catalogue.ids[part], -scores[part]))]
        return [int(m) for m in catalogue.ids[order]]
