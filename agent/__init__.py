"""ReelChat agent: understanding, session memory, the recommendation pipeline and explanations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.conversation.session import Session
    from agent.records import Recommendation, Reply

__all__ = ["Recommendation", "RecommenderAgent", "Reply", "Session"]


def __getattr__(name: str) -> Any:  # lazy: `import agent` stays cheap for the CLI
    if name == "RecommenderAgent":
        from agent.app import RecommenderAgent

        return RecommenderAgent
    if name in ("Recommendation", "Reply"):
        from agent import records

        return getattr(records, name)
    if name == "Session":
        from agent.conversation.session import Session

        return Session
    raise AttributeError(name)
