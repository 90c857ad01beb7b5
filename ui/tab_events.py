"""Wiring a tab's events: as they are (the tab lives in ``gr.State``), or through the database.

With the in-memory session store, :meth:`TabEvents.on` wires a handler unchanged. With the database
store (:mod:`ui.stored_tabs`) it wraps the handler: the event also sends the tab's conversation id and
the browser's remembered sign-in; the wrapper rebuilds the tab from the database, runs the handler on
it, saves the result and sends back the conversation id (and the remembered sign-in, which a handler
may have cleared). Nothing of the tab stays in the replica's memory. A conversation the tab may not
continue (a forged id) is refused with a one-line note, and nothing is changed or stored.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from agent.store import StoreError
from ui.cards import note_html
from ui.identity import remembered, remembered_token
from ui.sessions import AgentLoader, SessionNotYours
from ui.stored_tabs import LoadedTab, StoredTabs
from ui.views import PageViews, labels_of

if TYPE_CHECKING:
    from agent.app import RecommenderAgent

log = logging.getLogger(__name__)

#: Every page event stays off the public API; only /sign_in, /sign_out, /chat and /feedback are published.
PRIVATE: dict[str, Any] = {"api_visibility": "private"}
Handler = Callable[..., Any]


@dataclass(frozen=True)
class Layout:
    """Where a wrapped event finds the tab among its inputs, and the note, views and tab among its outputs."""

    tab_in: int
    tab_out: int
    views_at: int
    n_out: int
    add_remembered: bool  # the handler does not write the browser's remembered sign-in itself
    takes_request: bool
    signed_in: bool


class TabEvents:
    """Wires per-tab events; ``stored`` (None: in-memory tabs) keeps every tab in the database."""

    def __init__(
        self,
        loader: AgentLoader,
        views: PageViews,
        tab: gr.State,
        conversation: gr.Textbox,
        remembered_state: gr.BrowserState,
        stored: StoredTabs | None = None,
    ) -> None:
        self.loader = loader
        self.views = views
        self.tab = tab
        self.conversation = conversation
        self.remembered = remembered_state
        self.stored = stored

    def on(
        self, trigger: Any, fn: Handler, inputs: list[Any], outputs: list[Any], *, signed_in: bool = True
    ) -> None:
        """``trigger(fn, inputs, outputs)``, through the database when tabs are stored there.

        ``signed_in=False``: the handler signs the tab in itself (page load), so the remembered token is
        not applied to the tab beforehand.
        """
        if self.stored is None:
            trigger(fn, inputs, outputs, **PRIVATE)
            return
        add = self.remembered not in outputs
        layout = Layout(
            tab_in=inputs.index(self.tab),
            tab_out=outputs.index(self.tab),
            views_at=outputs.index(self.views.chatbot),
            n_out=len(outputs),
            add_remembered=add,
            takes_request="request" in inspect.signature(fn).parameters,
            signed_in=signed_in,
        )
        extra_out = [self.conversation, *([self.remembered] if add else [])]
        inputs = [*inputs, self.conversation, self.remembered]
        generator = inspect.isgeneratorfunction(fn)
        wrapped = self._generator(fn, layout) if generator else self._function(fn, layout)
        trigger(wrapped, inputs, [*outputs, *extra_out], **PRIVATE)

    # -- one event ------------------------------------------------------------------------------------
    def _load(self, layout: Layout, values: tuple[Any, ...]) -> tuple[LoadedTab, list[Any]]:
        """The tab rebuilt from the database, and the handler's arguments with it in place of ``gr.State``."""
        assert self.stored is not None and self.loader.agent is not None
        *args, conv_id, stored_value = values
        loaded = self.stored.load(
            self.loader.agent,
            conv_id if isinstance(conv_id, str) else "",
            remembered_token(stored_value),
            signed_in=layout.signed_in,
        )
        args[layout.tab_in] = loaded.tab
        return loaded, args

    def _refused(self, layout: Layout, message: str) -> list[Any]:
        """Every output unchanged but the note, which says why."""
        out: list[Any] = [gr.skip()] * layout.n_out
        out[layout.views_at + self.views.outputs.index(self.views.note)] = note_html(message)
        return [*out, *self._unchanged(layout)]

    def _unchanged(self, layout: Layout) -> list[Any]:
        return [gr.skip()] * (2 if layout.add_remembered else 1)

    def _passed(self, layout: Layout, result: Any) -> list[Any]:
        """A handler's outputs on their way out: the replica keeps no tab state."""
        out = list(result)
        out[layout.tab_out] = None
        return [*out, *self._unchanged(layout)]

    def _saved(self, agent: RecommenderAgent, layout: Layout, loaded: LoadedTab, result: Any) -> list[Any]:
        """Save the tab; its last outputs with the views redrawn, the conversation id and the sign-in."""
        assert self.stored is not None
        t = loaded.tab
        conv: Any = gr.skip()
        try:
            conv = self.stored.save(agent, loaded)
        except StoreError as err:  # a conflict with another replica, or the database is down
            t.note = str(err)  # one line
        else:
            t.note = t.note or loaded.notice
        out = list(result)
        out[layout.tab_out] = None
        views = self.views.values(t, labels_of(agent))
        out[layout.views_at : layout.views_at + len(views)] = views
        return [*out, conv, *([remembered(t.token)] if layout.add_remembered else [])]

    def _function(self, fn: Handler, layout: Layout) -> Handler:
        def handle(request: gr.Request, *values: Any) -> list[Any]:
            agent = self.loader.agent
            kwargs = {"request": request} if layout.takes_request else {}
            if agent is None:  # still loading: the handlers say so and touch no conversation
                return self._passed(layout, fn(*values[:-2], **kwargs))
            try:
                loaded, args = self._load(layout, values)
            except (SessionNotYours, StoreError) as err:
                return self._refused(layout, str(err))
            return self._saved(agent, layout, loaded, fn(*args, **kwargs))

        return handle

    def _generator(self, fn: Handler, layout: Layout) -> Handler:
        def handle(request: gr.Request, *values: Any) -> Iterator[list[Any]]:
            agent = self.loader.agent
            kwargs = {"request": request} if layout.takes_request else {}
            if agent is None:
                for result in fn(*values[:-2], **kwargs):
                    yield self._passed(layout, result)
                return
            try:
                loaded, args = self._load(layout, values)
            except (SessionNotYours, StoreError) as err:
                yield self._refused(layout, str(err))
                return
            last = None
            for result in fn(*args, **kwargs):  # one behind: the last outputs go out once saved
                if last is not None:
                    yield self._passed(layout, last)
                last = result
            if last is not None:
                yield self._saved(agent, layout, loaded, last)

        return handle
