"""``python -m agent``: the ``reelchat`` command line."""

from agent.commands.cli import main

raise SystemExit(main())
