"""Title sentiment on ReDial labels: mentions, the confusion table and the scores (known answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.evaluation.title_sentiment import labelled_mentions, run_title_sentiment, score
from agent.understanding.deltas import Understanding
from agent.understanding.taste import in_fit_half
from retrieval.catalogue import Catalogue
from retrieval.redial import TitleMapper, load_train_dialogues

# catalogue ids (tests/agent/conftest.py): Alien 1, Scream 8, Heat 10, Up 12
DIALOGUES = [
    {
        "conversation_id": 1,
        "movie_mentions": {"11": "Heat (1995)", "12": "Alien (1979)", "13": "Scream (1996)"},
        "messages": [
            {"role": "seeker", "text": "I loved @11", "movie_ids": [11], "message_id": 1},
            {"role": "recommender", "text": "Then @12 ? @13 ?", "movie_ids": [12, 13], "message_id": 2},
            {"role": "seeker", "text": "I hated @13 but loved @12", "movie_ids": [13, 12], "message_id": 3},
        ],
        "questions": {
            "11": {"suggested": 0, "seen": 1, "liked": 1},
            "12": {"suggested": 1, "seen": 1, "liked": 1},
            "13": {"suggested": 1, "seen": 1, "liked": 0},
        },
    },
    {
        "conversation_id": 2,
        "movie_mentions": {"14": "Up (2009)", "15": "Not In Catalogue (2001)", "16": "Heat (1995)"},
        "messages": [
            {"role": "seeker", "text": "@14 was dull. @15 too", "movie_ids": [14, 15], "message_id": 5},
            {"role": "seeker", "text": "Seen @16 ?", "movie_ids": [16], "message_id": 6},
            {"role": "seeker", "text": "hi @14", "movie_ids": [14], "message_id": 7},
        ],
        "questions": {
            "14": {"suggested": 0, "seen": 1, "liked": 0},
            "15": {"suggested": 0, "seen": 1, "liked": 0},
            "16": {"suggested": 0, "seen": 0, "liked": 2},  # did not say: not scored
        },
    },
]
NAMES = {"11": "Heat (1995)", "12": "Alien (1979)", "13": "Scream (1996)", "14": "Up (2009)"}


def reading(text: str) -> tuple[frozenset[int], frozenset[int]]:
    """A fake reader with known answers: what the test says each message means."""
    return {
        "I loved Heat (1995)": (frozenset({10}), frozenset()),
        "I hated Scream (1996) but loved Alien (1979)": (frozenset({1, 8}), frozenset()),  # Scream misread
        "Up (2009) was dull. Not In Catalogue (2001) too": (frozenset(), frozenset({12})),
        "hi Up (2009)": (frozenset(), frozenset()),
    }[text]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "redial-train"
    folder.mkdir()
    (folder / "train_dialogues.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DIALOGUES))
    rows = "".join(f"{k},{v},1\n" for k, v in NAMES.items())
    (folder / "movies_with_mentions.csv").write_text("movieId,movieName,nbMentions\n" + rows)
    return tmp_path


def test_labelled_seeker_mentions_are_found_and_mapped(files: Path, catalogue: Catalogue) -> None:
    dialogues = load_train_dialogues(files / "redial-train" / "train_dialogues.jsonl")
    found = labelled_mentions(dialogues, NAMES, TitleMapper(catalogue))
    got = [(m.dialogue, m.message_index, m.redial_id, m.label, m.movie_id) for m in found]
    assert got == [
        ("1", 0, "11", "liked", 10),
        ("1", 2, "13", "disliked", 8),
        ("1", 2, "12", "liked", 1),
        ("2", 0, "14", "disliked", 12),
        ("2", 0, "15", "disliked", None),  # title from movie_mentions, not in the catalogue
        ("2", 2, "14", "disliked", 12),
    ]
    assert found[1].text == "I hated Scream (1996) but loved Alien (1979)"


def test_scores_have_known_answers(files: Path, catalogue: Catalogue) -> None:
    dialogues = load_train_dialogues(files / "redial-train" / "train_dialogues.jsonl")
    result = score(labelled_mentions(dialogues, NAMES, TitleMapper(catalogue)), reading)
    assert result.confusion == {
        ("liked", "liked"): 2,
        ("disliked", "liked"): 1,
        ("disliked", "disliked"): 1,
        ("disliked", "neither"): 1,
    }
    assert (result.n, result.n_labelled, result.n_messages) == (5, 6, 4)
    assert result.liked_recall == 1.0
    assert result.disliked_recall == pytest.approx(1 / 3)
    assert result.balanced_accuracy == pytest.approx(2 / 3)
    assert result.mapped_share == pytest.approx(5 / 6)


@dataclass
class FakeEngine:
    """understand() states the fake reading, as the real engine's parser would."""

    calls: list[str] = field(default_factory=list)

    def understand(self, text: str) -> Understanding:
        self.calls.append(text)
        liked, disliked = reading(text)
        return Understanding(liked=tuple(sorted(liked)), disliked=tuple(sorted(disliked)))


@dataclass
class FakeApp:
    catalogue: Catalogue
    engine: FakeEngine


def test_run_writes_the_report(files: Path, catalogue: Catalogue, tmp_path: Path) -> None:
    app = FakeApp(catalogue, FakeEngine())
    run_title_sentiment(app, files, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "title_sentiment.json").read_text())
    # the headline is the held-out half: dialogue "2" (dialogue "1" is in the cue model's fit half)
    assert not in_fit_half("2") and in_fit_half("1")
    assert data["n"] == 2 and data["confusion"]["disliked"] == {"liked": 0, "disliked": 1, "neither": 1}
    assert data["baseline_balanced_accuracy"] == 0.5
    every = data["others"]["stated reading, every train dialogue"]
    assert every["n"] == 5
    assert every["balanced_accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert every["liked_recall"] == 1.0
    assert every["confusion"]["disliked"] == {"liked": 1, "disliked": 1, "neither": 1}
    assert len(app.engine.calls) == 2 + 2 + 4  # prefetch, taste (held-out), stated: never per mention
    md = (tmp_path / "out" / "title_sentiment.md").read_text()
    assert "| disliked | 0 | 1 | 1 |" in md
