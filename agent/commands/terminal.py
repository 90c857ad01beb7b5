"""``reelchat chat``: a terminal REPL over the same :class:`Session` the browser uses."""

from __future__ import annotations

import sys

from agent.app import RecommenderAgent

HELP = "Tell me movies you like or dislike, genres, years or a mood. 'start over' resets; Ctrl-D quits."


def repl(app: RecommenderAgent) -> int:
    session = app.start_session()
    print(HELP)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return 0
        if line.strip() in {"quit", "exit", ":q"}:
            return 0
        sys.stdout.write("reelchat> ")
        for chunk in session.stream(line):
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        print()
