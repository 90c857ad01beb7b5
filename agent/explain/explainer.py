"""Explanations for picks we already chose: factual templates, or LLM prose checked against our facts.

The LLM never chooses movies. :class:`LLMExplainer` asks it for one or two sentences per pick from a
prompt holding only facts we have, runs every answer through :func:`agent.explain.grounding.check`, and uses
the :class:`TemplateExplainer` sentence for any answer that is rejected, empty, failing or late.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from typing import Any, Literal, Protocol, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.explain import grounding
from agent.explain.llamacpp import LlamaCppChatModel
from agent.explain.llm import LocalChatModel
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

log = logging.getLogger(__name__)

ExplanationSource = Literal["llm", "template"]
_T = TypeVar("_T")
_PLOT_CHARS = 160
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?$")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Facts we hold that support one pick."""

    pick: Movie
    related_liked: tuple[Movie, ...] = ()  # the user's liked movies this pick relates to
    co_liked_count: int | None = None  # users who loved related_liked[0] and also loved the pick
    reason_tags: tuple[str, ...] = ()
    matched_genres: tuple[str, ...] = ()
    member: str | None = None  # group member the pick is for
    constraints: grounding.Constraints = grounding.NO_CONSTRAINTS  # what the user asked: never contradicted


@dataclass(frozen=True, slots=True)
class Explanation:
    """One explanation and where it came from; ``rejected_reason`` says why LLM text was not used."""

    text: str
    source: ExplanationSource
    rejected_reason: str | None = None


class Explainer(Protocol):
    def explain_batch(self, items: Sequence[Evidence]) -> list[str]: ...

    def explain_iter(self, items: Sequence[Evidence]) -> Iterator[Explanation]: ...


# Genre wording: the first noun present heads the phrase, the first other adjective qualifies it.
_NOUNS = (
    ("Documentary", "documentary"), ("Western", "western"), ("Thriller", "thriller"),
    ("Horror", "horror film"), ("Comedy", "comedy"), ("Musical", "musical"), ("Mystery", "mystery"),
    ("Drama", "drama"), ("Adventure", "adventure"), ("Action", "action film"), ("Fantasy", "fantasy"),
    ("Sci-Fi", "sci-fi film"), ("Romance", "romance"), ("Children", "family film"),
    ("Animation", "animated film"), ("Crime", "crime film"), ("War", "war film"), ("Film-Noir", "film noir"),
)  # fmt: skip
_ADJECTIVES = (
    ("Animation", "animated"), ("Sci-Fi", "sci-fi"), ("Fantasy", "fantasy"), ("Crime", "crime"),
    ("War", "war"), ("Romance", "romantic"), ("Children", "family"), ("Film-Noir", "noir"),
    ("Action", "action"), ("Mystery", "mystery"), ("Horror", "horror"), ("Comedy", "comic"),
    ("Adventure", "adventure"),
)  # fmt: skip


def genre_phrase(genres: Sequence[str]) -> str:
    """``("Horror", "Sci-Fi")`` → ``"a sci-fi horror film"``; ``"a film"`` when no genre is listed."""
    noun = next(((g, w) for g, w in _NOUNS if g in genres), None)
    adj = next((w for g, w in _ADJECTIVES if g in genres and (noun is None or g != noun[0])), None)
    if noun is None:
        phrase = "film"
    elif adj and not noun[1].startswith(adj):
        phrase = f"{adj} {noun[1]}"
    else:
        phrase = noun[1]
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _quoted(tags: Sequence[str]) -> str:
    q = [f"'{t}'" for t in tags[:2]]
    return " and ".join(q)


class TemplateExplainer:
    """Factual sentences built from the evidence alone; varied by position, never empty."""

    def explain_one(self, ev: Evidence, index: int = 0) -> str:
        m = ev.pick
        desc = genre_phrase(m.genres)
        director = f" directed by {m.directors[0]}" if m.directors else ""
        tags = ev.reason_tags or m.tags[:2]
        tagged = f", tagged {_quoted(tags)}" if tags else ""
        openers = (
            f"{m.label} is {desc}{director}{tagged}.",
            f"Try {m.label}, {desc}{director}{tagged}.",
            f"{m.label} is {desc}{director}" + (f" known for {_quoted(tags)}." if tags else "."),
        )
        first = openers[index % len(openers)]
        second = self._why(ev, index)
        text = f"{first} {second}".strip()
        return f"For {ev.member}: {text}" if ev.member else text

    @staticmethod
    def _why(ev: Evidence, index: int) -> str:
        m = ev.pick
        liked = ev.related_liked[0].title if ev.related_liked else None
        n = ev.co_liked_count
        if liked and n:
            who = "One MovieLens user" if n == 1 else f"{n} MovieLens users"
            return (
                f"{who} who loved {liked} also rated it highly.",
                f"Among MovieLens users who loved {liked}, {'one' if n == 1 else n} also rated it highly.",
            )[index % 2]
        if liked and ev.matched_genres:
            shared = " and ".join(g.lower() if g != "Sci-Fi" else "sci-fi" for g in ev.matched_genres[:2])
            return f"It shares the {shared} side of {liked}, which you liked."
        if liked:
            return f"It sits close to {liked}, which you liked."
        if m.rating_mean is not None and m.rating_count >= 10:
            return f"MovieLens users rate it {m.rating_mean:.1f} out of 5 over {m.rating_count} ratings."
        return ""

    def explain(self, items: Sequence[Evidence]) -> list[Explanation]:
        return [Explanation(self.explain_one(ev, i), "template") for i, ev in enumerate(items)]

    def explain_batch(self, items: Sequence[Evidence]) -> list[str]:
        return [e.text for e in self.explain(items)]

    def explain_iter(self, items: Sequence[Evidence]) -> Iterator[Explanation]:
        yield from self.explain(items)


@lru_cache(maxsize=4)
def load_prompt(name: str) -> str:
    """A prompt template shipped as package data in ``agent/explain/prompts``."""
    return resources.files("agent.explain").joinpath("prompts", name).read_text(encoding="utf-8").strip()


def facts(ev: Evidence) -> list[str]:
    """The facts we hold for a pick, one line each (all the LLM gets to see)."""
    m = ev.pick
    lines = [f"Movie: {m.label}"]
    genres = [g for g in m.genres if not g.startswith("(")]
    if genres:
        lines.append(f"Genres: {', '.join(genres)}")
    tags = ev.reason_tags or m.tags[:3]
    if tags:
        lines.append(f"Tags: {', '.join(tags)}")
    if m.directors:
        lines.append(f"Director: {', '.join(m.directors[:2])}")
    if m.stars:
        lines.append(f"Starring: {', '.join(m.stars[:3])}")
    if m.rating_mean is not None and m.rating_count >= 10:
        lines.append(f"MovieLens rating: {m.rating_mean:.1f} out of 5 from {m.rating_count} users")
    if ev.related_liked:
        lines.append(f"I liked: {', '.join(x.label for x in ev.related_liked)}")
        if ev.co_liked_count:
            first = ev.related_liked[0].title
            lines.append(f"{ev.co_liked_count} MovieLens users who loved {first} also loved {m.title}")
    if m.plot:
        plot = m.plot if len(m.plot) <= _PLOT_CHARS else m.plot[:_PLOT_CHARS].rsplit(" ", 1)[0] + "…"
        lines.append(f"Plot: {plot}")
    return lines


def _spawn(fn: Callable[[], _T]) -> Future[_T]:
    """Run ``fn`` in a daemon thread (a hung LLM call must not block exit or the turn)."""
    fut: Future[_T] = Future()

    def run() -> None:
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn())
            except BaseException as err:
                fut.set_exception(err)

    threading.Thread(target=run, name="reelchat-explain", daemon=True).start()
    return fut


def _serial(
    model: LlamaCppChatModel,
    convs: Sequence[Sequence[BaseMessage]],
    deadline: float,
    cancel: threading.Event,
) -> list[Future[Any]]:
    """Generate the replies one after another in one thread (a llama.cpp model runs one at a time),
    so the first is ready first; generation stops between tokens past ``deadline`` or on ``cancel``."""
    futures: list[Future[Any]] = [Future() for _ in convs]

    def run() -> None:
        for conv, fut in zip(convs, futures, strict=True):
            if not fut.set_running_or_notify_cancel():
                continue
            if cancel.is_set() or time.monotonic() > deadline:
                fut.set_exception(TimeoutError("timed out"))
                continue
            try:
                fut.set_result(model.invoke(list(conv), deadline=deadline, cancel=cancel).text)
            except BaseException as err:
                fut.set_exception(err)

    threading.Thread(target=run, name="reelchat-explain-serial", daemon=True).start()
    return futures


def _complete(text: str) -> str:
    """Drop a trailing unfinished sentence (generation cut at the token limit)."""
    text = grounding.sanitise(text)
    if not text or _SENTENCE_END.search(text):
        return text
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    return text[: cut + 1] if cut > 0 else ""


class LLMExplainer:
    """LLM prose per pick, grounded against our facts, with a template fallback per item."""

    def __init__(
        self,
        chat_model: BaseChatModel,
        catalogue: Catalogue,
        timeout_s: float = 20.0,
        fallback: TemplateExplainer | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.catalogue = catalogue
        self.timeout_s = float(timeout_s)
        self.fallback = fallback or TemplateExplainer()

    def messages(self, ev: Evidence) -> list[BaseMessage]:
        user = load_prompt("explain_user.txt").format(facts="\n".join(f"- {f}" for f in facts(ev)),
                                                      label=ev.pick.label)  # fmt: skip
        return [SystemMessage(load_prompt("explain_system.txt")), HumanMessage(user)]

    def explain(self, items: Sequence[Evidence]) -> list[Explanation]:
        return list(self.explain_iter(items))

    def explain_batch(self, items: Sequence[Evidence]) -> list[str]:
        return [e.text for e in self.explain_iter(items)]

    def explain_iter(self, items: Sequence[Evidence]) -> Iterator[Explanation]:
        """Explanations in input order, each yielded as soon as it (and those before it) is ready."""
        if not items:
            return
        deadline = time.monotonic() + self.timeout_s
        convs = [self.messages(ev) for ev in items]
        model = self.chat_model
        if isinstance(model, LocalChatModel):
            cancel = threading.Event()
            batch = _spawn(
                lambda: model.generate_texts(convs, max_time_s=self.timeout_s * 0.9, cancel=cancel)
            )
            outcome = self._wait(batch, deadline)
            if isinstance(outcome, BaseException):
                cancel.set()
            for i, ev in enumerate(items):
                result = outcome if isinstance(outcome, BaseException) else outcome[i]
                yield self._finish(ev, i, result)
            return
        stop_all = threading.Event()
        futures: list[Future[Any]]
        if isinstance(model, LlamaCppChatModel):
            futures = _serial(model, convs, deadline, stop_all)
        else:
            futures = [_spawn(partial(model.invoke, c)) for c in convs]
        for i, (ev, fut) in enumerate(zip(items, futures, strict=True)):
            outcome = self._wait(fut, deadline)
            if isinstance(outcome, TimeoutError):
                stop_all.set()
            yield self._finish(ev, i, outcome)

    @staticmethod
    def _wait(fut: Future[Any], deadline: float) -> Any:
        try:
            return fut.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            fut.cancel()
            return TimeoutError("timed out")
        except Exception as err:
            return err

    def _finish(self, ev: Evidence, index: int, result: Any) -> Explanation:
        """Grounded LLM text, or the template sentence with the reason the LLM text was not used."""
        if isinstance(result, BaseException):
            reason = "timeout" if isinstance(result, TimeoutError) else f"error: {type(result).__name__}"
            log.info("explanation for %s fell back to template (%s)", ev.pick.movie_id, reason)
            return Explanation(self.fallback.explain_one(ev, index), "template", reason)
        raw = result if isinstance(result, str) else str(getattr(result, "text", result))
        text = _complete(raw)
        if raw.strip() and not text:
            verdict = grounding.GroundingResult(False, "incomplete sentence")
        else:
            verdict = grounding.check(text, ev.pick, ev.related_liked, self.catalogue, ev.constraints)
        if not verdict.ok:
            log.info("explanation for %s rejected (%s): %r", ev.pick.movie_id, verdict.reason, raw[:200])
            return Explanation(self.fallback.explain_one(ev, index), "template", verdict.reason)
        text = f"For {ev.member}: {verdict.text}" if ev.member else verdict.text
        return Explanation(text, "llm")


__all__ = [
    "Evidence",
    "Explainer",
    "Explanation",
    "ExplanationSource",
    "LLMExplainer",
    "TemplateExplainer",
    "facts",
    "genre_phrase",
    "load_prompt",
]
