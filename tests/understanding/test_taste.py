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
