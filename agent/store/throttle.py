"""Throttling failed sign-ins per account and client address, per client address, and per account.

Only password checks that fail count. Once a key has ``limit`` failures within the window, further
attempts on it are refused without checking the password until the window has passed; each further
lock-out of the same key doubles the wait (capped). A successful sign-in clears the account's keys
for that address. Other accounts and addresses are never slowed.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 100_000


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    strikes: int = 0


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most ``limit`` failed checks per ``window_s`` for one kind of key."""

    kind: str  # "account+address" | "address" | "account"
    limit: int
    window_s: float = 60.0


class SignInThrottle:
    """Thread-safe failure counters; ``clock`` is injectable for tests."""

    def __init__(
        self,
        rules: tuple[ThrottleRule, ...],
        max_backoff_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules
        self.max_backoff_s = max_backoff_s
        self._clock = clock
        self._keys: dict[tuple[str, str], _Key] = {}
        self._lock = threading.Lock()
        self.evaluated = 0  # password checks allowed so far (for tests and metrics)

    def _ids(self, account: str, address: str) -> list[tuple[ThrottleRule, tuple[str, str]]]:
        ids = {"account+address": f"{account}\x00{address}", "address": address, "account": account}
        return [(r, (r.kind, ids[r.kind])) for r in self.rules]

    def wait_s(self, account: str, address: str) -> float:
        """Seconds until a password check for ``account`` from ``address`` is allowed (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(rule, self._keys.get(key), now) for rule, key in self._ids(account, address)]
            wait = max(waits, default=0.0)
            if wait <= 0:
                self.evaluated += 1
            return wait

    def _wait(self, rule: ThrottleRule, entry: _Key | None, now: float) -> float:
        if entry is None:
            return 0.0
        while entry.failures and entry.failures[0] <= now - rule.window_s:
            entry.failures.popleft()
        return max(0.0, entry.locked_until - now)

    def failed(self, account: str, address: str) -> None:
        """Count one failed password check."""
        now = self._clock()
        with self._lock:
            if len(self._keys) > MAX_KEYS:
                self._keys.clear()
            for rule, key in self._ids(account, address):
                entry = self._keys.setdefault(key, _Key())
                self._wait(rule, entry, now)
                entry.failures.append(now)
                if len(entry.failures) >= rule.limit:
                    wait = min(self.max_backoff_s, rule.window_s * 2**entry.strikes)
                    entry.locked_until = max(entry.locked_until, now + wait)
                    entry.strikes += 1
                    entry.failures.clear()

    def succeeded(self, account: str, address: str) -> None:
        """Forget the failures of ``account`` from ``address``."""
        with self._lock:
            for rule, key in self._ids(account, address):
                if rule.kind == "account+address":
                    self._keys.pop(key, None)


def wait_message(wait_s: float) -> str:
    """The one line a throttled sign-in gets."""
    secs = max(1, math.ceil(wait_s))
    return f"Too many failed sign-ins; please wait {secs} s and try again."
