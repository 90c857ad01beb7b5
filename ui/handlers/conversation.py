"""Chat turns: a message streams into the chat and the cards; examples send a canned message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from ui.cards import chat_text
from ui.handlers.base import TabHandlers, refresh_chips, signed_out_note, tab_of
from ui.panels import chips_from_query
from ui.sessions import AgentLoader, TabState, one_line
from ui.views import PageViews, labels_of

if TYPE_CHECKING:
    from agent.app import RecommenderAgent

log = logging.getLogger(__name__)


class ConversationHandlers(TabHandlers):
    """Handlers of the message box, the example buttons and "New conversation".

    ``new_ids``: "New conversation" always starts a session with a new id (the stored tabs of
    :mod:`ui.stored_tabs`); otherwise an anonymous tab resets its session in place.
    """

    def __init__(self, loader: AgentLoader, views: PageViews, *, new_ids: bool = False) -> None:
        super().__init__(loader, views)
        self.new_ids = new_ids

    def respond(self, message: str, tab: TabState | None) -> Iterator[list[Any]]:
        """Run one turn; yields the cleared message box, the tab state and the views as the reply streams."""
        t = tab_of(tab)
        message = message if isinstance(message, str) else ""
        if not message.strip():
            yield [gr.Textbox(), t, *self.values(t)]
            return
        t.note = signed_out_note(t, self.loader.agent)
        t.turn_failed = False
        t.history.append({"role": "user", "content": chat_text(message)})
        t.history.append({"role": "assistant", "content": "…"})
        agent = self.loader.agent
        if agent is None:
            kind, status = self.loader.status()
            wait = "I'm still getting ready. " if kind == "loading" else ""
            t.history[-1]["content"] = chat_text(wait + status)
        else:
            t.busy, t.recs = True, []
            yield ["", t, *self.values(t)]
            yield from self._stream(t, agent, message)
        t.busy = False
        t.turns += 1
        yield ["", t, *self.values(t)]

    def _stream(self, t: TabState, agent: RecommenderAgent, message: str) -> Iterator[list[Any]]:
        """Apply the reply's chunks to ``t``, yielding the outputs after each chunk but the last."""
        text = ""
        try:
            for chunk in t.ensure_session(agent).stream(message):
                text += chunk.text
                if chunk.recommendation is not None:
                    t.recs.append(chunk.recommendation)
                if chunk.done and chunk.reply is not None:
                    t.reply = chunk.reply
                    t.recs = list(chunk.reply.recommendations)
                    text = chunk.reply.text
                    t.chips = chips_from_query(chunk.reply.query, labels_of(agent))
                t.history[-1]["content"] = chat_text(text.strip() or "…")
                if not chunk.done:
                    yield ["", t, *self.values(t)]
        except Exception as err:  # shown as one line; details go to the log
            log.exception("chat turn failed")
            t.turn_failed = True
            t.history[-1]["content"] = chat_text(f"Sorry, something went wrong: {one_line(err)}")

    def example(self, text: str) -> Callable[[TabState | None], Iterator[list[Any]]]:
        """The handler of an example button: sends ``text`` as the tab's message."""

        def handle(tab: TabState | None) -> Iterator[list[Any]]:
            yield from self.respond(text, tab)

        return handle

    def new_conversation(self, tab: TabState | None) -> list[Any]:
        """Start over: a named user keeps their saved likes, an anonymous tab forgets everything."""
        t = tab_of(tab)
        if t.user_id or self.new_ids:  # a named user starts again from their saved likes
            t.session = None
        elif t.session is not None:
            t.session.reset()
        t.clear()
        agent = self.loader.agent
        if t.user_id and agent is not None:
            t.ensure_session(agent)
            refresh_chips(t, agent)
        return [t, *self.values(t)]
