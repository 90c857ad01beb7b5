"""GGUF models through llama.cpp (``llama-cpp-python``), wrapped as a LangChain chat model.

:class:`LlamaCppChatModel` drives any object with llama-cpp-python's ``create_chat_completion`` (a
``llama_cpp.Llama``; a fake in unit tests). It generates greedily, streams tokens to LangChain callbacks,
stops after ``max_sentences`` finished sentences (the model's, or a per-call cap), and honours a cancel
event and a deadline between tokens. :func:`fast_copy` makes the Q8_0 copy the embedded model runs from on
the CPU. ``llama_cpp`` itself is imported only by :func:`load_llama` and :func:`fast_copy`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agent.explain.chat_base import EmbeddedChatModel

log = logging.getLogger(__name__)

N_CTX = 2048
# llama.cpp's CPU kernels for Q4_1 weights evaluate a prompt at about half the speed of Q8_0 ones (measured
# on the embedded SmolLM2: ~85 vs ~150 prompt tokens/s on one shared core); Q8_0 holds every Q4_1 weight
# to within half an 8-bit step, so the embedded model runs from a Q8_0 copy made once in the cache.
FAST_SUFFIX = ".q8_0.gguf"
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def llama_cpp_available() -> bool:
    """Whether ``llama_cpp`` can be imported (found without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def _threads() -> int:
    """Half the usable cores, 1 to 4: llama.cpp's threads spin at barriers, so on a busy or small
    machine fewer threads are faster (2 shared cores: 1 thread ~60 tokens/s, 2 threads ~25)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2))


def fast_copy(path: Path, folder: Path) -> Path:
    """A Q8_0 copy of the GGUF at ``path`` in ``folder`` (made once, about 2 s; written to a temporary
    file, then renamed); ``path`` itself when the copy cannot be made."""
    target = folder / f"{path.stem}{FAST_SUFFIX}"
    if target.is_file() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = _threads()
    quiet = logging.getLogger("llama-cpp-python")
    level = quiet.level
    tmp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}-", dir=folder)
        os.close(fd)
        tmp = Path(name)
        quiet.setLevel(logging.ERROR)  # llama.cpp logs every tensor it converts
        failed = llama_cpp.llama_model_quantize(str(path).encode(), str(tmp).encode(), params)
        if failed:
            raise OSError(f"llama_model_quantize returned {failed}")
        tmp.replace(target)
        return target
    except Exception as err:
        log.warning("cannot make a Q8_0 copy of %s (%s); using the file as it is", path.name, err)
        return path
    finally:
        quiet.setLevel(level)
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def load_llama(path: Path, *, device: str = "cpu", n_ctx: int = N_CTX) -> Any:
    """A ``llama_cpp.Llama`` for the GGUF file at ``path`` (quiet; all layers on the GPU for ``cuda``)."""
    from llama_cpp import Llama

    return Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=_threads(),
        n_threads_batch=_threads(),
        n_gpu_layers=-1 if device.startswith("cuda") else 0,
        seed=0,
        verbose=False,
    )


def _as_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.text)} for m in messages]


def _piece(chunk: Any) -> str:
    """The text of one streamed chat-completion chunk (empty for role-only or final chunks)."""
    try:
        return str(chunk["choices"][0].get("delta", {}).get("content") or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _until_enough(text: str, piece: str, sentences: int) -> tuple[str, bool]:
    """``piece`` cut after the ``sentences``-th sentence end of ``text + piece``, and whether that end
    is reached (never for ``sentences <= 0``)."""
    if sentences <= 0 or not piece:
        return piece, False
    ends = list(_SENTENCE_END.finditer(text + piece))
    if len(ends) < sentences:
        return piece, False
    return piece[: max(0, ends[sentences - 1].end() - 1 - len(text))], True


class LlamaCppChatModel(EmbeddedChatModel):
    """Greedy, streaming chat model over a llama.cpp model; one generation at a time (a lock).

    ``invoke``/``stream`` take optional ``cancel`` (a ``threading.Event``) and ``deadline``
    (``time.monotonic()`` seconds) keyword arguments that end generation between tokens.
    """

    client: Any  # llama_cpp.Llama, or anything with its create_chat_completion
    model_name: str = "gguf"

    @property
    def _llm_type(self) -> str:
        return "reelchat-llama-cpp"

    def stream_text(
        self,
        messages: Sequence[BaseMessage],
        *,
        stop: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
        response_format: dict[str, Any] | None = None,
        max_sentences: int | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Text pieces as generated; ends early on ``cancel``, past ``deadline`` (monotonic) or enough
        sentences (not for a ``response_format``: JSON, grammar-constrained by llama.cpp). ``max_sentences``
        and ``max_tokens`` override the model's own caps for this call. Holds the model's lock while
        generating: consume it or close it."""
        extra = {"response_format": response_format} if response_format else {}
        sentences = self.max_sentences if max_sentences is None else max_sentences
        with self._lock:
            chunks = self.client.create_chat_completion(
                messages=_as_dicts(messages),
                stream=True,
                max_tokens=max_tokens or self.max_new_tokens,
                temperature=0.0,
                stop=list(stop or []) or None,
                **extra,
            )
            text = ""
            try:
                for chunk in chunks:
                    piece, done = _piece(chunk), False
                    if not response_format:
                        piece, done = _until_enough(text, piece, sentences)
                    if piece:
                        text += piece
                        yield piece
                    if done or (cancel is not None and cancel.is_set()):
                        break
                    if deadline is not None and time.monotonic() > deadline:
                        break
            finally:
                close = getattr(chunks, "close", None)
                if callable(close):
                    close()

    def generate_text(
        self,
        messages: Sequence[BaseMessage],
        *,
        stop: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        response_format: dict[str, Any] | None = None,
        max_sentences: int | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """The whole reply (stripped); each piece goes to ``run_manager`` as a new token."""
        pieces: list[str] = []
        stream = self.stream_text(
            messages,
            stop=stop,
            cancel=cancel,
            deadline=deadline,
            response_format=response_format,
            max_sentences=max_sentences,
            max_tokens=max_tokens,
        )
        for piece in stream:
            pieces.append(piece)
            if run_manager is not None:
                run_manager.on_llm_new_token(piece)
        return "".join(pieces).strip()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.generate_text(
            messages,
            stop=stop,
            cancel=kwargs.get("cancel"),
            deadline=kwargs.get("deadline"),
            run_manager=run_manager,
            response_format=kwargs.get("response_format"),
            max_sentences=kwargs.get("max_sentences"),
            max_tokens=kwargs.get("max_tokens"),
        )
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pieces = self.stream_text(
            messages,
            stop=stop,
            cancel=kwargs.get("cancel"),
            deadline=kwargs.get("deadline"),
            max_sentences=kwargs.get("max_sentences"),
            max_tokens=kwargs.get("max_tokens"),
        )
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


__all__ = ["LlamaCppChatModel", "fast_copy", "llama_cpp_available", "load_llama"]
