"""ReelChat browser UI (Gradio Blocks). It only renders what the agent returns; all logic lives in ``agent``.

``build_app(agent_factory)`` builds the Blocks (tests pass a fake or real agent factory);
``serve(settings)`` is what ``reelchat ui`` runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from ui.cards import card_html, chat_text, esc, note_html, reply_details, status_html, turn_marker
from ui.identity import (
    PANEL_HINT,
    STORAGE_KEY,
    STORAGE_SECRET,
    forget_identity,
    remembered,
    remembered_user,
    use_identity,
)
from ui.members import add_viewer, members_html, remove_viewer, session_members
from ui.panels import Chip, chip_classes, chips_from_query, understood_html
from ui.sessions import AgentFactory, AgentLoader, ApiSessions, TabState, api_payload, one_line
from ui.style import CSS

if TYPE_CHECKING:
    from agent.app import RecommenderAgent
    from agent.settings import Settings

log = logging.getLogger(__name__)

MAX_CARDS = 10
MAX_CHIPS = 16
CONCURRENCY_LIMIT = 4
MAX_QUEUE_SIZE = 64
EXAMPLES: tuple[str, ...] = (
    "I loved Alien (1979), no horror",
    "A feel-good comedy from the 90s",
    "Something like The Matrix but older",
    "Animated movies for a family night, no musicals",
)
FEEDBACK_BUTTONS: tuple[tuple[str, str], ...] = (
    ("liked", "♥ Liked it"),
    ("disliked", "✕ Not for me"),
    ("seen", "✓ Seen it"),
)
HEADER = (
    '<div class="rc-header"><span class="rc-logo">▶</span><h1>ReelChat</h1>'
    '<span class="rc-tagline">Tell me what you like; I\'ll find movies and say why.</span></div>'
)
EMPTY_PICKS = '<div class="rc-empty rc-muted">Your picks will appear here.</div>'


def _label_of(agent: RecommenderAgent | None) -> Callable[[int], str]:
    def label(mid: int) -> str:
        movie = agent.catalogue.find(mid) if agent is not None else None
        return movie.label if movie is not None else f"movie {mid}"

    return label


class _Views:
    """The components every handler refreshes, and how one :class:`TabState` maps onto them."""

    def __init__(self) -> None:
        self.chatbot: gr.Chatbot
        self.note: gr.HTML
        self.understood: gr.HTML
        self.details: gr.JSON
        self.empty: gr.HTML
        self.marker: gr.HTML
        self.slots: list[gr.Column] = []
        self.cards: list[gr.HTML] = []
        self.chips: list[gr.Button] = []
        self.members: gr.HTML
        self.label_of: Callable[[int], str] = _label_of(None)

    @property
    def outputs(self) -> list[Any]:
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

    def values(self, t: TabState) -> list[Any]:
        recs = t.recs[:MAX_CARDS]
        slots = [gr.Column(visible=i < len(recs)) for i in range(MAX_CARDS)]
        cards = [
            card_html(recs[i], i + 1, t.marks.get(recs[i].movie_id)) if i < len(recs) else ""
            for i in range(MAX_CARDS)
        ]
        chips: list[Any] = []
        for i in range(MAX_CHIPS):
            chip: Chip | None = t.chips[i] if i < len(t.chips) else None
            chips.append(
                gr.Button(
                    value=chip.button_label if chip else "",
                    visible=chip is not None,
                    elem_classes=chip_classes(chip),
                )
            )
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
            members_html(session_members(t.session), self.label_of),
        ]


def build_app(agent_factory: AgentFactory, *, title: str = "ReelChat") -> gr.Blocks:
    """The Blocks app; starts loading the agent in a background thread right away."""
    loader = AgentLoader(agent_factory).start()
    api_sessions = ApiSessions()
    v = _Views()

    def tab_of(tab: TabState | None) -> TabState:
        return tab if isinstance(tab, TabState) else TabState()

    def refresh_chips(t: TabState, agent: RecommenderAgent) -> None:
        if t.session is not None:
            t.chips = chips_from_query(t.session.state.query(), _label_of(agent))

    # -- handlers -------------------------------------------------------------------------------------
    def respond(message: str, tab: TabState | None) -> Iterator[list[Any]]:
        t = tab_of(tab)
        message = message if isinstance(message, str) else ""
        if not message.strip():
            yield [gr.Textbox(), t, *v.values(t)]
            return
        t.note = ""
        t.history.append({"role": "user", "content": chat_text(message)})
        t.history.append({"role": "assistant", "content": "…"})
        agent = loader.agent
        if agent is not None:
            v.label_of = _label_of(agent)
        if agent is None:
            kind, status = loader.status()
            wait = "I'm still getting ready. " if kind == "loading" else ""
            t.history[-1]["content"] = chat_text(wait + status)
        else:
            t.busy, t.recs, text = True, [], ""
            yield ["", t, *v.values(t)]
            try:
                for chunk in t.ensure_session(agent).stream(message):
                    text += chunk.text
                    if chunk.recommendation is not None:
                        t.recs.append(chunk.recommendation)
                    if chunk.done and chunk.reply is not None:
                        t.reply = chunk.reply
                        t.recs = list(chunk.reply.recommendations)
                        text = chunk.reply.text
                        t.chips = chips_from_query(chunk.reply.query, _label_of(agent))
                    t.history[-1]["content"] = chat_text(text.strip() or "…")
                    if not chunk.done:
                        yield ["", t, *v.values(t)]
            except Exception as err:  # shown as one line; details go to the log
                log.exception("chat turn failed")
                t.history[-1]["content"] = chat_text(f"Sorry, something went wrong: {one_line(err)}")
        t.busy = False
        t.turns += 1
        yield ["", t, *v.values(t)]

    def example_handler(text: str) -> Callable[[TabState | None], Iterator[list[Any]]]:
        def handle(tab: TabState | None) -> Iterator[list[Any]]:
            yield from respond(text, tab)

        return handle

    def new_conversation(tab: TabState | None) -> list[Any]:
        t = tab_of(tab)
        if t.user_id:  # a named user starts again from their saved likes
            t.session = None
        elif t.session is not None:
            t.session.reset()
        t.clear()
        agent = loader.agent
        if t.user_id and agent is not None:
            t.ensure_session(agent)
            refresh_chips(t, agent)
        return [t, *v.values(t)]

    def after_identity(t: TabState, note: str) -> list[Any]:
        agent = loader.agent
        if agent is not None:
            v.label_of = _label_of(agent)
            refresh_chips(t, agent)
        t.note = note
        return [t, t.user_id or "", *v.values(t)]

    def remember_me(name: str, tab: TabState | None) -> list[Any]:
        t = tab_of(tab)
        note = use_identity(t, loader.agent, name)
        return [*after_identity(t, note), remembered(t.user_id)]

    def restore_remembered(stored: object, tab: TabState | None) -> list[Any]:
        t = tab_of(tab)
        user_id = remembered_user(stored)
        if not user_id or t.user_id:
            return [t, t.user_id or "", *v.values(t)]
        return after_identity(t, use_identity(t, loader.agent, user_id))

    def forget_me(tab: TabState | None) -> list[Any]:
        t = tab_of(tab)
        note = forget_identity(t, loader.agent)
        return [*after_identity(t, note), remembered(t.user_id)]

    def feedback_handler(slot: int, signal: str) -> Callable[[TabState | None], list[Any]]:
        def handle(tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = loader.agent
            if agent is not None and t.session is not None and slot < len(t.recs):
                rec = t.recs[slot]
                t.note = t.session.feedback(rec.movie_id, signal)
                t.marks[rec.movie_id] = signal
                refresh_chips(t, agent)
            return [t, *v.values(t)]

        return handle

    def chip_handler(slot: int) -> Callable[[TabState | None], list[Any]]:
        def handle(tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = loader.agent
            if agent is not None and t.session is not None and slot < len(t.chips):
                chip = t.chips[slot]
                t.session.remove_constraint(chip.kind, chip.value)
                refresh_chips(t, agent)
                t.note = f"Removed {chip.label}. Your next message works without it."
            return [t, *v.values(t)]

        return handle

    def viewer_handler(remove: bool) -> Callable[[str, str, str, TabState | None], list[Any]]:
        def handle(name: str, likes: str, dislikes: str, tab: TabState | None) -> list[Any]:
            t = tab_of(tab)
            agent = loader.agent
            if agent is None:
                t.note = "The recommender is still loading."
            else:
                v.label_of = _label_of(agent)
                session = t.ensure_session(agent)
                if remove:
                    t.note = remove_viewer(session, name)
                else:
                    t.note = add_viewer(session, name, likes, dislikes)
                refresh_chips(t, agent)
            return [t, *v.values(t)]

        return handle

    def poll() -> list[Any]:
        kind, message = loader.status()
        ready = kind == "ready"
        return [
            gr.HTML(status_html(kind, message), visible=not ready),
            gr.Textbox(interactive=ready),
            gr.Button(interactive=ready),
            gr.Timer(active=kind == "loading"),
        ]

    # -- API (stateless calls; a session is kept per returned session_id) -----------------------------
    def chat(message: str, session_id: str = "") -> tuple[str, dict[str, Any]]:
        """Send one message. Returns the reply text and a JSON object with session_id,
        recommendations, the understood query and notices. Pass the returned session_id
        to continue the same conversation; leave it empty to start a new one."""
        agent = loader.agent
        if agent is None:
            raise gr.Error(loader.status()[1])
        session = api_sessions.get_or_create(agent, session_id or "")
        reply = session.send(message if isinstance(message, str) else "")
        return reply.text, api_payload(reply, session.session_id)

    def feedback(session_id: str, movie_id: int, signal: str) -> str:
        """Record "liked", "disliked" or "seen" for a movie in an API session; returns a confirmation."""
        agent = loader.agent
        if agent is None:
            raise gr.Error(loader.status()[1])
        session = api_sessions.get(session_id)
        if session is None:
            raise gr.Error(f"Unknown session_id {session_id!r}; call /chat first.")
        return session.feedback(int(movie_id), signal, source="button")

    # -- layout ---------------------------------------------------------------------------------------
    private: dict[str, Any] = {"api_visibility": "private"}
    with gr.Blocks(title=title, analytics_enabled=False, fill_width=True) as demo:
        tab = gr.State(None)
        gr.HTML(HEADER)
        kind0, msg0 = loader.status()
        status = gr.HTML(status_html(kind0, msg0), elem_id="rc-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=380):
                v.chatbot = gr.Chatbot(
                    label="Conversation",
                    height=440,
                    elem_id="rc-chat",
                    sanitize_html=True,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy", "copy_all"],
                    placeholder="Ask for movies like ones you love, a genre, a decade or a mood.",
                )
                with gr.Row(equal_height=True):
                    msg = gr.Textbox(
                        show_label=False,
                        placeholder="e.g. I loved Alien (1979), no horror",
                        scale=5,
                        lines=1,
                        max_lines=4,
                        interactive=loader.ready,
                        elem_id="rc-input",
                    )
                    send = gr.Button(
                        "Send", variant="primary", scale=1, min_width=80, interactive=loader.ready
                    )
                with gr.Row(elem_classes="rc-examples"):
                    example_buttons = [gr.Button(e, size="sm") for e in EXAMPLES]
                new_btn = gr.Button("↺ New conversation", size="sm", elem_id="rc-new")
                v.understood = gr.HTML(understood_html([], MAX_CHIPS), elem_id="rc-understood")
                with gr.Row(elem_classes="rc-chips", elem_id="rc-chips"):
                    v.chips = [
                        gr.Button("", size="sm", visible=False, elem_classes="rc-chip")
                        for _ in range(MAX_CHIPS)
                    ]
                v.note = gr.HTML("", elem_id="rc-note")
                with gr.Accordion(
                    "Your name (optional): keep your likes", open=False, elem_id="rc-user-panel"
                ):
                    gr.HTML(f'<div class="rc-muted">{esc(PANEL_HINT)}</div>')
                    user_name = gr.Textbox(
                        label="Your name (optional)",
                        placeholder="e.g. sam",
                        max_lines=1,
                        elem_id="rc-user-name",
                    )
                    with gr.Row():
                        remember_btn = gr.Button("Remember me", size="sm", elem_id="rc-remember")
                        forget_btn = gr.Button("Forget me", size="sm", variant="stop", elem_id="rc-forget")
                browser_user = gr.BrowserState(
                    remembered(None), storage_key=STORAGE_KEY, secret=STORAGE_SECRET
                )
                with gr.Accordion("Watching together? Add viewers", open=False, elem_id="rc-members-panel"):
                    v.members = gr.HTML(members_html((), v.label_of), elem_id="rc-members")
                    viewer_name = gr.Textbox(label="Viewer", placeholder="e.g. Sam", max_lines=1)
                    viewer_likes = gr.Textbox(label="Likes (titles, comma-separated)", max_lines=2)
                    viewer_dislikes = gr.Textbox(label="Dislikes (titles, comma-separated)", max_lines=2)
                    with gr.Row():
                        add_viewer_btn = gr.Button("Add / update viewer", size="sm", elem_id="rc-add-viewer")
                        remove_viewer_btn = gr.Button("Remove viewer", size="sm", elem_id="rc-remove-viewer")
                with gr.Accordion("How I got here (query and steps)", open=False):
                    v.details = gr.JSON(label="Last reply", value={})
            with gr.Column(scale=6, min_width=420, elem_id="rc-picks"):
                gr.HTML('<div class="rc-section-title">Picks for you</div>')
                v.empty = gr.HTML(EMPTY_PICKS)
                v.marker = gr.HTML(turn_marker(0, False), elem_id="rc-turn", elem_classes="rc-hidden")
                card_buttons: list[list[gr.Button]] = []
                with gr.Row(elem_classes="rc-grid"):
                    for i in range(MAX_CARDS):
                        with gr.Column(visible=False, elem_classes="rc-slot", elem_id=f"rc-card-{i}") as slot:
                            v.cards.append(gr.HTML(""))
                            with gr.Row(elem_classes="rc-card-buttons"):
                                card_buttons.append(
                                    [
                                        gr.Button(
                                            label, size="sm", min_width=0, elem_classes=f"rc-fb-{signal}"
                                        )
                                        for signal, label in FEEDBACK_BUTTONS
                                    ]
                                )
                        v.slots.append(slot)
        timer = gr.Timer(1.0)

        # -- events -----------------------------------------------------------------------------------
        turn_outputs = [msg, tab, *v.outputs]
        msg.submit(respond, [msg, tab], turn_outputs, **private)
        send.click(respond, [msg, tab], turn_outputs, **private)
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(example_handler(text), [tab], turn_outputs, **private)
        new_btn.click(new_conversation, [tab], [tab, *v.outputs], **private)
        v.chatbot.clear(new_conversation, [tab], [tab, *v.outputs], **private)  # the bin icon
        for i, buttons in enumerate(card_buttons):
            for button, (signal, _) in zip(buttons, FEEDBACK_BUTTONS, strict=True):
                button.click(feedback_handler(i, signal), [tab], [tab, *v.outputs], **private)
        for i, chip in enumerate(v.chips):
            chip.click(chip_handler(i), [tab], [tab, *v.outputs], **private)
        viewer_inputs = [viewer_name, viewer_likes, viewer_dislikes, tab]
        add_viewer_btn.click(viewer_handler(False), viewer_inputs, [tab, *v.outputs], **private)
        remove_viewer_btn.click(viewer_handler(True), viewer_inputs, [tab, *v.outputs], **private)
        identity_outputs = [tab, user_name, *v.outputs]
        remember_btn.click(remember_me, [user_name, tab], [*identity_outputs, browser_user], **private)
        user_name.submit(remember_me, [user_name, tab], [*identity_outputs, browser_user], **private)
        forget_btn.click(forget_me, [tab], [*identity_outputs, browser_user], **private)
        demo.load(restore_remembered, [browser_user, tab], identity_outputs, **private)
        status_outputs = [status, msg, send, timer]
        timer.tick(poll, None, status_outputs, show_progress="hidden", concurrency_limit=None, **private)
        demo.load(poll, None, status_outputs, show_progress="hidden", concurrency_limit=None, **private)
        gr.api(chat, api_name="chat")
        gr.api(feedback, api_name="feedback")

    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=MAX_QUEUE_SIZE)
    demo.reelchat_loader = loader  # type: ignore[attr-defined]  # tests wait on it
    return demo


def theme() -> gr.themes.Base:
    """A calm theme using local system fonts only (no font downloads)."""
    fonts = ("ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif")
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=("ui-monospace",))


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> str:
    """Launch ``demo`` with the ReelChat theme and CSS; returns the local URL."""
    _, url, _ = demo.launch(
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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Start the browser UI (blocking) and return an exit code; the agent loads in the background."""
    from agent.app import RecommenderAgent

    demo = build_app(lambda: RecommenderAgent.load(settings, progress=True))
    print(f"ReelChat UI on http://{host}:{port} (the recommender keeps loading in the background)")
    launch(demo, host, port, block=True)
    return 0
