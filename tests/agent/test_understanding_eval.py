"""The understanding corpus evaluation on a two-case corpus over the hand-made catalogue."""

from __future__ import annotations

from pathlib import Path

from agent.evaluation.understanding import evaluate
from retrieval.catalogue import Catalogue
from tests.agent.conftest import fake_engine_over

CORPUS = """
- id: ok
  family: year_bounds
  messages: ["a comedy from the 90s"]
  expect: {act: recommend, liked: [], disliked: [], seen: [], genres_required: [Comedy], genres_excluded: [],
           genres_liked: [], year_min: 1990, year_max: 1999, k: null}
- id: wrong
  family: questions
  messages: ["something like Heat", "why the first one?"]
  shown: [[3, 5]]
  expect: {act: question, liked: ["Heat (1995)", "The Matrix (1999)"], disliked: [], seen: [],
           genres_required: [], genres_excluded: [], genres_liked: [], year_min: null, year_max: null,
           k: null}
"""


def test_exact_match_fields_and_acts(tmp_path: Path, catalogue: Catalogue) -> None:
    (tmp_path / "c.yaml").write_text(CORPUS, encoding="utf-8")
    data = evaluate(fake_engine_over(catalogue), tmp_path).data
    assert data["n_cases"] == 2 and data["exact_match"] == 0.5
    assert data["act_confusion"]["question"]["question"] == 1
    liked = data["fields"]["liked"]  # the question liked nothing: Heat found, The Matrix missed
    assert (liked["tp"], liked["fp"], liked["fn"]) == (1, 0, 1)
    assert [f["id"] for f in data["failures"]] == ["wrong"]
