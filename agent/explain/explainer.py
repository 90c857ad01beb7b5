"""Explanations for picks we already chose: factual templates, or LLM prose checked against our facts.

The LLM never chooses movies. :class:`LLMExplainer` asks it for one sentence per pick from a
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
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.explain import grounding, templates
from agent.explain.llamacpp import LlamaCppChatModel
from agent.explain.llm import LocalChatModel
from agent.explain.templates import genre_phrase
from agent.records import counted
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

log = logging.getLogger(__name__)

ExplanationSource = Literal["llm", "template"]
PromptStyle = Literal["plain", "few-shot"]  # the explanation prompt: facts only, or with worked examples
_T = TypeVar("_T")
SENTENCES = 1  # sentences per LLM explanation (llama.cpp stops generating after the first)
MAX_TOKENS = 48  # tokens per LLM explanation on llama.cpp: one sentence fits, a ramble is cut
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?$")
_SECOND_PERSON = re.compile(r"\byou(?:r|rs|rself|'re|'ve|'d|'ll)?\b", re.IGNORECASE)
SPEAKER = "you"  # the member name of the user in a group (agent.group.members.SPEAKER)


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

    def explain_iter(self, items: Sequence[Evidence], start: int = 0) -> Iterator[Explanation]:
        """Explanations in order; ``start`` is the first item's position in its reply."""
        ...


class TemplateExplainer:
    """Factual sentences built from the evidence alone (:mod:`agent.explain.templates`): phrasing
    varied by position and pick, never empty."""

    def explain_one(self, ev: Evidence, index: int = 0) -> str:
        """The template explanation of one pick at position ``index`` of its reply."""
        tags = ev.reason_tags or tuple(t for t in ev.pick.tags if ev.constraints.admits_tag(t))[:2]
        liked = ev.related_liked[0].title if ev.related_liked else None
        v = voice(ev)
        second = templates.reason(ev.pick, liked, ev.co_liked_count, ev.matched_genres, index, v)
        first = templates.opening(ev.pick, tags, index, personal=not second, voice=v)
        return for_member(ev, f"{first} {second}".strip())

    def explain(self, items: Sequence[Evidence], start: int = 0) -> list[Explanation]:
        """Every item's template explanation, in order (``start``: the first item's position)."""
        return [Explanation(self.explain_one(ev, i), "template") for i, ev in enumerate(items, start)]

    def explain_batch(self, items: Sequence[Evidence]) -> list[str]:
        """The texts of :meth:`explain`."""
        return [e.text for e in self.explain(items)]

    def explain_iter(self, items: Sequence[Evidence], start: int = 0) -> Iterator[Explanation]:
        """:meth:`explain`, as an iterator."""
        yield from self.explain(items, start)


def voice(ev: Evidence) -> templates.Voice:
    """How an explanation speaks of the viewer a pick is for: "you" (the user), or "they" for another
    viewer of a group."""
    return templates.YOU if ev.member in (None, SPEAKER) else templates.THEY


def for_member(ev: Evidence, text: str) -> str:
    """``text`` headed by the viewer the pick is for, in a group ("For your partner: …")."""
    return f"For {ev.member}: {text}" if ev.member else text


def wrong_person(ev: Evidence, text: str) -> bool:
    """Whether ``text`` speaks to "you" about a pick chosen for another viewer (it must say "they")."""
    return voice(ev) is templates.THEY and bool(_SECOND_PERSON.search(text))


@lru_cache(maxsize=8)
def load_prompt(name: str) -> str:
    """A prompt template shipped as package data in ``agent/explain/prompts``."""
    return resources.files("agent.explain").joinpath("prompts", name).read_text(encoding="utf-8").strip()


def facts(ev: Evidence) -> list[str]:
    """The facts we hold for a pick, one line each (all the LLM gets to see): the evidence, not the plot
    (every prompt token costs time on a CPU, and plot words invite claims we cannot check)."""
    m = ev.pick
    lines = [f"Movie: {m.label}"]
    genres = [g for g in m.genres if not g.startswith("(")]
    if genres:
        lines.append(f"Genres: {', '.join(genres)}")
    tags = ev.reason_tags or tuple(t for t in m.tags if ev.constraints.admits_tag(t))[:3]
    if tags:
        lines.append(f"Tags: {', '.join(tags)}")
    if m.directors:
        lines.append(f"Director: {', '.join(m.directors[:2])}")
    if m.stars:
        lines.append(f"Starring: {', '.join(m.stars[:2])}")
    if m.rating_mean is not None and m.rating_count >= 10:
        lines.append(f"MovieLens rating: {m.rating_mean:.1f} out of 5 from {counted(m.rating_count, 'user')}")
    if ev.related_liked:
        lines.append(f"I liked: {', '.join(x.label for x in ev.related_liked)}")
        if ev.co_liked_count:
            first = ev.related_liked[0].title
            fans = counted(ev.co_liked_count, "MovieLens user")
            lines.append(f"{fans} who loved {first} also loved {m.title}")
    return lines


@lru_cache(maxsize=1)
def few_shot_turns() -> tuple[BaseMessage, ...]:
    """The worked examples of ``explain_fewshot.txt`` as alternating user and assistant turns."""
    raw = "\n".join(
        line for line in load_prompt("explain_fewshot.txt").splitlines() if not line.startswith("#")
    )
    turns: list[BaseMessage] = []
    for block in raw.split("\n===\n"):
        facts_part, _, answer = block.partition("\n->\n")
        label = next(line.split(":", 1)[1].strip() for line in facts_part.splitlines() if "Movie:" in line)
        body = facts_part.strip().removeprefix("Facts:").strip()
        turns.append(HumanMessage(load_prompt("explain_user.txt").format(facts=body, label=label)))
        turns.append(AIMessage(answer.strip()))
    return tuple(turns)


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
    kwargs: Sequence[dict[str, Any]] | None = None,
) -> list[Future[Any]]:
    """Generate the replies one after another in one thread (a llama.cpp model runs one at a time),
    so the first is ready first; generation stops between tokens past ``deadline`` or on ``cancel``."""
    futures: list[Future[Any]] = [Future() for _ in convs]
    extra = list(kwargs or [{} for _ in convs])

    def run() -> None:
        for conv, fut, kw in zip(convs, futures, extra, strict=True):
            if not fut.set_running_or_notify_cancel():
                continue
            if cancel.is_set() or time.monotonic() > deadline:
                fut.set_exception(TimeoutError("timed out"))
                continue
            try:
                fut.set_result(model.invoke(list(conv), deadline=deadline, cancel=cancel, **kw).text)
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
        prompt: PromptStyle = "plain",
    ) -> None:
        self.chat_model = chat_model
        self.catalogue = catalogue
        self.timeout_s = float(timeout_s)
        self.fallback = fallback or TemplateExplainer()
        self.prompt = prompt

    def messages(self, ev: Evidence) -> list[BaseMessage]:
        user = load_prompt("explain_user.txt").format(facts="\n".join(f"- {f}" for f in facts(ev)),
                                                      label=ev.pick.label)  # fmt: skip
        shots = few_shot_turns() if self.prompt == "few-shot" else ()
        return [SystemMessage(load_prompt("explain_system.txt")), *shots, HumanMessage(user)]

    def call_kwargs(self, ev: Evidence) -> dict[str, Any]:
        """Extra keyword arguments of the model call for ``ev`` (none here; slots add a JSON schema)."""
        return {}

    def explain(self, items: Sequence[Evidence]) -> list[Explanation]:
        return list(self.explain_iter(items))

    def explain_batch(self, items: Sequence[Evidence]) -> list[str]:
        return [e.text for e in self.explain_iter(items)]

    def explain_iter(self, items: Sequence[Evidence], start: int = 0) -> Iterator[Explanation]:
        """Explanations in input order, each yielded as soon as it (and those before it) is ready;
        ``start`` is the first item's position in its reply (it picks a fallback's phrasing)."""
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
                yield self._finish(ev, start + i, result)
            return
        stop_all = threading.Event()
        futures: list[Future[Any]]
        kwargs = [self.call_kwargs(ev) for ev in items]
        if isinstance(model, LlamaCppChatModel):
            caps: dict[str, Any] = {"max_sentences": SENTENCES, "max_tokens": MAX_TOKENS, "stop": ["\n"]}
            kwargs = [kw if "response_format" in kw else {**caps, **kw} for kw in kwargs]
            futures = _serial(model, convs, deadline, stop_all, kwargs)
        else:
            futures = [_spawn(partial(model.invoke, c, **kw)) for c, kw in zip(convs, kwargs, strict=True)]
        for i, (ev, fut) in enumerate(zip(items, futures, strict=True)):
            outcome = self._wait(fut, deadline)
            if isinstance(outcome, TimeoutError):
                stop_all.set()
            yield self._finish(ev, start + i, outcome)

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
        if verdict.ok and wrong_person(ev, verdict.text):
            verdict = grounding.GroundingResult(False, "speaks to the wrong viewer", verdict.text)
        if not verdict.ok:
            log.info("explanation for %s rejected (%s): %r", ev.pick.movie_id, verdict.reason, raw[:200])
            return Explanation(self.fallback.explain_one(ev, index), "template", verdict.reason)
        return Explanation(for_member(ev, verdict.text), "llm")


__all__ = [
    "Evidence",
    "Explainer",
    "Explanation",
    "ExplanationSource",
    "LLMExplainer",
    "PromptStyle",
    "TemplateExplainer",
    "facts",
    "few_shot_turns",
    "genre_phrase",
    "load_prompt",
]
