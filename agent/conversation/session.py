"""One conversation: ``send``/``stream`` a message, get a :class:`Reply`.

A :class:`Session` holds one conversation's state and runs each turn through a :class:`TurnRunner` (the
shared :class:`~agent.conversation.engine.TurnEngine` in the product, a fake in unit tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

from agent.conversation.limits import RateLimiter, TurnTimeout, iter_with_timeout
from agent.records import Feedback, Reply, ReplyChunk, TurnInput
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from retrieval.titles import TitleResolver

log = logging.getLogger(__name__)


class TurnRunner(Protocol):
    """What a session needs from the engine that runs its turns."""

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def resolver(self) -> TitleResolver: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def turn_timeout_s(self) -> float: ...

    def turn(self, state: SessionState, turn: TurnInput) -> Iterator[ReplyChunk]: ...

    def record_feedback(self, user_id: str | None, session_id: str, feedback: Feedback) -> str | None: ...


class Session:
    """Independent per-user state over a shared turn engine. Thread-safe per session."""

    def __init__(self, engine: TurnRunner, session_id: str, user_id: str | None = None) -> None:
        self.engine = engine
        self.session_id = session_id
        self.user_id = user_id
        self.state = SessionState()
        self.history: list[dict[str, str]] = []
        self.notices: list[str] = []  # pending one-line notices for the next reply
        self._lock = threading.Lock()

    # -- public API -------------------------------------------------------------------------------
    def send(self, message: str) -> Reply:
        """Handle one user message and return the complete reply."""
        reply = None
        for chunk in self.stream(message):
            if chunk.done:
                reply = chunk.reply
        assert reply is not None
        return reply

    def stream(self, message: str) -> Iterator[ReplyChunk]:
        """Yield the reply as it is produced: header first, then each checked recommendation.

        A session over its rate limit, or a turn past the engine's time limit, gets a polite one-line reply.
        """
        decision = self.engine.limiter.check(self.session_id)
        if not decision.allowed:
            yield self._refusal(decision.notice, "rate limited")
            return
        timeout = self.engine.turn_timeout_s
        try:
            yield from iter_with_timeout(self._locked_turn(message), timeout)
        except TurnTimeout as err:
            log.error("session %s: turn timed out (%s)", self.session_id, err)
            yield self._refusal(f"Sorry, {err}. Please try again.", "timeout")

    def _locked_turn(self, message: str) -> Iterator[ReplyChunk]:
        with self._lock:
            pending, self.notices = tuple(self.notices), []
            turn = TurnInput(message, self.session_id, self.user_id, pending, self.history)
            yield from self.engine.turn(self.state, turn)

    def _refusal(self, text: str, error: str) -> ReplyChunk:
        reply = Reply(text=text, recommendations=(), query=self.state.query(), error=error)
        return ReplyChunk(text, reply=reply, done=True)

    def feedback(self, movie_id: int, signal: str, source: str = "button") -> str:
        """Record a card button click ("liked", "disliked", "seen"); the next reply honours it."""
        movie = self.engine.catalogue.find(movie_id)
        if movie is None:
            return f"Unknown movie id {movie_id}."
        if signal not in ("liked", "disliked", "seen"):
            return f"Unknown feedback {signal!r}."
        with self._lock:
            st = self.state
            for lst in (st.liked, st.disliked):
                if movie_id in lst:
                    lst.remove(movie_id)
            target = {"liked": st.liked, "disliked": st.disliked, "seen": st.seen}[signal]
            if movie_id not in target:
                target.append(movie_id)
            fb = Feedback(movie_id, signal, source)  # type: ignore[arg-type]
            problem = self.engine.record_feedback(self.user_id, self.session_id, fb)
        said = {
            "liked": f"you liked {movie.label}",
            "disliked": f"{movie.label} isn't for you",
            "seen": f"you've seen {movie.label}",
        }[signal]
        return f"Noted: {said}." + (f" {problem}" if problem else "")

    def remove_constraint(self, kind: str, value: str | int | None = None) -> None:
        """Drop one understood constraint (the UI's removable chips)."""
        with self._lock:
            for st in (self.state, *self.state.members.values()):  # a group: every viewer drops it
                _drop_constraint(st, kind, value)

    def reset(self) -> None:
        """Forget the whole conversation."""
        with self._lock:
            self.state.reset()
            self.history.clear()

    # -- group viewers (the members panel) --------------------------------------------------------------
    def add_member(
        self, name: str, liked: Sequence[int | str] = (), disliked: Sequence[int | str] = ()
    ) -> str:
        """Add a viewer (or update one): ``liked``/``disliked`` are movie ids or titles to resolve."""
        from agent.group.members import MAX_MEMBERS, display_name, find_member

        shown = display_name(name)
        if not shown or shown.casefold() in ("you", "me", "i"):
            return "Give the viewer a name."
        likes, unknown = self._movie_ids(liked)
        dislikes, unknown2 = self._movie_ids(disliked)
        with self._lock:
            members = self.state.members
            key = find_member(list(members), shown) or shown
            if key not in members and len(members) >= MAX_MEMBERS:
                return f"A group can have at most {MAX_MEMBERS + 1} viewers."
            st = members.setdefault(key, SessionState())
            for mid in likes:
                if mid in st.disliked:
                    st.disliked.remove(mid)
                if mid not in st.liked:
                    st.liked.append(mid)
            for mid in dislikes:
                if mid in st.liked:
                    st.liked.remove(mid)
                if mid not in st.disliked:
                    st.disliked.append(mid)
        missing = [*unknown, *unknown2]
        note = f" I couldn't find {', '.join(repr(t) for t in missing)}." if missing else ""
        return f"{key} is in the group ({len(st.liked)} liked, {len(st.disliked)} disliked).{note}"

    def remove_member(self, name: str) -> str:
        from agent.group.members import find_member

        with self._lock:
            key = find_member(list(self.state.members), name)
            if key is None:
                return f"There is no viewer called {name!r}."
            del self.state.members[key]
        return f"Removed {key} from the group."

    def set_strategy(self, strategy: str) -> str:
        """Choose the group aggregation ("average", "least misery", "approval voting", …)."""
        from agent.group.aggregate import resolve

        try:
            name = resolve(strategy)
        except ValueError as err:
            return str(err)
        with self._lock:
            self.state.strategy = name
        return f"Group picks now use {name.replace('_', ' ')}."

    def _movie_ids(self, refs: Sequence[int | str]) -> tuple[list[int], list[int | str]]:
        found: list[int] = []
        unknown: list[int | str] = []  # unknown ids stay ints, unresolved titles strings
        for ref in refs:
            if isinstance(ref, int):
                if ref in self.engine.catalogue:
                    found.append(ref)
                else:
                    unknown.append(ref)
                continue
            text = str(ref).strip()
            matches = self.engine.resolver.resolve(text, limit=1) if text else []
            if matches and matches[0].score >= 0.7:
                found.append(int(matches[0].movie_id))
            elif text:
                unknown.append(text)
        return found, unknown


def _drop_constraint(st: SessionState, kind: str, value: str | int | None) -> None:
    if kind == "liked" and value in st.liked:
        st.liked.remove(int(value))  # type: ignore[arg-type]
    elif kind == "disliked" and value in st.disliked:
        st.disliked.remove(int(value))  # type: ignore[arg-type]
    elif kind == "seen" and value in st.seen:
        st.seen.remove(int(value))  # type: ignore[arg-type]
    elif kind == "genre_required" and value in st.genres_required:
        st.genres_required.remove(str(value))
    elif kind == "genre_excluded" and value in st.genres_excluded:
        st.genres_excluded.remove(str(value))
    elif kind == "genre_liked" and value in st.genres_liked:
        st.genres_liked.remove(str(value))
    elif kind == "year_min":
        st.year_min = None
    elif kind == "year_max":
        st.year_max = None
    elif kind == "text":
        st.text, st.mood = "", []
