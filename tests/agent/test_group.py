"""Group recommendation units: reading members, state, aggregation, explanations, the script checks."""

from __future__ import annotations

import numpy as np
import pytest

from agent.evaluation.group_sim import choose_default
from agent.evaluation.script_checks import check_members
from agent.evaluation.scripts import ScriptError, parse_script
from agent.group.aggregate import DEFAULT_STRATEGY, aggregate, approval_voting, least_misery, resolve
from agent.group.members import GROUP, SPEAKER, apply_group_message, display_name, read_members
from agent.group.recommend import fit_sentence, group_filters, group_header, rules
from agent.records import Member, Query
from agent.understanding.deltas import Understanding
from agent.understanding.state import SessionState

GENRES = {"horror": "Horror", "comedies": "Comedy", "musicals": "Musical", "westerns": "Western"}
TITLES = {"alien": 1, "amélie": 2, "toy story": 3}


class FakeMovie:
    label = "A Movie (2000)"


class FakeCatalogue:
    def get(self, mid: int) -> FakeMovie:
        return FakeMovie()


def fake_understand(text: str) -> Understanding:
    """A tiny stand-in for the parser: "I love X", "I hate <genre>", "I only watch <genre>"."""
    low = text.lower()
    liked = tuple(mid for t, mid in TITLES.items() if t in low and ("love" in low or "like" in low))
    hated = tuple(g for w, g in GENRES.items() if w in low and "hate" in low)
    only = tuple(g for w, g in GENRES.items() if w in low and "only" in low)
    return Understanding(liked=liked, genres_excluded=hated, genres_required=only)


ISSUE = (
    "Movie night with Sam and Alex: I love Alien, Sam loves Amélie and hates horror, "
    "Alex only watches comedies from the last 20 years."
)


def test_read_members_splits_the_issue_sentence() -> None:
    turn = read_members(ISSUE, [], [])
    assert turn.added == ("Sam", "Alex")
    by = [(c.subject, c.text) for c in turn.clauses]
    assert (SPEAKER, "I love Alien") in by
    assert ("Sam", "I love Amélie") in by and ("Sam", "I hate horror") in by
    assert ("Alex", "I only watch comedies from the last 20 years") in by


def test_roles_pronouns_group_and_removal() -> None:
    turn = read_members("My partner can't stand musicals; she loves Toy Story. We want a comedy.", [], [])
    assert turn.added == ("your partner",)
    assert ("your partner", "I hate musicals") in [(c.subject, c.text) for c in turn.clauses]
    assert ("your partner", "I love Toy Story") in [(c.subject, c.text) for c in turn.clauses]
    assert (GROUP, "We want a comedy") in [(c.subject, c.text) for c in turn.clauses]
    assert read_members("Alex left", ["Alex"], []).removed == ("Alex",)
    assert read_members("sam doesn't mind horror", ["Sam"], []).allowed == (("Sam", "horror"),)
    assert display_name("the kids") == "the kids" and display_name("my son") == "your son"


def test_single_viewer_messages_are_not_group_turns() -> None:
    for text in ("I loved Alien, no horror", "animated movies for kids", "something with Tom Hanks"):
        assert not read_members(text, [], []).is_group
        assert apply_group_message(SessionState(), text, fake_understand, FakeCatalogue(), []) is None  # type: ignore[arg-type]


def test_apply_group_message_builds_members_and_group_query() -> None:
    st = SessionState()
    res = apply_group_message(st, ISSUE, fake_understand, FakeCatalogue(), [])  # type: ignore[arg-type]
    assert res is not None and any("Added Sam and Alex" in n for n in res[1])
    q = st.query()
    names = [m.name for m in q.members]
    assert names == ["you", "Sam", "Alex"]
    sam = q.members[1]
    assert sam.liked == (2,) and sam.genres_excluded == ("Horror",)
    assert q.members[2].genres_required == ("Comedy",)
    assert set(q.liked) == {1, 2} and q.genres_excluded == ("Horror",) and q.genres_required == ("Comedy",)
    assert {1, 2} <= st.excluded_ids()
    apply_group_message(st, "Alex left", fake_understand, FakeCatalogue(), [])  # type: ignore[arg-type]
    assert [m.name for m in st.query().members] == ["you", "Sam"] and st.query().genres_required == ()


def test_single_viewer_query_is_unchanged() -> None:
    st = SessionState(liked=[1], genres_excluded=["Horror"], year_min=1990)
    assert st.query() == Query(liked=(1,), genres_excluded=("Horror",), year_min=1990)
    assert st.query().members == () and st.member_list() == ()
    st.members["Sam"] = SessionState()
    st.reset()
    assert st.members == {} and st.strategy == ""


def test_strategies() -> None:
    s = np.array([[3.0, 1.0, 0.0], [-2.0, 1.0, 0.5]])
    assert int(np.argmax(aggregate(s, "average"))) == 1
    assert int(np.argmax(least_misery(s))) == 1
    assert (
        np.argmax(
            approval_voting(np.array([[3.0, 2.0, 0.0, -1.0, -2.0], [-2.0, 2.0, 3.0, 0.0, 0.0]]), share=0.4)
        )
        == 1
    )
    assert resolve(None) == DEFAULT_STRATEGY and resolve("least misery") == "least_misery"
    assert resolve("approval") == "approval_voting"
    with pytest.raises(ValueError):
        resolve("dictator")


def test_choose_default_rule() -> None:
    summary = {
        "average": {"mean_ndcg@10": 0.50, "min_member_ndcg@10": 0.30},
        "least_misery": {"mean_ndcg@10": 0.40, "min_member_ndcg@10": 0.35},  # loses > 5 % on the mean
        "approval_voting": {"mean_ndcg@10": 0.48, "min_member_ndcg@10": 0.32},
    }
    assert choose_default(summary) == "approval_voting"


def test_group_filters_and_explanations() -> None:
    you = Member("you", liked=(1,), year_min=1990)
    sam = Member("Sam", liked=(2,), genres_excluded=("Horror",), year_min=1995, year_max=2010)
    alex = Member("Alex", genres_required=("Comedy",))
    f = group_filters([you, sam, alex])
    assert (f.year_min, f.year_max, f.genres_required, f.genres_excluded) == (
        1995,
        2010,
        ("Comedy",),
        ("Horror",),
    )
    assert rules(alex) == ["comedy-only"]
    text = fit_sentence([you, sam, alex], [1.0, 0.0, 0.0], "Sam")
    assert text == "It also suits your 1990-or-later rule and taste and Alex's comedy-only rule."
    assert (
        fit_sentence([you, sam], [0.0, 1.0], "you")
        == "It also suits Sam's no-horror and 1995-or-later and 2010-or-earlier rules and taste."
    )
    assert group_header("Here are 5 picks (x):", [you, sam]) == "Here are 5 picks for you and Sam (x):"


class FakeCat:
    def find(self, mid: int):  # type: ignore[no-untyped-def]
        return None


def test_script_member_expectations() -> None:
    q = Query(members=(Member("you"), Member("Sam", liked=(2,), genres_excluded=("Horror",))))
    ok = {"members": {"Sam": {"liked": [2], "genres_excluded": ["Horror"]}}, "members_absent": ["Alex"]}
    assert check_members(FakeCat(), q, ok) == []  # type: ignore[arg-type]
    bad = {"members": {"Alex": {}, "Sam": {"genres_required": ["Comedy"]}}, "members_absent": ["Sam"]}
    assert len(check_members(FakeCat(), q, bad)) == 3  # type: ignore[arg-type]
    with pytest.raises(ScriptError):
        parse_script({"turns": [{"user": "x", "expect": {"members": {"Sam": {"colour": 1}}}}]})
