"""ReDial train dialogues in the conversational prior: id mapping, per-dialogue movie sets, co-occurrence
added to the dev prior (counts unchanged), and the prior-only baseline (hand-made catalogue)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from agent.evaluation.baselines import PriorBaseline
from agent.evaluation.redial import TurnInput
from agent.prior.conversational import ConversationPrior
from retrieval.catalogue import Catalogue
from retrieval.errors import DataError
from retrieval.redial import (
    RedialTurn,
    TitleMapper,
    load_train_dialogues,
    load_train_folder,
    map_train_movies,
    train_movie_sets,
)

DIALOGUE = {
    "conversation_id": 395,
    "movie_mentions": {"111": "Heat  (1995)", "222": "Alien (1979)", "333": "Obscure Film (2003)"},
    "messages": [
        {"role": "seeker", "text": "I loved @111 and @333", "movie_ids": [111, 333], "message_id": 1},
        {"role": "recommender", "text": "Try @222", "movie_ids": [222], "message_id": 2},
    ],
    "questions": {},
    "respondent_questions": {},
}


def _folder(tmp_path: Path, names: str = "movieId,movieName,nbMentions\n222,Alien  (1979),3\n") -> Path:
    folder = tmp_path / "redial-train"
    folder.mkdir()
    (folder / "train_dialogues.jsonl").write_text(json.dumps(DIALOGUE) + "\n", encoding="utf-8")
    (folder / "movies_with_mentions.csv").write_text(names, encoding="utf-8")
    return folder


def test_train_movies_map_to_the_catalogue_with_their_share(tmp_path: Path, catalogue: Catalogue) -> None:
    (dialogue,) = load_train_dialogues(_folder(tmp_path) / "train_dialogues.jsonl")
    mapping = map_train_movies(
        [dialogue], {"222": "Alien (1979)", "444": "Nowhere (1950)"}, TitleMapper(catalogue)
    )
    assert dict(mapping.ids) == {"111": 10, "222": 1}  # Heat, Alien; the obscure film and 444 do not map
    assert mapping.total == 4 and mapping.share == 0.5
    assert train_movie_sets(dialogue, mapping) == (frozenset({1}), frozenset({1, 10}))


def test_train_folder_errors_are_one_line(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_train_folder(tmp_path / "nowhere", TitleMapper(catalogue))
    folder = _folder(tmp_path, "movieId,movieName\n999,Nowhere (1950)\n")
    (folder / "train_dialogues.jsonl").write_text(json.dumps({"movie_mentions": {}}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a ReDial dialogue") as err:
        load_train_folder(folder, TitleMapper(catalogue))
    assert "\n" not in str(err.value)


def test_train_cooccurrence_joins_the_dev_prior_but_not_its_counts(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    dev = [RedialTurn("7", 1, ("I like The Matrix (1999)",), ("The Matrix (1999)",), ("Alien (1979)",))]
    mapper = TitleMapper(catalogue)
    prior = ConversationPrior.from_turns(dev, mapper)
    assert prior.counts == Counter({1: 1}) and prior.related([3]) == {1: math.log1p(1)}
    both = prior.with_train(*load_train_folder(_folder(tmp_path), mapper))
    assert both.counts == prior.counts  # train counts stay out (distribution shift)
    assert both.related([10]) == {1: math.log1p(1)}  # Heat and Alien share a train dialogue
    assert both.related([1]) == {3: math.log1p(1), 10: math.log1p(1)}
    assert prior.related([10]) == {}  # the dev prior itself is unchanged


def test_prior_baseline_ranks_by_counts_plus_weighted_cooccurrence() -> None:
    prior = ConversationPrior(Counter({5: 9, 3: 1}), {1: Counter({3: 2, 7: 1})})
    turn = RedialTurn("1", 1, ("x",), ("Alien (1979)",), ())
    ranked = PriorBaseline(prior, cooc_weight=4.0, k=3)(TurnInput(turn, (), frozenset({1}), ""))
    # 3: log 2 + 4 log 3 = 5.09; 7: 4 log 2 = 2.77; 5: log 10 = 2.30; the mentioned movie never appears
    assert ranked == [3, 7, 5]


def test_load_keeps_the_report_half_out_and_the_train_dialogues_in(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    from retrieval.redial import half_of

    tune_id = next(str(i) for i in range(100) if half_of(str(i)) == "tune")
    report_id = next(str(i) for i in range(100) if half_of(str(i)) == "report")
    dev = tmp_path / "redial-ievalm"
    dev.mkdir()
    rows = [
        {"dialog_id": tune_id, "turn_id": 1, "context": ["hi"], "entity": [], "rec": ["Inception (2010)"]},
        {"dialog_id": report_id, "turn_id": 1, "context": ["hi"], "entity": [], "rec": ["Up (2009)"]},
    ]
    (dev / "dev_turns.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (dev / "id2info.json").write_text("{}", encoding="utf-8")
    prior = ConversationPrior.load(dev, catalogue, half="tune", train_dir=_folder(tmp_path))
    assert prior is not None
    assert prior.counts == Counter({5: 1})  # Inception (tune half); Up (report half) never counted
    assert prior.related([10]) == {1: math.log1p(1)}  # the train dialogue's co-occurrence
    assert ConversationPrior.load(tmp_path / "none", catalogue) is None
