"""The taste reading: placeholders, spans, the cue model's decision and the liked/disliked sets."""

from __future__ import annotations

import numpy as np

from agent.understanding.taste import (
    CueModel,
    cue_model,
    in_fit_half,
    mention_spans,
    placeholder_text,
    taste_reading,
)


def fake_encode(texts: list[str]) -> np.ndarray:
    """A test double for the sentence encoder: one dimension, 1.0 when the text says "hated"."""
    return np.array([[1.0 if "hated that movie" in t else 0.0] for t in texts])


def test_placeholders_name_the_target_and_the_others() -> None:
    text = "I hated Heat but loved Alien"
    spans = mention_spans(text, ["Heat", "Alien"])
    assert spans == [(8, 12), (23, 28)]
    assert placeholder_text(text, spans, 0) == "I hated that movie but loved another movie"
    assert placeholder_text(text, spans, 1) == "I hated another movie but loved that movie"


def test_cue_model_flags_only_what_it_reads_as_not_liked() -> None:
    model = CueModel(np.array([6.0]), -3.0, 0.5)
    text = "I hated Heat but loved Alien"
    assert model.doubtful(text, mention_spans(text, ["Heat", "Alien"]), fake_encode) == [0]
    assert model.doubtful("no titles here", [], fake_encode) == []


def test_taste_reading_counts_unstated_mentions_as_liked() -> None:
    liked, disliked = taste_reading(liked=[1], disliked=[2], mentioned=[1, 2, 3, None, 4], doubtful=[4])
    assert liked == {1, 3} and disliked == {2, 4}


def test_shipped_model_loads_and_split_is_stable() -> None:
    model = cue_model()
    assert model is not None and model.weights.shape == (384,) and 0.0 < model.threshold < 1.0
    assert in_fit_half("1") and not in_fit_half("2")


def test_doubted_never_overrides_a_stated_like() -> None:
    from agent.understanding.deltas import TitleMention, Understanding
    from agent.understanding.taste import doubted

    model = CueModel(np.array([6.0]), -3.0, 0.5)
    mentions = (TitleMention("Heat", 6), TitleMention("Alien", 1214))
    text = "I hated Heat but loved Alien"
    assert doubted(model, text, Understanding(mentions=mentions), fake_encode) == [6]
    stated = Understanding(liked=(6,), mentions=mentions)  # the message says it likes Heat: kept
    assert doubted(model, text, stated, fake_encode) == []
    assumed = Understanding(liked=(6,), assumed=(6,), mentions=mentions)  # "like Heat" with no cue
    assert doubted(model, text, assumed, fake_encode) == [6]
    assert doubted(None, text, Understanding(mentions=mentions), fake_encode) == []


def test_replay_adds_doubted_mentions_as_dislikes() -> None:
    from agent.conversation.replay import _add_mentions
    from agent.understanding.deltas import TitleMention, Understanding
    from agent.understanding.state import SessionState

    state = SessionState()
    state.liked.append(6)  # absorbed as an assumed like ("like Heat")
    u = Understanding(liked=(6,), assumed=(6,), mentions=(TitleMention("Heat", 6), TitleMention("Up", 9)))
    _add_mentions(state, u, {6})
    assert state.liked == [9] and state.disliked == [6]
    _add_mentions(state, Understanding(mentions=(TitleMention("Up", 9),)), {9})
    assert state.liked == [9] and state.disliked == [6]  # an earlier reading is not overturned
