"""Request limits at work: a per-session token-bucket rate limiter, turn time-outs and memory measurement.

The numbers come from :class:`agent.settings.Limits` (see docs/reliability.md): a session may send
``rate_burst`` messages at once and then ``rate_per_minute`` a minute; a turn that takes longer than its time
limit is answered with a polite time-out reply while its work finishes in the background.
"""

from __future__ import annotations

import os
import queue
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agent.settings import DEFAULT_LIMITS

_T = TypeVar("_T")

MAX_TRACKED_SESSIONS = 10_000


class TurnTimeout(TimeoutError):
    """A turn did not finish within its time limit; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of :meth:`RateLimiter.check`: ``allowed``, else seconds until a message is allowed."""

    allowed: bool
    retry_after_s: float = 0.0

    @property
    def notice(self) -> str:
        """A polite one-line message for a refused request."""
        wait = max(1, round(self.retry_after_s))
        return f"You're sending messages faster than I can answer; please wait {wait} s and try again."


class RateLimiter:
    """Thread-safe token bucket per key (a session id): ``burst`` tokens, refilled at ``per_minute``.

    At most ``max_keys`` buckets are kept; the least recently used are forgotten (a forgotten session
    starts again with a full bucket, so memory stays bounded whatever the number of sessions).
    """

    def __init__(
        self,
        per_minute: float = DEFAULT_LIMITS.rate_per_minute,
        burst: int = DEFAULT_LIMITS.rate_burst,
        *,
        max_keys: int = MAX_TRACKED_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, time)
        self._lock = threading.Lock()

    def check(self, key: str, cost: float = 1.0) -> Decision:
        """Take ``cost`` tokens from ``key``'s bucket if it holds them; never blocks."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return Decision(True) if allowed else Decision(False, (cost - tokens) / self.rate)

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)


def _daemon(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


def call_with_timeout(fn: Callable[[], _T], timeout_s: float, *, name: str = "reelchat-turn") -> _T:
    """``fn()`` run in a daemon thread; raises :class:`TurnTimeout` after ``timeout_s`` seconds.

    A late call is abandoned, not killed: it finishes in the background and its result is dropped.
    Exceptions raised by ``fn`` propagate unchanged.
    """
    box: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, fn()))
        except BaseException as err:  # handed to the caller
            box.put((False, err))

    _daemon(run, name)
    try:
        ok, value = box.get(timeout=max(0.0, timeout_s))
    except queue.Empty:
        raise TurnTimeout(f"that took longer than {timeout_s:g} s, so I stopped waiting") from None
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def iter_with_timeout(
    items: Iterable[_T], timeout_s: float, *, name: str = "reelchat-stream"
) -> Iterator[_T]:
    """Items of ``items`` (produced in a daemon thread) while the total time stays under ``timeout_s``.

    Raises :class:`TurnTimeout` when the deadline passes before the next item; the producer is
    abandoned and, being a generator, closed at its next item (so ``with lock:`` blocks inside it are
    left). Exceptions of the producer propagate unchanged.
    """
    deadline = time.monotonic() + timeout_s
    box: queue.Queue[tuple[str, object]] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                box.put(("item", item))
            box.put(("end", None))
        except BaseException as err:  # handed to the consumer
            box.put(("error", err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator abandoned mid-way releases its locks here
                close()

    _daemon(run, name)
    try:
        while True:
            try:
                kind, value = box.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TurnTimeout(f"that took longer than {timeout_s:g} s, so I stopped waiting") from None
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory of a process in MiB: now and its peak (high-water mark)."""

    rss_mb: float
    peak_mb: float


def memory(pid: int | None = None) -> Memory:
    """RSS and peak RSS of ``pid`` (default this process) from ``/proc``; ``getrusage`` elsewhere."""
    status = Path(f"/proc/{pid or os.getpid()}/status")
    try:
        fields = dict(
            line.split(":", 1)
            for line in status.read_text().splitlines()
            if line.startswith(("VmRSS", "VmHWM"))
        )
        return Memory(int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["VmHWM"].split()[0]) / 1024.0)
    except (OSError, KeyError, ValueError):
        if pid not in (None, os.getpid()):
            raise
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        return Memory(peak, peak)


__all__ = [
    "Decision",
    "Memory",
    "RateLimiter",
    "TurnTimeout",
    "call_with_timeout",
    "iter_with_timeout",
    "memory",
]
