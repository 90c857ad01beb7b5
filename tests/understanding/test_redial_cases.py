"""The hand-labelled ReDial cases are well formed: complete expectations, MovieLens genres and labels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval.catalogue_loader import load_catalogue
from tests.understanding.corpus import CORPUS_DIR, load_corpus

GENRES = set(
    [
        "Action",
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Crime",
        "Documentary",
        "Drama",
        "Fantasy",
        "Film-Noir",
        "Horror",
        "IMAX",
        "Musical",
        "Mystery",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "War",
        "Western",
    ]
)
DATA = os.environ.get("REELCHAT_DATA_DIR")


def redial_cases(data: Path | None = None) -> list:
    return [c for c in load_corpus(CORPUS_DIR, data) if c.family == "redial"]


def test_cases_are_complete_and_skip_without_data(tmp_path: Path) -> None:
    cases = redial_cases(tmp_path / "absent")
    assert len(cases) >= 210
    assert all(c.skip and not c.messages for c in cases)
    assert sum(1 for c in cases if c.expect["disliked"]) >= 40
    for c in cases:
        assert c.expect["act"] in {"recommend", "question", "reset", "chitchat"}
        for f in ("genres_required", "genres_excluded", "genres_liked"):
            assert set(c.expect[f]) <= GENRES, c.id


@pytest.mark.skipif(not DATA or not Path(DATA, "redial-train").is_dir(), reason="ReDial data absent")
def test_messages_resolve_and_titles_are_catalogue_labels() -> None:
    assert DATA
    labels = {m.label for m in load_catalogue(Path(DATA) / "ml-latest-small")}
    cases = redial_cases(Path(DATA))
    assert all(c.messages and not c.skip and "@" not in c.messages[0] for c in cases)
    for c in cases:
        for f in ("liked", "disliked", "seen"):
            assert set(c.expect[f]) <= labels, (c.id, c.expect[f])
