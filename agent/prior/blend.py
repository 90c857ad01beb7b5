"""Final scoring when a conversational prior is available: a linear model over per-candidate features.

Features mix what the user said (CF score of their liked movies, similarity to their own words and to the
liked movies), what people recommend in conversations (the ReDial prior: recommendation counts and
co-occurrence with the movies named so far) and facts about the movie (MovieLens popularity, mean rating,
release period). The weights are fitted listwise on the ReDial dev *tune half* by ``bench/redial_tune.py``
(2-fold inside it, each fold's prior counted on the other fold) and shipped in ``agent/prior/blend.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from agent.prior.conversational import ConversationPrior
from ranking.protocol import ScoredList
from ranking.reranker import mmr_order
from retrieval.catalogue import Catalogue

YEAR_BINS = ((0, 1979), (1980, 1989), (1990, 1999), (2000, 2009), (2010, 2014), (2015, 9999))
BASE_FEATURES: tuple[str, ...] = (
    "cf",  # z-scored collaborative-filtering score among the candidates
    "cf_rank",  # -log2(1 + CF rank): the head of the CF list matters most
    "text",  # z-scored cosine to the user's own words
    "text_raw",  # raw cosine: a specific request ("a heist with a twist") matches a few movies strongly
    "liked",  # z-scored cosine to the liked movies' centroid
    "liked_raw",
    "liked_max",  # cosine to the most similar liked movie
    "people",  # log(1 + directors and stars shared with the movies named so far)
    "franchise",  # same title stem as a movie named so far ("Police Academy" -> "Police Academy 2")
    "prior",  # log(1 + times recommended in conversations)
    "related",  # co-occurrence with the movies named in this conversation
    "related_any",
    "ml_pop",  # log(1 + MovieLens ratings) / 6
    "rating",  # mean MovieLens rating - 3.5 (0 when unrated)
    "genre_liked",  # share of the genres the user said they like ("I love comedies") that the movie has
    *(f"year_{lo}_{hi}" for lo, hi in YEAR_BINS),
    "dialogue",  # z-scored cosine of the dialogue-context retriever (0 without one)
    "dialogue_raw",
)
# The same features again, non-zero only when the request has hard filters (required genres, years): a
# user who states constraints is searching, one who chats about movies is asking for what people like.
FEATURES: tuple[str, ...] = (*BASE_FEATURES, *(f"{f}|filtered" for f in BASE_FEATURES))
WEIGHTS_FILE = "blend.json"
DIALOGUE_WEIGHTS_FILE = "dialogue.json"  # the dialogue features' weights per retriever kind


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What the blend knows about the request besides the CF scores."""

    text_vec: np.ndarray | None = None  # the user's own words, embedded
    liked: tuple[int, ...] = ()
    seeds: tuple[int, ...] = ()  # every movie named so far (liked, disliked, seen, shown)
    liked_genres: tuple[str, ...] = ()
    filtered: bool = False  # required genres or a year range are in force
    dialogue: np.ndarray | None = None  # the dialogue retriever's score of every catalogue row


class BlendWeights(BaseModel):
    """One weight per feature (missing features weigh 0); fitted by ``bench/redial_tune.py``."""

    model_config = ConfigDict(frozen=True)

    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _known(cls, w: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(w) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown blend features: {', '.join(unknown)}")
        return w

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.weights.get(f, 0.0) for f in FEATURES], dtype=np.float64)

    @classmethod
    def load(cls, path: Path | None = None) -> BlendWeights:
        """The shipped weights (package data), or those in ``path``."""
        if path is None:
            text = resources.files("agent.prior").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls(weights=json.loads(text)["weights"])

    def merged(self, extra: dict[str, float]) -> BlendWeights:
        """These weights with ``extra`` set on top."""
        return BlendWeights(weights={**self.weights, **extra})


def dialogue_weights(kind: str, path: Path | None = None) -> dict[str, float]:
    """The fitted weights of the dialogue features for a retriever ``kind`` ("base", "tuned"); {} if none
    were fitted (``bench/dialogue_tune.py`` writes them, with the other weights held fixed)."""
    if path is None:
        text = resources.files("agent.prior").joinpath(DIALOGUE_WEIGHTS_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return {str(k): float(v) for k, v in json.loads(text).get(kind, {}).items()}


_STEM_CUT = re.compile(r"\s*(?::| - |\(|\b(?:part\s+)?(?:\d+|ii|iii|iv|v|vi)\b).*$", re.IGNORECASE)


def title_stem(title: str) -> str:
    """A franchise key: the title before a subtitle or a sequel number, case-folded ("" if too short)."""
    stem = _STEM_CUT.sub("", title).strip().casefold()
    stem = re.sub(r"^(?:the|a|an)\s+", "", stem)
    return stem if len(stem) >= 4 else ""


def genre_share(catalogue: Catalogue, ids: Iterable[int], liked: Sequence[str]) -> np.ndarray:
    """Per movie id: the share of the ``liked`` genres the movie has (0 when none are liked)."""
    ids = list(ids)
    if not liked:
        return np.zeros(len(ids))
    want = set(liked)
    return np.array([len(want.intersection(catalogue.get(m).genres)) / len(want) for m in ids])


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


class PriorBlend:
    """Ranks the CF-scored candidates of a turn by ``features @ weights``."""

    def __init__(
        self, catalogue: Catalogue, item_emb: np.ndarray, prior: ConversationPrior, weights: BlendWeights
    ) -> None:
        self.catalogue = catalogue
        self.item_emb = item_emb
        self.prior = prior
        self.w = weights
        self._wvec = weights.vector
        movies = list(catalogue)
        self._people = [frozenset((*m.directors, *m.stars)) for m in movies]
        self._stem = [title_stem(m.title) for m in movies]
        self._prior = np.array([prior.popularity(m.movie_id) for m in movies], dtype=np.float64)
        years = np.array([m.year or 0 for m in movies])
        self._facts = np.column_stack(
            [
                np.log1p([m.rating_count for m in movies]) / 6.0,
                [(m.rating_mean - 3.5) if m.rating_mean is not None else 0.0 for m in movies],
                *(((years >= lo) & (years <= hi)).astype(np.float64) for lo, hi in YEAR_BINS),
            ]
        )

    def extra_candidates(self, seeds: Sequence[int], n_prior: int = 300, n_related: int = 100) -> list[int]:
        """Movies the prior would put forward: often recommended, or named with the seeds."""
        scores = self.prior.related(seeds)
        related = sorted(scores, key=lambda m: (-scores[m], m))[:n_related]
        return self.prior.top[:n_prior] + related

    def features(self, cf: ScoredList, ctx: TurnContext) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, X)``: the candidates ``cf`` scored and their ``(n, len(FEATURES))`` feature rows."""
        text_vec, liked, seeds = ctx.text_vec, ctx.liked, ctx.seeds
        ids = np.array(cf.ids, dtype=np.int64)
        rows = self.catalogue.rows(ids)
        emb = self.item_emb[rows]
        n = len(ids)
        cf_s = np.asarray(cf.scores, dtype=np.float64)
        cf_rank = np.empty(n)
        cf_rank[np.lexsort((ids, -cf_s))] = np.arange(n)
        text = emb @ text_vec if text_vec is not None else np.zeros(n)
        known = [m for m in liked if m in self.catalogue]
        if known:
            liked_emb = self.item_emb[self.catalogue.rows(known)]
            centroid = liked_emb.mean(axis=0)
            centroid = centroid / (np.linalg.norm(centroid) + 1e-9)
            liked_sim = emb @ centroid
            liked_max = (emb @ liked_emb.T).max(axis=1)
        else:
            liked_sim = liked_max = np.zeros(n)
        seed_rows = self.catalogue.rows([m for m in seeds if m in self.catalogue])
        people = frozenset().union(*(self._people[r] for r in seed_rows))
        stems = {self._stem[r] for r in seed_rows} - {""}
        shared = np.log1p([len(self._people[r] & people) for r in rows]) if people else np.zeros(n)
        franchise = np.array([float(self._stem[r] in stems) for r in rows]) if stems else np.zeros(n)
        rel = np.zeros(len(self._prior))
        for mid, v in self.prior.related(seeds).items():
            if mid in self.catalogue:
                rel[self.catalogue.row(mid)] = v
        rel = rel[rows]
        dial = ctx.dialogue[rows].astype(np.float64) if ctx.dialogue is not None else np.zeros(n)
        x = np.column_stack(
            [
                _z(cf_s),
                -np.log2(2.0 + cf_rank),
                _z(text),
                text,
                _z(liked_sim),
                liked_sim,
                liked_max,
                shared,
                franchise,
                self._prior[rows],
                rel,
                (rel > 0).astype(np.float64),
                self._facts[rows, :2],
                genre_share(self.catalogue, ids, ctx.liked_genres),
                self._facts[rows, 2:],
                _z(dial),
                dial,
            ]
        )
        return ids, np.hstack([x, x if ctx.filtered else np.zeros_like(x)])

    def rank(self, cf: ScoredList, ctx: TurnContext, diversity: float = 0.0) -> ScoredList:
        """Blend over the candidates ``cf`` scored (it already dropped excluded ids)."""
        if not cf.ids:
            return cf
        ids, x = self.features(cf, ctx)
        score = x @ self._wvec
        order = np.lexsort((ids, -score))
        ids, score = ids[order], score[order]
        if diversity > 0:
            emb = self.item_emb[self.catalogue.rows(ids)]
            mmr = mmr_order(emb, score, 1.0 - diversity)
            ids, score = ids[mmr], score[mmr]
        return ScoredList(tuple(int(i) for i in ids), tuple(float(s) for s in score))
