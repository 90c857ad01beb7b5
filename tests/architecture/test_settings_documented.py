"""Every setting is documented in the README's table, and every documented setting is read by the code."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from agent.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "retrieval", "ranking", "ui")


def _env_names(model: type[BaseModel], prefix: str = "REELCHAT_") -> dict[str, tuple[str, ...]]:
    """Environment variable -> field path, nested models flattened with ``__``."""
    out: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for env, path in _env_names(ann, f"{prefix}{name.upper()}__").items():
                out[env] = (name, *path)
        else:
            out[f"{prefix}{name.upper()}"] = (name,)
    return out


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(REELCHAT_[A-Z0-9_]+)` \|", section, flags=re.M))


def _code() -> str:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if p.name != "settings.py"]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_setting_is_documented_and_every_documented_one_exists() -> None:
    fields = set(_env_names(Settings))
    documented = _documented()
    assert documented, "the README has no settings table"
    assert fields - documented == set(), "settings missing from the README's table"
    assert documented - fields == set(), "the README documents settings that do not exist"


def test_every_setting_is_read_by_the_code() -> None:
    code = _code()
    unread = []
    for env, path in _env_names(Settings).items():
        leaf = path[-1]
        # read as an attribute (settings.llm, limits.max_picks) or through a property of Settings
        if not re.search(rf"\.{leaf}\b", code) and leaf != "turn_slack_s":  # read by Settings.turn_timeout_s
            unread.append(env)
    assert unread == [], f"settings nothing reads: {unread}"


def test_turn_timeout_is_derived_from_the_llm_timeout() -> None:
    s = Settings(llm_timeout_s=5)
    assert s.turn_timeout_s == 5 + s.limits.turn_slack_s
    assert Settings(limits={"turn_timeout_s": 12}).turn_timeout_s == 12


def test_nested_settings_come_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REELCHAT_LIMITS__MAX_PICKS", "7")
    monkeypatch.setenv("REELCHAT_PIPELINE__N_RETRIEVE", "33")
    s = Settings()
    assert (s.limits.max_picks, s.pipeline.n_retrieve) == (7, 33)
