"""ReDial train-side dialogues, movies_with_mentions.csv, and @id rendering (tiny hand-written files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import DataError
from retrieval.redial import MovieLabel, load_movie_names, load_train_dialogues, render_mentions

DIALOGUE = {
    "conversation_id": 395,
    "movie_mentions": {"111": "Heat  (1995)", "222": "Alien (1979)", "333": "Obscure Film (2003)"},
    "messages": [
        {"role": "seeker", "text": "Hi, I loved @111 !", "movie_ids": [111], "message_id": 1040},
        {"role": "recommender", "text": "Try @222", "movie_ids": [222], "message_id": 1041},
        {
            "role": "seeker",
            "text": "I didn&#39;t like @222 or @333",
            "movie_ids": [222, 333],
            "message_id": 1042,
        },
    ],
    "questions": {
        "111": {"suggested": 0, "seen": 1, "liked": 1},
        "222": {"suggested": 1, "seen": 1, "liked": 0},
    },
    "respondent_questions": {},
}
MERGED = {
    "conversation_id": 407,
    "movie_mentions": {},
    "messages": [{"role": "seeker", "text": "hello", "movie_ids": [], "message_id": None}],
    "questions": {},
    "respondent_questions": {},
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_dialogues_load_with_the_seekers_labels(tmp_path: Path) -> None:
    d, merged = load_train_dialogues(write_jsonl(tmp_path / "t.jsonl", [DIALOGUE, MERGED]))
    assert d.conversation_id == "395"
    assert d.movie_mentions["111"] == "Heat (1995)"  # whitespace collapsed
    assert [m.role for m in d.messages] == ["seeker", "recommender", "seeker"]
    assert d.messages[2].movie_ids == ("222", "333")
    assert d.message(1042).index == 2
    assert d.questions == {"111": MovieLabel(0, 1, 1), "222": MovieLabel(1, 1, 0)}
    assert d.respondent_questions == {}
    assert merged.messages[0].message_id is None
    with pytest.raises(KeyError):
        d.message(9999)


def test_raw_redial_field_names_are_read_too(tmp_path: Path) -> None:
    raw = {k: v for k, v in DIALOGUE.items() if k != "questions"}
    raw["initiatorQuestions"] = {"111": {"suggested": 0, "seen": 0, "liked": 2}}
    (d,) = load_train_dialogues(write_jsonl(tmp_path / "t.jsonl", [raw]))
    assert d.questions == {"111": MovieLabel(0, 0, 2)}


def test_mentions_render_as_typed_titles() -> None:
    names = {"111": "Heat (1995)", "222": "Alien (1979)"}
    fallback = {"333": "Obscure Film (2003)"}
    text = "I didn&#39;t like @222 or @333 , but @ 111 was great; @999?"
    assert render_mentions(text, names, fallback) == (
        "I didn't like Alien (1979) or Obscure Film (2003) , but Heat (1995) was great; @999?"
    )
    assert render_mentions("@111", {}, None) == "@111"


def test_movie_names_load_with_whitespace_collapsed(tmp_path: Path) -> None:
    p = tmp_path / "movies_with_mentions.csv"
    p.write_text("movieId,movieName,nbMentions\n111,Heat  (1995),4\n204322,South Park,1\n", encoding="utf-8")
    assert load_movie_names(p) == {"111": "Heat (1995)", "204322": "South Park"}


def test_bad_files_raise_one_line_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as missing:
        load_train_dialogues(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(DIALOGUE) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: not a ReDial dialogue") as broken:
        load_train_dialogues(bad)
    no_messages = write_jsonl(tmp_path / "nomsg.jsonl", [{"conversation_id": 1}])
    with pytest.raises(DataError, match=r"nomsg.jsonl:1:"):
        load_train_dialogues(no_messages)
    csv = tmp_path / "m.csv"
    csv.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="movieId,movieName") as header:
        load_movie_names(csv)
    with pytest.raises(DataError, match="does not exist"):
        load_movie_names(tmp_path / "absent.csv")
    for err in (missing, broken, header):
        assert "\n" not in str(err.value)


def _train_folder(base: Path, dialogues: str) -> Path:
    folder = base / "redial-train"
    folder.mkdir()
    (folder / "train_dialogues.jsonl").write_text(dialogues, encoding="utf-8")
    (folder / "movies_with_mentions.csv").write_text(
        "movieId,movieName,nbMentions\n1,The Matrix  (1999),5\n2,Alien (1979),4\n3,Nowhere (1950),1\n",
        encoding="utf-8",
    )
    return folder


def test_data_command_reports_the_mapped_share(
    tmp_path: Path, tiny_movielens: Path, tiny_redial: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.commands.cli import main

    _train_folder(tmp_path, json.dumps(DIALOGUE) + "\n")
    code = main(["--data-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), "data"])
    out = capsys.readouterr().out
    # csv ids 1-3 and the dialogue's 111/222/333: The Matrix (id2info IMDb id) and Alien twice (title + year)
    # map; Nowhere, Heat (not in the tiny catalogue) and the obscure film do not
    assert code == 0 and "1 dialogues; 3 of 6 ReDial movies mapped to MovieLens, 50.0%" in out


def test_data_command_bad_train_file_is_one_line_exit_2(
    tmp_path: Path, tiny_movielens: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.commands.cli import main

    _train_folder(tmp_path, "{not json\n")
    code = main(["--data-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), "data"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "train_dialogues.jsonl:1: not a ReDial dialogue" in err
