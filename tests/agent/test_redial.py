"""ReDial replay: metrics with known answers, title mapping, split determinism, leakage, baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.evaluation.baselines import EaseBaseline, ScoreBaseline
from agent.evaluation.metrics import hits_at, recall_curve, summarise_recall
from agent.evaluation.redial import LeakageError, TurnInput, recommendation_prior, replay
from ranking.baselines import SparseItemModel
from retrieval.catalogue import Catalogue
from retrieval.redial import (
    RedialTurn,
    TitleMapper,
    context_messages,
    half_of,
    mentioned_ids,
    normalise_title,
    split_turns,
    user_text,
)
from retrieval.types import Movie


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(
        [
            Movie(1, "Super Troopers", 2001, ("Comedy",), imdb_id="tt0247745"),
            Movie(2, "Police Academy", 1984, ("Comedy",), imdb_id="tt0087928"),
            Movie(3, "American Pie", 1999, ("Comedy",), imdb_id="tt0163651"),
            Movie(4, "The Matrix", 1999, ("Action",), imdb_id="tt0133093"),
            Movie(5, "Alien", 1979, ("Horror",), imdb_id="tt0078748"),
            Movie(6, "Hamlet", 1990, ("Drama",), imdb_id="tt0099726"),
            Movie(7, "Hamlet", 1990, ("Drama",), imdb_id="tt0171359"),
            Movie(8, "Amélie", 2001, ("Romance",), imdb_id="tt0211915"),
        ]
    )


INFO = {
    "111": {"name": "Super Troopers (2001)", "imdb_id": "tt0247745"},
    "222": {"name": "Police Academy (1984)", "imdb_id": "tt87928"},  # unpadded imdb id
    "333": {"name": "Not In MovieLens (2005)", "imdb_id": "tt9999999"},
}


def test_metrics_known_answers() -> None:
    runs = [([10, 11, 12], {11, 99}), ([20, 21], {20}), ([1], set())]
    s = summarise_recall(runs, (1, 2, 50))
    assert (s.turns, s.pairs) == (2, 3)
    assert s.pair_recall == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 50: pytest.approx(2 / 3)}
    assert s.turn_recall == {1: pytest.approx(0.5), 2: pytest.approx(0.75), 50: pytest.approx(0.75)}
    assert s.turn_hit == {1: pytest.approx(0.5), 2: pytest.approx(1.0), 50: pytest.approx(1.0)}
    assert hits_at([1, 2, 3], {3, 1}, 2) == 1
    curve = recall_curve(runs, 3)
    assert curve == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert summarise_recall([]).pair_recall[10] == 0.0


def test_split_is_deterministic_and_by_dialogue() -> None:
    ids = [str(20000 + i) for i in range(400)]
    halves = [half_of(d) for d in ids]
    assert halves == [half_of(d) for d in ids]
    assert 150 < halves.count("report") < 250
    turns = [RedialTurn(d, t, ("hi",), (), ()) for d in ids[:50] for t in (1, 3)]
    tune, report = split_turns(turns)
    assert {t.dialog_id for t in tune}.isdisjoint({t.dialog_id for t in report})
    assert len(tune) + len(report) == 100
    assert half_of("20001") == half_of("20001")


def test_context_messages_skip_placeholder() -> None:
    msgs = context_messages(["", "Hi! What do you like?", "Comedies"])
    assert msgs == [
        {"role": "assistant", "content": "Hi! What do you like?"},
        {"role": "user", "content": "Comedies"},
    ]
    assert [m["role"] for m in context_messages(["a", "b", "c"])] == ["user", "assistant", "user"]


def test_title_mapping(catalogue: Catalogue) -> None:
    mapper = TitleMapper(catalogue, INFO)
    assert mapper.map("Super Troopers (2001)") == 1  # IMDb id
    assert mapper.map("Police Academy (1984)") == 2  # unpadded IMDb id
    assert mapper.map("Matrix, The (1999)") == 4  # title + year, article moved
    assert mapper.map("Amelie (2001)") == 8  # accents folded
    assert mapper.map("American Pie (2000)") == 3  # off-by-one year
    assert mapper.map("Hamlet (1990)") is None  # ambiguous
    assert mapper.map("Not In MovieLens (2005)") is None
    assert mapper.via["imdb"] == 2 and mapper.via["unmapped"] == 2
    assert normalise_title("The Lord of the Rings: The Two Towers") == "lord of the rings the two towers"


def test_a_wrong_imdb_id_loses_to_an_exact_title_and_year(catalogue: Catalogue) -> None:
    info = {
        "1": {"name": "Alien (1979)", "imdb_id": "tt0247745"},  # Super Troopers' id: another film
        "2": {"name": "The Matrix (1999)", "imdb_id": "tt0133093"},  # right
        "3": {"name": "Amelie (2001)", "imdb_id": "tt0211915"},  # right, the title spelt differently
        "4": {"name": "Hamlet (1990)", "imdb_id": "tt0247745"},  # wrong, but the title is ambiguous
    }
    mapper = TitleMapper(catalogue, info)
    assert mapper.map("Alien (1979)") == 5
    assert mapper.map("The Matrix (1999)") == 4 and mapper.map("Amelie (2001)") == 8
    assert mapper.map("Hamlet (1990)") == 1  # no single other movie to prefer: the IMDb id stands


def turn(dialog: str = "20001", rec: tuple[str, ...] = ("Police Academy (1984)",)) -> RedialTurn:
    return RedialTurn(
        dialog,
        3,
        ("Hi I want a movie like Super Troopers (2001)", "Try Alien (1979)", "I saw American Pie (1999) too"),
        ("Super Troopers (2001)", "Alien (1979)", "Eve", "American Pie (1999)"),
        rec,
    )


def test_mentions_and_text(catalogue: Catalogue) -> None:
    mapper = TitleMapper(catalogue, INFO)
    t = turn()
    assert mentioned_ids(t, mapper) == {1, 5, 3}  # undated entities ("Eve") are not movies
    assert user_text(t) == "Hi I want a movie like I saw too"


def test_replay_scores_and_filters_mentions(catalogue: Catalogue) -> None:
    mapper = TitleMapper(catalogue, INFO)
    t = turn(rec=("Police Academy (1984)", "Super Troopers (2001)", "Unknown Film (1950)"))
    seen: list[TurnInput] = []

    def leaky(inp: TurnInput) -> list[int]:
        seen.append(inp)
        return [1, 2, 4]  # 1 is mentioned: filtered, then 2 is the top pick

    def broken(inp: TurnInput) -> list[int]:
        raise RuntimeError("boom")

    res = replay([t], {"leaky": leaky, "broken": broken, "pop": lambda i: [4, 6, 2]}, mapper, progress=False)
    assert seen[0].mentioned == {1, 3, 5} and seen[0].messages[0]["role"] == "user"
    assert (res.pairs_total, res.pairs_mapped, res.pairs_mentioned) == (3, 2, 1)
    assert res.coverage == pytest.approx(2 / 3)
    assert res.summaries["leaky"].pair_recall[1] == 1.0  # target {2}; mentioned 1 dropped
    assert res.leaks == {"leaky": 1, "broken": 0, "pop": 0}
    assert res.failures["broken"] == 1
    assert res.summaries["pop"].pair_recall[1] == 0.0 and res.summaries["pop"].pair_recall[10] == 1.0
    assert res.as_dict()["variants"]["pop"]["recall_curve"][2] == 1.0
    assert issubclass(LeakageError, AssertionError)


def test_recommendation_prior_uses_tune_half_only(catalogue: Catalogue) -> None:
    mapper = TitleMapper(catalogue, INFO)
    ids = [str(20000 + i) for i in range(40)]
    tune_id = next(d for d in ids if half_of(d) == "tune")
    report_id = next(d for d in ids if half_of(d) == "report")
    turns = [turn(tune_id), turn(tune_id, ("Police Academy (1984)", "The Matrix (1999)", "Nope (1901)"))]
    assert recommendation_prior(turns, mapper) == {2: 2, 4: 1}
    with pytest.raises(ValueError, match="report half"):
        recommendation_prior([turn(report_id)], mapper)
    assert recommendation_prior([turn(report_id)], mapper, tune_only=False) == {2: 1}


def test_score_and_ease_baselines_exclude_mentions(catalogue: Catalogue) -> None:
    inp = TurnInput(turn(), (), frozenset({1, 3}), "")
    pop = ScoreBaseline(catalogue.ids, np.array([8, 7, 6, 5, 4, 3, 2, 1], float), k=3)
    assert pop(inp) == [2, 4, 5]
    weights = np.zeros((8, 8), dtype=np.float32)
    weights[0, 6] = 2.0  # liking movie 1 points at movie 7
    weights[2, 5] = 1.0  # liking movie 3 points at movie 6
    model = SparseItemModel(8, np.arange(8), weights)
    ease = EaseBaseline(model, catalogue, np.log1p(np.arange(8, 0, -1, dtype=np.float32)), k=3)
    assert ease(inp) == [7, 6, 2]


def test_report_files(catalogue: Catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from agent.evaluation.report import redial_report, write_report

    mapper = TitleMapper(catalogue, INFO)
    res = replay([turn()], {"pop": lambda i: [2, 4], "other": lambda i: [4]}, mapper, progress=False)
    paths = write_report(redial_report(res, {"ease_lambda": 500.0}), tmp_path)
    assert {p.name for p in paths} == {"redial.md", "redial.json", "redial_recall.png", "redial_latency.png"}
    md = (tmp_path / "redial.md").read_text()
    assert "| pop | 100.0 | 100.0 | 100.0 |" in md and "ease_lambda = 500.0" in md
    assert json.loads((tmp_path / "redial.json").read_text())["variants"]["other"]["pair_recall"]["50"] == 0.0
    assert (tmp_path / "redial_recall.png").read_bytes()[:4] == b"\x89PNG"


def test_prior_never_sees_the_dialogues_evaluated(tmp_path: Path) -> None:
    import argparse
    import json

    from agent.evaluation.cli import _prior_half
    from agent.settings import Settings
    from retrieval.redial import half_of

    def write(path: Path, ids: list[str]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"dialog_id": i, "turn_id": 1, "context": ["hi"], "entity": [], "rec": []} for i in ids]
        path.write_text("\n".join(json.dumps(r) for r in rows))
        return path

    dev = write(tmp_path / "data" / "redial-ievalm" / "dev_turns.jsonl", [str(i) for i in range(40)])
    test = write(tmp_path / "test_turns.jsonl", ["9001", "9002"])
    settings = Settings(data_dir=tmp_path / "data")

    def args(turns: Path, half: str = "report") -> argparse.Namespace:
        return argparse.Namespace(eval_command="redial", turns=turns, half=half)

    assert _prior_half(settings, args(test)) == "all"  # held-out file: every dev dialogue may count
    assert _prior_half(settings, args(dev)) == "tune"
    assert _prior_half(settings, args(dev, "tune")) == "report"
    assert {half_of(str(i)) for i in range(40)} == {"tune", "report"}
    assert _prior_half(settings, argparse.Namespace(eval_command="simulate")) == "tune"
