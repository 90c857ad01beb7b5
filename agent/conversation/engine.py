"""The turn engine: one turn is understand → retrieve → rerank → explain → record.

One :class:`TurnEngine` is built from :class:`~agent.resources.Resources` and shared by every session; all
per-turn state lives in the caller's :class:`SessionState` and in the values a turn returns.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from agent.conversation.answers import answer
from agent.conversation.compose import compose_header, compose_notices, describe_constraints
from agent.conversation.limits import RateLimiter
from agent.conversation.markup import MARKUP_REPLY, strip_markup
from agent.conversation.replay import replay
from agent.explain.claims import Constraints
from agent.explain.evidence import EvidenceBuilder
from agent.explain.explainer import Explainer
from agent.group.members import apply_group_message, changes_roster, mentions_members
from agent.group.recommend import GroupRecommender, GroupResult, explain_group, group_header
from agent.pipeline.pipeline import Pipeline, PipelineRequest, PipelineResult
from agent.records import Feedback, Recommendation, Reply, ReplyChunk, Step, TurnInput, counted
from agent.resources import Resources
from agent.settings import Settings
from agent.store import FeedbackStore, StoreError
from agent.understanding.acts import targets, with_act
from agent.understanding.deltas import Understanding
from agent.understanding.llm_reading import completed
from agent.understanding.parser import parse
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue
from retrieval.titles import TitleResolver

log = logging.getLogger(__name__)

EMPTY_REPLY = "Tell me about movies you like, or what you're in the mood for."
CHITCHAT_REPLY = "Happy to help. Tell me a movie you like, a genre, or a mood, and I'll find picks."
SAVE_FAILED = "I'll remember that for this conversation, but could not save it permanently right now."


@dataclass(frozen=True, slots=True)
class Absorbed:
    """What one message said, and the one-line notices folding it into the state produced."""

    understanding: Understanding
    notices: tuple[str, ...]
    group: bool = False  # read as a message about several viewers


class TurnEngine:
    """Shared, thread-safe turn engine over one set of resources."""

    def __init__(self, resources: Resources, pipeline: Pipeline | None = None) -> None:
        self.resources = resources
        self._pinned = pipeline is not None  # an explicit pipeline keeps its ranker (ablations)
        if pipeline is not None:
            self.__dict__["pipeline"] = pipeline

    # -- components ------------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def catalogue(self) -> Catalogue:
        return self.resources.catalogue

    @cached_property
    def resolver(self) -> TitleResolver:
        return TitleResolver(self.catalogue)

    @cached_property
    def max_year(self) -> int:
        return max((m.year for m in self.catalogue if m.year), default=2018)

    @cached_property
    def pipeline(self) -> Pipeline:
        res = self.resources
        return Pipeline(
            self.catalogue,
            res.retriever(),
            res.reranker(),
            res.item_embeddings,
            res.encoder,
            self.settings.pipeline,
            fallback_retriever=res.exact_retriever(),
            prior=res.prior,
        )

    @cached_property
    def evidence(self) -> EvidenceBuilder:
        return EvidenceBuilder(self.catalogue, self.resources.ratings, self.resources.item_embeddings)

    @property
    def explainer(self) -> Explainer:
        return self.resources.explainer

    @cached_property
    def store(self) -> FeedbackStore:
        return FeedbackStore.open(self.settings.db_url, cache_dir=self.settings.cache_dir)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Per-session message rate limit shared by all sessions."""
        lim = self.settings.limits
        return RateLimiter(lim.rate_per_minute, lim.rate_burst)

    @property
    def turn_timeout_s(self) -> float:
        return self.settings.turn_timeout_s

    def with_pipeline(self, pipeline: Pipeline) -> TurnEngine:
        """A copy of this engine whose turns run ``pipeline`` (evaluation ablations)."""
        clone = copy.copy(self)
        clone.__dict__ = {k: v for k, v in self.__dict__.items() if k not in ("pipeline", "limiter")}
        clone.__dict__["pipeline"] = pipeline
        clone._pinned = True
        return clone

    def refresh_model(self) -> None:
        """Between turns: serve the reranker that is current now (after ``reelchat finetune``/rollback)."""
        if "pipeline" in self.__dict__ and not self._pinned:  # not built yet: it loads the current one
            self.pipeline.reranker = self.resources.reranker()

    # -- understand ----------------------------------------------------------------------------------
    def understand(self, text: str, *, llm: bool = True) -> Understanding:
        """What one message says, read by the deterministic parser, with its conversation act; with
        ``settings.understanding == "rules+llm"`` (and ``llm``) completed by the LLM's reading."""
        u = parse(
            text,
            self.resolver,
            genres=self.catalogue.genres,
            max_year=self.max_year,
            max_chars=self.settings.limits.message_chars,
        )
        u = with_act(text[: self.settings.limits.message_chars], u)
        if llm and self.settings.understanding == "rules+llm":  # the LLM fills what the rules left empty
            u = completed(
                u,
                text[: self.settings.limits.message_chars],
                self.resources.chat_model,
                self.resolver,
                genres=self.catalogue.genres,
                max_year=self.max_year,
                max_picks=self.settings.limits.max_picks,
            )
        return u

    def absorb(self, state: SessionState, text: str, *, groups: bool = True) -> Absorbed:
        """Fold one user message into ``state`` (group-aware unless ``groups`` is False).

        The one place where a message changes a conversation's state: live turns and replays use it.
        """
        max_picks = self.settings.limits.max_picks
        u = self.understand(text)
        known = list(state.members)
        maybe_group = groups and mentions_members(text, known)
        spans = [(s.start, s.end) for s in self.resolver.find_mentions(text)] if maybe_group else []
        if u.act in ("question", "chitchat"):  # asks or chats: states no taste, changes nothing ...
            if not (maybe_group and changes_roster(text, known, spans)):
                return Absorbed(u, ())
            u = replace(u, act="recommend")  # ... unless it brings viewers in or out: picks for the new group
        group = maybe_group and apply_group_message(
            state, text, self.understand, self.catalogue, spans, max_picks=max_picks
        )
        if group:
            u, notices = replace(group[0], act=u.act), group[1]
        else:
            notices = apply_understanding(state, u, self.catalogue, max_picks=max_picks)
        return Absorbed(u, (*notices, *self.mention_notices(u)), bool(group))

    def replay(self, messages: Sequence[Mapping[str, str]], k: int = 50) -> SessionState:
        """The state a whole conversation leads to (:func:`agent.conversation.replay.replay`)."""
        return replay(self, messages, k)

    def mention_notices(self, u: Understanding) -> list[str]:
        """One line per title we could not find, or found with a close alternative."""
        notes = []
        for m in u.mentions:
            if m.movie_id is None:
                notes.append(f'I couldn\'t find "{m.text[:60]}" in the catalogue.')
            elif m.alternatives:
                best = self.catalogue.get(m.movie_id).label
                alt = self.catalogue.get(m.alternatives[0]).label
                notes.append(f'By "{m.text[:60]}" I took {best}; say "{alt}" if you meant that one.')
        return notes

    def describe(self, state: SessionState) -> str:
        """The understood query in a few words (the "understand" step's summary)."""
        return "; ".join(describe_constraints(self.catalogue, state.query())) or "no constraints yet"

    # -- retrieve and rerank -----------------------------------------------------------------------------
    def recommend(
        self, state: SessionState, k: int | None = None, context: str = ""
    ) -> PipelineResult | GroupResult:
        """Picks for the state as it is now: the group pipeline when there are other viewers. ``context``
        (a replayed transcript's last turns) reaches the dialogue retriever, when the pipeline has one."""
        self.refresh_model()
        if state.members:
            return GroupRecommender(self.pipeline, self.catalogue).run(state, k)
        return self.pipeline.run(replace(PipelineRequest.from_state(state, k), context=context))

    def plan(self, state: SessionState, text: str) -> PipelineResult | GroupResult:
        """This turn's picks: planned by a tool-calling LLM when ``agent_mode`` is ``llm`` (falling back to
        the deterministic plan with a notice), else the deterministic plan."""
        if self.settings.agent_mode == "llm":
            from agent.conversation.tool_mode import llm_plan

            return llm_plan(self, state, text)
        return self.recommend(state)

    # -- explain ---------------------------------------------------------------------------------------
    def explain(self, state: SessionState, result: PipelineResult | GroupResult) -> Iterator[Recommendation]:
        """Each pick as a recommendation card with its checked explanation, streamed in order."""
        q = state.query()
        asked = Constraints(tuple(q.genres_excluded), q.year_min, q.year_max)
        if isinstance(result, GroupResult):
            yield from explain_group(self.explainer, self.evidence, self.catalogue, state.text, result, asked)
            return
        if not result.picks:
            return
        items = [
            self.evidence.build(mid, state.liked, state.text, constraints=asked) for mid, _ in result.picks
        ]
        for (mid, score), expl in zip(result.picks, self.explainer.explain_iter(items), strict=True):
            yield Recommendation.of(self.catalogue.get(mid), score, expl.text, expl.source)

    def cards(self, result: PipelineResult | GroupResult) -> list[Recommendation]:
        """The picks as cards without explanations (stateless callers and evaluation)."""
        return [Recommendation.of(self.catalogue.get(mid), score) for mid, score in result.picks]

    # -- record ----------------------------------------------------------------------------------------
    def restore_profile(self, state: SessionState, user_id: str, session_id: str) -> list[str]:
        """Load a known user's liked/disliked/seen movies into ``state``; notices on failure."""
        try:
            self.store.start_session(session_id, user_id)
            profile = self.store.profile(user_id)
        except StoreError as err:
            log.error("%s", err)
            return ["Your saved preferences could not be loaded right now."]
        state.liked[:] = [m for m in profile.liked if m in self.catalogue]
        state.disliked[:] = [m for m in profile.disliked if m in self.catalogue]
        state.seen[:] = [m for m in profile.seen if m in self.catalogue]
        return []

    def record_feedback(self, user_id: str | None, session_id: str, feedback: Feedback) -> str | None:
        """Store one feedback event durably (named users only); a one-line problem for the user, else None."""
        if not user_id:
            return None
        try:
            self.store.add_feedback(user_id, session_id, feedback.movie_id, feedback.signal, feedback.source)
        except StoreError as err:
            log.error("%s", err)
            return SAVE_FAILED
        return None

    def record_turn(self, user_id: str | None, session_id: str, message: str, reply: Reply) -> None:
        """Store the turn's messages (named users only)."""
        if not user_id:
            return
        try:
            self.store.add_message(session_id, "user", message)
            self.store.add_message(session_id, "assistant", reply.text)
        except StoreError as err:
            log.error("%s", err)

    def _record_stated(
        self, turn: TurnInput, before: tuple[list[int], ...], after: SessionState
    ) -> list[str]:
        """Store what this message newly said about movies (liked/disliked/seen), as chat feedback."""
        problems: list[str] = []
        for signal, old in zip(("liked", "disliked", "seen"), before, strict=True):
            for mid in getattr(after, signal):
                if mid not in old:
                    fb = Feedback(mid, signal, "chat")  # type: ignore[arg-type]
                    problem = self.record_feedback(turn.user_id, turn.session_id, fb)
                    if problem and problem not in problems:
                        problems.append(problem)
        return problems

    # -- one live turn ---------------------------------------------------------------------------------
    def turn(self, state: SessionState, turn: TurnInput) -> Iterator[ReplyChunk]:
        """Run one turn over ``state`` (the caller holds the session's lock): the header first, then each
        checked recommendation, then the complete :class:`Reply`."""
        notices = list(turn.pending)
        text, markup = strip_markup(clean_message(turn.text))
        if not text.strip():  # nothing to read: a clear reply, nothing changed (solo and group alike)
            said = (MARKUP_REPLY, "markup only") if markup else (EMPTY_REPLY, "empty message")
            reply = Reply(said[0], (), state.query(), error=said[1])
            yield ReplyChunk(reply.text, reply=reply, done=True)
            return
        limit = self.settings.limits.message_chars
        if len(text) > limit:
            text = text[:limit]
            notices.append(f"Your message was long, so I read only its first {limit:,} characters.")
        turn = TurnInput(text, turn.session_id, turn.user_id, history=turn.history)

        t0 = time.perf_counter()
        before = (list(state.liked), list(state.disliked), list(state.seen))
        absorbed = self.absorb(state, text)
        notices += absorbed.notices
        if not absorbed.group:
            notices += self._record_stated(turn, before, state)
        steps = [Step("understand", self.describe(state), _ms(t0))]
        act = absorbed.understanding.act
        if act in ("question", "chitchat"):
            yield self._no_picks(state, turn, absorbed.understanding, steps, notices)
            return

        result = self.plan(state, text)
        steps += result.steps
        notices += result.notices
        lead = self._lead(state, result, absorbed.understanding, notices)
        yield ReplyChunk(lead + "\n")
        act = "reset" if absorbed.understanding.act == "reset" else "recommend"
        yield from self._explain_and_finish(state, turn, result, lead, steps, notices, act)

    def _no_picks(
        self, state: SessionState, turn: TurnInput, u: Understanding, steps: list[Step], notices: list[str]
    ) -> ReplyChunk:
        """The reply to a question about movies (answered from facts) or to chitchat: no new picks, the
        state's likes and last picks unchanged."""
        t0 = time.perf_counter()
        if u.act == "question":
            about = targets(turn.text, u, state.last_picks, state.focus)
            body = answer(turn.text, about, self.catalogue, self.evidence, state)
            state.focus = about[0] if about else state.focus
            steps.append(
                Step("explain", f"answered a question about {counted(len(about), 'movie')}", _ms(t0))
            )
        else:
            body = CHITCHAT_REPLY
        body = "\n".join([*compose_notices(notices), body]).strip()
        reply = Reply(body, (), state.query(), tuple(steps), tuple(notices), act=u.act)
        if turn.history is not None:
            turn.history.extend(
                [{"role": "user", "content": turn.text}, {"role": "assistant", "content": body}]
            )
        self.record_turn(turn.user_id, turn.session_id, turn.text, reply)
        return ReplyChunk(body, reply=reply, done=True)

    def _lead(
        self, state: SessionState, result: PipelineResult | GroupResult, u: Understanding, notices: list[str]
    ) -> str:
        header = compose_header(self.catalogue, state.query(), len(result.picks), u)
        if isinstance(result, GroupResult):
            header = group_header(header, result.members)
        return "\n".join([*compose_notices(notices), header]).strip()

    def _explain_and_finish(
        self,
        state: SessionState,
        turn: TurnInput,
        result: PipelineResult | GroupResult,
        lead: str,
        steps: list[Step],
        notices: list[str],
        act: str = "recommend",
    ) -> Iterator[ReplyChunk]:
        recs: list[Recommendation] = []
        t1 = time.perf_counter()
        for rec in self.explain(state, result):
            recs.append(rec)
            yield ReplyChunk(card_line(len(recs), rec), recommendation=rec)
        if recs:
            steps.append(Step("explain", f"{len(recs)} explanations", _ms(t1)))
        state.show((r.movie_id for r in recs), result.served if isinstance(result, GroupResult) else ())
        body = lead + "".join(card_line(i, r) for i, r in enumerate(recs, 1))
        reply = Reply(body, tuple(recs), state.query(), tuple(steps), tuple(notices), act=act)
        if turn.history is not None:
            turn.history.extend(
                [{"role": "user", "content": turn.text}, {"role": "assistant", "content": body}]
            )
        self.record_turn(turn.user_id, turn.session_id, turn.text, reply)
        yield ReplyChunk("", reply=reply, done=True)


def clean_message(message: object) -> str:
    """The message's printable characters (newlines and tabs kept); non-text becomes empty."""
    text = message if isinstance(message, str) else ""
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")


def card_line(i: int, rec: Recommendation) -> str:
    """One pick as a numbered line of the reply text."""
    return f"\n{i}. **{rec.label}** — {rec.explanation}"


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
