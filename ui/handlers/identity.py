"""The account panel: sign up, sign in, sign out, change password, download my data, delete my account,
and signing in again with the token the browser kept."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui import identity
from ui.cards import esc
from ui.handlers.api import client_address
from ui.handlers.base import TabHandlers, refresh_chips, tab_of
from ui.sessions import TabState


def who_html(t: TabState) -> str:
    """The panel's line saying who the tab is."""
    if t.user_id:
        return f'<div class="rc-who" data-user="{esc(t.user_id)}">Signed in as <b>{esc(t.user_id)}</b></div>'
    return '<div class="rc-who" data-user="">Not signed in: nothing is stored.</div>'


class IdentityHandlers(TabHandlers):
    """Handlers of the account panel.

    Most return the tab state, the who-line, the cleared password boxes, the views and the browser's
    stored token, in that order (:meth:`_after`).
    """

    def _after(self, t: TabState, note: str) -> list[Any]:
        agent = self.loader.agent
        if agent is not None:
            refresh_chips(t, agent)
        t.note = note
        return [t, who_html(t), "", "", *self.values(t), identity.remembered(t.token)]

    def sign_in(self, name: str, password: str, tab: TabState | None, request: gr.Request) -> list[Any]:
        """Sign in with a name and password (throttled per account and address)."""
        t = tab_of(tab)
        note = identity.sign_in(t, self.loader.agent, name, password, client_address(request), new=False)
        return self._after(t, note)

    def sign_up(self, name: str, password: str, tab: TabState | None, request: gr.Request) -> list[Any]:
        """Create an account and sign in to it."""
        t = tab_of(tab)
        note = identity.sign_in(t, self.loader.agent, name, password, client_address(request), new=True)
        return self._after(t, note)

    def sign_out(self, tab: TabState | None) -> list[Any]:
        """Sign out everywhere; the tab becomes anonymous."""
        t = tab_of(tab)
        return self._after(t, identity.sign_out(t, self.loader.agent))

    def change_password(self, old: str, new: str, tab: TabState | None) -> list[Any]:
        """Change the password (the current one in the password box, the new one in its own box)."""
        t = tab_of(tab)
        return self._after(t, identity.change_password(t, self.loader.agent, old, new))

    def delete_account(self, tab: TabState | None) -> list[Any]:
        """Delete the account and all its data, then sign out."""
        t = tab_of(tab)
        return self._after(t, identity.delete_account(t, self.loader.agent))

    def download(self, tab: TabState | None) -> list[Any]:
        """Export the signed-in user's data as a JSON file (tab, who-line, views, file)."""
        t = tab_of(tab)
        note, path = identity.export_data(t, self.loader.agent)
        t.note = note
        return [t, who_html(t), *self.values(t), gr.File(value=path, visible=path is not None)]

    def restore_remembered(self, stored: object, tab: TabState | None) -> list[Any]:
        """On page load: sign in with the token the browser kept, when it is still valid."""
        t = tab_of(tab)
        note = identity.restore(t, self.loader.agent, identity.remembered_token(stored))
        if note:
            agent = self.loader.agent
            if agent is not None:
                refresh_chips(t, agent)
            t.note = note
        return [t, who_html(t), *self.values(t)]
