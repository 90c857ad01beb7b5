"""Which explainer writes the explanations (``REELCHAT_EXPLAINER``), and building it by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

from agent.explain.explainer import Explainer, LLMExplainer, TemplateExplainer

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from retrieval.catalogue import Catalogue

ExplainerName = Literal["templates", "llm", "llm-few-shot", "llm-slots"]
EXPLAINER_NAMES: tuple[str, ...] = get_args(ExplainerName)


def needs_llm(name: str) -> bool:
    """Whether the explainer ``name`` needs a chat model (every one but the templates)."""
    return name != "templates"


def build_explainer(
    name: str, chat_model: BaseChatModel | None, catalogue: Catalogue, timeout_s: float = 20.0
) -> Explainer:
    """The explainer called ``name`` over ``chat_model``; the templates when it is ``None``."""
    if name not in EXPLAINER_NAMES:
        raise ValueError(f"unknown explainer {name!r}; use one of {', '.join(EXPLAINER_NAMES)}")
    if name == "templates" or chat_model is None:
        return TemplateExplainer()
    if name == "llm-slots":
        from agent.explain.slots import SlotsExplainer

        return SlotsExplainer(chat_model, catalogue, timeout_s=timeout_s)
    prompt: Literal["plain", "few-shot"] = "few-shot" if name == "llm-few-shot" else "plain"
    return LLMExplainer(chat_model, catalogue, timeout_s=timeout_s, prompt=prompt)


__all__ = ["EXPLAINER_NAMES", "ExplainerName", "build_explainer", "needs_llm"]
