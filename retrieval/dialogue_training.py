"""Fine-tune the dialogue-context retriever on ReDial train dialogues (in-batch negatives).

Each pair is (the last turns before a recommender's message, mentions written as titles; a movie that
message suggests and that was not named earlier in the dialogue, as the evaluation's dedup rule). The
movie's side is its catalogue document as the index embeds it (the shipped MiniLM's vector, kept fixed);
the context side is a copy of the shipped MiniLM trained with ``MultipleNegativesRankingLoss``: every other
document in the batch is a negative, and a batch never holds the same movie twice. Token embeddings and
the lowest layers stay frozen, so a CPU step is cheap. Only the train dialogues
are used, never the dev turns, so the dev tune half stays free for fitting the blend weight.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.dialogue_encoder import (
    DONE_FILE,
    MAX_SEQ_LENGTH,
    TrainConfig,
    context_text,
    encoder_dir,
    encoder_fingerprint,
    is_trained,
)
from retrieval.embeddings import packaged_model_path
from retrieval.redial import (
    TitleMapper,
    TrainDialogue,
    TrainMapping,
    load_movie_names,
    load_train_folder,
    render_mentions,
)

log = logging.getLogger(__name__)
Pair = tuple[str, int]  # (context text, catalogue movie id)
Progress = Callable[[int, int], None]  # (steps done, steps in all)


def _walk(
    dialogue: TrainDialogue, mapping: TrainMapping, names: Mapping[str, str] | None
) -> Iterator[tuple[str, str, list[int]]]:
    """Per message: (role, text with mentions written as titles, the mapped catalogue ids it names)."""
    for m in dialogue.messages:
        ids = [mid for rid in m.movie_ids if (mid := mapping.ids.get(rid)) is not None]
        yield m.role, render_mentions(m.text, names or {}, dialogue.movie_mentions), ids


def training_pairs(
    dialogues: Sequence[TrainDialogue],
    mapping: TrainMapping,
    names: dict[str, str] | None = None,
    n_messages: int = 4,
) -> list[Pair]:
    """Every (context, suggested movie) pair of the dialogues, in dialogue order."""
    pairs: list[Pair] = []
    for d in dialogues:
        seen: set[int] = set()
        history: list[dict[str, str]] = []
        for role, text, ids in _walk(d, mapping, names):
            if role == "recommender" and history:
                ctx = context_text(history, n_messages)
                pairs.extend((ctx, mid) for mid in dict.fromkeys(ids) if mid not in seen)
            seen.update(ids)
            history.append({"role": role, "content": text})
    return pairs


@dataclass(frozen=True, slots=True)
class ReplayTurn:
    """A recommender turn replayed like the evaluation's: the chat before it, the movies named so far and
    the ones it newly suggests (the dedup rule: a movie named earlier is never a target)."""

    dialog_id: str
    messages: tuple[Mapping[str, str], ...]  # user / assistant, consecutive messages of one sender merged
    mentioned: frozenset[int]
    targets: frozenset[int]


def replay_turns(
    dialogues: Sequence[TrainDialogue], mapping: TrainMapping, names: Mapping[str, str] | None = None
) -> list[ReplayTurn]:
    """Every recommender turn of the dialogues that follows some chat and suggests a mapped movie not named
    before. As in the iEvalM turns, consecutive messages of one sender form one utterance."""
    out: list[ReplayTurn] = []
    for d in dialogues:
        merged: list[tuple[str, str, list[int]]] = []
        for role, text, ids in _walk(d, mapping, names):
            if merged and merged[-1][0] == role:
                merged[-1] = (role, f"{merged[-1][1]} {text}".strip(), merged[-1][2] + ids)
            else:
                merged.append((role, text, ids))
        seen: set[int] = set()
        history: list[dict[str, str]] = []
        for role, text, ids in merged:
            new = frozenset(ids) - seen
            if role == "recommender" and history and new:
                out.append(ReplayTurn(d.conversation_id, tuple(history), frozenset(seen), new))
            seen.update(ids)
            history.append({"role": "assistant" if role == "recommender" else "user", "content": text})
    return out


def data_digest(pairs: Sequence[Pair]) -> str:
    """Digest of the training pairs (part of the encoder's fingerprint)."""
    h = hashlib.sha256()
    for ctx, mid in pairs:
        h.update(f"{mid}\t{ctx}\n".encode())
    return h.hexdigest()[:16]


def _batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches in which no movie appears twice (a duplicate would be a false negative)."""
    pending = list(pairs)
    rng.shuffle(pending)
    out: list[list[Pair]] = []
    while pending:
        batch: list[Pair] = []
        movies: set[int] = set()
        rest: list[Pair] = []
        for p in pending:
            if len(batch) < size and p[1] not in movies:
                batch.append(p)
                movies.add(p[1])
            else:
                rest.append(p)
        if len(batch) < 2:
            break
        out.append(batch)
        pending = rest
    return out


def pick_device(device: str | None = None) -> str:
    """``device`` when given, else CUDA when present, else the CPU."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _inputs(model: Any, texts: list[str], device: str) -> dict[str, Any]:
    """Tokenised ``texts`` on ``device`` (``preprocess`` in sentence-transformers 6, ``tokenize`` before)."""
    prep = getattr(model, "preprocess", None) or model.tokenize
    return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in prep(texts).items()}


def _freeze(model: Any, layers: int) -> None:
    """Freeze the token embeddings and the lowest ``layers`` transformer layers (CPU time and memory)."""
    frozen = ("embeddings.", *(f"encoder.layer.{i}." for i in range(layers)))
    for name, param in model.named_parameters():
        if any(f in name for f in frozen):
            param.requires_grad_(False)


def fit_encoder(
    pairs: Sequence[Pair],
    catalogue: Catalogue,
    item_emb: np.ndarray,
    out: Path,
    config: TrainConfig,
    *,
    device: str | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Fine-tune the shipped MiniLM's query side on ``pairs`` and save it to ``out``; returns the figures.

    The document side stays the index's vectors (``item_emb``, aligned with ``catalogue.ids``), so serving
    needs no new catalogue vectors and a step encodes only the contexts."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    device = pick_device(device)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    model = SentenceTransformer(str(packaged_model_path()), device=device)
    model.max_seq_length = MAX_SEQ_LENGTH
    if getattr(model, "tokenizer", None) is not None:
        model.tokenizer.truncation_side = "left"  # a long context keeps its newest words
    _freeze(model, config.frozen_layers)
    loss_fn = MultipleNegativesRankingLoss(model)
    docs = torch.from_numpy(np.ascontiguousarray(item_emb, dtype=np.float32)).to(device)
    batches = [b for _ in range(config.epochs) for b in _batches(pairs, config.batch_size, rng)]
    batches = batches[: config.max_steps] if config.max_steps else batches
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    warm = max(1, int(config.warmup * len(batches)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (len(batches) - s) / max(1, len(batches) - warm)))
    )
    model.train()
    t0, losses = time.perf_counter(), []
    for step, batch in enumerate(batches, 1):
        query = model(_inputs(model, [c for c, _ in batch], device))["sentence_embedding"]
        pos = docs[torch.as_tensor(catalogue.rows([m for _, m in batch]), device=device)]
        loss = loss_fn.compute_loss_from_embeddings([query, pos], torch.empty(0))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % 25 == 0:
            log.info(
                "step %d/%d loss %.3f (%.0f s)", step, len(batches), losses[-1], time.perf_counter() - t0
            )
        if progress is not None:
            progress(step, len(batches))
    model.eval()
    return _save(model, out, config, device, len(pairs), losses, time.perf_counter() - t0)


def _save(
    model: Any, out: Path, config: TrainConfig, device: str, n_pairs: int, losses: list[float], seconds: float
) -> dict[str, float]:
    """Save ``model`` to ``out`` atomically (a temporary folder renamed), with its figures."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    tenth = max(1, len(losses) // 10)
    figures = {
        "pairs": n_pairs,
        "steps": len(losses),
        "seconds": round(seconds, 1),
        "loss_first": round(sum(losses[:tenth]) / tenth, 4) if losses else math.nan,
        "loss_last": round(sum(losses[-tenth:]) / tenth, 4) if losses else math.nan,
    }
    (tmp / DONE_FILE).write_text(
        json.dumps({"config": asdict(config), "device": device, **figures}, indent=1), encoding="utf-8"
    )
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return figures


def ensure_encoder(
    catalogue: Catalogue,
    dialogues: Sequence[TrainDialogue],
    mapping: TrainMapping,
    item_emb: np.ndarray,
    cache_dir: Path,
    config: TrainConfig | None = None,
    *,
    names: dict[str, str] | None = None,
    device: str | None = None,
    progress: Progress | None = None,
    train: bool = True,
) -> Path | None:
    """The tuned encoder for this catalogue, data and config: loaded from the cache, else trained now
    (``train=False``: ``None`` instead of training)."""
    config = config or TrainConfig()
    pairs = training_pairs(dialogues, mapping, names, config.context_messages)
    if config.max_pairs:
        pairs = pairs[: config.max_pairs]
    path = encoder_dir(cache_dir, encoder_fingerprint(catalogue, data_digest(pairs), item_emb, config))
    if is_trained(path):
        return path
    if not train:
        return None
    if len(pairs) < 2:
        raise ValueError("fewer than 2 training pairs: no train dialogue maps to the catalogue")
    log.info("training the dialogue retriever on %d pairs into %s", len(pairs), path)
    fit_encoder(pairs, catalogue, item_emb, path, config, device=device, progress=progress)
    return path


def encoder_for_folder(
    catalogue: Catalogue,
    train_dir: Path,
    id2info: Path | None,
    item_emb: np.ndarray,
    cache_dir: Path,
    config: TrainConfig | None = None,
    *,
    train: bool = True,
    device: str | None = None,
    progress: Progress | None = None,
) -> Path | None:
    """:func:`ensure_encoder` for the dialogues of a ``redial-train/`` folder (titles mapped through
    ``id2info``, see :class:`retrieval.redial.TitleMapper`)."""
    mapper = TitleMapper.from_path(catalogue, id2info if id2info and Path(id2info).is_file() else None)
    dialogues, mapping = load_train_folder(train_dir, mapper)
    names = load_movie_names(Path(train_dir) / "movies_with_mentions.csv")
    return ensure_encoder(
        catalogue,
        dialogues,
        mapping,
        item_emb,
        cache_dir,
        config,
        names=names,
        device=device,
        progress=progress,
        train=train,
    )
