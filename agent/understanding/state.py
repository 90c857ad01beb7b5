"""Conversation state: constraints accumulate across turns; the latest statement wins."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from agent.records import Member, Query
from agent.settings import DEFAULT_LIMITS
from agent.understanding.deltas import Critique, Understanding
from agent.understanding.directions import DIRECTIONS
from retrieval.catalogue import Catalogue

DEFAULT_K = 5
_T = TypeVar("_T")


@dataclass
class SessionState:
    """Mutable per-session memory. Only a :class:`~agent.conversation.session.Session` mutates it (locked)."""

    liked: list[int] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    genres_required: list[str] = field(default_factory=list)
    genres_excluded: list[str] = field(default_factory=list)
    genres_liked: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    mood: list[str] = field(default_factory=list)
    text: str = ""
    k: int = DEFAULT_K
    shown: list[int] = field(default_factory=list)
    last_picks: list[int] = field(default_factory=list)
    last_served: list[str] = field(default_factory=list)  # a group: whom each of ``last_picks`` was for
    popularity_bias: float = 0.0  # < 0 favours the long tail, > 0 favours well-known movies
    diversity: float = 0.0  # raised by "something else"
    focus: int | None = None  # the movie the last question was about ("who's in it?" then "is it scary?")
    # this turn's critique directions ("funnier") and the picks they are relative to (movers go first)
    directions: list[str] = field(default_factory=list)
    direction_from: list[int] = field(default_factory=list)
    # group conversations: the other viewers by display name (the speaker's own tastes stay above)
    members: dict[str, SessionState] = field(default_factory=dict)
    strategy: str = ""  # group aggregation strategy; "" = the default (agent.group.aggregate)

    def query(self) -> Query:
        if self.members:
            return self._group_query()
        return Query(
            liked=tuple(self.liked),
            disliked=tuple(self.disliked),
            seen=tuple(self.seen),
            genres_required=tuple(self.genres_required),
            genres_excluded=tuple(self.genres_excluded),
            genres_liked=tuple(self.genres_liked),
            year_min=self.year_min,
            year_max=self.year_max,
            text=self.text,
            k=self.k,
        )

    def member_list(self) -> tuple[Member, ...]:
        """Every viewer, the speaker ("you") first; empty for a single viewer."""
        if not self.members:
            return ()
        return tuple(_member(name, st) for name, st in [("you", self), *self.members.items()])

    def _group_query(self) -> Query:
        members = self.member_list()
        mins = [m.year_min for m in members if m.year_min is not None]
        maxs = [m.year_max for m in members if m.year_max is not None]
        return Query(
            liked=_union(m.liked for m in members),
            disliked=_union(m.disliked for m in members),
            seen=tuple(self.seen),
            genres_required=_union(m.genres_required for m in members),
            genres_excluded=_union(m.genres_excluded for m in members),
            genres_liked=_union([self.genres_liked, *(st.genres_liked for st in self.members.values())]),
            year_min=max(mins) if mins else None,
            year_max=min(maxs) if maxs else None,
            text=self.text,
            k=self.k,
            members=members,
        )

    def excluded_ids(self) -> set[int]:
        """Never recommend again: already shown, seen, liked (named by the user) or disliked."""
        out = set(self.shown) | set(self.seen) | set(self.liked) | set(self.disliked)
        for st in self.members.values():
            out |= set(st.liked) | set(st.disliked)
        return out

    def show(self, ids: Iterable[int], served: Iterable[str] = ()) -> None:
        """Movies just put in front of the user: the last picks, never recommended again; ``served``
        names, in a group, the viewer each was chosen for."""
        self.last_picks = [int(m) for m in ids]
        self.last_served = list(served)[: len(self.last_picks)]
        self.shown += [m for m in self.last_picks if m not in self.shown]

    def reset(self) -> None:
        fresh = SessionState()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


def _member(name: str, st: SessionState) -> Member:
    return Member(
        name,
        tuple(st.liked),
        tuple(st.disliked),
        tuple(st.genres_required),
        tuple(st.genres_excluded),
        st.year_min,
        st.year_max,
        tuple(st.genres_liked),
    )


def _union(groups: Iterable[Iterable[_T]]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(x for g in groups for x in g))


def _add(items: list, value: object) -> bool:
    if value in items:
        return False
    items.append(value)
    return True


def _discard(items: list, value: object) -> bool:
    if value in items:
        items.remove(value)
        return True
    return False


def _resolve_refs(refs: tuple[int, ...], picks: list[int]) -> list[int]:
    out = []
    for r in refs:
        if not picks:
            break
        idx = 0 if r == -1 and len(picks) == 1 else r
        if -len(picks) <= idx < len(picks):
            out.append(picks[idx])
    return out


def apply_understanding(
    state: SessionState, u: Understanding, catalogue: Catalogue, *, max_picks: int = DEFAULT_LIMITS.max_picks
) -> list[str]:
    """Fold one message's deltas into ``state``; return one-line notices for the user."""
    notices: list[str] = []
    state.directions, state.direction_from = [], []
    if u.reset:
        state.reset()
        notices.append("Starting over: I've forgotten the earlier preferences.")

    liked = list(u.liked) + _resolve_refs(u.liked_refs, state.last_picks)
    disliked = list(u.disliked) + _resolve_refs(u.disliked_refs, state.last_picks)
    seen = list(u.seen) + _resolve_refs(u.seen_refs, state.last_picks)
    if u.seen_all_shown:
        seen += state.last_picks

    for mid in liked:
        if _discard(state.disliked, mid):
            notices.append(f"Noted: you now like {catalogue.get(mid).label}, so it is no longer a dislike.")
        _add(state.liked, mid)
    for mid in disliked:
        if _discard(state.liked, mid):
            notices.append(f"Noted: you now dislike {catalogue.get(mid).label}, so it is no longer a like.")
        _add(state.disliked, mid)
    for mid in seen:
        _add(state.seen, mid)

    if u.clear_genres or u.replace_genres:
        state.genres_required.clear()
    for g in u.genres_allowed:
        if _discard(state.genres_excluded, g):
            notices.append(f"Earlier you ruled out {g}; allowing it again.")
    for g in u.genres_liked:
        if _discard(state.genres_excluded, g):
            notices.append(f"Earlier you ruled out {g}; going with your latest message and allowing it.")
        if g not in state.genres_required:
            _add(state.genres_liked, g)
    for g in u.genres_required:
        _discard(state.genres_liked, g)
        if _discard(state.genres_excluded, g):
            notices.append(f"Earlier you ruled out {g}; going with your latest request and including it.")
        _add(state.genres_required, g)
    for g in u.genres_excluded:
        _discard(state.genres_liked, g)
        if _discard(state.genres_required, g):
            notices.append(f"Earlier you asked for {g}; going with your latest request and excluding it.")
        _add(state.genres_excluded, g)

    _apply_years(state, u, notices)
    if u.k is not None:
        if u.k > max_picks:
            notices.append(f"I show at most {max_picks} picks at a time.")
        state.k = max(1, min(max_picks, u.k))
    if u.mood or u.text.strip():
        state.mood = list(u.mood)
        said = u.text.split()
        state.text = " ".join([*(m for m in u.mood if m not in said), u.text]).strip()  # each word once
    explicit_years = u.year_min is not None or u.year_max is not None or u.clear_years
    for c in u.critiques:
        if explicit_years and c in (Critique.MORE_RECENT, Critique.OLDER):
            continue  # "more recent ones, from 2012 or later": the stated year wins over the relative one
        _apply_critique(state, c, catalogue, notices)
        if c in DIRECTIONS and state.last_picks:
            state.directions.append(c.value)
            state.direction_from = list(state.last_picks)
    return notices


def _apply_years(state: SessionState, u: Understanding, notices: list[str]) -> None:
    if u.clear_years:
        state.year_min = state.year_max = None
    lo, hi = u.year_min, u.year_max
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    if lo is not None:
        state.year_min = lo
        if state.year_max is not None and state.year_max < lo and hi is None:
            notices.append(
                f"Dropped the earlier 'before {state.year_max}' limit: it contradicts 'from {lo}'."
            )
            state.year_max = None
    if hi is not None:
        state.year_max = hi
        if state.year_min is not None and state.year_min > hi and lo is None:
            notices.append(f"Dropped the earlier 'from {state.year_min}' limit: it contradicts 'until {hi}'.")
            state.year_min = None


#: Genre leanings per critique direction: (lean towards, stop leaning towards, rule out).
_LEANINGS: dict[Critique, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    Critique.FUNNIER: (("Comedy",), ("Horror", "Thriller", "War", "Crime", "Drama"), ()),
    Critique.LIGHTER: (("Comedy",), ("Horror", "Thriller", "War", "Crime"), ("Horror",)),
    Critique.DARKER: (("Thriller", "Crime"), ("Comedy", "Children", "Animation", "Romance", "Musical"), ()),
    Critique.LESS_VIOLENT: ((), ("Action", "War", "Crime", "Horror", "Thriller"), ("Horror", "War")),
    Critique.MORE_ROMANTIC: (("Romance",), ("Horror", "War", "Action"), ()),
}
#: Words for semantic retrieval per direction (they replace the mood text).
_CRITIQUE_TEXT: dict[Critique, str] = {
    Critique.FUNNIER: "funny, hilarious comedy",
    Critique.LIGHTER: "light-hearted, fun, uplifting",
    Critique.DARKER: "dark, gritty, intense",
    Critique.LESS_VIOLENT: "gentle, heartfelt, non-violent",
    Critique.MORE_ROMANTIC: "romantic love story",
}


def _apply_critique(state: SessionState, c: Critique, catalogue: Catalogue, notices: list[str]) -> None:
    """Shift the state along one direction: years from the last picks' median, genres, popularity."""
    years = [y for m in state.last_picks if (y := catalogue.get(m).year) is not None]
    pivot = int(statistics.median(years)) if years else None
    if c is Critique.MORE_RECENT and pivot is not None:
        state.year_min = pivot + 1
        if state.year_max is not None and state.year_max < state.year_min:
            state.year_max = None
    elif c is Critique.OLDER and pivot is not None:
        state.year_max = pivot - 1
        if state.year_min is not None and state.year_min > state.year_max:
            state.year_min = None
    elif c in _LEANINGS:
        _lean(state, c)
    elif c is Critique.SOMETHING_ELSE:
        state.diversity = min(1.0, state.diversity + 0.3)
    elif c is Critique.LESS_POPULAR:
        state.popularity_bias = max(-1.0, state.popularity_bias - 0.5)
    elif c is Critique.MORE_POPULAR:
        state.popularity_bias = min(1.0, state.popularity_bias + 0.5)


def _lean(state: SessionState, c: Critique) -> None:
    towards, away, ruled_out = _LEANINGS[c]
    for g in away:
        _discard(state.genres_liked, g)
    for g in ruled_out:
        # relative to nothing shown and nothing asked ("like Seven but less gory"): a leaning only
        if state.last_picks or g in state.genres_required:
            _discard(state.genres_required, g)
            _add(state.genres_excluded, g)
    for g in towards:
        _discard(state.genres_excluded, g)
        if g not in state.genres_required:
            _add(state.genres_liked, g)
    if c is Critique.DARKER:
        _discard(state.genres_excluded, "Horror")
    state.text = _CRITIQUE_TEXT[c]
