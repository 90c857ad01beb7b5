"""Tool-driven turns with a scripted FAKE chat model and FAKE pipeline (unit test; no real LLM)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.conversation.tool_mode import ToolDrivenTurn, llm_plan
from agent.pipeline.pipeline import PipelineRequest, PipelineResult
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from retrieval.types import Movie


class FakeScriptedToolModel(BaseChatModel):
    """Replays scripted AI messages; records what it was shown."""

    script: list[AIMessage]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "fake-scripted-tools"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeScriptedToolModel:  # type: ignore[override]
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append(list(messages))
        if not self.script:
            raise RuntimeError("script exhausted")
        return ChatResult(generations=[ChatGeneration(message=self.script.pop(0))])


@dataclass
class FakeMatch:
    movie_id: int


class FakeResolver:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def resolve(self, text: str, limit: int = 5) -> list[FakeMatch]:
        return [FakeMatch(m.movie_id) for m in self.catalogue if m.title.lower() == text.lower()][:limit]


@dataclass
class FakeResult:
    picks: tuple[tuple[int, float], ...]


class FakePipeline:
    def __init__(self) -> None:
        self.requests: list[PipelineRequest] = []

    def run(self, request: PipelineRequest) -> FakeResult:
        self.requests.append(request)
        return FakeResult(((2, 0.9), (3, 0.8)))


class FakeApp:
    def __init__(self) -> None:
        self.catalogue = Catalogue(
            [
                Movie(1, "Alien", 1979, ("Horror", "Sci-Fi")),
                Movie(2, "Aliens", 1986, ("Action", "Sci-Fi")),
                Movie(3, "The Matrix", 1999, ("Action", "Sci-Fi")),
                Movie(4, "Scream", 1996, ("Horror",)),
            ]
        )
        self.resolver = FakeResolver(self.catalogue)
        self.pipeline = FakePipeline()


def _call(name: str, args: dict[str, Any], i: int = 0) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}"}])


def test_tool_loop_resolves_searches_and_returns_validated_picks() -> None:
    app = FakeApp()
    model = FakeScriptedToolModel(
        script=[
            _call("resolve_title", {"title": "Alien"}, 0),
            _call("search_movies", {"liked_ids": [1], "genres_excluded": ["Horror"]}, 1),
            _call("recommend", {"movie_ids": [2, 3]}, 2),
        ]
    )
    state = SessionState(genres_excluded=["Horror"])
    picks = ToolDrivenTurn(app, model).run(state, "like Alien, no horror")  # type: ignore[arg-type]
    assert [m for m, _ in picks or []] == [2, 3]
    searched = app.pipeline.requests[0]
    assert searched.liked == (1,) and "Horror" in searched.filters.genres_excluded
    # the tool results were fed back to the model as tool messages
    assert any("Alien (1979)" in str(m.content) for m in model.seen[1])


def test_invented_and_constraint_breaking_picks_are_dropped() -> None:
    app = FakeApp()
    model = FakeScriptedToolModel(script=[_call("recommend", {"movie_ids": [999, 4, "x", 3, 1]})])
    state = SessionState(genres_excluded=["Horror"], shown=[1])
    picks = ToolDrivenTurn(app, model).run(state, "anything")  # type: ignore[arg-type]
    assert [m for m, _ in picks or []] == [3]


def test_failures_fall_back_to_none() -> None:
    app = FakeApp()
    assert ToolDrivenTurn(app, FakeScriptedToolModel(script=[])).run(SessionState(), "x") is None  # type: ignore[arg-type]
    plain = FakeScriptedToolModel(script=[AIMessage(content="I recommend Star Wars!")])
    assert ToolDrivenTurn(app, plain).run(SessionState(), "x") is None  # type: ignore[arg-type]
    only_fake = FakeScriptedToolModel(script=[_call("recommend", {"movie_ids": [12345]})])
    assert ToolDrivenTurn(app, only_fake).run(SessionState(), "x") is None  # type: ignore[arg-type]


def test_loop_is_bounded() -> None:
    app = FakeApp()
    model = FakeScriptedToolModel(script=[_call("resolve_title", {"title": "Alien"}, i) for i in range(20)])
    assert ToolDrivenTurn(app, model, max_steps=3).run(SessionState(), "x") is None  # type: ignore[arg-type]
    assert len(model.script) == 17


class FakePlanningEngine(FakeApp):
    """FakeApp plus what :func:`llm_plan` reads: settings, resources.chat_model and the deterministic plan."""

    def __init__(self, model: BaseChatModel | None, llm: str = "openai:m@http://127.0.0.1:1/v1") -> None:
        super().__init__()
        self.settings = SimpleNamespace(llm=llm, llm_timeout_s=2.0)
        self.resources = SimpleNamespace(chat_model=model)

    def recommend(self, state: SessionState, k: int | None = None) -> PipelineResult:
        return PipelineResult(((3, 0.5), (2, 0.4)), ())


def test_llm_plan_uses_validated_tool_picks_topped_up_from_the_plan() -> None:
    engine = FakePlanningEngine(FakeScriptedToolModel(script=[_call("recommend", {"movie_ids": [2]})]))
    result = llm_plan(engine, SessionState(k=2), "like Alien")  # type: ignore[arg-type]
    assert [m for m, _ in result.picks] == [2, 3] and not result.notices
    assert result.steps[0].summary.startswith("LLM planner: 1 tool call, 1 valid pick")


@pytest.mark.parametrize(
    ("model", "llm", "why"),
    [
        (None, "openai:m@http://127.0.0.1:1/v1", "needs a tool-calling model"),
        (FakeScriptedToolModel(script=[]), "smollm2", "needs a tool-calling model"),
        (
            FakeScriptedToolModel(script=[AIMessage(content="Watch Star Wars!")]),
            "ollama:m",
            "answered without",
        ),
        (FakeScriptedToolModel(script=[]), "ollama:m", "failed (RuntimeError)"),
    ],
)
def test_llm_plan_falls_back_to_the_deterministic_plan_with_a_notice(
    model: BaseChatModel | None, llm: str, why: str
) -> None:
    result = llm_plan(FakePlanningEngine(model, llm), SessionState(), "x")  # type: ignore[arg-type]
    assert [m for m, _ in result.picks] == [3, 2]
    assert result.steps[0].kind == "notice" and why in result.steps[0].summary
    assert result.notices[0].startswith("I chose these picks the usual way")


def test_llm_plan_gives_up_on_a_hung_model() -> None:
    class Hung(FakeScriptedToolModel):
        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> ChatResult:
            time.sleep(5)
            return super()._generate(messages)

    t0 = time.monotonic()
    result = llm_plan(FakePlanningEngine(Hung(script=[]), "ollama:m"), SessionState(), "x")  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 4.0 and "within 2 s" in result.steps[0].summary
