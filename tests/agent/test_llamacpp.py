"""The llama.cpp chat-model adapter: a FakeLlama for the unit tests, the real embedded GGUF when slow."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage, SystemMessage

from agent.explain import grounding, llm
from agent.explain.claims import Constraints
from agent.explain.explainer import Evidence, LLMExplainer, TemplateExplainer
from agent.explain.llamacpp import FAST_SUFFIX, LlamaCppChatModel, fast_copy
from agent.explain.llm import LLMSpec, LLMUnavailable, build_chat_model, parse_llm_spec
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MOVIES = [
    Movie(
        1, "Alien", 1979, ("Horror", "Sci-Fi"), ("space", "suspense"), 146, 4.0, directors=("Ridley Scott",)
    ),
    Movie(2, "The Thing", 1982, ("Action", "Horror", "Sci-Fi"), ("paranoia",), 45, 4.0),
    Movie(3, "Toy Story", 1995, ("Animation", "Children", "Comedy"), ("pixar",), 215, 3.9),
    Movie(4, "Heat", 1995, ("Action", "Crime", "Thriller"), (), 102, 3.9, directors=("Michael Mann",)),
]
BY = {m.movie_id: m for m in MOVIES}
ALIEN_EV = Evidence(BY[1], (BY[2],), 45, ("space", "suspense"), ("Horror", "Sci-Fi"))
HEAT_EV = Evidence(BY[4], (), None, (), ())


class FakeLlama:
    """Stands in for ``llama_cpp.Llama``: streams scripted replies chunk by chunk, records its calls."""

    def __init__(self, replies: dict[str, list[str]], delay_s: float = 0.0) -> None:
        self.replies = replies
        self.delay_s = delay_s
        self.calls: list[dict[str, Any]] = []
        self.served: list[int] = []  # content chunks handed out per call

    def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        assert kwargs["stream"] is True and kwargs["temperature"] == 0.0
        self.calls.append(kwargs)
        last = str(kwargs["messages"][-1]["content"])
        pieces = next((v for k, v in self.replies.items() if k in last), ["I have nothing to say."])
        self.served.append(0)
        return self._chunks(pieces)

    def _chunks(self, pieces: list[str]) -> Iterator[dict[str, Any]]:
        yield {"choices": [{"delta": {"role": "assistant"}}]}
        for piece in pieces:
            time.sleep(self.delay_s)
            self.served[-1] += 1
            yield {"choices": [{"delta": {"content": piece}}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


THREE = ["Alien", " is", " tense.", " It", " is", " set", " in", " space.", " Third", " one."]


def test_invoke_joins_pieces_and_stops_after_two_sentences() -> None:
    fake = FakeLlama({"Alien": THREE})
    model = LlamaCppChatModel(client=fake)
    out = model.invoke([SystemMessage("Be brief."), HumanMessage("Why Alien?")])
    assert out.text == "Alien is tense. It is set in space."
    assert fake.served == [9]  # the first piece after the second sentence end shows it ended, then stop
    sent = fake.calls[0]["messages"]
    assert sent == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why Alien?"}]
    assert fake.calls[0]["max_tokens"] == model.max_new_tokens


def test_stream_yields_pieces_and_feeds_callbacks() -> None:
    model = LlamaCppChatModel(client=FakeLlama({"Alien": ["Alien", " is", " tense."]}))
    handler = _Tokens()
    chunks = [str(c.text) for c in model.stream("Why Alien?", config={"callbacks": [handler]})]
    assert "".join(chunks) == "Alien is tense."
    assert [t for t in handler.tokens if t] == ["Alien", " is", " tense."]  # LangChain adds a last ""
    handler = _Tokens()
    model.invoke("Why Alien?", config={"callbacks": [handler]})  # invoke streams tokens too
    assert "".join(handler.tokens) == "Alien is tense."


def test_per_call_caps_override_the_model_caps() -> None:
    fake = FakeLlama({"Alien": THREE})
    model = LlamaCppChatModel(client=fake)
    assert model.invoke("Why Alien?", max_sentences=1, max_tokens=7).text == "Alien is tense."
    assert fake.served == [4] and fake.calls[0]["max_tokens"] == 7
    assert model.invoke("Why Alien?").text == "Alien is tense. It is set in space."  # the model's own caps
    assert fake.calls[1]["max_tokens"] == model.max_new_tokens


def test_explainer_asks_llama_models_for_one_capped_sentence() -> None:
    from agent.explain import explainer

    fake = FakeLlama({"Alien (1979)": ["Like The Thing, Alien is tense.", " You get", " space too."]})
    [out] = LLMExplainer(LlamaCppChatModel(client=fake), Catalogue(MOVIES), timeout_s=5).explain([ALIEN_EV])
    assert out.source == "llm" and out.text == "Like The Thing, Alien is tense."
    assert fake.calls[0]["max_tokens"] == explainer.MAX_TOKENS and explainer.SENTENCES == 1
    assert fake.calls[0]["stop"] == ["\n"]  # one line: a copied fact list ends at its first line


def test_fast_copy_of_a_broken_file_falls_back_to_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with caplog.at_level(logging.WARNING, logger="agent.explain.llamacpp"):
        assert fast_copy(bad, tmp_path / "models") == bad
    assert "cannot make a Q8_0 copy of broken.gguf" in caplog.text
    assert [p.name for p in (tmp_path / "models").iterdir()] == []  # no partial file left


def test_cancel_and_deadline_end_generation_between_tokens() -> None:
    fake = FakeLlama({"Alien": ["word"] * 50})
    model = LlamaCppChatModel(client=fake, max_sentences=0)
    cancel = threading.Event()
    cancel.set()
    assert model.invoke("Alien?", cancel=cancel).text == ""  # checked from the first chunk on
    assert model.invoke("Alien?", deadline=time.monotonic() - 1).text == ""
    assert fake.served == [0, 0]
    assert model.invoke("Alien?").text == "word" * 50


def test_generations_never_overlap() -> None:
    fake = FakeLlama({"Alien": ["Alien", " is", " tense."]}, delay_s=0.01)
    model = LlamaCppChatModel(client=fake)
    active, most = [0], [0]
    original = fake._chunks

    def counting(pieces: list[str]) -> Iterator[dict[str, Any]]:
        active[0] += 1
        most[0] = max(most[0], active[0])
        try:
            yield from original(pieces)
        finally:
            active[0] -= 1

    fake._chunks = counting  # type: ignore[method-assign]
    threads = [threading.Thread(target=model.invoke, args=("Alien?",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and len(fake.calls) == 4


def test_explainer_runs_llama_models_in_order_and_checks_them() -> None:
    cat = Catalogue(MOVIES)
    fake = FakeLlama(
        {
            "Alien (1979)": ["Like The Thing,", " Alien is tense sci-fi horror", " set in space."],
            "Heat (1995)": ["Heat is a", " romantic comedy."],  # not held: rejected
        }
    )
    out = LLMExplainer(LlamaCppChatModel(client=fake), cat, timeout_s=5).explain([ALIEN_EV, HEAT_EV])
    assert (
        out[0].source == "llm" and out[0].text == "Like The Thing, Alien is tense sci-fi horror set in space."
    )
    assert out[1].source == "template" and out[1].text == TemplateExplainer().explain_one(HEAT_EV, 1)
    assert "Alien (1979)" in str(fake.calls[0]["messages"][-1]["content"])  # in pick order


def test_text_contradicting_the_request_becomes_the_template_sentence() -> None:
    cat = Catalogue(MOVIES)
    heat = Evidence(BY[4], (BY[2],), None, (), (), constraints=Constraints(("Horror",), 1990))
    fake = FakeLlama({"Heat (1995)": ["Heat has", " the horror elements", " you liked."]})
    [out] = LLMExplainer(LlamaCppChatModel(client=fake), cat, timeout_s=5).explain([heat])
    assert out.source == "template" and out.rejected_reason == "contradicts the request: horror"
    assert out.text == TemplateExplainer().explain_one(heat, 0)
    assert "horror" not in out.text.lower()


def test_slow_llama_model_falls_back_at_the_deadline() -> None:
    cat = Catalogue(MOVIES)
    fake = FakeLlama({"Alien": ["word "] * 200}, delay_s=0.01)
    ex = LLMExplainer(LlamaCppChatModel(client=fake, max_sentences=0), cat, timeout_s=0.3)
    t0 = time.monotonic()
    out = ex.explain([ALIEN_EV, HEAT_EV])
    assert time.monotonic() - t0 < 1.0
    assert [e.source for e in out] == ["template", "template"]
    assert fake.served[0] < 200  # generation stopped, not run to the end


def test_gguf_spec() -> None:
    assert parse_llm_spec("gguf:/models/a b.gguf") == LLMSpec("gguf", "/models/a b.gguf")
    assert str(parse_llm_spec("gguf:/m.gguf")) == "gguf:/m.gguf"
    with pytest.raises(ValueError):
        parse_llm_spec("gguf:")


def test_without_llama_cpp_falls_back_to_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[LLMSpec] = []
    monkeypatch.setattr(llm, "llama_cpp_available", lambda: False)
    monkeypatch.setattr(llm, "_local_chat_model", lambda spec, *a: seen.append(spec) or "transformers")
    with caplog.at_level(logging.WARNING, logger="agent.explain.llm"):
        out = build_chat_model(parse_llm_spec("smollm2"), cache_dir=tmp_path, device="cpu")
    assert out == "transformers" and seen == [LLMSpec("smollm2")]
    [record] = caplog.records
    assert "llama-cpp-python is not installed" in record.getMessage() and "\n" not in record.getMessage()


def test_missing_gguf_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "llama_cpp_available", lambda: True)
    with pytest.raises(LLMUnavailable, match="not found"):
        build_chat_model(parse_llm_spec(f"gguf:{tmp_path / 'gone.gguf'}"), cache_dir=tmp_path, device="cpu")


# -- the real embedded GGUF through llama.cpp ------------------------------------------------------


@pytest.mark.slow
def test_real_embedded_gguf_through_llama_cpp(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    t0 = time.perf_counter()
    model = build_chat_model(parse_llm_spec("smollm2"), cache_dir=tmp_path, device="cpu")
    load = time.perf_counter() - t0
    assert isinstance(model, LlamaCppChatModel)
    # no transformers conversion: only the Q8_0 copy llama.cpp runs from on the CPU, made once
    copy = tmp_path / "models" / f"{llm.smollm2_gguf_path().stem}{FAST_SUFFIX}"
    assert [p.name for p in (tmp_path / "models").iterdir()] == [copy.name]
    made = copy.stat().st_mtime_ns
    again = build_chat_model(parse_llm_spec("smollm2"), cache_dir=tmp_path, device="cpu")
    assert isinstance(again, LlamaCppChatModel) and copy.stat().st_mtime_ns == made
    cat = Catalogue(MOVIES)
    t0 = time.perf_counter()
    [out] = LLMExplainer(model, cat, timeout_s=60).explain([ALIEN_EV])
    gen = time.perf_counter() - t0
    print(f"\nllama.cpp SmolLM2 load {load:.2f}s; one explanation in {gen:.2f}s: [{out.source}] {out.text}")
    assert out.text.strip()
    if out.source == "llm":
        assert grounding.check(out.text, ALIEN_EV.pick, ALIEN_EV.related_liked, cat).ok
    else:
        assert out.rejected_reason and out.rejected_reason != "timeout"
    raw = model.invoke("Name a colour.").text
    assert raw.strip()
    assert load < 5.0
