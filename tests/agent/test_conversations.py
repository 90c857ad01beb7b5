"""Acceptance: every shipped conversation script passes against the real agent (REELCHAT_LLM=none).

Also: every recommendation satisfies the understood query's hard constraints (catalogue facts), and the
ReDial replay and user simulator run end to end on a small sample.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from agent.evaluation.scripts import SCRIPTS_DIR, load_scripts, run_script

pytestmark = pytest.mark.slow

SCRIPTS = load_scripts([SCRIPTS_DIR])


@pytest.fixture(scope="module")
def app(real_agent):  # type: ignore[no-untyped-def]
    return real_agent


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_passes(app, script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(app, script)
    failures = [
        f"turn {t.index} ({t.user[:60]!r}): {'; '.join(t.reasons)}" for t in result.turns if not t.passed
    ]
    assert not failures, "\n".join(failures)


def test_picks_satisfy_hard_constraints(app) -> None:  # type: ignore[no-untyped-def]
    """A grid of genre / exclusion / year requests: every pick meets the understood filters."""
    asks = ["a comedy", "sci-fi movies", "a horror movie", "dramas"]
    limits = ["", " from the 80s", " after 2005", " before 1970"]
    bans = ["", " but no romance", " and no thrillers"]
    checked = 0
    for ask, limit, ban in itertools.product(asks, limits, bans):
        reply = app.start_session().send(f"{ask}{limit}{ban}")
        for rec in reply.recommendations:
            movie = app.catalogue.get(rec.movie_id)
            assert reply.query.filters.admits(movie), f"{movie.label} {movie.genres} breaks {reply.query}"
            checked += 1
    assert checked > 100


def test_redial_and_simulation_smoke(app, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from agent.evaluation.baselines import build_variants
    from agent.evaluation.redial import replay
    from agent.evaluation.simulate import held_out_users, sample_users, simulate, variant_apps
    from retrieval.redial import TitleMapper, load_turns, split_turns

    folder = data_dir / "redial-ievalm"
    if not (folder / "dev_turns.jsonl").is_file():
        pytest.skip("redial-ievalm not available")
    tune, report = split_turns(load_turns(folder / "dev_turns.jsonl"))
    mapper = TitleMapper.from_path(app.catalogue, folder / "id2info.json")
    variants, _ = build_variants(app, tune, mapper)
    res = replay(report[:15], variants, mapper, progress=False)
    assert res.coverage > 0.8
    assert all(v == 0 for v in res.failures.values()), res.failures
    held, _ = held_out_users(app.resources.ratings, app.catalogue)
    users = sample_users(app.resources.ratings, app.catalogue, held, 2, seed=0)
    episodes = simulate(variant_apps(app), users, progress=False)
    for eps in episodes.values():
        assert len(eps) == 2 and all(1 <= e.turns <= 5 for e in eps)
        for e, u in zip(eps, users, strict=True):
            assert app.catalogue.get(u.target).label not in e.messages[0]
