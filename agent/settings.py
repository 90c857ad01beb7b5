"""The one settings object, read at start-up from ``REELCHAT_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "reelchat"


class Settings(BaseSettings):
    """Process-wide settings. Build one with ``Settings()`` at start-up; never at import time."""

    model_config = SettingsConfigDict(env_prefix="REELCHAT_", extra="ignore")

    data_dir: Path | None = Field(
        default=None, description="Folder holding ml-latest-small/ (and optionally redial-ievalm/)."
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Downloads, index, models.")
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server.")
    llm: str = Field(
        default="smollm2", description="none | smollm2 | hf:ID | openai:MODEL@URL | ollama:MODEL"
    )
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in the cache dir.")
    device: str = Field(default="auto", description="auto | cpu | cuda | cuda:N")
    agent_mode: Literal["plan", "llm"] = "plan"
    prior: Literal["all", "tune", "report", "none"] = Field(
        default="all",
        description="conversational prior from ReDial dialogues in the data folder: all, one half, none",
    )
    llm_timeout_s: float = 20.0

    @property
    def index_dir(self) -> Path:
        return self.cache_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def settings_from_args(args: Any) -> Settings:
    """Settings from the environment, with the CLI's ``--data-dir`` / ``--cache-dir`` taking precedence."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "cache_dir", None):
        overrides["cache_dir"] = Path(args.cache_dir)
    return Settings(**overrides)
