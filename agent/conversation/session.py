"""One conversation: ``send``/``stream`` a message, get a :class:`Reply`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from agent.conversation.compose import compose_header, compose_notices
from agent.conversation.limits import TURN_TIMEOUT_S, TurnTimeout, iter_with_timeout
from agent.records import Feedback, Recommendation, Reply, ReplyChunk, Step
from agent.understanding.state import SessionState, apply_understanding

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.group.recommend import GroupResult
    from agent.pipeline.pipeline import PipelineResult

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000


class Session:
    """Independent per-user state over a shared :class:`RecommenderAgent`. Thread-safe per session."""

    def __init__(self, app: RecommenderAgent, session_id: str, user_id: str | None = None) -> None:
        self.app = app
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

        A session over its rate limit, or a turn past ``TURN_TIMEOUT_S``, gets a polite one-line reply.
        """
        decision = self.app.limiter.check(self.session_id)
        if not decision.allowed:
            yield self._refusal(decision.notice, "rate limited")
            return
        try:
            yield from iter_with_timeout(self._locked_turn(message), TURN_TIMEOUT_S)
        except TurnTimeout as err:
            log.error("session %s: turn timed out (%s)", self.session_id, err)
            yield self._refusal(f"Sorry, {err}. Please try again.", "timeout")

    def _locked_turn(self, message: str) -> Iterator[ReplyChunk]:
        with self._lock:
            yield from self._turn(message)

    def _refusal(self, text: str, error: str) -> ReplyChunk:
        reply = Reply(text=text, recommendations=(), query=self.state.query(), error=error)
        return ReplyChunk(text, reply=reply, done=True)

    def feedback(self, movie_id: int, signal: str, source: str = "button") -> str:
        """Record a card button click ("liked", "disliked", "seen"); the next reply honours it."""
        movie = self.app.catalogue.find(movie_id)
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
            problem = self.app.record_feedback(self, Feedback(movie_id, signal, source))  # type: ignore[arg-type]
        verb = {"liked": "you liked", "disliked": "it's not for you", "seen": "you've seen"}[signal]
        return f"Noted: {verb} {movie.label}." + (f" {problem}" if problem else "")

    def _record_stated(self, before: tuple[list[int], list[int], list[int]]) -> list[str]:
        """Store what this message newly said about movies (liked/disliked/seen), as chat feedback."""
        problems: list[str] = []
        now = (self.state.liked, self.state.disliked, self.state.seen)
        for signal, old, new in zip(("liked", "disliked", "seen"), before, now, strict=True):
            for mid in new:
                if mid not in old:
                    problem = self.app.record_feedback(self, Feedback(mid, signal, "chat"))  # type: ignore[arg-type]
                    if problem and problem not in problems:
                        problems.append(problem)
        return problems

    def remove_constraint(self, kind: str, value: str | int | None = None) -> None:
        """Drop one understood constraint (the UI's removable chips)."""
        with self._lock:
            for st in (self.state, *self.state.members.values()):  # a group: every viewer drops it
                _drop_constraint(st, kind, value)

    def reset(self) -> None:
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
                if ref in self.app.catalogue:
                    found.append(ref)
                else:
                    unknown.append(ref)
                continue
            text = str(ref).strip()
            matches = self.app.resolver.resolve(text, limit=1) if text else []
            if matches and matches[0].score >= 0.7:
                found.append(int(matches[0].movie_id))
            elif text:
                unknown.append(text)
        return found, unknown

    def _understand_group(self, text: str):  # type: ignore[no-untyped-def]
        """Group-aware understanding, or None for a single viewer's message (handled as before)."""
        from agent.group.members import apply_group_message, mentions_members

        if not mentions_members(text, list(self.state.members)):
            return None
        spans = [(s.start, s.end) for s in self.app.resolver.find_mentions(text)]
        return apply_group_message(self.state, text, self.app.understand, self.app.catalogue, spans)

    # -- one turn -----------------------------------------------------------------------------------
    def _turn(self, message: str) -> Iterator[ReplyChunk]:
        steps: list[Step] = []
        notices: list[str] = self.notices
        self.notices = []
        text = message if isinstance(message, str) else ""
        text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
        if not text.strip():
            reply = Reply(
                text="Tell me about movies you like, or what you're in the mood for.",
                recommendations=(),
                query=self.state.query(),
                error="empty message",
            )
            yield ReplyChunk(reply.text, reply=reply, done=True)
            return
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS]
            notices.append(
                f"Your message was long, so I read only its first {MAX_MESSAGE_CHARS:,} characters."
            )

        t0 = time.perf_counter()
        group = self._understand_group(text)
        if group is None:
            understanding = self.app.understand(text)
            before = (list(self.state.liked), list(self.state.disliked), list(self.state.seen))
            notices += apply_understanding(self.state, understanding, self.app.catalogue)
            notices += self._record_stated(before)
        else:
            understanding, group_notices = group
            notices += group_notices
        notices += self.app.mention_notices(understanding)
        steps.append(Step("understand", self.app.describe_query(self.state), _ms(t0)))

        group_result: GroupResult | None = None
        result: PipelineResult | GroupResult
        self.app.refresh_model()
        if self.state.members:
            from agent.group.recommend import GroupRecommender

            result = group_result = GroupRecommender(self.app.pipeline, self.app.catalogue).run(self.state)
        else:
            result = self.app.pipeline.run(self.state)
        steps += result.steps
        if result.shortfall:
            notices.append(result.shortfall)
        picks = result.picks
        query = self.state.query()
        header = compose_header(self.app.catalogue, query, len(picks), understanding)
        if group_result is not None:
            from agent.group.recommend import group_header

            header = group_header(header, group_result.members)
        lead = "\n".join([*compose_notices(notices), header]).strip()
        yield ReplyChunk(lead + "\n")

        recs: list[Recommendation] = []
        t1 = time.perf_counter()
        if group_result is not None:
            from agent.group.recommend import explain_group

            explained = explain_group(self.app, self.state, group_result)
        else:
            explained = self.app.explain_picks(self.state, picks)
        for rec in explained:
            recs.append(rec)
            line = f"\n{len(recs)}. **{rec.label}** — {rec.explanation}"
            yield ReplyChunk(line, recommendation=rec)
        if recs:
            steps.append(Step("explain", f"{len(recs)} explanations", _ms(t1)))

        self.state.last_picks = [r.movie_id for r in recs]
        self.state.shown += [r.movie_id for r in recs if r.movie_id not in self.state.shown]
        body = lead + "".join(f"\n{i}. **{r.label}** — {r.explanation}" for i, r in enumerate(recs, 1))
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": body}]
        reply = Reply(body, tuple(recs), query, tuple(steps), tuple(notices))
        self.app.record_turn(self, text, reply)
        yield ReplyChunk("", reply=reply, done=True)


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


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
