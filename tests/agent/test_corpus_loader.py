"""The understanding corpus loader: inline and ReDial-sourced cases, skips without data, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.evaluation.corpus import load_corpus
from retrieval.errors import DataError

EXPECT = (
    "expect: {act: recommend, liked: [], disliked: [], seen: [], genres_required: [], genres_excluded: [],"
    " genres_liked: [], year_min: null, year_max: null, k: null}"
)
CASES = f"""
- id: inline-1
  family: years
  messages: ["a comedy", "after 1990"]
  {EXPECT}
- id: train-1
  family: redial
  source: {{file: redial-train, dialogue: "7", message_id: 70}}
  {EXPECT}
- id: dev-1
  family: redial
  source: {{file: redial-ievalm, dialogue: "20001", turn_id: 2, index: 2}}
  {EXPECT}
"""


def data_folder(root: Path) -> Path:
    (root / "redial-train").mkdir(parents=True)
    dialogue = {
        "conversation_id": 7,
        "movie_mentions": {"5": "Heat (1995)"},
        "messages": [{"role": "seeker", "text": "I loved @5 !", "movie_ids": [5], "message_id": 70}],
        "questions": {},
    }
    (root / "redial-train" / "train_dialogues.jsonl").write_text(json.dumps(dialogue) + "\n")
    (root / "redial-train" / "movies_with_mentions.csv").write_text(
        "movieId,movieName,nbMentions\n5,Heat  (1995),3\n"
    )
    (root / "redial-ievalm").mkdir()
    turn = {"dialog_id": "20001", "turn_id": 2, "context": ["Hi", "Hello!", "Any  comedies like Up (2009)?"]}
    (root / "redial-ievalm" / "dev_turns.jsonl").write_text(json.dumps(turn) + "\n")
    return root


def test_cases_resolve_their_messages(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "c.yaml").write_text(CASES)
    cases = load_corpus(tmp_path / "corpus", data_folder(tmp_path / "data"))
    assert [(c.id, c.family, c.messages, c.skip) for c in cases] == [
        ("inline-1", "years", ("a comedy", "after 1990"), ""),
        ("train-1", "redial", ("I loved Heat (1995) !",), ""),
        ("dev-1", "redial", ("Any comedies like Up (2009)?",), ""),
    ]
    assert cases[0].expect["act"] == "recommend" and cases[0].expect["year_min"] is None


def test_real_messages_skip_without_data(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CASES)
    cases = load_corpus(tmp_path, tmp_path / "no-data")
    assert [bool(c.skip) for c in cases] == [False, True, True]
    assert "does not exist" in cases[1].skip
    assert all(c.skip for c in load_corpus(tmp_path, None)[1:])


def test_bad_corpus_files_raise(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CASES)
    (tmp_path / "b.yaml").write_text(CASES)
    with pytest.raises(DataError, match="duplicate corpus case id inline-1"):
        load_corpus(tmp_path)
    (tmp_path / "b.yaml").write_text("- id: x\n  family: y\n  messages: [hi]\n  expect: {act: chitchat}\n")
    with pytest.raises(DataError, match="expect lacks liked"):
        load_corpus(tmp_path)
    (tmp_path / "b.yaml").write_text(
        CASES.replace("message_id: 70", "message_id: 71").replace("inline-1", "z")
    )
    with pytest.raises(DataError, match="source not found"):
        load_corpus(tmp_path, data_folder(tmp_path / "data"))
