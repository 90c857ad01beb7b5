"""The "What I understood" panel: the session's constraints as removable chips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.records import Query
from ui.cards import esc

#: Chip kinds in display order; each is a ``Session.remove_constraint`` kind.
CHIP_KINDS: tuple[str, ...] = (
    "liked",
    "disliked",
    "seen",
    "genre_required",
    "genre_excluded",
    "genre_liked",
    "year_min",
    "year_max",
    "text",
)


@dataclass(frozen=True, slots=True)
class Chip:
    """One removable constraint: ``kind`` and ``value`` go back to ``Session.remove_constraint``."""

    kind: str
    value: str | int | None
    label: str

    @property
    def button_label(self) -> str:
        """Button text (rendered as text by Gradio, never as HTML)."""
        return f"{self.label}  ✕"


def chips_from_query(query: Query, label_of: Callable[[int], str]) -> list[Chip]:
    """Chips for every constraint in ``query``; ``label_of`` turns a movie id into its display label."""
    chips = [Chip("liked", mid, f"Liked: {label_of(mid)}") for mid in query.liked]
    chips += [Chip("disliked", mid, f"Disliked: {label_of(mid)}") for mid in query.disliked]
    chips += [Chip("seen", mid, f"Seen: {label_of(mid)}") for mid in query.seen]
    chips += [Chip("genre_required", g, f"Only {g}") for g in query.genres_required]
    chips += [Chip("genre_excluded", g, f"No {g}") for g in query.genres_excluded]
    chips += [Chip("genre_liked", g, f"Likes {g}") for g in query.genres_liked]
    if query.year_min is not None:
        chips.append(Chip("year_min", query.year_min, f"From {query.year_min}"))
    if query.year_max is not None:
        chips.append(Chip("year_max", query.year_max, f"Until {query.year_max}"))
    if query.text.strip():
        text = query.text.strip()
        chips.append(Chip("text", None, f"Mood: “{text[:40]}{'…' if len(text) > 40 else ''}”"))
    return chips


def understood_html(chips: list[Chip], shown: int) -> str:
    """Heading text of the panel: a hint when empty, a count when chips overflow the fixed slots."""
    title = '<div class="rc-section-title">What I understood</div>'
    if not chips:
        return (
            f'{title}<div class="rc-understood rc-muted">Nothing yet. Tell me movies you like, genres, '
            "years or a mood; what I understand shows up here as chips you can remove.</div>"
        )
    extra = len(chips) - shown
    more = f" ({esc(extra)} more not shown)" if extra > 0 else ""
    return (
        f'{title}<div class="rc-understood rc-muted">Click a chip to drop it from the next reply{more}.</div>'
    )


def chip_classes(chip: Chip | None) -> list[str]:
    """CSS classes of a chip button, coloured by kind."""
    if chip is None:
        return ["rc-chip"]
    tone = {
        "liked": "good",
        "genre_required": "good",
        "genre_liked": "good",
        "disliked": "bad",
        "genre_excluded": "bad",
    }
    return ["rc-chip", f"rc-chip-{tone.get(chip.kind, 'neutral')}"]
