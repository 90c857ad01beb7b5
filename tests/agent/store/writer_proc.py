"""Write feedback events forever, printing each event id once ``add_feedback`` has returned.

Usage: ``python writer_proc.py DB_URL USER_ID``. Used by the kill -9 durability test.
"""

from __future__ import annotations

import sys

from agent.store import FeedbackStore


def main(url: str, user_id: str) -> None:
    store = FeedbackStore.open(url)
    print("ready", flush=True)
    i = 0
    while True:
        event_id = store.add_feedback(
            user_id, f"{user_id}-s", 1 + i % 500, ("liked", "disliked", "seen")[i % 3]
        )
        print(event_id, flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
