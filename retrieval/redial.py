"""ReDial dialogue data: turns of the iEvalM jsonl files, the tune/report halves, and the mapping of
ReDial "Title (Year)" labels to catalogue (MovieLens) ids.

Titles map through id2info.json's IMDb ids (joined with the catalogue's links.csv IMDb ids), falling back to
a normalised title + year match. Dialogues are split into a tuning half and a report half by a hash of
``dialog_id``. The data is research-use and read from the data folder; nothing of it is shipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from retrieval.catalogue import Catalogue

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
        for movie in catalogue:
            self._by_title.setdefault((normalise_title(movie.title), movie.year), set()).add(movie.movie_id)
        self.via: Counter[str] = Counter()

    @classmethod
    def from_path(cls, catalogue: Catalogue, id2info: Path | str | None) -> TitleMapper:
        info = json.loads(Path(id2info).read_text(encoding="utf-8")) if id2info else None
        return cls(catalogue, info)

    def map(self, label: str) -> int | None:
        """The movieId of a ReDial title, None when it is not (unambiguously) in the catalogue."""
        label = label.strip()
        if label in self._by_name:
            self.via["imdb"] += 1
            return self._by_name[label]
        title, year = split_label(label)
        ids = self._by_title.get((normalise_title(title), year), set())
        if year is not None and not ids:  # ReDial and MovieLens years differ by one for some releases
            near = [self._by_title.get((normalise_title(title), year + d), set()) for d in (-1, 1)]
            ids = near[0] | near[1]
        if len(ids) == 1:
            self.via["title"] += 1
            return next(iter(ids))
        self.via["unmapped"] += 1
        return None


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
