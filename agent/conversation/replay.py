"""Replaying a whole transcript into a conversation state (``RecommenderAgent.recommend(messages)``, the
ReDial evaluation): user turns absorbed as in a live turn, the titles the assistant names marked shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from agent.resources import Resources
from agent.settings import Settings
from agent.understanding.deltas import Understanding
from agent.understanding.state import SessionState
from agent.understanding.taste import cue_model, doubted


class TurnEngine(Protocol):
    """What a replay needs from :class:`agent.conversation.engine.TurnEngine`."""

    @property
    def settings(self) -> Settings: ...

    @property
    def resources(self) -> Resources: ...

    def understand(self, text: str, *, llm: bool = True) -> Understanding: ...

    def absorb(self, state: SessionState, text: str, *, groups: bool = True) -> Any: ...


def replay(engine: TurnEngine, messages: Sequence[Mapping[str, str]], k: int = 50) -> SessionState:
    """The state a whole conversation leads to: user turns absorbed, assistant mentions shown.

    A movie a user names without any sentiment still tells us about taste, so it counts as liked; with
    ``settings.replay_cues`` one the cue model doubts (:mod:`agent.understanding.taste`) counts as disliked.
    """
    limit = engine.settings.limits.message_chars
    state = SessionState()
    words: list[str] = []
    for msg in messages:
        content = str(msg.get("content") or "")[:limit]
        if not content.strip():
            continue
        if msg.get("role") == "assistant":
            said = engine.understand(content, llm=False).mentions  # only the titles it names: no LLM call
            state.show(m.movie_id for m in said if m.movie_id is not None)
            continue
        u = engine.absorb(state, content, groups=False).understanding
        if u.text.strip():
            words.append(u.text.strip())
        _add_mentions(state, u, set(_doubted(engine, content, u)))
    state.k = k
    if words:  # the whole conversation's own words, newest last, for semantic retrieval
        state.text = " ".join(words)[-1000:]
    return state


def _add_mentions(state: SessionState, u: Understanding, doubts: set[int]) -> None:
    for mid in [m.movie_id for m in u.mentions if m.movie_id is not None]:
        if mid in doubts and mid in u.assumed and mid in state.liked:
            state.liked.remove(mid)
        if mid not in state.disliked and mid not in state.liked:
            (state.disliked if mid in doubts else state.liked).append(mid)


def _doubted(engine: TurnEngine, text: str, u: Understanding) -> list[int]:
    if not engine.settings.replay_cues or not u.mentions:
        return []
    return doubted(cue_model(), text, u, engine.resources.encoder.encode)
