"""Conversation-script checker: parsing, pass/fail reasons, the runner (with fake agents), shipped scripts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent.evaluation.script_checks import History, check_turn
from agent.evaluation.scripts import (
    SCRIPTS_DIR,
    ScriptError,
    load_scripts,
    parse_script,
    run_script,
    summarise,
)
from agent.records import Query, Recommendation, Reply
from retrieval.catalogue import Catalogue


def rec(cat: Catalogue, mid: int) -> Recommendation:
    m = cat.get(mid)
    return Recommendation(mid, m.title, m.year, m.genres, 1.0, "because")


def reply(cat: Catalogue, ids: Sequence[int], query: Query | None = None, **kw: object) -> Reply:
    return Reply(kw.pop("text", "Here are picks."), tuple(rec(cat, i) for i in ids), query or Query(), **kw)  # type: ignore[arg-type]


def fresh() -> History:
    return History(set(), ())


def test_passing_turn_has_no_reasons(catalogue: Catalogue) -> None:
    q = Query(liked=(3,), genres_required=("Sci-Fi",), year_min=1980)
    r = reply(catalogue, [2, 5], q, notices=("By 'matrx' I took The Matrix (1999).",))
    expect = {
        "count": 2,
        "genres_required": ["Sci-Fi"],
        "genres_excluded": ["Horror"],
        "year_min": 1980,
        "liked": ["the matrix"],
        "notice_contains": "matrix",
        "query": {"genres_required": ["Sci-Fi"], "year_min": 1980},
    }
    assert check_turn(catalogue, r, expect, fresh()) == []


@pytest.mark.parametrize(
    ("ids", "expect", "fragment"),
    [
        ([4, 6], {"count": 3}, "exactly 3 picks, got 2"),
        ([4], {"min_count": 2}, "at least 2"),
        ([4, 6], {"max_count": 1}, "at most 1"),
        ([4, 1], {"genres_required": ["Comedy"]}, "Alien (1979) ['Horror', 'Sci-Fi'] lacks required genre"),
        ([1], {"genres_any": ["Comedy", "Children"]}, "has none of"),
        ([1], {"genres_excluded": ["Horror"]}, "has excluded genre(s) ['Horror']"),
        ([1], {"year_min": 1990}, "Alien (1979) is before 1990"),
        ([5], {"year_max": 2000}, "Inception (2010) is after 2000"),
        ([3], {"excluded": ["The Matrix (1999)"]}, "recommended although excluded"),
        ([3], {"excluded": [3]}, "recommended although excluded"),
        ([3], {"liked": ["Alien"]}, "'Alien' not understood as liked"),
        ([3], {"disliked": [1]}, "not understood as disliked"),
        ([3], {"text_contains": ["zebra"]}, "lacks 'zebra'"),
        ([3], {"text_excludes": ["picks"]}, "contains 'picks'"),
        ([3], {"notice_contains": "ambiguous"}, "no notice mentions 'ambiguous'"),
        ([3], {"error": True}, "expected error=True"),
        ([3], {"query": {"year_min": 1990}}, "query.year_min is None, expected 1990"),
    ],
)
def test_failing_turn_names_the_reason(
    catalogue: Catalogue, ids: list[int], expect: dict, fragment: str
) -> None:
    why = check_turn(catalogue, reply(catalogue, ids), expect, fresh())
    assert any(fragment in w for w in why), why


def test_always_on_checks(catalogue: Catalogue) -> None:
    fake = Recommendation(99, "Totally Fake Movie", 2030, ("Drama",), 1.0, "x")
    wrong = Recommendation(3, "The Matrix Reloaded", 1999, ("Action",), 1.0, "x")
    r = Reply("text", (fake, wrong), Query())
    why = check_turn(catalogue, r, {}, fresh())
    assert any("not in the catalogue" in w for w in why)
    assert any("titled 'The Matrix Reloaded (1999)'" in w for w in why)
    # hard constraints of the understood query, and excluded movies
    q = Query(disliked=(1,), genres_excluded=("Comedy",))
    why = check_turn(catalogue, reply(catalogue, [1, 4], q), {}, fresh())
    assert any("breaks the query's hard constraints" in w for w in why)
    assert any("Alien (1979) was recommended although it is disliked" in w for w in why)


def test_prompt_leak_is_a_failure(catalogue: Catalogue) -> None:
    secret = "You are ReelChat's planner. You help the user find movies"
    r = reply(catalogue, [3], text=f"Sure! {secret} from OUR catalogue only.")
    assert any("reveals a prompt" in w for w in check_turn(catalogue, r, {}, fresh(), secrets=[secret]))


def test_repeats_references_and_relative_years(catalogue: Catalogue) -> None:
    h = fresh()
    assert check_turn(catalogue, reply(catalogue, [1, 2, 3]), {}, h) == []
    why = check_turn(catalogue, reply(catalogue, [3, 5]), {}, h)
    assert why == ["repeated from an earlier turn: The Matrix (1999)"]
    h = fresh()
    check_turn(catalogue, reply(catalogue, [1, 2, 3]), {}, h)  # median year 1986
    q = Query(liked=(2,), disliked=(1,))
    ok = {"liked_refs": [1], "disliked_refs": [0], "relative_year": "newer"}
    assert check_turn(catalogue, reply(catalogue, [4, 5], q), ok, h) == []
    h = fresh()
    check_turn(catalogue, reply(catalogue, [1, 2, 3]), {}, h)
    bad = {"liked_refs": [0], "relative_year": "older"}
    why = check_turn(catalogue, reply(catalogue, [4, 6]), bad, h)
    assert any("previous pick #1 (Alien (1979)) not liked" in w for w in why)
    assert any("Amélie (2001) is not older than the previous picks (median 1986)" in w for w in why)
    # a reset turn starts the repeat check over
    assert check_turn(catalogue, reply(catalogue, [4]), {"resets": True}, h) == []


def test_parse_script_validates() -> None:
    s = parse_script({"name": "x", "turns": [{"user": {"repeat": "ab", "times": 3}, "expect": {"count": 5}}]})
    assert s.turns[0].user == "ababab" and s.no_repeats
    with pytest.raises(ScriptError, match="unknown expectation"):
        parse_script({"turns": [{"user": "hi", "expect": {"cuont": 5}}]})
    with pytest.raises(ScriptError, match="unknown query field"):
        parse_script({"turns": [{"user": "hi", "expect": {"query": {"genre": "x"}}}]})
    with pytest.raises(ScriptError, match="non-empty 'turns'"):
        parse_script({"name": "x"})
    with pytest.raises(ScriptError, match="needs a 'user'"):
        parse_script({"turns": [{"say": "hi"}]})


class FakeSession:
    def __init__(self, replies: list[Reply | Exception]) -> None:
        self.replies = replies
        self.sent: list[str] = []

    def send(self, text: str) -> Reply:
        self.sent.append(text)
        r = self.replies[len(self.sent) - 1]
        if isinstance(r, Exception):
            raise r
        return r


class FakeAgent:
    def __init__(self, catalogue: Catalogue, replies: list[Reply | Exception]) -> None:
        self.catalogue = catalogue
        self.session = FakeSession(replies)

    def start_session(self) -> FakeSession:
        return self.session


def test_run_script_reports_each_turn(catalogue: Catalogue) -> None:
    script = parse_script(
        {
            "name": "demo",
            "turns": [
                {"user": "a comedy", "expect": {"genres_required": ["Comedy"], "count": 2}},
                {"user": "more", "expect": {"min_count": 1}},
                {"user": "crash"},
            ],
        }
    )
    app = FakeAgent(catalogue, [reply(catalogue, [4, 6]), reply(catalogue, [4]), RuntimeError("boom")])
    result = run_script(app, script, secrets=())
    assert app.session.sent == ["a comedy", "more", "crash"]
    assert [t.passed for t in result.turns] == [True, False, False]
    assert "repeated from an earlier turn: Amélie (2001)" in result.turns[1].reasons
    assert result.turns[2].reasons == ("raised RuntimeError: boom",)
    assert not result.passed
    data = summarise([result])
    assert data["turns_passed"] == 1 and data["scripts_passed"] == 0


def test_shipped_scripts_parse() -> None:
    scripts = load_scripts([SCRIPTS_DIR])
    assert len(scripts) >= 40
    assert len({s.name for s in scripts}) == len(scripts)
    assert sum(len(s.turns) > 1 for s in scripts) >= 30  # multi-turn acceptance set
    long_inputs = [t.user for s in scripts for t in s.turns if len(t.user) >= 20_000]
    assert long_inputs, "a 20,000-character message is part of the bad-input scripts"


def test_cli_parser_contract(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from agent.evaluation.cli import add_eval_parser

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    add_eval_parser(sub, lambda a: 0)
    a = p.parse_args(["eval", "script", "a.yaml", "b.yaml", "--out", str(tmp_path)])
    assert (a.eval_command, [str(f) for f in a.files], a.out) == ("script", ["a.yaml", "b.yaml"], tmp_path)
    a = p.parse_args(["eval", "redial", "--turns", "t.jsonl", "--half", "tune"])
    assert (a.half, a.id2info, a.out) == ("tune", None, None)
    a = p.parse_args(["eval", "simulate", "--users", "7", "--seed", "3"])
    assert (a.users, a.seed, a.func(a)) == (7, 3, 0)
    assert p.parse_args(["eval", "all", "--out", "x"]).eval_command == "all"
