"""The public API: stateless ``/chat`` and ``/feedback`` calls; a session is kept per returned session_id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from ui.sessions import AgentLoader, ApiSessions, api_payload

if TYPE_CHECKING:
    from agent.app import RecommenderAgent


class ApiHandlers:
    """The endpoints' functions; their names, signatures and docstrings are the published API."""

    def __init__(self, loader: AgentLoader, sessions: ApiSessions | None = None) -> None:
        self.loader = loader
        self.sessions = sessions if sessions is not None else ApiSessions()

    def _agent(self) -> RecommenderAgent:
        agent = self.loader.agent
        if agent is None:
            raise gr.Error(self.loader.status()[1])
        return agent

    def chat(self, message: str, session_id: str = "") -> tuple[str, dict[str, Any]]:
        """Send one message. Returns the reply text and a JSON object with session_id,
        recommendations, the understood query and notices. Pass the returned session_id
        to continue the same conversation; leave it empty to start a new one."""
        session = self.sessions.get_or_create(self._agent(), session_id or "")
        reply = session.send(message if isinstance(message, str) else "")
        return reply.text, api_payload(reply, session.session_id)

    def feedback(self, session_id: str, movie_id: int, signal: str) -> str:
        """Record "liked", "disliked" or "seen" for a movie in an API session; returns a confirmation."""
        self._agent()
        session = self.sessions.get(session_id)
        if session is None:
            raise gr.Error(f"Unknown session_id {session_id!r}; call /chat first.")
        return session.feedback(int(movie_id), signal, source="button")
