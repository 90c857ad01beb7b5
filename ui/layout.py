"""The page layout: creates every component once, in page order, and hands back the ones events need.

Nothing here handles events; :mod:`ui.app` wires the returned components to :mod:`ui.handlers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.cards import esc, status_html, turn_marker
from ui.identity import PANEL_HINT, STORAGE_KEY, remembered
from ui.members import members_html
from ui.panels import understood_html
from ui.sessions import AgentLoader
from ui.views import MAX_CARDS, MAX_CHIPS, PageViews, labels_of

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


@dataclass(frozen=True)
class ChatControls:
    """The message box, its Send button, the example prompts, "New conversation", and the id of the
    tab's stored conversation (hidden; only used with the database session store)."""

    msg: gr.Textbox
    send: gr.Button
    examples: list[gr.Button]
    new: gr.Button
    conversation: gr.Textbox


@dataclass(frozen=True)
class IdentityControls:
    """The account panel and the browser storage that keeps the sign-in token."""

    who: gr.HTML
    name: gr.Textbox
    password: gr.Textbox
    new_password: gr.Textbox
    sign_in: gr.Button
    sign_up: gr.Button
    sign_out: gr.Button
    change: gr.Button
    download: gr.Button
    delete: gr.Button
    export: gr.File
    stored: gr.BrowserState


@dataclass(frozen=True)
class ViewerControls:
    """The "Watching together?" panel's fields and buttons."""

    name: gr.Textbox
    likes: gr.Textbox
    dislikes: gr.Textbox
    add: gr.Button
    remove: gr.Button


@dataclass(frozen=True)
class PicksGrid:
    """The picks column: the empty hint, the turn marker and the card slots with their feedback buttons."""

    empty: gr.HTML
    marker: gr.HTML
    slots: list[gr.Column]
    cards: list[gr.HTML]
    buttons: list[list[gr.Button]]  # per card, one button per FEEDBACK_BUTTONS entry


@dataclass(frozen=True)
class Page:
    """Every component an event reads or writes."""

    status: gr.HTML
    chat: ChatControls
    identity: IdentityControls
    viewers: ViewerControls
    card_buttons: list[list[gr.Button]]
    views: PageViews
    timer: gr.Timer


def build_page(loader: AgentLoader, browser_secret: str | None = None) -> Page:
    """Lay out the page inside the current Blocks; input stays disabled until the agent is ready.

    ``browser_secret`` encrypts what the browser remembers (the sign-in token); replicas behind one
    address must share it, else a page served by another replica cannot read it. None: a random key."""
    gr.HTML(HEADER)
    status = gr.HTML(status_html(*loader.status()), elem_id="rc-status")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            chatbot, chat = _conversation(loader.ready)
            understood = gr.HTML(understood_html([], MAX_CHIPS), elem_id="rc-understood")
            with gr.Row(elem_classes="rc-chips", elem_id="rc-chips"):
                chips = [
                    gr.Button("", size="sm", visible=False, elem_classes="rc-chip") for _ in range(MAX_CHIPS)
                ]
            note = gr.HTML("", elem_id="rc-note")
            identity = _identity_panel(browser_secret)
            members, viewers = _members_panel()
            with gr.Accordion("How I got here (query and steps)", open=False):
                details = gr.JSON(label="Last reply", value={})
        with gr.Column(scale=6, min_width=420, elem_id="rc-picks"):
            picks = _picks_grid()
    timer = gr.Timer(1.0)
    views = PageViews(
        chatbot=chatbot,
        note=note,
        understood=understood,
        details=details,
        empty=picks.empty,
        marker=picks.marker,
        slots=picks.slots,
        cards=picks.cards,
        chips=chips,
        members=members,
    )
    return Page(status, chat, identity, viewers, picks.buttons, views, timer)


def _conversation(ready: bool) -> tuple[gr.Chatbot, ChatControls]:
    chatbot = gr.Chatbot(
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
            interactive=ready,
            elem_id="rc-input",
        )
        send = gr.Button("Send", variant="primary", scale=1, min_width=80, interactive=ready)
    with gr.Row(elem_classes="rc-examples"):
        examples = [gr.Button(e, size="sm") for e in EXAMPLES]
    new = gr.Button("↺ New conversation", size="sm", elem_id="rc-new")
    # In the page, not in the replica: the browser sends it with every event, so any replica continues it.
    conversation = gr.Textbox("", visible="hidden", elem_id="rc-conversation", show_label=False)
    return chatbot, ChatControls(msg, send, examples, new, conversation)


def _identity_panel(browser_secret: str | None) -> IdentityControls:
    with gr.Accordion("Your account (optional): keep your likes", open=False, elem_id="rc-user-panel"):
        gr.HTML(f'<div class="rc-muted">{esc(PANEL_HINT)}</div>')
        who = gr.HTML(
            '<div class="rc-who" data-user="">Not signed in: nothing is stored.</div>', elem_id="rc-who"
        )
        name = gr.Textbox(label="User name", placeholder="e.g. sam", max_lines=1, elem_id="rc-user-name")
        password = gr.Textbox(label="Password", type="password", max_lines=1, elem_id="rc-password")
        with gr.Row():
            sign_in = gr.Button("Sign in", size="sm", variant="primary", elem_id="rc-sign-in")
            sign_up = gr.Button("Create account", size="sm", elem_id="rc-sign-up")
            sign_out = gr.Button("Sign out", size="sm", elem_id="rc-sign-out")
        new_password = gr.Textbox(
            label="New password (current one above)", type="password", max_lines=1, elem_id="rc-new-password"
        )
        with gr.Row():
            change = gr.Button("Change password", size="sm", elem_id="rc-change-password")
            download = gr.Button("Download my data", size="sm", elem_id="rc-download")
            delete = gr.Button("Delete my account", size="sm", variant="stop", elem_id="rc-delete")
        export = gr.File(label="Your data (JSON)", visible=False, interactive=False, elem_id="rc-export")
    # Encrypted with a random per-process key (Gradio's default) unless replicas share one: after a restart
    # the browser signs in again.
    stored = gr.BrowserState(remembered(None), storage_key=STORAGE_KEY, secret=browser_secret)
    return IdentityControls(
        who,
        name,
        password,
        new_password,
        sign_in,
        sign_up,
        sign_out,
        change,
        download,
        delete,
        export,
        stored,
    )


def _members_panel() -> tuple[gr.HTML, ViewerControls]:
    with gr.Accordion("Watching together? Add viewers", open=False, elem_id="rc-members-panel"):
        members = gr.HTML(members_html((), labels_of(None)), elem_id="rc-members")
        name = gr.Textbox(label="Viewer", placeholder="e.g. Sam", max_lines=1)
        likes = gr.Textbox(label="Likes (titles, comma-separated)", max_lines=2)
        dislikes = gr.Textbox(label="Dislikes (titles, comma-separated)", max_lines=2)
        with gr.Row():
            add = gr.Button("Add / update viewer", size="sm", elem_id="rc-add-viewer")
            remove = gr.Button("Remove viewer", size="sm", elem_id="rc-remove-viewer")
    return members, ViewerControls(name, likes, dislikes, add, remove)


def _picks_grid() -> PicksGrid:
    gr.HTML('<div class="rc-section-title">Picks for you</div>')
    empty = gr.HTML(EMPTY_PICKS)
    marker = gr.HTML(turn_marker(0, False), elem_id="rc-turn", elem_classes="rc-hidden")
    slots: list[gr.Column] = []
    cards: list[gr.HTML] = []
    buttons: list[list[gr.Button]] = []
    with gr.Row(elem_classes="rc-grid"):
        for i in range(MAX_CARDS):
            with gr.Column(visible=False, elem_classes="rc-slot", elem_id=f"rc-card-{i}") as slot:
                cards.append(gr.HTML(""))
                with gr.Row(elem_classes="rc-card-buttons"):
                    buttons.append(
                        [
                            gr.Button(label, size="sm", min_width=0, elem_classes=f"rc-fb-{signal}")
                            for signal, label in FEEDBACK_BUTTONS
                        ]
                    )
            slots.append(slot)
    return PicksGrid(empty, marker, slots, cards, buttons)
