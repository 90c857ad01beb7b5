"""The part every embedded chat model shares: its name, reply length, sentence cap and one-at-a-time lock."""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import ConfigDict, PrivateAttr

MAX_NEW_TOKENS = 60


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
