"""Structured understanding from an LLM: the model proposes the query update as JSON, we validate it and
merge it under the deterministic parse.

The model fills :class:`QueryUpdate` through LangChain's ``with_structured_output`` (a JSON schema: llama.cpp
turns it into a grammar; OpenAI-compatible servers get it as ``response_format``). Nothing it says is trusted:
titles must resolve to catalogue movies *and* be named in the message (a small model invents titles), genres
must be in the catalogue's vocabulary, years in the catalogue's range, ``k`` within the reply limit. The
deterministic parse wins every field it filled; the LLM only fills what the parse left empty.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError
from text_to_num import alpha2digit

from agent.understanding.deltas import Understanding
from retrieval.titles import TitleResolver

log = logging.getLogger(__name__)

MIN_TITLE_SCORE = 0.85  # a proposed title must resolve at least this well
FIRST_YEAR = 1874


class QueryUpdate(BaseModel):
    """What one message says, as the LLM reads it (unvalidated)."""

    liked: list[str] = Field(default_factory=list, max_length=10)
    disliked: list[str] = Field(default_factory=list, max_length=10)
    seen: list[str] = Field(default_factory=list, max_length=10)
    genres_required: list[str] = Field(default_factory=list, max_length=5)
    genres_excluded: list[str] = Field(default_factory=list, max_length=5)
    year_min: int | None = None
    year_max: int | None = None
    k: int | None = None
    act: Literal["recommend", "question", "reset", "chitchat"] = "recommend"


@cache
def _prompt() -> str:
    return resources.files("agent.understanding").joinpath("prompts/query_update.md").read_text("utf-8")


def propose(model: Any, text: str, genres: Sequence[str], timeout_s: float = 5.0) -> QueryUpdate | None:
    """The model's reading of ``text``; ``None`` when it cannot give structured output, gives nonsense or
    takes longer than ``timeout_s`` (embedded models; a server model's client has its own time-out)."""
    try:
        structured = _structured(model, timeout_s)
    except (NotImplementedError, AttributeError, TypeError, ValueError) as err:
        log.info("the LLM gives no structured output: %s", err)
        return None
    system = _prompt().replace("{genres}", ", ".join(genres))
    try:
        out = structured.invoke([SystemMessage(system), HumanMessage(text)])
    except (ValidationError, ValueError) as err:
        log.info("LLM query update rejected: %s", err)
        return None
    except Exception as err:  # a server that is down or times out must not lose the turn
        log.warning("LLM query update failed: %s", err)
        return None
    return out if isinstance(out, QueryUpdate) else None


def _structured(model: Any, timeout_s: float) -> Any:
    """The structured-output runnable; embedded models take a generation time limit, others refuse the
    argument (their client has its own time-out)."""
    try:
        return model.with_structured_output(QueryUpdate, timeout_s=timeout_s)
    except (TypeError, ValueError):
        return model.with_structured_output(QueryUpdate)


def _named(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "


def _titles(values: Sequence[str], message: str, resolver: TitleResolver) -> tuple[int, ...]:
    said = _named(message)
    spans = {m.movie_id for s in resolver.find_mentions(message) for m in s.matches}
    out: list[int] = []
    for title in values:
        if not isinstance(title, str) or not title.strip():
            continue
        matches = resolver.resolve(title, limit=1)
        if not matches or matches[0].score < MIN_TITLE_SCORE:
            continue
        best = matches[0]
        name = _named(re.sub(r"\s*\(\d{4}\)\s*$", "", title)).strip()
        if best.movie_id in spans or (len(name) > 2 and f" {name} " in said):
            out.append(best.movie_id)
    return tuple(dict.fromkeys(out))


def _singular(word: str) -> str:
    word = word.strip().lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def _genres(values: Sequence[str], vocabulary: Sequence[str]) -> tuple[str, ...]:
    by_name = {_singular(g): g for g in vocabulary}
    picked = (by_name.get(_singular(v)) for v in values if isinstance(v, str))
    return tuple(dict.fromkeys(g for g in picked if g))


def _number_said(n: int, said: str) -> bool:
    return f" {n} " in said


def _year_said(year: int, said: str) -> bool:
    """The year (or the one next to it: "before 1995" is 1994) or its decade ("1990s", "90s") is said."""
    decade = year - year % 10
    forms = (str(year), str(year + 1), str(year - 1), f"{decade}s", f"{decade % 100:02d}s")  # "before 1995"
    return any(f" {form}" in said for form in forms)


def _genre_said(genre: str, said: str) -> bool:
    stem = _singular(genre).replace("-", " ")[:5]
    return f" {stem}" in said


def validated(
    update: QueryUpdate,
    message: str,
    resolver: TitleResolver,
    *,
    genres: Sequence[str],
    max_year: int,
    max_picks: int,
) -> Understanding:
    """The update as an :class:`Understanding`, keeping only what the catalogue and the message support:
    titles the message names, numbers (years, decades, counts) it contains, excluded genres it names."""
    said = _named(alpha2digit(message, "en"))  # "three comedies" -> "3 comedies"
    liked = _titles(update.liked, message, resolver)
    disliked = tuple(i for i in _titles(update.disliked, message, resolver) if i not in liked)
    seen = _titles(update.seen, message, resolver)
    required = _genres(update.genres_required, genres)
    excluded = tuple(
        g for g in _genres(update.genres_excluded, genres) if g not in required and _genre_said(g, said)
    )

    def year(value: int | None) -> int | None:
        return value if value is not None and FIRST_YEAR <= value <= max_year else None

    lo, hi = year(update.year_min), year(update.year_max)
    lo, hi = (y if y is not None and _year_said(y, said) else None for y in (lo, hi))
    if lo is not None and hi is not None and lo > hi:
        lo = hi = None  # a contradiction: neither bound is trusted
    k = (
        update.k
        if update.k is not None and 1 <= update.k <= max_picks and _number_said(update.k, said)
        else None
    )
    return Understanding(
        liked=liked,
        disliked=disliked,
        seen=seen,
        genres_required=required,
        genres_excluded=excluded,
        year_min=lo,
        year_max=hi,
        k=k,
        act=update.act,
    )


def merge(rules: Understanding, llm: Understanding) -> Understanding:
    """``rules`` with the fields it left empty filled from ``llm``; the deterministic parse wins conflicts.

    The act stays the parser's: it decides whether a message changes the state at all.
    """
    stated = {*rules.liked, *rules.disliked, *rules.seen}
    if rules.act != "recommend" or rules.reset:
        return rules

    def titles(field: str) -> tuple[int, ...]:
        mine = getattr(rules, field)
        return mine or tuple(i for i in getattr(llm, field) if i not in stated)

    named_genres = {*rules.genres_required, *rules.genres_excluded}
    named_genres |= {*rules.genres_liked, *rules.genres_allowed}
    return dataclasses.replace(
        rules,
        liked=titles("liked"),
        disliked=titles("disliked"),
        seen=titles("seen"),
        genres_required=rules.genres_required
        or tuple(g for g in llm.genres_required if g not in named_genres),
        genres_excluded=rules.genres_excluded
        or tuple(g for g in llm.genres_excluded if g not in named_genres),
        year_min=rules.year_min if rules.year_min is not None or rules.year_max is not None else llm.year_min,
        year_max=rules.year_max if rules.year_min is not None or rules.year_max is not None else llm.year_max,
        k=rules.k if rules.k is not None else llm.k,
    )


def completed(
    rules: Understanding,
    text: str,
    model: Any,
    resolver: TitleResolver,
    *,
    genres: Sequence[str],
    max_year: int,
    max_picks: int,
) -> Understanding:
    """``rules`` completed by ``model``'s validated reading of ``text`` (unchanged when it gives none)."""
    if model is None or rules.act != "recommend" or rules.reset or not text.strip():
        return rules
    update = propose(model, text, genres)
    if update is None:
        return rules
    llm = validated(update, text, resolver, genres=genres, max_year=max_year, max_picks=max_picks)
    return merge(rules, llm)


__all__ = ["QueryUpdate", "completed", "merge", "propose", "validated"]
