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
Group conversations: ``members`` maps a viewer's name to ``{liked, disliked, genres_required,
genres_excluded, genres_liked, year_min, year_max}`` (movies and genres must be among theirs; years
exact) in ``query.members``; ``members_absent`` names viewers no longer in the group.

Every turn is also checked for: picks in the catalogue with matching title/year, picks satisfying the
query's hard constraints, no disliked/seen/liked movie picked, no repeats, and no system prompt leaked.
The checks themselves are in :mod:`agent.evaluation.script_checks`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from agent.evaluation.act_checks import ACT_KEYS
from agent.evaluation.script_checks import History, check_turn
from agent.records import Query
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
MEMBER_FIELDS = frozenset(
    ["liked", "disliked", "genres_required", "genres_excluded", "genres_liked", "year_min", "year_max"]
)
QUERY_FIELDS = frozenset(f.name for f in dataclasses.fields(Query) if f.name != "members")


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


# -- running -------------------------------------------------------------------------------------------
def prompt_lines(folder: Path = PROMPTS_DIR, min_chars: int = 30) -> tuple[str, ...]:
    """Distinctive lines of the shipped prompts; a reply containing one reveals a prompt."""
    lines: list[str] = []
    for f in sorted(folder.glob("*")) if folder.is_dir() else []:
        if f.suffix in (".txt", ".md"):
            lines += [
                s.strip() for s in f.read_text(encoding="utf-8").splitlines() if len(s.strip()) >= min_chars
            ]
    return tuple(lines)


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
    history = History(set(), ())
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
