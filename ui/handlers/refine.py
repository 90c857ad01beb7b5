"""Refining a conversation outside the chat: card feedback, removing a chip, adding or removing viewers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ui.handlers.base import TabHandlers, refresh_chips, signed_out_note, tab_of
from ui.members import add_viewer, remove_viewer
from ui.sessions import TabState


class RefineHandlers(TabHandlers):
    """Handler factories for the card buttons, the chips and the viewers panel (one handler per slot)."""

    def feedback(self, slot: int, signal: str) -> Callable[[TabState | None], list[Any]]:
        """The handler of card ``slot``'s ``signal`` button ("liked", "disliked" or "seen")."""

        def handle(tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = self.loader.agent
            signed_out = signed_out_note(t, agent)
            if signed_out:  # the tab was signed out elsewhere: store nothing under that account
                t.note = signed_out
            elif agent is not None and t.session is not None and slot < len(t.recs):
                rec = t.recs[slot]
                t.note = t.session.feedback(rec.movie_id, signal)
                t.marks[rec.movie_id] = signal
                refresh_chips(t, agent)
            return [t, *self.values(t)]

        return handle

    def chip(self, slot: int) -> Callable[[TabState | None], list[Any]]:
        """The handler of chip ``slot``: drops that constraint from the session."""

        def handle(tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = self.loader.agent
            if agent is not None and t.session is not None and slot < len(t.chips):
                chip = t.chips[slot]
                t.session.remove_constraint(chip.kind, chip.value)
                refresh_chips(t, agent)
                t.note = f"Removed {chip.label}. Your next message works without it."
            return [t, *self.values(t)]

        return handle

    def viewer(self, remove: bool) -> Callable[[str, str, str, TabState | None], list[Any]]:
        """The handler of "Add / update viewer" (``remove`` False) or "Remove viewer" (True)."""

        def handle(name: str, likes: str, dislikes: str, tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = self.loader.agent
            if agent is None:
                t.note = "The recommender is still loading."
            else:
                session = t.ensure_session(agent)
                if remove:
                    t.note = remove_viewer(session, name)
                else:
                    t.note = add_viewer(session, name, likes, dislikes)
                refresh_chips(t, agent)
            return [t, *self.values(t)]

        return handle
