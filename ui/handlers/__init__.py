"""Event handlers of the page and the public API, one module per flow; :mod:`ui.app` wires them.

- :mod:`ui.handlers.conversation`: chat turns, example prompts, "New conversation".
- :mod:`ui.handlers.refine`: card feedback, removing chips, adding and removing viewers.
- :mod:`ui.handlers.identity`: "Remember me", "Forget me" and restoring a remembered name.
- :mod:`ui.handlers.status`: the loading banner, polled until the agent is ready.
- :mod:`ui.handlers.api`: the stateless ``/chat`` and ``/feedback`` endpoints.

Handlers hold only app-wide objects (the agent loader, the views, the API sessions); everything a tab
owns travels in its :class:`ui.sessions.TabState`.
"""
