"""Loading the agent in the background, per-tab state and API sessions."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.records import Recommendation, Reply

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.conversation.session import Session
    from ui.panels import Chip

log = logging.getLogger(__name__)

AgentFactory = Callable[[], "RecommenderAgent"]


def one_line(err: BaseException, limit: int = 240) -> str:
    """A single readable line for an exception (never a traceback)."""
    from retrieval.errors import ReelChatError

    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    name = type(err).__name__
    if not lines:
        text = name
    elif isinstance(err, ReelChatError):  # already written for users
        text = lines[0]
    else:
        text = f"{name}: {lines[0]}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AgentLoader:
    """Builds the agent once, in a daemon thread, and reports its status to every tab."""

    def __init__(self, factory: AgentFactory) -> None:
        self._factory = factory
        self._agent: RecommenderAgent | None = None
        self._error: str | None = None
        self._started = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._load, name="reelchat-agent-loader", daemon=True)

    def start(self) -> AgentLoader:
        """Start loading (idempotent)."""
        if not self._thread.is_alive() and not self._done.is_set():
            self._started = time.monotonic()
            self._thread.start()
        return self

    def _load(self) -> None:
        try:
            self._agent = self._factory()
        except BaseException as err:  # any failure becomes a one-line status, the server keeps running
            log.exception("loading the recommender failed")
            self._error = one_line(err)
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading finished (ready or failed); False on timeout."""
        return self._done.wait(timeout)

    @property
    def agent(self) -> RecommenderAgent | None:
        return self._agent

    @property
    def ready(self) -> bool:
        return self._agent is not None

    def status(self) -> tuple[str, str]:
        """``(kind, message)`` with kind ``loading`` | ``ready`` | ``failed``."""
        if self._agent is not None:
            return "ready", "Ready. Tell me a movie you love, or pick an example."
        if self._error is not None:
            return "failed", f"Couldn't start the recommender: {self._error}"
        secs = int(time.monotonic() - self._started)
        return "loading", (
            f"Preparing… loading the catalogue, search index and ranking model ({secs}s). "
            "The first start builds them and can take a few minutes."
        )


@dataclass
class TabState:
    """Everything one browser tab owns; held in a ``gr.State`` so tabs never share anything."""

    session: Session | None = None
    history: list[dict[str, str]] = field(default_factory=list)
    recs: list[Recommendation] = field(default_factory=list)
    marks: dict[int, str] = field(default_factory=dict)
    chips: list[Chip] = field(default_factory=list)
    reply: Reply | None = None
    note: str = ""
    turns: int = 0  # completed turns, for the page's turn marker
    busy: bool = False
    turn_failed: bool = False  # the last turn raised: a stored conversation keeps its state from before it
    user_id: str | None = None  # a signed-in user's likes are stored and restored; None is anonymous
    token: str = ""  # the signed-in user's sign-in token ("" when anonymous)

    def ensure_session(self, agent: RecommenderAgent) -> Session:
        """The tab's session, created on first use (restoring a named user's likes)."""
        if self.session is None:
            self.session = (
                agent.start_session(user_id=self.user_id) if self.user_id else agent.start_session()
            )
        return self.session

    def clear(self) -> None:
        """Forget the conversation (the session itself is reset by the caller)."""
        self.history.clear()
        self.recs.clear()
        self.marks.clear()
        self.chips.clear()
        self.reply = None
        self.note = ""


class SessionNotYours(LookupError):
    """A session id that belongs to another user (or to an anonymous caller); ``str()`` is one line."""


NOT_YOURS = (
    "That session_id belongs to someone else (another account or an anonymous conversation); "
    "leave session_id empty to start your own."
)


class ApiSessions:
    """Sessions for stateless API calls, keyed by ``session_id`` and bound to their owner (the user id,
    or None for anonymous); least recently used ones are dropped."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(
        self, agent: RecommenderAgent, session_id: str = "", owner: str | None = None
    ) -> Session:
        """``owner``'s session ``session_id``; a new one (new id) when empty or unknown.

        Raises :class:`SessionNotYours` when the session belongs to someone else.
        """
        with self._lock:
            sess = self._items.get(session_id) if session_id else None
            if sess is not None and sess.user_id != owner:
                raise SessionNotYours(NOT_YOURS)
            if sess is None:
                sess = agent.start_session(user_id=owner) if owner else agent.start_session()
                self._items[sess.session_id] = sess
            self._items.move_to_end(sess.session_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return sess

    def get(self, session_id: str, owner: str | None = None) -> Session | None:
        """``owner``'s session ``session_id`` (None when unknown); :class:`SessionNotYours` if another's."""
        with self._lock:
            sess = self._items.get(session_id)
            if sess is not None and sess.user_id != owner:
                raise SessionNotYours(NOT_YOURS)
            return sess

    @contextmanager
    def open(
        self, agent: RecommenderAgent, session_id: str = "", owner: str | None = None
    ) -> Iterator[Session]:
        """:meth:`get_or_create` for one call (the interface of ``ui.shared_sessions.StoredApiSessions``)."""
        yield self.get_or_create(agent, session_id, owner)

    @contextmanager
    def existing(
        self, agent: RecommenderAgent, session_id: str, owner: str | None = None
    ) -> Iterator[Session | None]:
        """:meth:`get` for one call."""
        yield self.get(session_id, owner)

    def __len__(self) -> int:
        return len(self._items)


def api_payload(reply: Reply, session_id: str, replica: str = "") -> dict[str, Any]:
    """JSON returned next to the reply text by ``/chat`` (``replica``: the server that ran the turn)."""
    from ui.cards import query_dict, recommendation_dict

    return {
        "session_id": session_id,
        "recommendations": [recommendation_dict(r) for r in reply.recommendations],
        "query": query_dict(reply.query),
        "notices": list(reply.notices),
        "error": reply.error,
        "replica": replica,
    }
