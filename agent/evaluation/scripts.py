"""Scripted conversations: user turns with expectations checked against catalogue facts.

A script is a YAML mapping ``{name, description?, tags?, no_repeats?: true, turns: [...]}``; each turn is
``{user: TEXT | {repeat: TEXT, times: N}, expect: {...}}``. Expectation keys (all optional):

``count``/``min_count``/``max_count`` (number of picks), ``genres_required`` (every pick has each),
``genres_any`` (every pick has one of them), ``genres_excluded``, ``year_min``/``year_max`` (every pick),
``excluded`` (ids or titles never picked), ``liked``/``disliked``/``seen`` and ``not_liked``/``not_disliked``
(ids or titles in/absent from the understood query), ``liked_refs``/``disliked_refs``/``seen_refs``
(positions of the previous turn's picks now liked/disliked/seen), ``relative_year: newer|older`` (every pick
newer/older than the previous picks' median year), ``notice_contains``, ``text_contains``,
``text_excludes``, ``error`` (bool), ``query`` (exact values of :class:`agent.records.Query` fields) and
``resets`` (the repeat check starts over); ``act``, ``keeps_likes``, ``answer_about`` and
``answer_facts`` (questions about shown picks: :mod:`agent.evaluation.act_checks`).
Group conversations: ``members`` maps a viewer's name to
``{liked, disliked, genres_required, genres_excluded, year_min, year_max}`` (movies and genres must be
among theirs; years exact) in ``query.members``; ``members_absent`` names viewers no longer in the group.

Every turn is also checked for: picks in the catalogue with matching title/year, picks satisfying the
query's hard constraints, no disliked/seen/liked movie picked, no repeats, and no system prompt leaked.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from agent.evaluation.act_checks import ACT_KEYS, check_acts
from agent.records import Query, Reply
from retrieval.catalogue import Catalogue

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "explain" / "prompts"
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "tests" / "conversations"
EXPECT_KEYS = frozenset(
    [
        "count",
        "min_count",
        "max_count",
        "genres_required",
        "genres_any",
        "genres_excluded",
        "year_min",
        "year_max",
        "excluded",
        "liked",
        "disliked",
        "seen",
        "not_liked",
        "not_disliked",
        "liked_refs",
        "disliked_refs",
        "seen_refs",
        "relative_year",
        "notice_contains",
        "text_contains",
        "text_excludes",
        "error",
        "query",
        "resets",
        "members",
        "members_absent",
        *ACT_KEYS,
    ]
)
MEMBER_FIELDS = frozenset(["liked", "disliked", "genres_required", "genres_excluded", "year_min", "year_max"])
QUERY_FIELDS = frozenset(
    [
        "liked",
        "disliked",
        "seen",
        "genres_required",
        "genres_excluded",
        "genres_liked",
        "year_min",
        "year_max",
        "text",
        "k",
    ]
)


class ScriptError(ValueError):
    """A conversation script is malformed."""


@dataclass(frozen=True, slots=True)
class Turn:
    user: str
    expect: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    turns: tuple[Turn, ...]
    path: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    no_repeats: bool = True


@dataclass(frozen=True, slots=True)
class TurnResult:
    index: int
    user: str
    passed: bool
    reasons: tuple[str, ...]  # one per failed check; empty when passed
    picks: tuple[str, ...]  # labels of the recommendations
    latency_ms: float


@dataclass(frozen=True, slots=True)
class ScriptResult:
    script: Script
    turns: tuple[TurnResult, ...]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)


class ChatApp(Protocol):
    """What the runner needs from :class:`agent.app.RecommenderAgent`."""

    @property
    def catalogue(self) -> Catalogue: ...

    def start_session(self) -> Any: ...


# -- loading -------------------------------------------------------------------------------------------
def _user_text(raw: object, where: str) -> str:
    if isinstance(raw, str):
        return raw
    if raw is None:
        return ""
    if isinstance(raw, Mapping) and "repeat" in raw:
        return str(raw["repeat"]) * int(raw.get("times", 1))
    raise ScriptError(f"{where}: 'user' must be text or {{repeat: TEXT, times: N}}")


def parse_script(data: object, path: str = "") -> Script:
    """Validate one YAML document into a :class:`Script` (:class:`ScriptError` names the problem)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("turns"), list) or not data["turns"]:
        raise ScriptError(f"{path or 'script'}: expected a mapping with a non-empty 'turns' list")
    name = str(data.get("name") or Path(path).stem or "unnamed")
    turns = []
    for i, raw in enumerate(data["turns"], 1):
        where = f"{path or name} turn {i}"
        if not isinstance(raw, Mapping) or "user" not in raw:
            raise ScriptError(f"{where}: each turn needs a 'user' message")
        expect = raw.get("expect") or {}
        if not isinstance(expect, Mapping):
            raise ScriptError(f"{where}: 'expect' must be a mapping")
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise ScriptError(f"{where}: unknown expectation(s) {sorted(unknown)}")
        bad_query = set(expect.get("query") or {}) - QUERY_FIELDS
        if bad_query:
            raise ScriptError(f"{where}: unknown query field(s) {sorted(bad_query)}")
        members = expect.get("members") or {}
        if not isinstance(members, Mapping) or not all(isinstance(v, Mapping) for v in members.values()):
            raise ScriptError(f"{where}: 'members' must map names to mappings")
        bad_member = {k for v in members.values() for k in v} - MEMBER_FIELDS
        if bad_member:
            raise ScriptError(f"{where}: unknown member field(s) {sorted(bad_member)}")
        if expect.get("relative_year") not in (None, "newer", "older"):
            raise ScriptError(f"{where}: relative_year must be 'newer' or 'older'")
        turns.append(Turn(_user_text(raw["user"], where), dict(expect)))
    return Script(
        name=name,
        turns=tuple(turns),
        path=path,
        description=str(data.get("description") or ""),
        tags=tuple(str(t) for t in data.get("tags") or ()),
        no_repeats=bool(data.get("no_repeats", True)),
    )


def load_scripts(paths: Iterable[Path | str]) -> list[Script]:
    """Scripts from YAML files (or every ``*.yaml`` of a folder), in path order."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    out = []
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise ScriptError(f"{f}: {' '.join(str(err).split())}") from err
        out.append(parse_script(data, str(f)))
    return out


# -- checking ------------------------------------------------------------------------------------------
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


def prompt_lines(folder: Path = PROMPTS_DIR, min_chars: int = 30) -> tuple[str, ...]:
    """Distinctive lines of the shipped prompts; a reply containing one reveals a prompt."""
    lines: list[str] = []
    for f in sorted(folder.glob("*")) if folder.is_dir() else []:
        if f.suffix in (".txt", ".md"):
            lines += [
                s.strip() for s in f.read_text(encoding="utf-8").splitlines() if len(s.strip()) >= min_chars
            ]
    return tuple(lines)


@dataclass
class _History:
    shown: set[int]
    previous: tuple[int, ...]
    query: Query | None = None  # the previous reply's understood query


def check_turn(
    catalogue: Catalogue,
    reply: Reply,
    expect: Mapping[str, Any],
    history: _History,
    *,
    no_repeats: bool = True,
    secrets: Sequence[str] = (),
) -> list[str]:
    """Reasons why ``reply`` fails ``expect`` and the always-on checks (empty list: it passes)."""
    why: list[str] = []
    recs = reply.recommendations
    ids = [r.movie_id for r in recs]
    q = reply.query
    n = len(recs)
    if expect.get("resets"):
        history.shown.clear()
    # always-on: catalogue facts, hard constraints, exclusions, repeats, prompt leaks
    for r in recs:
        m = catalogue.find(r.movie_id)
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
    if len(set(ids)) != len(ids):
        why.append("the same movie appears twice in one reply")
    if no_repeats:
        again = [mid for mid in ids if mid in history.shown]
        if again:
            why.append("repeated from an earlier turn: " + ", ".join(_label(catalogue, m) for m in again))
    lower = reply.text.casefold()
    for line in secrets:
        if line.casefold() in lower:
            why.append(f"the reply reveals a prompt line: {line[:50]!r}")
            break

    # counts
    if "count" in expect and n != int(expect["count"]):
        why.append(f"expected exactly {expect['count']} picks, got {n}")
    if "min_count" in expect and n < int(expect["min_count"]):
        why.append(f"expected at least {expect['min_count']} picks, got {n}")
    if "max_count" in expect and n > int(expect["max_count"]):
        why.append(f"expected at most {expect['max_count']} picks, got {n}")
    # per-pick facts
    for mid in ids:
        m = catalogue.find(mid)
        if m is None:
            continue
        missing = [g for g in _as_list(expect.get("genres_required")) if g not in m.genres]
        if missing:
            why.append(f"{m.label} {list(m.genres)} lacks required genre(s) {missing}")
        anyof = _as_list(expect.get("genres_any"))
        if anyof and not set(anyof) & set(m.genres):
            why.append(f"{m.label} {list(m.genres)} has none of {anyof}")
        banned = [g for g in _as_list(expect.get("genres_excluded")) if g in m.genres]
        if banned:
            why.append(f"{m.label} has excluded genre(s) {banned}")
        lo, hi = expect.get("year_min"), expect.get("year_max")
        if lo is not None and (m.year is None or m.year < int(lo)):
            why.append(f"{m.label} is before {lo}")
        if hi is not None and (m.year is None or m.year > int(hi)):
            why.append(f"{m.label} is after {hi}")
        for ref in _as_list(expect.get("excluded")):
            if title_matches(catalogue, mid, ref):
                why.append(f"{m.label} was recommended although excluded ({ref!r})")
    # understood query
    for key, group in (("liked", q.liked), ("disliked", q.disliked), ("seen", q.seen)):
        for ref in _as_list(expect.get(key)):
            if not any(title_matches(catalogue, mid, ref) for mid in group):
                have = [_label(catalogue, m) for m in group]
                why.append(f"{ref!r} not understood as {key} (query.{key} = {have})")
        for ref in _as_list(expect.get(f"not_{key}")):
            if any(title_matches(catalogue, mid, ref) for mid in group):
                why.append(f"{ref!r} is still {key}")
    for key, group in (("liked_refs", q.liked), ("disliked_refs", q.disliked), ("seen_refs", q.seen)):
        for pos in _as_list(expect.get(key)):
            prev = history.previous
            if not -len(prev) <= int(pos) < len(prev):
                why.append(f"{key}: the previous turn has no pick #{int(pos) + 1}")
            elif prev[int(pos)] not in group:
                why.append(
                    f"previous pick #{int(pos) + 1} ({_label(catalogue, prev[int(pos)])}) not {key[:-5]}"
                )
    rel = expect.get("relative_year")
    if rel:
        years = [y for mid in history.previous if (y := getattr(catalogue.find(mid), "year", None))]
        if not years:
            why.append(f"relative_year {rel}: the previous turn has no dated picks")
        else:
            pivot = statistics.median(years)
            for mid in ids:
                y = getattr(catalogue.find(mid), "year", None)
                ok = y is not None and (y > pivot if rel == "newer" else y < pivot)
                if not ok:
                    why.append(
                        f"{_label(catalogue, mid)} is not {rel} than the previous picks (median {pivot:g})"
                    )
    for key, want in (expect.get("query") or {}).items():
        got = getattr(q, key)
        same = sorted(got) == sorted(want) if isinstance(got, tuple) else got == want
        if not same:
            why.append(f"query.{key} is {got!r}, expected {want!r}")
    why += _check_members(catalogue, q, expect)
    # reply text
    notices = " | ".join(reply.notices).casefold()
    for s in _as_list(expect.get("notice_contains")):
        if str(s).casefold() not in notices:
            why.append(f"no notice mentions {s!r} (notices: {list(reply.notices)})")
    for s in _as_list(expect.get("text_contains")):
        if str(s).casefold() not in lower:
            why.append(f"reply text lacks {s!r}")
    for s in _as_list(expect.get("text_excludes")):
        if str(s).casefold() in lower:
            why.append(f"reply text contains {s!r}")
    if "error" in expect and bool(reply.error) != bool(expect["error"]):
        why.append(f"expected error={bool(expect['error'])}, got error={reply.error!r}")

    why += check_acts(catalogue, reply, expect, history.previous, history.query)
    history.shown.update(ids)
    history.query = q
    if reply.act not in ("question", "chitchat"):  # answers show no picks: "the first one" still means
        history.previous = tuple(ids)  # the picks shown before the question
    return why


def _check_members(catalogue: Catalogue, q: Any, expect: Mapping[str, Any]) -> list[str]:
    """Reasons why ``q.members`` lacks a viewer's expected tastes and constraints."""
    why: list[str] = []
    members = {m.name.casefold(): m for m in getattr(q, "members", ())}
    for name, want in (expect.get("members") or {}).items():
        m = members.get(str(name).casefold())
        if m is None:
            why.append(f"no group member {name!r} (members: {[x.name for x in members.values()]})")
            continue
        for key in ("liked", "disliked"):
            for ref in _as_list(want.get(key)):
                if not any(title_matches(catalogue, mid, ref) for mid in getattr(m, key)):
                    have = [_label(catalogue, x) for x in getattr(m, key)]
                    why.append(f"{ref!r} not understood as {m.name}'s {key} ({have})")
        for key in ("genres_required", "genres_excluded"):
            missing = [g for g in _as_list(want.get(key)) if g not in getattr(m, key)]
            if missing:
                why.append(f"{m.name}.{key} lacks {missing} (has {list(getattr(m, key))})")
        for key in ("year_min", "year_max"):
            if key in want and getattr(m, key) != want[key]:
                why.append(f"{m.name}.{key} is {getattr(m, key)!r}, expected {want[key]!r}")
    for name in _as_list(expect.get("members_absent")):
        if str(name).casefold() in members:
            why.append(f"{name!r} is still a group member")
    return why


def run_script(
    app: ChatApp,
    script: Script,
    *,
    secrets: Sequence[str] | None = None,
    clock: Callable[[], float] | None = None,
) -> ScriptResult:
    """Play ``script`` in a fresh session of ``app`` and check every turn."""
    clock = clock or time.perf_counter
    secrets = prompt_lines() if secrets is None else secrets
    session = app.start_session()
    history = _History(set(), ())
    results = []
    for i, turn in enumerate(script.turns, 1):
        t0 = clock()
        try:
            reply = session.send(turn.user)
        except Exception as err:  # a crash is a failed turn, not a crashed evaluation
            ms = (clock() - t0) * 1000.0
            results.append(TurnResult(i, turn.user, False, (f"raised {type(err).__name__}: {err}",), (), ms))
            continue
        ms = (clock() - t0) * 1000.0
        why = check_turn(
            app.catalogue, reply, turn.expect, history, no_repeats=script.no_repeats, secrets=secrets
        )
        labels = tuple(r.label for r in reply.recommendations)
        results.append(TurnResult(i, turn.user, not why, tuple(why), labels, ms))
    return ScriptResult(script, tuple(results))


def summarise(results: Sequence[ScriptResult]) -> dict[str, Any]:
    """JSON-ready summary: counts and every turn's outcome."""
    turns = [t for r in results for t in r.turns]
    return {
        "scripts": len(results),
        "scripts_passed": sum(r.passed for r in results),
        "turns": len(turns),
        "turns_passed": sum(t.passed for t in turns),
        "results": [
            {
                "name": r.script.name,
                "path": r.script.path,
                "passed": r.passed,
                "turns": [
                    {
                        "turn": t.index,
                        "user": t.user[:200],
                        "passed": t.passed,
                        "reasons": list(t.reasons),
                        "picks": list(t.picks),
                        "latency_ms": round(t.latency_ms, 1),
                    }
                    for t in r.turns
                ],
            }
            for r in results
        ],
    }
