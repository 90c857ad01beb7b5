"""What every per-tab handler shares: the agent loader, the page views and the tab-state helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui.panels import chips_from_query
from ui.sessions import AgentLoader, TabState
from ui.views import PageViews, labels_of

if TYPE_CHECKING:
    from agent.app import RecommenderAgent


def tab_of(tab: TabState | None) -> TabState:
    """The tab's state; a fresh one on the tab's first event (``gr.State`` starts as ``None``)."""
    return tab if isinstance(tab, TabState) else TabState()


def refresh_chips(t: TabState, agent: RecommenderAgent) -> None:
    """Rebuild the tab's chips from its session's current query (after feedback or edits)."""
    if t.session is not None:
        t.chips = chips_from_query(t.session.state.query(), labels_of(agent))


def signed_out_note(t: TabState, agent: RecommenderAgent | None) -> str:
    """Re-check a signed-in tab's token before it touches stored data; if it no longer works (signed
    out or password changed elsewhere, expired, account deleted), the tab becomes anonymous and the
    returned line says why. ``""`` when nothing changed."""
    if not t.token or agent is None:
        return ""
    from agent.store import AuthError
    from ui.identity import current_user

    try:
        current_user(t, agent)
    except AuthError as err:
        return f"{err} This conversation is anonymous now."
    return ""


class TabHandlers:
    """Base of the per-tab handler groups; holds app-wide objects only, never a tab's state."""

    def __init__(self, loader: AgentLoader, views: PageViews) -> None:
        self.loader = loader
        self.views = views

    def values(self, t: TabState) -> list[Any]:
        """Every view's value for tab ``t`` (see :meth:`PageViews.values`)."""
        return self.views.values(t, labels_of(self.loader.agent))
