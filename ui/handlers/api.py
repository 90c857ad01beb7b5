"""The public API: ``/sign_in``, ``/sign_out``, ``/chat`` and ``/feedback``.

``/chat`` and ``/feedback`` take an optional sign-in token, as their ``token`` argument or as an
``Authorization: Bearer <token>`` header (``Client(url, headers=...)``). Without one they are anonymous
and store nothing. Each API session is bound to the user who created it (or to "anonymous"): nobody
else, signed in or not, can continue it or send feedback to it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gradio as gr

from agent.store import AuthError, StoreError
from ui.sessions import AgentLoader, ApiSessions, SessionNotYours, api_payload

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from ui.shared_sessions import ApiSessionStore

log = logging.getLogger(__name__)


def client_address(request: gr.Request | None) -> str:
    """The caller's address as the server sees it ("" when unknown)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


def bearer(request: gr.Request | None) -> str:
    """The token of an ``Authorization: Bearer`` header ("" without one)."""
    headers = getattr(request, "headers", None) or {}
    value = str(headers.get("authorization", "") or "")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


class ApiHandlers:
    """The endpoints' functions; their names, signatures and docstrings are the published API."""

    def __init__(
        self, loader: AgentLoader, sessions: ApiSessionStore | None = None, replica: str = ""
    ) -> None:
        self.loader = loader
        self.sessions: ApiSessionStore = sessions if sessions is not None else ApiSessions()
        self.replica = replica  # this server's id, returned with every reply

    def _agent(self) -> RecommenderAgent:
        agent = self.loader.agent
        if agent is None:
            raise gr.Error(self.loader.status()[1])
        return agent

    def _owner(self, agent: RecommenderAgent, token: str, request: gr.Request | None) -> str | None:
        token = (token if isinstance(token, str) else "").strip() or bearer(request)
        if not token:
            return None
        try:
            return agent.accounts.authenticate(token)
        except AuthError as err:
            raise gr.Error(str(err)) from None

    def sign_in(self, user_name: str, password: str, request: gr.Request) -> str:
        """Sign in with a user name and password; returns a token for the ``token`` argument of /chat and
        /feedback (or an ``Authorization: Bearer`` header). Failed attempts are throttled."""
        try:
            return self._agent().accounts.sign_in(user_name, password, client_address(request)).token
        except AuthError as err:
            raise gr.Error(str(err)) from None

    def sign_out(self, token: str = "", request: gr.Request | None = None) -> str:
        """End every sign-in of the token's user (all their tokens stop working)."""
        agent = self._agent()
        token = (token if isinstance(token, str) else "").strip() or bearer(request)
        try:
            return f"Signed out {agent.accounts.sign_out(token)}."
        except AuthError as err:
            raise gr.Error(str(err)) from None

    def chat(
        self, message: str, session_id: str = "", token: str = "", request: gr.Request | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Send one message. Returns the reply text and a JSON object with session_id,
        recommendations, the understood query and notices. Pass the returned session_id
        to continue the same conversation; leave it empty to start a new one. With a token
        from /sign_in the conversation is the signed-in user's (likes are kept)."""
        agent = self._agent()
        owner = self._owner(agent, token, request)
        sid = session_id if isinstance(session_id, str) else ""
        try:
            with self.sessions.open(agent, sid, owner) as session:
                reply = session.send(message if isinstance(message, str) else "")
        except (SessionNotYours, StoreError) as err:
            raise gr.Error(str(err)) from None
        log.info("api turn: session %s on replica %s", session.session_id, self.replica)
        return reply.text, api_payload(reply, session.session_id, self.replica)

    def feedback(
        self, session_id: str, movie_id: int, signal: str, token: str = "", request: gr.Request | None = None
    ) -> str:
        """Record "liked", "disliked" or "seen" for a movie in your API session; returns a confirmation.
        Pass the same token (or none) as the /chat call that created the session."""
        agent = self._agent()
        owner = self._owner(agent, token, request)
        unknown = f"Unknown session_id {str(session_id)[:64]!r}; call /chat first."
        try:
            with self.sessions.existing(agent, session_id if isinstance(session_id, str) else "", owner) as s:
                if s is None:
                    raise gr.Error(unknown)
                return str(s.feedback(int(movie_id), signal, source="button"))
        except (SessionNotYours, StoreError) as err:
            raise gr.Error(str(err)) from None
