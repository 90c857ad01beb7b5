"""The loading banner: polled by a timer until the agent is ready or failed to load."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.cards import status_html
from ui.sessions import AgentLoader


class StatusHandlers:
    """Reports the loader's status to every tab and enables the input once the agent is ready."""

    def __init__(self, loader: AgentLoader) -> None:
        self.loader = loader

    def poll(self) -> list[Any]:
        """The banner, the message box, the Send button and the timer (stopped once loading ended)."""
        kind, message = self.loader.status()
        ready = kind == "ready"
        return [
            gr.HTML(status_html(kind, message), visible=not ready),
            gr.Textbox(interactive=ready),
            gr.Button(interactive=ready),
            gr.Timer(active=kind == "loading"),
        ]
