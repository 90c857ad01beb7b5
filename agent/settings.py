"""The one settings object, read at start-up from ``REELCHAT_*`` environment variables.

Nested models read double-underscore variables: ``REELCHAT_LIMITS__MESSAGE_CHARS=2000``,
``REELCHAT_PIPELINE__N_RETRIEVE=300``. The README's settings table lists every field; a test keeps the two
in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "reelchat"


class Limits(BaseModel):
    """Request limits: what one message, one turn and one server may take."""

    message_chars: int = Field(default=4000, ge=1, description="longer messages are cut, with a notice")
    max_picks: int = Field(default=20, ge=1, description="most picks one reply shows")
    rate_per_minute: float = Field(default=60.0, gt=0, description="messages a session may send a minute")
    rate_burst: int = Field(default=20, ge=1, description="messages a session may send at once")
    turn_timeout_s: float | None = Field(
        default=None, gt=0, description="a turn's time limit; default: LLM timeout + turn_slack_s"
    )
    turn_slack_s: float = Field(default=70.0, ge=0, description="a turn's time beyond the LLM timeout")
    ui_concurrency: int = Field(default=4, ge=1, description="turns the web UI serves at once")
    ui_queue_size: int = Field(default=64, ge=1, description="turns waiting in the web UI's queue")
    api_sessions: int = Field(default=512, ge=1, description="API conversations kept in memory (LRU)")
    conversation_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="stored conversations idle this long expire"
    )
    sign_in_failures: int = Field(
        default=5, ge=1, description="failed sign-ins per account and client address a minute, then backoff"
    )
    sign_in_failures_per_address: int = Field(
        default=20, ge=1, description="failed sign-ins per client address a minute, over all accounts"
    )
    sign_in_failures_per_account: int = Field(
        default=20, ge=1, description="failed sign-ins per account a minute, over all addresses"
    )
    sign_in_backoff_max_s: float = Field(default=900.0, gt=0, description="longest sign-in lock-out")
    token_max_age_s: float = Field(default=7 * 24 * 3600.0, gt=0, description="how long a sign-in lasts")


DEFAULT_LIMITS = Limits()


class PipelineConfig(BaseModel):
    """Candidate pool sizes and ranking knobs of :class:`agent.pipeline.pipeline.Pipeline`."""

    n_retrieve: int = Field(default=200, ge=1, description="candidates from the vector store")
    n_cf: int = Field(default=1000, ge=0, description="candidates from the CF model (when movies are liked)")
    n_prior: int = Field(default=1000, ge=0, description="most recommended movies of the ReDial prior")
    n_related: int = Field(default=300, ge=0, description="movies named together with this conversation's")
    words_match: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="a turn with words but no movie or genre: the prior's movies join only when their "
        "cosine to the words is at least this share of the index's best (0: always)",
    )
    n_dialogue: int = Field(default=100, ge=0, description="nearest movies of the dialogue retriever")
    text_weight: float = Field(default=1.0, description="the words against the liked-movies centroid")
    diversity: float = Field(default=0.1, ge=0, le=1, description="base MMR trade-off")
    genre_boost: float = Field(default=0.5, description="without a prior: lift for liked genres (z units)")


class Settings(BaseSettings):
    """Process-wide settings. Build one with ``Settings()`` at start-up; never at import time."""

    model_config = SettingsConfigDict(env_prefix="REELCHAT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path | None = Field(
        default=None, description="Folder holding ml-latest-small/ (and optionally redial-ievalm/)."
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Downloads, index, models.")
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server.")
    llm: str = Field(
        default="smollm2", description="none | smollm2 | hf:ID | openai:MODEL@URL | ollama:MODEL"
    )
    llm_timeout_s: float = Field(default=20.0, gt=0, description="time for one reply's explanations")
    # -- the LLM's roles (issue 15) --
    explainer: Literal["templates", "llm", "llm-few-shot", "llm-slots"] = Field(
        default="templates",
        description="who writes explanations: templates (no LLM loaded) or the LLM plain/few-shot/slots",
    )
    agent_mode: Literal["deterministic", "llm"] = Field(
        default="deterministic",
        description="llm: a tool-calling LLM (openai:/ollama:) plans turns; deterministic plan as fallback",
    )
    replay_cues: bool = Field(
        default=False,
        description="replayed transcripts: a title named with no stated liking that the cue model doubts "
        "counts as disliked, not liked",
    )
    understanding: Literal["rules", "rules+llm"] = Field(
        default="rules",
        description="rules+llm: the LLM also reads each message as JSON; validated, the rules win conflicts",
    )
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in the cache dir.")
    secret_key: SecretStr | None = Field(
        default=None, description="signs sign-in tokens; default: a random key in <cache dir>/secret_key"
    )
    session_store: Literal["memory", "database"] = Field(
        default="memory", description="API conversations: in this process, or in db_url for every replica"
    )
    replica_id: str = Field(default="", description="this server's id in replies; default host:port")
    device: str = Field(default="auto", description="auto | cpu | cuda | cuda:N")
    prior: Literal["all", "tune", "report", "none"] = Field(
        default="all",
        description="conversational prior from ReDial dialogues in the data folder: all, one half, none",
    )
    limits: Limits = Field(default_factory=Limits)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)

    @property
    def turn_timeout_s(self) -> float:
        """A turn's time limit: explicit, else the LLM timeout plus the rest of a turn under load."""
        return float(self.limits.turn_timeout_s or self.llm_timeout_s + self.limits.turn_slack_s)

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
