"""ReDial dialogue data: turns of the iEvalM jsonl files, the tune/report halves, and the mapping of
ReDial "Title (Year)" labels to catalogue (MovieLens) ids.

Also the ReDial train-side dialogues (``redial-train/train_dialogues.jsonl``, with the seekers' per-movie
labels) and ``movies_with_mentions.csv``, and the rendering of ``@<id>`` mentions as typed titles.

Titles map through id2info.json's IMDb ids (joined with the catalogue's links.csv IMDb ids), falling back to
a normalised title + year match. Dialogues are split into a tuning half and a report half by a hash of
``dialog_id``. The data is research-use and read from the data folder; nothing of it is shipped.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from retrieval.catalogue import Catalogue
from retrieval.errors import DataError

Half = Literal["tune", "report"]
_LABEL = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(the|a|an)\s+|,\s*(the|a|an)$")


@dataclass(frozen=True, slots=True)
class RedialTurn:
    dialog_id: str
    turn_id: int
    context: tuple[str, ...]  # alternating user / assistant, starting with the user
    entity: tuple[str, ...]  # entities mentioned in the context (movies as "Title (Year)")
    rec: tuple[str, ...]  # the movies the human recommender named in the response

    @property
    def half(self) -> Half:
        return half_of(self.dialog_id)

    @property
    def messages(self) -> list[dict[str, str]]:
        return context_messages(self.context)


def load_turns(path: Path | str) -> list[RedialTurn]:
    """Turns of a ReDial-iEvalM jsonl file."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append(
                    RedialTurn(
                        str(d["dialog_id"]),
                        int(d["turn_id"]),
                        tuple(str(x) for x in d.get("context") or ()),
                        tuple(str(x) for x in d.get("entity") or ()),
                        tuple(str(x) for x in d.get("rec") or ()),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}:{n}: not a ReDial turn ({err})") from err
    return out


def half_of(dialog_id: str) -> Half:
    """Fixed half of a dialogue: low bit of the first sha256 byte of its id (1 = report)."""
    return "report" if hashlib.sha256(str(dialog_id).encode()).digest()[0] & 1 else "tune"


def split_turns(turns: Iterable[RedialTurn]) -> tuple[list[RedialTurn], list[RedialTurn]]:
    """(tune, report) halves; every turn of a dialogue lands in the same half."""
    tune: list[RedialTurn] = []
    report: list[RedialTurn] = []
    for t in turns:
        (report if t.half == "report" else tune).append(t)
    return tune, report


def context_messages(context: Sequence[str]) -> list[dict[str, str]]:
    """Chat messages from an alternating context; an empty first (user) utterance is a placeholder."""
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(context)]
    if msgs and not msgs[0]["content"].strip():
        msgs = msgs[1:]
    return msgs


def normalise_title(title: str) -> str:
    """Case, accents, punctuation and leading/trailing articles folded away."""
    t = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().casefold().strip()
    t = _ARTICLE.sub("", t)
    t = t.replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", t).split())


def split_label(label: str) -> tuple[str, int | None]:
    """("Title", year) from "Title (Year)"; year None when absent."""
    m = _LABEL.match(label.strip())
    return (m.group("title"), int(m.group("year"))) if m else (label.strip(), None)


class TitleMapper:
    """ReDial "Title (Year)" → MovieLens movieId (IMDb id first, then normalised title + year)."""

    def __init__(self, catalogue: Catalogue, id2info: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        by_imdb = {m.imdb_id: m.movie_id for m in catalogue if m.imdb_id}
        self._by_name: dict[str, int] = {}
        for entry in (id2info or {}).values():
            name, imdb = str(entry.get("name") or "").strip(), str(entry.get("imdb_id") or "").strip()
            m = re.fullmatch(r"tt(\d+)", imdb)
            mid = by_imdb.get(f"tt{int(m.group(1)):07d}") if m else None
            if name and mid is not None:
                self._by_name.setdefault(name, mid)
        self._by_title: dict[tuple[str, int | None], set[int]] = {}
        self._year = {m.movie_id: m.year for m in catalogue}
        self._names = {m.movie_id: normalise_title(m.title) for m in catalogue}
        for movie in catalogue:
            self._by_title.setdefault((normalise_title(movie.title), movie.year), set()).add(movie.movie_id)
        self.via: Counter[str] = Counter()

    @classmethod
    def from_path(cls, catalogue: Catalogue, id2info: Path | str | None) -> TitleMapper:
        info = json.loads(Path(id2info).read_text(encoding="utf-8")) if id2info else None
        return cls(catalogue, info)

    def map(self, label: str) -> int | None:
        """The movieId of a ReDial title, None when it is not (unambiguously) in the catalogue.

        The IMDb id wins, unless the title and year name exactly one other movie and the IMDb id's movie
        has another title or a year more than one away: some ``id2info`` entries carry a remake's or an
        unrelated film's IMDb id ("A Nightmare on Elm Street (1984)" → the 2010 film, "Heat (1996)" →
        Poison Ivy II)."""
        label = label.strip()
        by_title = self._title_match(label)
        if label in self._by_name:
            mid = self._by_name[label]
            if by_title is not None and by_title != mid and not self._same(mid, label):
                self.via["title"] += 1
                return by_title
            self.via["imdb"] += 1
            return mid
        self.via["title" if by_title is not None else "unmapped"] += 1
        return by_title

    def _same(self, movie_id: int, label: str) -> bool:
        title, year = split_label(label)
        name, found = self._names.get(movie_id), self._year.get(movie_id)
        close = year is None or found is None or abs(found - year) <= 1
        return close and name == normalise_title(title)

    def _title_match(self, label: str) -> int | None:
        title, year = split_label(label)
        ids = self._by_title.get((normalise_title(title), year), set())
        if year is not None and not ids:  # ReDial and MovieLens years differ by one for some releases
            near = [self._by_title.get((normalise_title(title), year + d), set()) for d in (-1, 1)]
            ids = near[0] | near[1]
        return next(iter(ids)) if len(ids) == 1 else None


def mentioned_ids(turn: RedialTurn, mapper: TitleMapper) -> frozenset[int]:
    """Movies (dated entities) mentioned anywhere in the context, mapped to the catalogue."""
    out = set()
    for e in turn.entity:
        if split_label(e)[1] is not None and (mid := mapper.map(e)) is not None:
            out.add(mid)
    return frozenset(out)


def user_text(turn: RedialTurn, max_chars: int = 1000) -> str:
    """The user's utterances with movie titles removed (the last ``max_chars`` characters)."""
    text = " ".join(m["content"] for m in turn.messages if m["role"] == "user")
    for e in sorted(turn.entity, key=len, reverse=True):
        if split_label(e)[1] is not None:
            text = text.replace(e, " ")
    return " ".join(text.split())[-max_chars:]


# -- ReDial train-side dialogues ---------------------------------------------------------------------------
_MENTION = re.compile(r"@\s?(\d+)")


@dataclass(frozen=True, slots=True)
class MovieLabel:
    """A participant's answers about one mentioned movie: 0 = no, 1 = yes, 2 = did not say."""

    suggested: int
    seen: int
    liked: int


@dataclass(frozen=True, slots=True)
class TrainMessage:
    """One message of a train dialogue, text verbatim (``@<redial id>`` mentions kept)."""

    index: int  # position in the dialogue
    role: str  # "seeker" | "recommender"
    text: str
    movie_ids: tuple[str, ...]  # ReDial ids mentioned in the text
    message_id: int | None  # None in merged (CFCRS) rows


@dataclass(frozen=True, slots=True)
class TrainDialogue:
    """One ReDial train dialogue with the seeker's (``questions``) and recommender's labels per movie."""

    conversation_id: str
    movie_mentions: Mapping[str, str]  # ReDial id -> "Title (Year)"
    messages: tuple[TrainMessage, ...]
    questions: Mapping[str, MovieLabel]  # the seeker's (initiator's) labels
    respondent_questions: Mapping[str, MovieLabel]

    def message(self, message_id: int) -> TrainMessage:
        """The message with this ``message_id``; ``KeyError`` when there is none."""
        for m in self.messages:
            if m.message_id == message_id:
                return m
        raise KeyError(f"dialogue {self.conversation_id} has no message {message_id}")


def _labels(raw: object) -> dict[str, MovieLabel]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise TypeError("questions is not an object")
    return {
        str(k): MovieLabel(int(v.get("suggested", 2)), int(v.get("seen", 2)), int(v.get("liked", 2)))
        for k, v in raw.items()
    }


def _dialogue(d: Mapping[str, Any]) -> TrainDialogue:
    messages = tuple(
        TrainMessage(
            i,
            str(m["role"]),
            str(m.get("text") or ""),
            tuple(str(x) for x in m.get("movie_ids") or ()),
            None if m.get("message_id") is None else int(m["message_id"]),
        )
        for i, m in enumerate(d["messages"])
    )
    mentions = {str(k): " ".join(str(v).split()) for k, v in (d.get("movie_mentions") or {}).items()}
    return TrainDialogue(
        str(d["conversation_id"]),
        mentions,
        messages,
        _labels(d.get("questions", d.get("initiatorQuestions"))),
        _labels(d.get("respondent_questions", d.get("respondentQuestions"))),
    )


def load_train_dialogues(path: Path | str) -> list[TrainDialogue]:
    """Dialogues of ``train_dialogues.jsonl``; a missing or malformed file raises a one-line DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist: put the ReDial train dialogues under the data folder")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(_dialogue(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
                raise DataError(f"{path}:{n}: not a ReDial dialogue ({type(err).__name__}: {err})") from None
    return out


def load_movie_names(path: Path | str) -> dict[str, str]:
    """ReDial id -> "Title (Year)" from ``movies_with_mentions.csv`` (whitespace collapsed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist: put movies_with_mentions.csv under the data folder")
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"movieId", "movieName"} <= set(reader.fieldnames):
            raise DataError(f"{path}: not a movies_with_mentions.csv (needs movieId,movieName columns)")
        for row in reader:
            mid, name = (row.get("movieId") or "").strip(), " ".join((row.get("movieName") or "").split())
            if mid and name:
                out[mid] = name
    return out


def render_mentions(text: str, names: Mapping[str, str], fallback: Mapping[str, str] | None = None) -> str:
    """``text`` as a user would type it: every ``@<id>`` replaced by its "Title (Year)", HTML entities
    unescaped. Titles come from ``names`` (movies_with_mentions.csv), else ``fallback`` (the dialogue's
    movie_mentions); an id in neither is left as it is."""

    def title(m: re.Match[str]) -> str:
        rid = m.group(1)
        return names.get(rid) or (fallback or {}).get(rid) or m.group(0)

    return " ".join(_MENTION.sub(title, html.unescape(text)).split())


@dataclass(frozen=True, slots=True)
class TrainMapping:
    """ReDial movie ids of the train data mapped to catalogue ids, with the share that mapped."""

    ids: Mapping[str, int]  # ReDial id -> MovieLens movieId (mapped ones only)
    total: int  # distinct ReDial ids named in movies_with_mentions.csv or the dialogues

    @property
    def share(self) -> float:
        """Mapped ids / all ids (0 when there are none)."""
        return len(self.ids) / self.total if self.total else 0.0


def map_train_movies(
    dialogues: Sequence[TrainDialogue], names: Mapping[str, str], mapper: TitleMapper
) -> TrainMapping:
    """Every ReDial id named in ``names`` or the dialogues' ``movie_mentions``, mapped through ``mapper``
    ("Title (Year)": id2info's IMDb ids first, then title + year)."""
    labels = dict(names)
    for d in dialogues:
        for rid, label in d.movie_mentions.items():
            labels.setdefault(rid, label)
    ids = {rid: mid for rid, label in labels.items() if (mid := mapper.map(label)) is not None}
    return TrainMapping(ids, len(labels))


def train_movie_sets(dialogue: TrainDialogue, mapping: TrainMapping) -> tuple[frozenset[int], frozenset[int]]:
    """(movies the recommender named, every movie named) in one train dialogue, as catalogue ids."""
    recommended: set[int] = set()
    named: set[int] = set()
    for m in dialogue.messages:
        ids = {mid for rid in m.movie_ids if (mid := mapping.ids.get(rid)) is not None}
        named |= ids
        if m.role == "recommender":
            recommended |= ids
    return frozenset(recommended), frozenset(named)


def load_train_folder(folder: Path | str, mapper: TitleMapper) -> tuple[list[TrainDialogue], TrainMapping]:
    """The dialogues of ``redial-train/`` and their movies mapped to the catalogue (one-line DataError when
    a file is missing or malformed, or when no movie maps)."""
    folder = Path(folder)
    dialogues = load_train_dialogues(folder / "train_dialogues.jsonl")
    mapping = map_train_movies(dialogues, load_movie_names(folder / "movies_with_mentions.csv"), mapper)
    if not mapping.ids:
        raise DataError(f"{folder}: no ReDial movie maps to the catalogue (wrong movies_with_mentions.csv?)")
    return dialogues, mapping
