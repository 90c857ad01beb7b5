"""ReelChat browser UI (Gradio Blocks). It only renders what the agent returns; all logic lives in ``agent``.

``build_app(agent_factory)`` lays out the page (:mod:`ui.layout`) and wires its events to the handlers
in :mod:`ui.handlers` (tests pass a fake or real agent factory); ``serve(settings)`` is what
``reelchat ui`` runs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from agent.settings import DEFAULT_LIMITS, Limits
from ui.handlers.api import ApiHandlers
from ui.handlers.conversation import ConversationHandlers
from ui.handlers.identity import IdentityHandlers
from ui.handlers.refine import RefineHandlers
from ui.handlers.status import StatusHandlers
from ui.layout import EXAMPLES, FEEDBACK_BUTTONS, Page, build_page
from ui.sessions import AgentFactory, AgentLoader, ApiSessions
from ui.shared_sessions import ApiSessionStore, StoredApiSessions
from ui.stored_tabs import StoredTabs
from ui.style import CSS
from ui.tab_events import PRIVATE, TabEvents

if TYPE_CHECKING:
    from agent.settings import Settings


def build_app(
    agent_factory: AgentFactory,
    *,
    title: str = "ReelChat",
    limits: Limits = DEFAULT_LIMITS,
    session_store: str = "memory",
    replica: str = "",
    browser_secret: str | None = None,
) -> gr.Blocks:
    """The Blocks app; starts loading the agent in a background thread right away.

    ``limits`` sets the queue (turns at once, turns waiting) and how many API conversations are kept.
    ``session_store="database"`` keeps the conversations of the API and of browser tabs in the agent's
    database, where every replica sees them (:mod:`ui.stored_tabs`); ``replica`` names this server in API
    replies and the ``X-ReelChat-Replica`` header; ``browser_secret`` (shared by replicas) encrypts what
    the browser remembers (default: random).
    """
    loader = AgentLoader(agent_factory).start()
    sessions: ApiSessionStore = (
        StoredApiSessions(limits.conversation_ttl_s)
        if session_store == "database"
        else ApiSessions(limits.api_sessions)
    )
    stored = StoredTabs(sessions) if isinstance(sessions, StoredApiSessions) else None
    with gr.Blocks(title=title, analytics_enabled=False, fill_width=True) as demo:
        tab = gr.State(None)
        api = ApiHandlers(loader, sessions, replica)  # first: the page events get other names
        gr.api(api.sign_in, api_name="sign_in")
        gr.api(api.sign_out, api_name="sign_out")
        gr.api(api.chat, api_name="chat")
        gr.api(api.feedback, api_name="feedback")
        page = build_page(loader, browser_secret)
        events = TabEvents(
            loader, page.views, tab, page.chat.conversation, page.identity.stored, stored=stored
        )
        conversation = ConversationHandlers(loader, page.views, new_ids=stored is not None)
        _wire_conversation(page, tab, conversation, events)
        _wire_refine(page, tab, RefineHandlers(loader, page.views), events)
        _wire_identity(demo, page, tab, IdentityHandlers(loader, page.views), events)
        _wire_status(demo, page, StatusHandlers(loader))
    demo.queue(default_concurrency_limit=limits.ui_concurrency, max_size=limits.ui_queue_size)
    demo.reelchat_loader = loader  # type: ignore[attr-defined]  # tests wait on it
    demo.reelchat_replica = replica  # type: ignore[attr-defined]  # launch() sends it as a header
    return demo


def _wire_conversation(page: Page, tab: gr.State, handlers: ConversationHandlers, on: TabEvents) -> None:
    chat = page.chat
    turn_outputs = [chat.msg, tab, *page.views.outputs]
    on.on(chat.msg.submit, handlers.respond, [chat.msg, tab], turn_outputs)
    on.on(chat.send.click, handlers.respond, [chat.msg, tab], turn_outputs)
    for button, text in zip(chat.examples, EXAMPLES, strict=True):
        on.on(button.click, handlers.example(text), [tab], turn_outputs)
    tab_outputs = [tab, *page.views.outputs]
    on.on(chat.new.click, handlers.new_conversation, [tab], tab_outputs)
    on.on(page.views.chatbot.clear, handlers.new_conversation, [tab], tab_outputs)  # the bin icon


def _wire_refine(page: Page, tab: gr.State, handlers: RefineHandlers, on: TabEvents) -> None:
    tab_outputs = [tab, *page.views.outputs]
    for i, buttons in enumerate(page.card_buttons):
        for button, (signal, _) in zip(buttons, FEEDBACK_BUTTONS, strict=True):
            on.on(button.click, handlers.feedback(i, signal), [tab], tab_outputs)
    for i, chip in enumerate(page.views.chips):
        on.on(chip.click, handlers.chip(i), [tab], tab_outputs)
    viewers = page.viewers
    viewer_inputs = [viewers.name, viewers.likes, viewers.dislikes, tab]
    on.on(viewers.add.click, handlers.viewer(False), viewer_inputs, tab_outputs)
    on.on(viewers.remove.click, handlers.viewer(True), viewer_inputs, tab_outputs)


def _wire_identity(
    demo: gr.Blocks, page: Page, tab: gr.State, handlers: IdentityHandlers, on: TabEvents
) -> None:
    ident = page.identity
    views = page.views.outputs
    outputs = [tab, ident.who, ident.password, ident.new_password, *views, ident.stored]
    credentials = [ident.name, ident.password, tab]
    on.on(ident.sign_in.click, handlers.sign_in, credentials, outputs)
    on.on(ident.password.submit, handlers.sign_in, credentials, outputs)
    on.on(ident.sign_up.click, handlers.sign_up, credentials, outputs)
    on.on(ident.sign_out.click, handlers.sign_out, [tab], outputs)
    on.on(ident.change.click, handlers.change_password, [ident.password, ident.new_password, tab], outputs)
    on.on(ident.delete.click, handlers.delete_account, [tab], outputs)
    on.on(ident.download.click, handlers.download, [tab], [tab, ident.who, *views, ident.export])
    restore_outputs = [tab, ident.who, *views]
    on.on(demo.load, handlers.restore_remembered, [ident.stored, tab], restore_outputs, signed_in=False)


def _wire_status(demo: gr.Blocks, page: Page, handlers: StatusHandlers) -> None:
    outputs = [page.status, page.chat.msg, page.chat.send, page.timer]
    quiet: dict[str, Any] = {"show_progress": "hidden", "concurrency_limit": None, **PRIVATE}
    page.timer.tick(handlers.poll, None, outputs, **quiet)
    demo.load(handlers.poll, None, outputs, **quiet)


def theme() -> gr.themes.Base:
    """A calm theme using local system fonts only (no font downloads)."""
    fonts = ("ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif")
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=("ui-monospace",))


class ReplicaHeader:
    """ASGI middleware: every HTTP response names the replica that served it (``X-ReelChat-Replica``)."""

    def __init__(self, app: Any, replica: str) -> None:
        self.app = app
        self.header = (b"x-reelchat-replica", replica.encode("latin-1", "replace"))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_named(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_named)


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> str:
    """Launch ``demo`` with the ReelChat theme and CSS; returns the local URL."""
    from starlette.middleware import Middleware

    replica = getattr(demo, "reelchat_replica", "")
    app_kwargs = {"middleware": [Middleware(ReplicaHeader, replica=replica)]} if replica else None
    _, url, _ = demo.launch(
        app_kwargs=app_kwargs,
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        quiet=not block,
        show_error=False,
        footer_links=["api"],
        theme=theme(),
        css=CSS,
        ssr_mode=False,
    )
    return url


def browser_secret(settings: Settings) -> str | None:
    """A key for the browser's remembered sign-in, derived one-way from ``REELCHAT_SECRET_KEY`` so that
    every replica configured with it reads what another one stored (None when unset: a random key)."""
    if settings.secret_key is None:
        return None
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"reelchat browser state", hashlib.sha256).hexdigest()[:32]


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Start the browser UI (blocking) and return an exit code; the agent loads in the background."""
    from agent.app import RecommenderAgent

    replica = settings.replica_id or f"{socket.gethostname()}:{port}"
    demo = build_app(
        lambda: RecommenderAgent.load(settings, progress=True),
        limits=settings.limits,
        session_store=settings.session_store,
        replica=replica,
        browser_secret=browser_secret(settings),
    )
    print(
        f"ReelChat UI on http://{host}:{port}, replica {replica}, API conversations in "
        f"{settings.session_store} (the recommender keeps loading in the background)"
    )
    launch(demo, host, port, block=True)
    return 0
