"""LLM-driven turns: a tool-calling chat model drives the same pipeline (not wired into the product yet).

The model may resolve titles and search with filters; its final picks are still validated against the
catalogue, the session's hard constraints and exclusions. Any failure returns ``None`` so the caller
falls back to the deterministic plan.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool

from agent.pipeline.pipeline import PipelineRequest
from agent.understanding.state import SessionState
from retrieval.types import Filters

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.conversation.engine import TurnEngine

log = logging.getLogger(__name__)


def _prompt(name: str) -> str:
    return resources.files("agent.explain").joinpath("prompts", name).read_text(encoding="utf-8")


class ToolDrivenTurn:
    """Runs one turn through a tool loop; returns validated ``(movie_id, score)`` picks or ``None``."""

    def __init__(self, engine: TurnEngine, model: BaseChatModel, max_steps: int = 6) -> None:
        self.engine = engine
        self.max_steps = max_steps
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
        self._state = state
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
                    return None
                msgs.append(ai)
                for call in ai.tool_calls:
                    if call["name"] == "recommend":
                        return self.validate(state, call["args"].get("movie_ids", []))
                    tool = by_name.get(call["name"])
                    out = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']}"
                    msgs.append(ToolMessage(str(out)[:4000], tool_call_id=call.get("id") or call["name"]))
        except Exception as err:  # any model/tool failure: the deterministic plan takes over
            log.warning("tool-driven turn failed, using the deterministic plan: %s", err)
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
