"""Group recommendation against the real agent: the issue's conversation, strategies, the evaluation."""

from __future__ import annotations

import pytest

from agent.evaluation.group_sim import make_groups, run_groups, summarise
from agent.group.aggregate import STRATEGIES
from agent.group.recommend import GroupRecommender

pytestmark = pytest.mark.slow

ISSUE = (
    "Movie night with Sam and Alex: I love Alien, Sam loves Amélie and hates horror, "
    "Alex only watches comedies from the last 20 years."
)


def test_issue_conversation(real_agent) -> None:  # type: ignore[no-untyped-def]
    session = real_agent.start_session()
    reply = session.send(ISSUE)
    names = [m.name for m in reply.query.members]
    assert names == ["you", "Sam", "Alex"]
    assert len(reply.recommendations) == 5
    for rec in reply.recommendations:
        assert "Comedy" in rec.genres and "Horror" not in rec.genres and rec.year >= 1998
        assert rec.explanation.startswith("For ")
    assert "Alex's comedy-only" in reply.text
    for strategy in STRATEGIES:
        res = GroupRecommender(real_agent.engine.pipeline, real_agent.catalogue).run(
            session.state, strategy=strategy
        )
        assert len(res.picks) == 5 and res.strategy == strategy
    assert "least misery" in session.set_strategy("least misery")
    assert "Jo is in the group" in session.add_member("Jo", ["Toy Story"], [])
    assert session.send("something else").query.members[-1].name == "Jo"
    assert "Removed Jo" in session.remove_member("jo")


def test_group_evaluation_smoke(real_agent) -> None:  # type: ignore[no-untyped-def]
    from agent.evaluation.groups import groups_report
    from agent.evaluation.simulate import held_out_users

    held, note = held_out_users(real_agent.resources.ratings, real_agent.catalogue)
    groups = make_groups(real_agent.resources.ratings, real_agent.catalogue, held, 3, seed=1)
    assert len(groups) == 6 and all(2 <= len(g.users) <= 4 for g in groups)
    outcomes = run_groups(GroupRecommender(real_agent.engine.pipeline, real_agent.catalogue), groups)
    summary = summarise(outcomes)
    assert set(STRATEGIES) <= set(summary)
    assert all(0.0 <= v["min_member_ndcg@10"] <= v["mean_ndcg@10"] <= 1.0 for v in summary.values())
    report = groups_report(outcomes, note)
    assert "| all | average |" in report.markdown
