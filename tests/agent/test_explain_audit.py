"""The independent claim audit, the explanation figures, second-person templates, the evidence leak fix
and the slot explainer's schema, on a hand-made catalogue with known answers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agent.evaluation.claim_audit import ClaimAuditor, second_person, uses_evidence
from agent.evaluation.explanations import diversity
from agent.explain import slots
from agent.explain.claims import Constraints
from agent.explain.evidence import EvidenceBuilder
from agent.explain.explainer import Evidence, TemplateExplainer
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

ALIEN = Movie(1, "Alien", 1979, ("Horror", "Sci-Fi"), ("space", "suspense"), 146, 4.0,
              directors=("Ridley Scott",), stars=("Sigourney Weaver",))  # fmt: skip
THING = Movie(2, "The Thing", 1982, ("Horror", "Sci-Fi", "Thriller"), ("paranoia",), 45, 4.0,
              directors=("John Carpenter",))  # fmt: skip
HEAT = Movie(3, "Heat", 1995, ("Action", "Crime", "Thriller"), (), 102, 3.9, directors=("Michael Mann",),
             stars=("Al Pacino", "Robert De Niro"))  # fmt: skip
MATRIX = Movie(4, "The Matrix", 1999, ("Action", "Sci-Fi", "Thriller"), ("scary", "cyberpunk"), 278, 4.2,
               directors=("Lana Wachowski",))  # fmt: skip
NEMO = Movie(5, "Finding Nemo", 2003, ("Adventure", "Animation", "Children", "Comedy"), ("pixar",), 141, 3.8)
CAT = Catalogue([ALIEN, THING, HEAT, MATRIX, NEMO])
ALIEN_EV = Evidence(ALIEN, (THING,), 45, ("space", "suspense"), ("Horror", "Sci-Fi"))


@pytest.fixture(scope="module")
def auditor() -> ClaimAuditor:
    return ClaimAuditor(CAT)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Alien (1979) is a sci-fi horror film directed by Ridley Scott, tagged 'space'.", []),
        ("45 MovieLens users who loved The Thing also loved Alien, and you may too.", []),
        ("Alien is a funny comedy.", ["genre", "genre"]),
        ("Alien stars Al Pacino.", ["person"]),
        ("Alien, directed by James Cameron, is tense.", ["person"]),
        ("Alien came out in 1986, in the 80s.", ["year", "year"]),
        ("If you liked Finding Nemo, try Alien.", ["title"]),
        ("Like Heat (1995), it is tense.", ["title"]),
        ("Alien won an Oscar.", ["award"]),
        ("90 MovieLens users loved it; they rate it 3.1 out of 5.", ["number", "number"]),
        ("People tag it 'gory'.", ["tag"]),
    ],
)
def test_audit_finds_each_unsupported_claim(auditor: ClaimAuditor, text: str, kinds: list[str]) -> None:
    assert sorted(c.kind for c in auditor.audit(text, ALIEN_EV).unsupported) == sorted(kinds)


def test_audit_flags_an_excluded_genre_even_when_quoted(auditor: ClaimAuditor) -> None:
    ev = Evidence(MATRIX, (ALIEN,), None, ("scary",), ("Sci-Fi",), constraints=Constraints(("Horror",)))
    audit = auditor.audit("The Matrix (1999) is a sci-fi action film, tagged 'scary'.", ev)
    assert [c.kind for c in audit.unsupported] == ["constraint"]


def test_second_person_evidence_and_diversity() -> None:
    assert second_person("If you liked Heat, try this.") and not second_person("The user will like it.")
    assert uses_evidence("Fans of The Thing love it.", ALIEN_EV)
    assert uses_evidence("It is tagged 'space'.", ALIEN_EV)
    assert not uses_evidence("It is a movie worth a try.", ALIEN_EV)
    d = diversity(["one two three four five six seven", "one two three four five six eight", "x y z"])
    assert d["shared_6gram_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert d["top_6gram_share"] == pytest.approx(2 / 3, abs=1e-3)


def test_templates_speak_to_you_vary_and_pass_the_audit(auditor: ClaimAuditor) -> None:
    items = [
        ALIEN_EV,
        Evidence(HEAT, (MATRIX,), None, (), ("Action", "Thriller")),
        Evidence(NEMO),
        Evidence(MATRIX, (HEAT,), 12, ("cyberpunk",), ("Action", "Thriller")),
        Evidence(Movie(9, "Obscure", 2015, ("(no genres listed)",))),
    ]
    texts = [TemplateExplainer().explain_one(ev, i) for i in range(7) for ev in items]
    assert all(second_person(t) for t in texts), [t for t in texts if not second_person(t)]
    assert len({t.split(" ", 2)[1] for t in texts}) >= 5  # not one database-row pattern
    for i, t in enumerate(texts):
        assert auditor.audit(t, items[i % len(items)]).ok, t


def test_excluded_genre_tags_never_reach_the_evidence() -> None:
    emb = np.eye(5, dtype=np.float32)
    ratings = pd.DataFrame({"userId": [1, 1], "movieId": [1, 4], "rating": [5.0, 5.0]})
    builder = EvidenceBuilder(CAT, ratings, emb)
    ev = builder.build(4, [1], "like alien but no horror", constraints=Constraints(("Horror",)))
    assert "scary" not in ev.reason_tags and ev.reason_tags == ("cyberpunk",)
    text = TemplateExplainer().explain_one(ev, 0)
    assert "scary" not in text


def test_slot_schema_holds_only_evidence_and_phrases_to_you(auditor: ClaimAuditor) -> None:
    props = slots.schema(ALIEN_EV)["properties"]
    assert props["reason"]["enum"] == ["liked_by_fans", "same_genres", "director", "tag", "rating"]
    assert set(props["mood"]["enum"]) == {"creepy", "imaginative"}
    assert props["tag"]["enum"] == ["space", "suspense", "none"]
    assert slots.parse('{"reason": "award", "mood": "creepy", "tag": "none"}', ALIEN_EV) is None
    assert slots.parse("not json", ALIEN_EV) is None
    for reason in props["reason"]["enum"]:
        for i in range(2):
            choice: dict[str, Any] = {"reason": reason, "mood": "creepy", "tag": "space"}
            parsed = slots.parse(json.dumps(choice), ALIEN_EV)
            assert parsed is not None
            text = slots.phrase(parsed, ALIEN_EV, i)
            assert second_person(text) and auditor.audit(text, ALIEN_EV).ok, text
