"""LLM-driven turns (``REELCHAT_AGENT_MODE=llm``): a tool-calling chat model drives the same pipeline.

The model may resolve titles and search with filters; its final picks are still validated against the
catalogue, the session's hard constraints and exclusions. Any failure (no tool call, a malformed or
failing call, invented ids only, an error, the time limit) makes :func:`llm_plan` use the deterministic
plan instead, with a notice in the reply and its steps.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool

from agent.pipeline.pipeline import PipelineRequest, PipelineResult
from agent.records import Step, counted
from agent.understanding.state import SessionState
from retrieval.types import Filters

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.group.recommend import GroupResult
    from agent.pipeline.pipeline import Pipeline
    from agent.resources import Resources
    from agent.settings import Settings
    from retrieval.catalogue import Catalogue
    from retrieval.titles import TitleResolver

log = logging.getLogger(__name__)


def _prompt(name: str) -> str:
    return resources.files("agent.explain").joinpath("prompts", name).read_text(encoding="utf-8")


class PlanningEngine(Protocol):
    """What the tool loop uses of :class:`agent.conversation.engine.TurnEngine`."""

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def resolver(self) -> TitleResolver: ...

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def settings(self) -> Settings: ...

    resources: Resources

    def recommend(self, state: SessionState, k: int | None = None) -> PipelineResult | GroupResult: ...


class ToolDrivenTurn:
    """Runs one turn through a tool loop; returns validated ``(movie_id, score)`` picks or ``None``."""

    def __init__(self, engine: PlanningEngine, model: BaseChatModel, max_steps: int = 6) -> None:
        self.engine = engine
        self.max_steps = max_steps
        self.calls = 0  # tool calls the model made in the last run
        self.failure = ""  # why the last run gave no picks
        self.tools = self._make_tools()
        self.model = model.bind_tools(self.tools)

    def _make_tools(self) -> list[StructuredTool]:
        app = self.engine

        def resolve_title(title: str) -> str:
            """Find catalogue movies matching a title; returns JSON [{movie_id, label}]."""
            matches = app.resolver.resolve(title[:200], limit=3)
            return json.dumps(
                [{"movie_id": m.movie_id, "label": app.catalogue.get(m.movie_id).label} for m in matches]
            )

        def search_movies(
            text: str = "",
            liked_ids: list[int] | None = None,
            genres_required: list[str] | None = None,
            genres_excluded: list[str] | None = None,
            year_min: int | None = None,
            year_max: int | None = None,
            k: int = 10,
        ) -> str:
            """Search and rerank the catalogue; returns JSON [{movie_id, label, genres}]."""
            st = self._state
            tmp = SessionState(
                liked=[int(i) for i in (liked_ids or []) if int(i) in app.catalogue] or list(st.liked),
                disliked=list(st.disliked),
                seen=list(st.seen),
                shown=list(st.shown),
                genres_required=sorted(set(st.genres_required) | set(genres_required or [])),
                genres_excluded=sorted(set(st.genres_excluded) | set(genres_excluded or [])),
                year_min=max(filter(None, [st.year_min, year_min]), default=None),
                year_max=min(filter(None, [st.year_max, year_max]), default=None),
                text=text[:300] or st.text,
                k=max(1, min(20, int(k))),
            )
            result = app.pipeline.run(PipelineRequest.from_state(tmp))
            return json.dumps(
                [
                    {
                        "movie_id": mid,
                        "label": app.catalogue.get(mid).label,
                        "genres": list(app.catalogue.get(mid).genres),
                    }
                    for mid, _ in result.picks
                ]
            )

        def recommend(movie_ids: list[int]) -> str:
            """Give the final picks (catalogue movie ids, best first). Call exactly once at the end."""
            return "ok"

        return [StructuredTool.from_function(f) for f in (resolve_title, search_movies, recommend)]

    def run(self, state: SessionState, message: str) -> list[tuple[int, float]] | None:
        """Validated picks, or ``None`` (and :attr:`failure` says why) for the deterministic plan."""
        self._state = state
        self.calls, self.failure = 0, ""
        msgs: list[BaseMessage] = [
            SystemMessage(_prompt("tool_agent_system.txt")),
            HumanMessage(
                f"Constraints so far: {json.dumps(self._constraints(state))}\nUser: {message[:2000]}"
            ),
        ]
        by_name = {t.name: t for t in self.tools}
        try:
            for _ in range(self.max_steps):
                ai = self.model.invoke(msgs)
                if not isinstance(ai, AIMessage) or not ai.tool_calls:
                    self.failure = "answered without calling a tool"
                    return None
                msgs.append(ai)
                for call in ai.tool_calls:
                    self.calls += 1
                    if call["name"] == "recommend":
                        picks = self.validate(state, call["args"].get("movie_ids", []))
                        self.failure = "" if picks else "recommended no valid catalogue movie"
                        return picks
                    tool = by_name.get(call["name"])
                    out = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']}"
                    msgs.append(ToolMessage(str(out)[:4000], tool_call_id=call.get("id") or call["name"]))
            self.failure = f"did not recommend within {self.max_steps} steps"
        except Exception as err:  # any model/tool failure: the deterministic plan takes over
            log.warning("tool-driven turn failed, using the deterministic plan: %s", err)
            timed_out = "timeout" in type(err).__name__.lower()
            self.failure = "timed out" if timed_out else f"failed ({type(err).__name__})"
        return None

    def run_within(
        self, state: SessionState, message: str, timeout_s: float
    ) -> list[tuple[int, float]] | None:
        """:meth:`run` in a daemon thread, given up after ``timeout_s`` (a hung server must not hang
        the turn)."""
        fut: Future[list[tuple[int, float]] | None] = Future()

        def work() -> None:
            try:
                fut.set_result(self.run(state, message))
            except BaseException as err:  # run() catches model errors; this is a last resort
                fut.set_exception(err)

        threading.Thread(target=work, name="reelchat-tool-turn", daemon=True).start()
        try:
            return fut.result(timeout=timeout_s)
        except FutureTimeout:
            self.failure = f"did not answer within {timeout_s:g} s"
        except Exception as err:
            self.failure = f"failed ({type(err).__name__})"
        return None

    def validate(self, state: SessionState, ids: Any) -> list[tuple[int, float]] | None:
        """Keep only catalogue movies that satisfy every hard constraint and are not excluded."""
        filters = Filters(
            state.year_min, state.year_max, tuple(state.genres_required), tuple(state.genres_excluded)
        )
        excluded = state.excluded_ids()
        picks: list[tuple[int, float]] = []
        for raw in ids if isinstance(ids, list) else []:
            try:
                mid = int(raw)
            except (TypeError, ValueError):
                continue
            movie = self.engine.catalogue.find(mid)
            if movie and mid not in excluded and filters.admits(movie) and mid not in dict(picks):
                picks.append((mid, 1.0 - 0.01 * len(picks)))
        return picks[: state.k] or None

    @staticmethod
    def _constraints(state: SessionState) -> dict[str, Any]:
        q = replace(state.query())
        return {
            "liked_ids": list(q.liked),
            "disliked_ids": list(q.disliked),
            "genres_required": list(q.genres_required),
            "genres_excluded": list(q.genres_excluded),
            "year_min": q.year_min,
            "year_max": q.year_max,
            "k": q.k,
        }


FALLBACK_NOTICE = "I chose these picks the usual way, because the LLM planner {why}."


def llm_plan(engine: PlanningEngine, state: SessionState, message: str) -> PipelineResult | GroupResult:
    """The turn's picks from the tool-calling LLM; the deterministic plan, with a notice, when it fails.
    Too few valid LLM picks are topped up from the deterministic plan."""
    from agent.explain.llm import parse_llm_spec, supports_tools

    t0 = time.perf_counter()
    if state.members:  # groups: the group recommender plans
        return engine.recommend(state)
    model = engine.resources.chat_model
    if model is None or not supports_tools(parse_llm_spec(engine.settings.llm)):
        why = "needs a tool-calling model (REELCHAT_LLM=openai:... or ollama:...)"
    else:
        turn = ToolDrivenTurn(engine, model)
        picks = turn.run_within(state, message, engine.settings.llm_timeout_s)
        why = turn.failure
        if picks:
            ms = 1000 * (time.perf_counter() - t0)
            steps = [
                Step(
                    "retrieve",
                    f"LLM planner: {counted(turn.calls, 'tool call')}, {counted(len(picks), 'valid pick')}",
                    ms,
                )
            ]
            if len(picks) < state.k:
                more = engine.recommend(state)
                chosen = {m for m, _ in picks}
                extra = [(m, s) for m, s in more.picks if m not in chosen][: state.k - len(picks)]
                picks = [*picks, *[(m, min(0.0, s)) for m, s in extra]]
                steps.append(
                    Step("retrieve", f"{counted(len(extra), 'pick')} added by the deterministic plan")
                )
            return PipelineResult(tuple(picks), tuple(steps))
    result = engine.recommend(state)
    log.warning("LLM planner fell back to the deterministic plan: %s", why)
    step = Step(
        "notice", f"LLM planner fell back to the deterministic plan: {why}", 1000 * (time.perf_counter() - t0)
    )
    notice = FALLBACK_NOTICE.format(why=why)
    return PipelineResult(result.picks, (step, *result.steps), (notice, *result.notices))
