"""The components every tab handler refreshes, and how one :class:`TabState` maps onto their values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from ui.cards import card_html, note_html, reply_details, turn_marker
from ui.members import members_html, session_members
from ui.panels import Chip, chip_classes, understood_html
from ui.sessions import TabState

if TYPE_CHECKING:
    from agent.app import RecommenderAgent

MAX_CARDS = 10
MAX_CHIPS = 16


def labels_of(agent: RecommenderAgent | None) -> Callable[[int], str]:
    """A movie id → display label function over ``agent``'s catalogue (``movie <id>`` when unknown)."""

    def label(mid: int) -> str:
        movie = agent.catalogue.find(mid) if agent is not None else None
        return movie.label if movie is not None else f"movie {mid}"

    return label


def _chip_button(chip: Chip | None) -> gr.Button:
    return gr.Button(
        value=chip.button_label if chip else "",
        visible=chip is not None,
        elem_classes=chip_classes(chip),
    )


@dataclass(frozen=True)
class PageViews:
    """The page's per-tab views; built once by the layout and shared read-only by all tabs."""

    chatbot: gr.Chatbot
    note: gr.HTML
    understood: gr.HTML
    details: gr.JSON
    empty: gr.HTML
    marker: gr.HTML
    slots: list[gr.Column]
    cards: list[gr.HTML]
    chips: list[gr.Button]
    members: gr.HTML

    @property
    def outputs(self) -> list[Any]:
        """The components in the order :meth:`values` fills them."""
        return [
            self.chatbot,
            self.note,
            self.understood,
            self.details,
            self.empty,
            self.marker,
            *self.slots,
            *self.cards,
            *self.chips,
            self.members,
        ]

    def values(self, t: TabState, label_of: Callable[[int], str]) -> list[Any]:
        """What :attr:`outputs` show for tab ``t``; ``label_of`` names the movies in the members panel."""
        recs = t.recs[:MAX_CARDS]
        slots = [gr.Column(visible=i < len(recs)) for i in range(MAX_CARDS)]
        cards = [
            card_html(recs[i], i + 1, t.marks.get(recs[i].movie_id)) if i < len(recs) else ""
            for i in range(MAX_CARDS)
        ]
        chips = [_chip_button(t.chips[i] if i < len(t.chips) else None) for i in range(MAX_CHIPS)]
        return [
            list(t.history),
            note_html(t.note),
            understood_html(t.chips, MAX_CHIPS),
            reply_details(t.reply),
            gr.HTML(visible=not recs),
            turn_marker(t.turns, t.busy),
            *slots,
            *cards,
            *chips,
            members_html(session_members(t.session), label_of),
        ]
