"""The labelled understanding corpus: YAML cases under ``tests/understanding/``.

A case is ``{id, family, messages: [..]}`` or ``{id, family, source: {...}}`` plus ``expect`` (the state
after the last message). A ``source`` names a real ReDial seeker message instead of holding its text:

- ``{file: redial-train, dialogue: "395", message_id: 1042}`` (or ``index:`` for merged rows)
- ``{file: redial-ievalm, dialogue: "20001", turn_id: 3, index: 2}`` (an even index into the context)

The text is read from the data folder at run time (it is never committed), with ``@id`` mentions written
out as titles; when the data is absent the case carries a ``skip`` reason instead of messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from agent.records import Query
from retrieval.errors import DataError
from retrieval.redial import (
    RedialTurn,
    TrainDialogue,
    load_movie_names,
    load_train_dialogues,
    load_turns,
    render_mentions,
)

CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "understanding"
# the act, then every field of the understood query but the free text and group members
EXPECT_FIELDS = ("act", *(f.name for f in dataclasses.fields(Query) if f.name not in ("text", "members")))


@dataclass(frozen=True, slots=True)
class CorpusCase:
    """One labelled case: the user messages (in order) and the expected state after the last one."""

    id: str
    family: str
    messages: tuple[str, ...]
    expect: Mapping[str, Any]
    skip: str = ""  # why the messages could not be read (data folder absent); "" when runnable
    source: Mapping[str, Any] = field(default_factory=dict)
    shown: tuple[tuple[int, ...], ...] = ()  # MovieLens ids shown after each message but the last


@lru_cache(maxsize=4)
def _train(data_dir: Path) -> tuple[dict[str, TrainDialogue], dict[str, str]]:
    folder = data_dir / "redial-train"
    dialogues = load_train_dialogues(folder / "train_dialogues.jsonl")
    return {d.conversation_id: d for d in dialogues}, load_movie_names(folder / "movies_with_mentions.csv")


@lru_cache(maxsize=4)
def _dev(data_dir: Path) -> dict[tuple[str, int], RedialTurn]:
    path = data_dir / "redial-ievalm" / "dev_turns.jsonl"
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    return {(t.dialog_id, t.turn_id): t for t in load_turns(path)}


def source_text(source: Mapping[str, Any], data_dir: Path) -> str:
    """The message a ``source`` names, as a user would type it; ``DataError`` when the data is absent,
    ``KeyError`` when the message is not there."""
    file, dialogue = str(source["file"]), str(source["dialogue"])
    if file == "redial-train":
        dialogues, names = _train(data_dir)
        d = dialogues[dialogue]
        if source.get("message_id") is not None:
            msg = d.message(int(source["message_id"]))
        else:
            msg = d.messages[int(source["index"])]
        if msg.role != "seeker":
            raise KeyError(f"{file} {dialogue}: message is the recommender's")
        return render_mentions(msg.text, names, d.movie_mentions)
    if file == "redial-ievalm":
        turn = _dev(data_dir)[(dialogue, int(source["turn_id"]))]
        index = int(source["index"])
        if index % 2:
            raise KeyError(f"{file} {dialogue}: context index {index} is the assistant's")
        return " ".join(turn.context[index].split())
    raise KeyError(f"unknown source file {file!r}")


def _case(raw: Mapping[str, Any], where: str, data_dir: Path | None) -> CorpusCase:
    try:
        cid, family, expect = str(raw["id"]), str(raw["family"]), dict(raw["expect"])
    except (KeyError, TypeError) as err:
        raise DataError(f"{where}: a case lacks id, family or expect ({err})") from None
    if missing := [f for f in EXPECT_FIELDS if f not in expect]:
        raise DataError(f"{where}: case {cid} expect lacks {', '.join(missing)}")
    if "source" not in raw:
        shown = tuple(tuple(int(i) for i in ids or ()) for ids in raw.get("shown") or ())
        return CorpusCase(cid, family, tuple(str(m) for m in raw["messages"]), expect, shown=shown)
    source = dict(raw["source"])
    if data_dir is None:
        return CorpusCase(cid, family, (), expect, "no data folder (REELCHAT_DATA_DIR)", source)
    try:
        text = source_text(source, data_dir)
    except DataError as err:
        return CorpusCase(cid, family, (), expect, str(err), source)
    except (KeyError, IndexError, ValueError) as err:
        raise DataError(f"{where}: case {cid}: source not found ({err})") from None
    return CorpusCase(cid, family, (text,), expect, "", source)


def load_corpus(root: Path | str = CORPUS_DIR, data_dir: Path | str | None = None) -> list[CorpusCase]:
    """Every case of every ``*.yaml`` under ``root`` (sorted by file), real messages resolved against
    ``data_dir``; duplicate ids or malformed files raise a one-line ``DataError``."""
    data = Path(data_dir).resolve() if data_dir is not None else None
    cases: list[CorpusCase] = []
    for path in sorted(Path(root).rglob("*.yaml")):
        try:
            raws = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as err:
            raise DataError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(raws, list):
            raise DataError(f"{path}: expected a list of cases")
        cases += [_case(raw, str(path), data) for raw in raws]
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise DataError(f"duplicate corpus case id {c.id}")
        seen.add(c.id)
    return cases
