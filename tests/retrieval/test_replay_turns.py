"""Train dialogues replayed like the evaluation's turns (a tiny hand-made dialogue with known answers)."""

from __future__ import annotations

from retrieval.dialogue_training import ReplayTurn, replay_turns, training_pairs
from retrieval.redial import TrainDialogue, TrainMapping, TrainMessage

MAPPING = TrainMapping({"10": 10, "11": 11, "12": 12, "13": 13, "14": 14}, 6)
NAMES = {"10": "Heat (1995)", "11": "Unforgiven (1992)", "12": "Up (2009)", "13": "Alien (1979)"}


def _dialogue() -> TrainDialogue:
    msgs = (
        TrainMessage(0, "recommender", "Hi! Have you seen @11?", ("11",), 1),  # nothing before it: no turn
        TrainMessage(1, "seeker", "I liked @10 a lot", ("10",), 2),
        TrainMessage(2, "seeker", "and @14 too", ("14",), 3),
        TrainMessage(3, "recommender", "Then @10 fans like @11", ("10", "11"), 4),  # both named before
        TrainMessage(4, "recommender", "and @12", ("12",), 5),  # same utterance as message 3
        TrainMessage(5, "seeker", "thanks &amp; bye", (), 6),
        TrainMessage(6, "recommender", "Also @99, @12 and @13", ("99", "12", "13"), 7),
    )
    return TrainDialogue("c1", {}, msgs, {}, {})


def test_replay_turns_merge_senders_and_drop_movies_named_before() -> None:
    turns = replay_turns([_dialogue()], MAPPING, NAMES)
    assert [t.targets for t in turns] == [frozenset({12}), frozenset({13})]  # 99 does not map
    first, second = turns
    assert first == ReplayTurn(
        "c1",
        (
            {"role": "assistant", "content": "Hi! Have you seen Unforgiven (1992)?"},
            {"role": "user", "content": "I liked Heat (1995) a lot and @14 too"},  # no title known for 14
        ),
        frozenset({10, 11, 14}),
        frozenset({12}),
    )
    assert second.mentioned == frozenset({10, 11, 12, 14})
    assert [m["role"] for m in second.messages] == ["assistant", "user", "assistant", "user"]
    assert second.messages[2]["content"] == "Then Heat (1995) fans like Unforgiven (1992) and Up (2009)"
    assert second.messages[3]["content"] == "thanks & bye"
    assert not (second.targets & second.mentioned)


def test_training_pairs_are_unchanged_by_the_shared_walk() -> None:
    # unmerged messages: message 3 has a context too, and message 4's Up is new there
    pairs = training_pairs([_dialogue()], MAPPING, NAMES, n_messages=1)
    assert [m for _, m in pairs] == [12, 13]
    assert pairs[0][0] == "Recommender: Then Heat (1995) fans like Unforgiven (1992)"


def test_a_dialogue_without_recommendations_gives_no_turns() -> None:
    msgs = (TrainMessage(0, "seeker", "hi", (), 1), TrainMessage(1, "recommender", "hello", (), 2))
    assert replay_turns([TrainDialogue("c2", {}, msgs, {}, {})], MAPPING) == []
