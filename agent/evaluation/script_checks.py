"""Checks of one scripted turn: a table of small checkers, one per expectation key, plus the always-on checks.

:func:`check_turn` runs the always-on checks, then the checkers of the keys the turn's ``expect`` names, in
a fixed order: counts, per-pick facts (pick by pick), the understood query, the reply's text. Each checker
returns the reasons it failed; an empty list means it passed. The keys and their meaning are described in
:mod:`agent.evaluation.scripts`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.evaluation.act_checks import check_acts
from agent.records import Query, Reply
from retrieval.catalogue import Catalogue
from retrieval.types import Movie


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def title_matches(catalogue: Catalogue, movie_id: int, ref: int | str) -> bool:
    """Whether ``ref`` (a movieId, a title or a "Title (Year)" label) names ``movie_id``."""
    if isinstance(ref, int):
        return movie_id == ref
    movie = catalogue.find(movie_id)
    return movie is not None and _norm(str(ref)) in (_norm(movie.title), _norm(movie.label))


def _label(catalogue: Catalogue, mid: int) -> str:
    m = catalogue.find(mid)
    return m.label if m is not None else f"#{mid}"


@dataclass
class History:
    shown: set[int]
    previous: tuple[int, ...]
    query: Query | None = None  # the previous reply's understood query


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What a checker looks at: the catalogue, this turn's reply and the picks of earlier turns."""

    catalogue: Catalogue
    reply: Reply
    history: History

    @property
    def ids(self) -> list[int]:
        return [r.movie_id for r in self.reply.recommendations]

    @property
    def query(self) -> Query:
        return self.reply.query

    @property
    def text(self) -> str:
        """The reply text, casefolded."""
        return self.reply.text.casefold()


Check = Callable[[_Ctx, Any], list[str]]
PickCheck = Callable[[_Ctx, Movie, Any], list[str]]


# -- always-on -----------------------------------------------------------------------------------------
def _check_pick_records(ctx: _Ctx) -> list[str]:
    """Picks exist in the catalogue as labelled, obey the query's hard constraints and are not excluded."""
    why: list[str] = []
    q = ctx.query
    for r in ctx.reply.recommendations:
        m = ctx.catalogue.find(r.movie_id)
        if m is None:
            why.append(f"{r.label} (id {r.movie_id}) is not in the catalogue")
            continue
        if (m.title, m.year) != (r.title, r.year):
            why.append(f"pick id {r.movie_id} is titled {r.label!r} but the catalogue says {m.label!r}")
        if not q.filters.admits(m):
            why.append(f"{m.label} {list(m.genres)} breaks the query's hard constraints {q.filters}")
        for kind, group in (("disliked", q.disliked), ("seen", q.seen), ("liked", q.liked)):
            if m.movie_id in group:
                why.append(f"{m.label} was recommended although it is {kind}")
    return why


def _check_repeats(ctx: _Ctx, no_repeats: bool) -> list[str]:
    ids = ctx.ids
    why = ["the same movie appears twice in one reply"] if len(set(ids)) != len(ids) else []
    again = [mid for mid in ids if mid in ctx.history.shown] if no_repeats else []
    if again:
        why.append("repeated from an earlier turn: " + ", ".join(_label(ctx.catalogue, m) for m in again))
    return why


def _check_leaks(ctx: _Ctx, secrets: Sequence[str]) -> list[str]:
    lower = ctx.text
    for line in secrets:
        if line.casefold() in lower:
            return [f"the reply reveals a prompt line: {line[:50]!r}"]
    return []


# -- counts --------------------------------------------------------------------------------------------
def _count(ctx: _Ctx, want: Any) -> list[str]:
    n = len(ctx.ids)
    return [f"expected exactly {want} picks, got {n}"] if n != int(want) else []


def _min_count(ctx: _Ctx, want: Any) -> list[str]:
    n = len(ctx.ids)
    return [f"expected at least {want} picks, got {n}"] if n < int(want) else []


def _max_count(ctx: _Ctx, want: Any) -> list[str]:
    n = len(ctx.ids)
    return [f"expected at most {want} picks, got {n}"] if n > int(want) else []


# -- per-pick facts ------------------------------------------------------------------------------------
def _genres_required(ctx: _Ctx, m: Movie, want: Any) -> list[str]:
    missing = [g for g in _as_list(want) if g not in m.genres]
    return [f"{m.label} {list(m.genres)} lacks required genre(s) {missing}"] if missing else []


def _genres_any(ctx: _Ctx, m: Movie, want: Any) -> list[str]:
    anyof = _as_list(want)
    return (
        [f"{m.label} {list(m.genres)} has none of {anyof}"]
        if anyof and not set(anyof) & set(m.genres)
        else []
    )


def _genres_excluded(ctx: _Ctx, m: Movie, want: Any) -> list[str]:
    banned = [g for g in _as_list(want) if g in m.genres]
    return [f"{m.label} has excluded genre(s) {banned}"] if banned else []


def _year_min(ctx: _Ctx, m: Movie, lo: Any) -> list[str]:
    return [f"{m.label} is before {lo}"] if lo is not None and (m.year is None or m.year < int(lo)) else []


def _year_max(ctx: _Ctx, m: Movie, hi: Any) -> list[str]:
    return [f"{m.label} is after {hi}"] if hi is not None and (m.year is None or m.year > int(hi)) else []


def _excluded(ctx: _Ctx, m: Movie, refs: Any) -> list[str]:
    return [
        f"{m.label} was recommended although excluded ({ref!r})"
        for ref in _as_list(refs)
        if title_matches(ctx.catalogue, m.movie_id, ref)
    ]


# -- understood query ----------------------------------------------------------------------------------
def _understood_as(key: str) -> Check:
    """Checker of ``liked``/``disliked``/``seen``: each ref is in ``query.<key>``."""

    def check(ctx: _Ctx, refs: Any) -> list[str]:
        group = getattr(ctx.query, key)
        why = []
        for ref in _as_list(refs):
            if not any(title_matches(ctx.catalogue, mid, ref) for mid in group):
                have = [_label(ctx.catalogue, m) for m in group]
                why.append(f"{ref!r} not understood as {key} (query.{key} = {have})")
        return why

    return check


def _no_longer(key: str) -> Check:
    """Checker of ``not_<key>``: no ref is in ``query.<key>``."""

    def check(ctx: _Ctx, refs: Any) -> list[str]:
        group = getattr(ctx.query, key)
        return [
            f"{ref!r} is still {key}"
            for ref in _as_list(refs)
            if any(title_matches(ctx.catalogue, mid, ref) for mid in group)
        ]

    return check


def _previous_picks_now(key: str) -> Check:
    """Checker of ``<kind>_refs``: the previous turn's picks at these positions are in ``query.<kind>``."""
    kind = key[:-5]

    def check(ctx: _Ctx, positions: Any) -> list[str]:
        group = getattr(ctx.query, kind)
        prev = ctx.history.previous
        why = []
        for pos in _as_list(positions):
            if not -len(prev) <= int(pos) < len(prev):
                why.append(f"{key}: the previous turn has no pick #{int(pos) + 1}")
            elif prev[int(pos)] not in group:
                why.append(
                    f"previous pick #{int(pos) + 1} ({_label(ctx.catalogue, prev[int(pos)])}) not {kind}"
                )
        return why

    return check


def _relative_year(ctx: _Ctx, rel: Any) -> list[str]:
    if not rel:
        return []
    years = [y for mid in ctx.history.previous if (y := getattr(ctx.catalogue.find(mid), "year", None))]
    if not years:
        return [f"relative_year {rel}: the previous turn has no dated picks"]
    pivot = statistics.median(years)
    why = []
    for mid in ctx.ids:
        y = getattr(ctx.catalogue.find(mid), "year", None)
        if not (y is not None and (y > pivot if rel == "newer" else y < pivot)):
            why.append(
                f"{_label(ctx.catalogue, mid)} is not {rel} than the previous picks (median {pivot:g})"
            )
    return why


def _query_fields(ctx: _Ctx, want: Any) -> list[str]:
    why = []
    for key, value in (want or {}).items():
        got = getattr(ctx.query, key)
        same = sorted(got) == sorted(value) if isinstance(got, tuple) else got == value
        if not same:
            why.append(f"query.{key} is {got!r}, expected {value!r}")
    return why


# -- group members -------------------------------------------------------------------------------------
def _members_by_name(q: Any) -> dict[str, Any]:
    return {m.name.casefold(): m for m in getattr(q, "members", ())}


def _member_reasons(catalogue: Catalogue, m: Any, want: Mapping[str, Any]) -> list[str]:
    """Reasons why group member ``m`` lacks the tastes and constraints in ``want``."""
    why: list[str] = []
    for key in ("liked", "disliked"):
        for ref in _as_list(want.get(key)):
            if not any(title_matches(catalogue, mid, ref) for mid in getattr(m, key)):
                have = [_label(catalogue, x) for x in getattr(m, key)]
                why.append(f"{ref!r} not understood as {m.name}'s {key} ({have})")
    for key in ("genres_required", "genres_excluded", "genres_liked"):
        missing = [g for g in _as_list(want.get(key)) if g not in getattr(m, key)]
        if missing:
            why.append(f"{m.name}.{key} lacks {missing} (has {list(getattr(m, key))})")
    for key in ("year_min", "year_max"):
        if key in want and getattr(m, key) != want[key]:
            why.append(f"{m.name}.{key} is {getattr(m, key)!r}, expected {want[key]!r}")
    return why


def _members_present(catalogue: Catalogue, q: Any, wanted: Any) -> list[str]:
    why: list[str] = []
    members = _members_by_name(q)
    for name, want in (wanted or {}).items():
        m = members.get(str(name).casefold())
        if m is None:
            why.append(f"no group member {name!r} (members: {[x.name for x in members.values()]})")
        else:
            why += _member_reasons(catalogue, m, want)
    return why


def _members_absent(q: Any, names: Any) -> list[str]:
    members = _members_by_name(q)
    return [
        f"{name!r} is still a group member" for name in _as_list(names) if str(name).casefold() in members
    ]


def check_members(catalogue: Catalogue, q: Any, expect: Mapping[str, Any]) -> list[str]:
    """Reasons why ``q.members`` lacks a viewer's expected tastes and constraints."""
    return _members_present(catalogue, q, expect.get("members")) + _members_absent(
        q, expect.get("members_absent")
    )


# -- reply text ----------------------------------------------------------------------------------------
def _notice_contains(ctx: _Ctx, want: Any) -> list[str]:
    notices = " | ".join(ctx.reply.notices).casefold()
    return [
        f"no notice mentions {s!r} (notices: {list(ctx.reply.notices)})"
        for s in _as_list(want)
        if str(s).casefold() not in notices
    ]


def _text_contains(ctx: _Ctx, want: Any) -> list[str]:
    return [f"reply text lacks {s!r}" for s in _as_list(want) if str(s).casefold() not in ctx.text]


def _text_excludes(ctx: _Ctx, want: Any) -> list[str]:
    return [f"reply text contains {s!r}" for s in _as_list(want) if str(s).casefold() in ctx.text]


def _error(ctx: _Ctx, want: Any) -> list[str]:
    error = ctx.reply.error
    return [f"expected error={bool(want)}, got error={error!r}"] if bool(error) != bool(want) else []


# -- the tables, in the order their reasons are reported ----------------------------------------------
COUNT_CHECKS: dict[str, Check] = {"count": _count, "min_count": _min_count, "max_count": _max_count}
# run pick by pick, so a pick's reasons stay together
PICK_CHECKS: dict[str, PickCheck] = {
    "genres_required": _genres_required,
    "genres_any": _genres_any,
    "genres_excluded": _genres_excluded,
    "year_min": _year_min,
    "year_max": _year_max,
    "excluded": _excluded,
}
QUERY_CHECKS: dict[str, Check] = {
    "liked": _understood_as("liked"),
    "not_liked": _no_longer("liked"),
    "disliked": _understood_as("disliked"),
    "not_disliked": _no_longer("disliked"),
    "seen": _understood_as("seen"),
    "not_seen": _no_longer("seen"),  # checked when given, though scripts cannot name it (not in EXPECT_KEYS)
    "liked_refs": _previous_picks_now("liked_refs"),
    "disliked_refs": _previous_picks_now("disliked_refs"),
    "seen_refs": _previous_picks_now("seen_refs"),
    "relative_year": _relative_year,
    "query": _query_fields,
    "members": lambda ctx, want: _members_present(ctx.catalogue, ctx.query, want),
    "members_absent": lambda ctx, names: _members_absent(ctx.query, names),
}
REPLY_CHECKS: dict[str, Check] = {
    "notice_contains": _notice_contains,
    "text_contains": _text_contains,
    "text_excludes": _text_excludes,
    "error": _error,
}


def _run_table(table: Mapping[str, Check], ctx: _Ctx, expect: Mapping[str, Any]) -> list[str]:
    return [reason for key, check in table.items() if key in expect for reason in check(ctx, expect[key])]


def _check_picks(ctx: _Ctx, expect: Mapping[str, Any]) -> list[str]:
    checks = [(check, expect[key]) for key, check in PICK_CHECKS.items() if key in expect]
    why: list[str] = []
    for mid in ctx.ids:
        m = ctx.catalogue.find(mid)
        if m is not None:
            for check, want in checks:
                why += check(ctx, m, want)
    return why


def check_turn(
    catalogue: Catalogue,
    reply: Reply,
    expect: Mapping[str, Any],
    history: History,
    *,
    no_repeats: bool = True,
    secrets: Sequence[str] = (),
) -> list[str]:
    """Reasons why ``reply`` fails ``expect`` and the always-on checks (empty list: it passes).

    Updates ``history`` with this turn's picks; ``resets`` in ``expect`` first forgets earlier picks.
    """
    ctx = _Ctx(catalogue, reply, history)
    if expect.get("resets"):
        history.shown.clear()
    why = _check_pick_records(ctx) + _check_repeats(ctx, no_repeats) + _check_leaks(ctx, secrets)
    why += _run_table(COUNT_CHECKS, ctx, expect)
    why += _check_picks(ctx, expect)
    why += _run_table(QUERY_CHECKS, ctx, expect)
    why += _run_table(REPLY_CHECKS, ctx, expect)
    why += check_acts(catalogue, reply, expect, history.previous, history.query)
    history.shown.update(ctx.ids)
    history.query = reply.query
    if reply.act not in ("question", "chitchat"):  # answers show no picks: "the first one" still means
        history.previous = tuple(ctx.ids)  # the picks shown before the question
    return why
