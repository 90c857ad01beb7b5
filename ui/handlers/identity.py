"""The optional-name panel: "Remember me", "Forget me" and restoring the name the browser remembered."""

from __future__ import annotations

from typing import Any

from ui.handlers.base import TabHandlers, refresh_chips, tab_of
from ui.identity import forget_identity, remembered, remembered_user, use_identity
from ui.sessions import TabState


class IdentityHandlers(TabHandlers):
    """Handlers of the name panel; outputs are the tab state, the name box and the views (then storage)."""

    def _after_identity(self, t: TabState, note: str) -> list[Any]:
        agent = self.loader.agent
        if agent is not None:
            refresh_chips(t, agent)
        t.note = note
        return [t, t.user_id or "", *self.values(t)]

    def remember_me(self, name: str, tab: TabState | None) -> list[Any]:
        """Switch the tab to ``name`` (restoring its likes) and have the browser remember it."""
        t = tab_of(tab)
        note = use_identity(t, self.loader.agent, name)
        return [*self._after_identity(t, note), remembered(t.user_id)]

    def restore_remembered(self, stored: object, tab: TabState | None) -> list[Any]:
        """On page load: use the name the browser remembered, unless the tab already has one."""
        t = tab_of(tab)
        user_id = remembered_user(stored)
        if not user_id or t.user_id:
            return [t, t.user_id or "", *self.values(t)]
        return self._after_identity(t, use_identity(t, self.loader.agent, user_id))

    def forget_me(self, tab: TabState | None) -> list[Any]:
        """Delete what is stored about the tab's user, make the tab anonymous and clear the browser's name."""
        t = tab_of(tab)
        note = forget_identity(t, self.loader.agent)
        return [*self._after_identity(t, note), remembered(t.user_id)]
