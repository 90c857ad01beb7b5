"""Session on its own (a fake engine), and the real turn engine over fake resources."""

from __future__ import annotations

import threading

from agent.conversation.engine import TurnEngine
from agent.conversation.session import Session
from agent.records import Reply
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from tests.agent.conftest import FakeEngine, fake_engine_over


def test_session_runs_turns_through_its_engine(fake_engine: FakeEngine) -> None:
    s = Session(fake_engine, "s1", "ann")
    s.notices.append("The ranking model could not be loaded")
    reply = s.send("like The Matrix")
    assert [r.movie_id for r in reply.recommendations] == [3, 5]
    turn = fake_engine.turns[0]
    assert (turn.text, turn.session_id, turn.user_id) == ("like The Matrix", "s1", "ann")
    assert turn.pending == ("The ranking model could not be loaded",) and s.notices == []
    assert s.history[0]["content"] == "like The Matrix"
    assert s.state.shown == [3, 5]


def test_feedback_moves_a_movie_between_lists_and_is_recorded(fake_engine: FakeEngine) -> None:
    s = Session(fake_engine, "s1", "ann")
    assert s.feedback(1, "liked") == "Noted: you liked Alien (1979)."
    assert s.feedback(1, "disliked") == "Noted: Alien (1979) isn't for you."
    assert (s.state.liked, s.state.disliked) == ([], [1])
    assert s.feedback(999, "liked") == "Unknown movie id 999."
    assert s.feedback(1, "loved") == "Unknown feedback 'loved'."
    assert [(u, f.movie_id, f.signal) for u, _, f in fake_engine.feedback] == [
        ("ann", 1, "liked"),
        ("ann", 1, "disliked"),
    ]


def test_rate_limit_refuses_politely(fake_engine: FakeEngine) -> None:
    from agent.conversation.limits import RateLimiter

    fake_engine.limiter = RateLimiter(per_minute=1, burst=1)
    s = Session(fake_engine, "s1")
    assert s.send("hi").error is None
    refused = s.send("again")
    assert refused.error == "rate limited" and "wait" in refused.text and len(fake_engine.turns) == 1


def test_chips_and_members(fake_engine: FakeEngine) -> None:
    s = Session(fake_engine, "s1")
    s.state.genres_excluded.append("Horror")
    s.state.year_min = 1990
    s.remove_constraint("genre_excluded", "Horror")
    s.remove_constraint("year_min")
    assert s.state.genres_excluded == [] and s.state.year_min is None
    assert "Sam is in the group" in s.add_member("Sam", liked=["Alien"], disliked=[5])
    assert s.state.members["Sam"].liked == [1] and s.state.members["Sam"].disliked == [5]
    assert s.remove_member("Sam") == "Removed Sam from the group."
    s.reset()
    assert s.state == SessionState() and s.history == []


def test_engine_turn_understands_recommends_and_remembers(catalogue: Catalogue) -> None:
    engine = fake_engine_over(catalogue)
    s = Session(engine, "s1")
    reply = s.send("I loved The Matrix, no horror, give me 3")
    assert reply.query.liked == (3,) and reply.query.genres_excluded == ("Horror",) and reply.query.k == 3
    picks = [r.movie_id for r in reply.recommendations]
    assert len(picks) == 3 and 3 not in picks
    assert all("Horror" not in catalogue.get(m).genres for m in picks)
    again = s.send("more")
    assert not set(picks) & {r.movie_id for r in again.recommendations}  # shown picks never come back
    assert [st.kind for st in reply.steps][:3] == ["understand", "retrieve", "rerank"]


def test_replay_and_live_turn_read_a_message_the_same_way(catalogue: Catalogue) -> None:
    engine = fake_engine_over(catalogue)
    live = SessionState()
    engine.absorb(live, "I hated Scream, something from 1990 to 2005")
    replayed = engine.replay(
        [{"role": "user", "content": "I hated Scream, something from 1990 to 2005"}], k=5
    )
    assert (live.disliked, live.year_min, live.year_max) == (
        replayed.disliked,
        replayed.year_min,
        replayed.year_max,
    )


def _one_round(engine: TurnEngine) -> dict[int, Reply]:
    barrier = threading.Barrier(8)
    replies: dict[int, Reply] = {}

    def talk(i: int) -> None:
        s = Session(engine, f"s{i}")
        barrier.wait()
        # "from 1900" makes the fake index fail for this conversation only
        replies[i] = s.send("I liked The Matrix, from 1900" if i % 2 else "I liked The Matrix, from 1901")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return replies


def test_concurrent_replies_carry_exactly_their_own_notices(catalogue: Catalogue) -> None:
    """8 conversations at once on one engine; the index fails for half of them (20 rounds)."""
    engine = fake_engine_over(catalogue, flaky=True)
    for _ in range(20):
        replies = _one_round(engine)
        assert sorted(replies) == list(range(8))
        for i, reply in replies.items():
            index_notices = [n for n in reply.notices if "search index has a problem" in n]
            assert len(index_notices) == (1 if i % 2 else 0), (i, reply.notices)
