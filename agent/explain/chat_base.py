"""The part every embedded chat model shares: its name, reply length, sentence cap and one-at-a-time lock."""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, PrivateAttr

MAX_NEW_TOKENS = 60
STRUCTURED_NEW_TOKENS = 256  # room for a JSON object


class EmbeddedChatModel(BaseChatModel):
    """Base of the in-process chat models (transformers, llama.cpp): generation runs one at a time."""

    model_name: str = "local"
    max_new_tokens: int = MAX_NEW_TOKENS
    max_sentences: int = 2  # stop a reply once it holds this many finished sentences (0: never)
    model_config = ConfigDict(arbitrary_types_allowed=True)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "max_new_tokens": self.max_new_tokens}

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """A pydantic ``schema`` as a JSON-schema ``response_format`` (llama.cpp makes it a grammar); the
        reply is validated into ``schema`` (a ``pydantic.ValidationError`` when it does not fit).
        ``timeout_s``: generation stops that long after this call (the cut JSON then fails validation)."""
        timeout_s = kwargs.pop("timeout_s", None)
        if include_raw or not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        model = self.model_copy(update={"max_new_tokens": max(self.max_new_tokens, STRUCTURED_NEW_TOKENS)})
        fmt = {"type": "json_object", "schema": schema.model_json_schema()}
        extra = {"deadline": time.monotonic() + timeout_s} if timeout_s else {}

        def parse(message: BaseMessage) -> BaseModel:
            return schema.model_validate_json(str(message.content).strip() or "{}")

        return model.bind(response_format=fmt, **extra) | RunnableLambda(parse)
