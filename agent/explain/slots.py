"""Slot explanations: the LLM fills a few slots, constrained to the pick's evidence, then we phrase them.

For each pick a JSON schema lists, as enums, only what the evidence holds: which reason to lead with
(co-liking users, the liked movie's genres, the director, a tag, the rating), one mood word that fits
the pick's genres, and one of its tags. llama.cpp turns the schema into a grammar, so the model cannot
write anything else; an OpenAI-compatible server gets it as ``response_format``. The chosen slots are
then phrased by sentence patterns spoken to "you" (:func:`phrase`). A reply that is not valid JSON or
picks a value outside the schema falls back to the template sentence, like any rejected LLM text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.explain import grounding
from agent.explain.explainer import Evidence, Explanation, LLMExplainer, facts, for_member, voice
from agent.explain.templates import genre_phrase, genre_words
from agent.records import counted

# mood words by genre: a mood is offered only when the pick has the genre
MOODS: dict[str, tuple[str, ...]] = {
    "Action": ("exciting", "fast-paced"), "Adventure": ("thrilling",), "Animation": ("charming",),
    "Children": ("playful",), "Comedy": ("funny", "light-hearted"), "Crime": ("gritty",),
    "Documentary": ("eye-opening",), "Drama": ("moving", "thoughtful"), "Fantasy": ("magical",),
    "Film-Noir": ("shadowy",), "Horror": ("creepy",), "Musical": ("tuneful",), "Mystery": ("intriguing",),
    "Romance": ("warm", "romantic"), "Sci-Fi": ("imaginative",), "Thriller": ("tense", "gripping"),
    "War": ("harrowing",), "Western": ("rugged",),
}  # fmt: skip
NONE = "none"
_SYSTEM = (
    "You choose what to tell one person about a movie. Read the facts, then answer with JSON only: "
    "the reason that best shows why they may enjoy it, one mood word for the movie, and one tag."
)


def reasons(ev: Evidence) -> list[str]:
    """The reasons the evidence can back, in the order a template would use them."""
    m = ev.pick
    out = []
    if ev.related_liked and ev.co_liked_count:
        out.append("liked_by_fans")
    if ev.related_liked and ev.matched_genres:
        out.append("same_genres")
    if m.directors:
        out.append("director")
    if _tags(ev):
        out.append("tag")
    if m.rating_mean is not None and m.rating_count >= 10:
        out.append("rating")
    return out or ["genre"]


def _tags(ev: Evidence) -> list[str]:
    return [t for t in (ev.reason_tags or ev.pick.tags[:3]) if ev.constraints.admits_tag(t)][:3]


def moods(ev: Evidence) -> list[str]:
    """Mood words the pick's genres allow."""
    return [w for g in ev.pick.genres for w in MOODS.get(g, ())] or ["good"]


def schema(ev: Evidence) -> dict[str, Any]:
    """The JSON schema for ``ev``: every value is an enum drawn from its evidence."""
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "enum": reasons(ev)},
            "mood": {"type": "string", "enum": moods(ev)},
            "tag": {"type": "string", "enum": [*_tags(ev), NONE]},
        },
        "required": ["reason", "mood", "tag"],
    }


def parse(text: str, ev: Evidence) -> dict[str, str] | None:
    """The slots in ``text`` when it is a JSON object whose values all lie in :func:`schema`'s enums."""
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if start >= 0 < end else None
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    props = schema(ev)["properties"]
    slots = {k: str(data.get(k, "")) for k in props}
    return slots if all(slots[k] in props[k]["enum"] for k in props) else None


def _an(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def phrase(slots: dict[str, str], ev: Evidence, index: int = 0) -> str:
    """Two sentences to "you" (or about "them", another viewer of a group) from the chosen slots, with
    the facts behind them."""
    m, mood, v = ev.pick, slots["mood"], voice(ev)
    kind = genre_phrase(m.genres).split(" ", 1)[1]
    liked = ev.related_liked[0].title if ev.related_liked else ""
    tag = slots["tag"] if slots["tag"] != NONE else ""
    director = m.directors[0] if m.directors else ""
    shared = genre_words(ev.matched_genres)
    first_tag = tag or (_tags(ev) or [""])[0]
    lead = {
        "liked_by_fans": f"Since {v.subject} liked {liked}, try {m.label}: "
        f"{counted(ev.co_liked_count or 0, 'MovieLens user')} who loved {liked} loved it too.",
        "same_genres": f"{v.subject_cap} liked {liked}, and {m.label} has the same {shared} side.",
        "director": f"{v.subject_cap} may enjoy {m.label}, {_an(mood)} {kind} directed by {director}.",
        "tag": f"{v.subject_cap} may enjoy {m.label}, {_an(mood)} {kind} that people tag '{first_tag}'.",
        "rating": f"{v.subject_cap} are in good company with {m.label}: MovieLens users rate it "
        f"{m.rating_mean or 0:.1f} out of 5.",
        "genre": f"{v.subject_cap} could try {m.label}, {_an(mood)} {kind}.",
    }[slots["reason"]]
    if slots["reason"] in ("director", "tag", "genre"):
        rest = f" People tag it '{tag}'." if tag and slots["reason"] != "tag" else ""
    else:
        rest = [
            f" Expect {_an(mood)} {kind}" + (f", tagged '{tag}'." if tag else "."),
            f" It is {_an(mood)} {kind}" + (f" that people call '{tag}'." if tag else "."),
        ][(index + m.movie_id) % 2]
    return (lead + rest).replace(" ,", ",")


class SlotsExplainer(LLMExplainer):
    """:class:`LLMExplainer` whose model fills schema-constrained slots; we phrase them."""

    def messages(self, ev: Evidence) -> list[BaseMessage]:
        body = "\n".join(f"- {f}" for f in facts(ev))
        ask = f"Facts:\n{body}\n\nJSON schema: {json.dumps(schema(ev)['properties'])}"
        return [SystemMessage(_SYSTEM), HumanMessage(ask)]

    def call_kwargs(self, ev: Evidence) -> dict[str, Any]:
        """The slots' JSON schema, as llama.cpp's and OpenAI's ``response_format``."""
        return {"response_format": {"type": "json_object", "schema": schema(ev)}}

    def _finish(self, ev: Evidence, index: int, result: Any) -> Explanation:
        if isinstance(result, BaseException):
            return super()._finish(ev, index, result)
        raw = result if isinstance(result, str) else str(getattr(result, "text", result))
        slots = parse(raw, ev)
        if slots is None:
            return Explanation(self.fallback.explain_one(ev, index), "template", "malformed slots")
        text = phrase(slots, ev, index)
        verdict = grounding.check(text, ev.pick, ev.related_liked, self.catalogue, ev.constraints)
        if not verdict.ok:
            return Explanation(self.fallback.explain_one(ev, index), "template", verdict.reason)
        return Explanation(for_member(ev, verdict.text), "llm")


def slot_values(items: Sequence[Evidence]) -> list[dict[str, Any]]:
    """Each item's schema properties (for reports and tests)."""
    return [schema(ev)["properties"] for ev in items]


__all__ = ["MOODS", "SlotsExplainer", "moods", "parse", "phrase", "reasons", "schema", "slot_values"]
