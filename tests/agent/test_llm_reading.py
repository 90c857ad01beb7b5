"""Structured understanding from an LLM: validation against catalogue and message, merge under the rules,
the structured-output plumbing of the embedded models, and the real embedded GGUF through llama.cpp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.explain.chat_base import EmbeddedChatModel
from agent.understanding.deltas import Understanding
from agent.understanding.llm_reading import QueryUpdate, completed, merge, propose, validated
from agent.understanding.parser import parse
from retrieval.catalogue import Catalogue
from retrieval.titles import TitleResolver
from retrieval.types import Movie

GENRES = ("Action", "Animation", "Comedy", "Crime", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller")
MOVIES = [
    Movie(2571, "The Matrix", 1999, ("Action", "Sci-Fi"), rating_count=278),
    Movie(1214, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=146),
    Movie(6, "Heat", 1995, ("Action", "Crime"), rating_count=102),
    Movie(1, "Toy Story", 1995, ("Animation", "Comedy"), rating_count=215),
    Movie(1721, "Titanic", 1997, ("Drama", "Romance"), rating_count=140),
]


@pytest.fixture(scope="module")
def resolver() -> TitleResolver:
    return TitleResolver(Catalogue(MOVIES))


def _validated(update: QueryUpdate, message: str, resolver: TitleResolver) -> Understanding:
    return validated(update, message, resolver, genres=GENRES, max_year=2018, max_picks=20)


def test_titles_must_resolve_and_be_named_in_the_message(resolver: TitleResolver) -> None:
    msg = "my all-time favourite is heat, and toy story is fine"
    update = QueryUpdate(liked=["Heat", "The Matrix", "Nonexistent Film"], seen=["Toy Story (1995)"])
    got = _validated(update, msg, resolver)
    assert got.liked == (6,)  # The Matrix is a real movie the message never names: invented, dropped
    assert got.seen == (1,)


def test_genres_years_and_k_are_checked(resolver: TitleResolver) -> None:
    update = QueryUpdate(
        genres_required=["comedies", "Space Opera"],
        genres_excluded=["horror", "Comedy"],
        year_min=1990,
        year_max=3000,
        k=500,
    )
    got = _validated(update, "funny stuff but no horror or comedy, from 1990 to 3000, 500 of them", resolver)
    assert got.genres_required == ("Comedy",)  # plural folded; an unknown genre dropped
    assert got.genres_excluded == ("Horror",)  # a genre both asked for and excluded stays asked for
    assert (got.year_min, got.year_max, got.k) == (1990, None, None)  # year 3000 and k=500 out of range
    swapped = _validated(QueryUpdate(year_min=2010, year_max=1990), "from 2010 to 1990", resolver)
    assert (swapped.year_min, swapped.year_max) == (None, None)  # a contradiction trusts neither


def test_numbers_and_exclusions_must_be_in_the_message(resolver: TitleResolver) -> None:
    update = QueryUpdate(genres_excluded=["Horror"], year_min=1990, year_max=1999, k=5)
    assert _validated(update, "don't recommend Frozen", resolver) == Understanding()  # all invented
    said = _validated(update, "five films from the 90s, no horror", resolver)
    assert (said.genres_excluded, said.year_min, said.year_max, said.k) == (("Horror",), 1990, 1999, 5)
    before = _validated(QueryUpdate(year_max=1994), "nothing made in 1995 or later", resolver)
    assert before.year_max == 1994


def test_merge_keeps_every_field_the_rules_filled(resolver: TitleResolver) -> None:
    rules = parse("I loved Alien, no horror please, give me 3 movies", resolver, genres=GENRES, max_year=2018)
    llm = Understanding(liked=(6,), disliked=(1214,), genres_excluded=("Drama",), k=9, year_min=2000)
    got = merge(rules, llm)
    assert got.liked == rules.liked == (1214,)  # the rules' likes win; Alien is not also disliked
    assert got.disliked == ()
    assert got.genres_excluded == ("Horror",) and got.k == 3
    assert got.year_min == 2000  # the rules said nothing about years: the LLM's reading is the only one


def test_merge_leaves_questions_and_resets_alone(resolver: TitleResolver) -> None:
    question = Understanding(act="question")
    assert merge(question, Understanding(liked=(6,))) is question


class FakeJSONChatModel(EmbeddedChatModel):
    """Unit-test fake: replies with a fixed text and records the ``response_format`` it was given."""

    reply: str = "{}"
    seen_formats: list[Any] = []  # noqa: RUF012  (a pydantic field: copied per instance)

    @property
    def _llm_type(self) -> str:
        return "fake-json"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.seen_formats.append(kw.get("response_format"))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


def test_embedded_models_pass_the_schema_and_validate_the_reply(resolver: TitleResolver) -> None:
    model = FakeJSONChatModel(reply='{"liked": ["Heat"], "genres_excluded": ["Horror"], "k": 4}')
    update = propose(model, "I liked heat; 4 films, no horror", GENRES)
    assert update == QueryUpdate(liked=["Heat"], genres_excluded=["Horror"], k=4)
    fmt = model.seen_formats[-1]
    assert fmt["type"] == "json_object" and "liked" in fmt["schema"]["properties"]
    assert propose(FakeJSONChatModel(reply="Sure! Here are some movies"), "hi", GENRES) is None
    assert propose(FakeJSONChatModel(reply='{"k": "many"}'), "hi", GENRES) is None


class FakeNoStructureModel(BaseChatModel):
    """Unit-test fake: a chat model without structured output."""

    @property
    def _llm_type(self) -> str:
        return "fake-plain"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Any:
        raise AssertionError("never called")


def test_a_model_without_structured_output_changes_nothing(resolver: TitleResolver) -> None:
    rules = parse("something like heat", resolver, genres=GENRES, max_year=2018)
    got = completed(
        rules,
        "something like heat",
        FakeNoStructureModel(),
        resolver,
        genres=GENRES,
        max_year=2018,
        max_picks=20,
    )
    assert got is rules


def test_the_llm_fills_a_like_the_rules_missed(resolver: TitleResolver) -> None:
    text = "Heat. What a film."
    rules = parse(text, resolver, genres=GENRES, max_year=2018)
    model = FakeJSONChatModel(reply='{"liked": ["Heat"], "act": "recommend"}')
    got = completed(rules, text, model, resolver, genres=GENRES, max_year=2018, max_picks=20)
    assert 6 in got.liked


@pytest.mark.slow
def test_real_embedded_gguf_gives_a_valid_update(tmp_path: Path, resolver: TitleResolver) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from agent.explain.llm import build_chat_model, parse_llm_spec

    model = build_chat_model(parse_llm_spec("smollm2"), cache_dir=tmp_path, device="cpu")
    update = propose(model, "I loved Heat and Alien. Give me 3 action movies, nothing before 1990.", GENRES)
    assert isinstance(update, QueryUpdate)  # the grammar makes it valid JSON of the schema, whatever it says
    got = _validated(
        update, "I loved Heat and Alien. Give me 3 action movies, nothing before 1990.", resolver
    )
    assert set(got.liked) <= {6, 1214} and set(got.disliked) <= {6, 1214}  # nothing the message did not name
    assert set(got.genres_required) <= set(GENRES)
