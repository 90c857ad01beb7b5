"""Template and LLM explanations: scripted FAKE chat model for the fallbacks, real SmolLM2 when slow."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.explain import grounding
from agent.explain.explainer import (
    Evidence,
    Explanation,
    LLMExplainer,
    TemplateExplainer,
    facts,
    genre_phrase,
)
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MOVIES = [
    Movie(
        1,
        "Alien",
        1979,
        ("Horror", "Sci-Fi"),
        ("space", "suspense"),
        146,
        4.0,
        directors=("Ridley Scott",),
        stars=("Sigourney Weaver",),
        plot="The crew of a commercial spacecraft meets a deadly lifeform.",
    ),
    Movie(
        2,
        "The Thing",
        1982,
        ("Action", "Horror", "Sci-Fi", "Thriller"),
        ("paranoia",),
        45,
        4.0,
        directors=("John Carpenter",),
    ),
    Movie(3, "Predator", 1987, ("Action", "Sci-Fi", "Thriller"), rating_count=60),
    Movie(
        4,
        "Toy Story",
        1995,
        ("Adventure", "Animation", "Children", "Comedy", "Fantasy"),
        ("pixar", "fun"),
        215,
        3.9,
        directors=("John Lasseter",),
    ),
    Movie(
        5,
        "Finding Nemo",
        2003,
        ("Adventure", "Animation", "Children", "Comedy"),
        ("pixar", "ocean"),
        141,
        3.8,
        directors=("Andrew Stanton",),
        plot="A clownfish crosses the ocean to find his son.",
    ),
    Movie(6, "Heat", 1995, ("Action", "Crime", "Thriller"), (), 102, 3.9, directors=("Michael Mann",)),
    Movie(
        7,
        "The Departed",
        2006,
        ("Crime", "Drama", "Thriller"),
        ("undercover", "mafia"),
        107,
        4.1,
        directors=("Martin Scorsese",),
        stars=("Leonardo DiCaprio", "Matt Damon"),
    ),
    Movie(8, "Amelie", 2001, ("Comedy", "Romance"), ("whimsical",), 120, 4.2),
    Movie(9, "Documentary Now", 2015, ("(no genres listed)",)),
]
BY = {m.movie_id: m for m in MOVIES}
ALIEN_EV = Evidence(BY[1], (BY[2],), 45, ("space", "suspense"), ("Horror", "Sci-Fi"))
NEMO_EV = Evidence(BY[5], (BY[4],), 80, ("pixar",), ("Adventure", "Animation", "Children", "Comedy"))
DEPARTED_EV = Evidence(BY[7], (BY[6],), None, (), ("Crime", "Thriller"))
LONE_EV = Evidence(BY[8])
GROUP_EV = Evidence(BY[8], member="Sam")
BARE_EV = Evidence(BY[9])


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue(MOVIES)


# -- TemplateExplainer ------------------------------------------------------------------------------


def test_genre_phrase() -> None:
    assert genre_phrase(("Horror", "Sci-Fi")) == "a sci-fi horror film"
    assert genre_phrase(("Crime", "Drama", "Thriller")) == "a crime thriller"
    assert genre_phrase(("Comedy", "Romance")) == "a romantic comedy"
    assert genre_phrase(("Adventure", "Animation", "Children", "Comedy")) == "an animated comedy"
    assert genre_phrase(("(no genres listed)",)) == "a film"


def test_template_is_factual_varied_and_grounded(cat: Catalogue) -> None:
    items = [ALIEN_EV, NEMO_EV, DEPARTED_EV, LONE_EV, GROUP_EV, BARE_EV]
    texts = TemplateExplainer().explain_batch(items)
    assert texts == TemplateExplainer().explain_batch(items)  # deterministic
    assert len(texts) == len(items) and all(t.strip() for t in texts)
    assert texts[0] == (
        "You could try Alien (1979), a sci-fi horror film from Ridley Scott that people tag 'space' and "
        "'suspense'. 45 MovieLens users loved both The Thing and Alien, and so might you."
    )
    assert texts[1].startswith("Finding Nemo (2003) is an animated comedy from Andrew Stanton")
    assert "you enjoyed in Heat" in texts[2]
    assert "4.2 out of 5" in texts[3]
    assert texts[4].startswith("For Sam: ")
    assert texts[5] == "You could try Documentary Now (2015)."
    openings = {t.removeprefix("For Sam: ").split(" ", 1)[0] for t in texts[:5]}
    assert len(openings) >= 3  # not one database-row pattern
    for ev, text in zip(items, texts, strict=True):
        assert ev.pick.label in text
        result = grounding.check(text, ev.pick, ev.related_liked, cat)
        assert result.ok, (text, result.reason)


def test_template_phrasing_follows_position_and_pick() -> None:
    one = TemplateExplainer()
    texts = {one.explain_one(ALIEN_EV, i) for i in range(4)}
    assert len(texts) >= 3  # the same pick reads differently at other positions
    assert all("45" in t and "The Thing" in t for t in texts)  # and always states the same evidence


def test_template_iter_records_source() -> None:
    out = list(TemplateExplainer().explain_iter([ALIEN_EV]))
    assert out == [Explanation(out[0].text, "template", None)]


def test_facts_hold_only_evidence() -> None:
    lines = facts(ALIEN_EV)
    assert lines[0] == "Movie: Alien (1979)"
    assert "Genres: Horror, Sci-Fi" in lines and "Tags: space, suspense" in lines
    assert "45 MovieLens users who loved The Thing also loved Alien" in lines
    assert all("Predator" not in line for line in lines)


# -- LLMExplainer with a scripted fake --------------------------------------------------------------


class FakeChatModelScripted(BaseChatModel):
    """Answers by the pick's title found in the prompt: a text, an exception to raise, or "HANG"."""

    script: dict[str, Any]
    release: Any = None  # threading.Event ending a hang

    @property
    def _llm_type(self) -> str:
        return "fake-scripted-explainer"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        prompt = str(messages[-1].text)
        key = next(k for k in self.script if f"enjoy {k}" in prompt)
        answer = self.script[key]
        if isinstance(answer, BaseException):
            raise answer
        if answer == "HANG":
            self.release.wait(30)
            answer = "Too late to matter."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=answer))])


@pytest.fixture
def release() -> Any:
    event = threading.Event()
    yield event
    event.set()


def make(cat: Catalogue, script: dict[str, Any], release: Any = None, timeout_s: float = 5.0) -> LLMExplainer:
    model = FakeChatModelScripted(script=script, release=release)
    return LLMExplainer(model, cat, timeout_s=timeout_s)


def test_grounded_output_is_used(cat: Catalogue) -> None:
    ex = make(cat, {"Alien (1979)": "  Like The Thing, Alien (1979) is tense sci-fi horror set in space. "})
    [out] = ex.explain([ALIEN_EV])
    assert out == Explanation(
        "Like The Thing, Alien (1979) is tense sci-fi horror set in space.", "llm", None
    )
    assert ex.explain_batch([ALIEN_EV]) == [out.text]


def test_prompt_holds_only_our_facts(cat: Catalogue) -> None:
    system, user = make(cat, {}).messages(ALIEN_EV)
    assert "Do not name any other movie" in str(system.text)
    assert "- Movie: Alien (1979)" in str(user.text) and "enjoy Alien (1979)?" in str(user.text)
    assert "Predator" not in str(user.text)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Alien is just like Predator, a true classic.", "names another movie"),
        ("Alien is a romantic comedy for the ages.", "genre not held"),
        ("Alien (1984) still holds up as a tense ride.", "year not held"),
        ("", "empty"),
        ("Alien is a tense ride through space with a crew that", "incomplete sentence"),
        (RuntimeError("server down"), "error: RuntimeError"),
    ],
)
def test_bad_or_failing_output_falls_back_to_template(cat: Catalogue, answer: Any, reason: str) -> None:
    [out] = make(cat, {"Alien (1979)": answer}).explain([ALIEN_EV])
    assert out.source == "template"
    assert out.text == TemplateExplainer().explain_one(ALIEN_EV, 0)
    assert out.rejected_reason is not None and out.rejected_reason.startswith(reason)


def test_hanging_model_falls_back_within_timeout(cat: Catalogue, release: Any) -> None:
    script = {"Alien (1979)": "HANG", "Finding Nemo (2003)": "Finding Nemo (2003) is a warm animated comedy."}
    ex = make(cat, script, release, timeout_s=0.5)
    start = time.monotonic()
    out = ex.explain([ALIEN_EV, NEMO_EV])
    elapsed = time.monotonic() - start
    assert elapsed < 0.5 + 0.4
    assert [e.source for e in out] == ["template", "llm"]
    assert out[0].rejected_reason == "timeout"


def test_explain_iter_streams_in_order_without_waiting_for_later_items(cat: Catalogue, release: Any) -> None:
    script = {"Alien (1979)": "Alien (1979) is a tense sci-fi horror film.", "Finding Nemo (2003)": "HANG"}
    it = make(cat, script, release, timeout_s=3.0).explain_iter([ALIEN_EV, NEMO_EV])
    start = time.monotonic()
    first = next(it)
    assert first.source == "llm" and time.monotonic() - start < 1.0
    second = next(it)
    assert second.source == "template" and second.rejected_reason == "timeout"
    assert list(it) == []


def test_group_member_prefix_on_llm_text(cat: Catalogue) -> None:
    [out] = make(cat, {"Amelie (2001)": "Amelie is a whimsical romantic comedy."}).explain([GROUP_EV])
    assert out == Explanation("For Sam: Amelie is a whimsical romantic comedy.", "llm")


def test_empty_input(cat: Catalogue) -> None:
    assert make(cat, {}).explain([]) == []


# -- the real embedded SmolLM2 ----------------------------------------------------------------------


@pytest.mark.slow
def test_real_smollm2_explanations_are_grounded(cat: Catalogue, tmp_path: Path) -> None:
    # the default runtime (llama.cpp); tests/agent/test_llm.py covers loading through transformers
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from agent.explain.llm import build_chat_model, parse_llm_spec

    t0 = time.perf_counter()
    model = build_chat_model(parse_llm_spec("smollm2"), cache_dir=tmp_path, device="cpu")
    load = time.perf_counter() - t0
    assert model is not None

    items = [ALIEN_EV, NEMO_EV, DEPARTED_EV]
    ex = LLMExplainer(model, cat, timeout_s=120)
    t0 = time.perf_counter()
    out = ex.explain(items)
    gen = time.perf_counter() - t0
    print(f"\nSmolLM2 (llama.cpp) load {load:.2f}s; {len(items)} explanations in {gen:.1f}s")
    for ev, e in zip(items, out, strict=True):
        print(f"  [{e.source}{'/' + e.rejected_reason if e.rejected_reason else ''}] {e.text}")
        assert e.text.strip()
        if e.source == "llm":
            assert grounding.check(e.text, ev.pick, ev.related_liked, cat).ok
        else:
            assert e.text == TemplateExplainer().explain_one(ev, items.index(ev))


def test_few_shot_prompt_puts_worked_examples_before_the_pick(cat: Catalogue) -> None:
    from langchain_core.messages import HumanMessage as Human

    msgs = LLMExplainer(FakeChatModelScripted(script={}), cat, prompt="few-shot").messages(ALIEN_EV)
    kinds = [m.type for m in msgs]
    assert kinds[0] == "system" and kinds[-1] == "human" and kinds.count("ai") >= 2
    assert kinds[1:-1] == ["human", "ai"] * (len(kinds[1:-1]) // 2)
    assert isinstance(msgs[-1], Human) and "- Movie: Alien (1979)" in str(msgs[-1].text)
    copied = str(msgs[2].text)  # a worked answer: names movies that are not the pick
    assert not grounding.check(copied, ALIEN_EV.pick, ALIEN_EV.related_liked, Catalogue(MOVIES)).ok
