"""Per-session rate limiting, turn time-outs and memory measurement (agent/limits.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from agent.conversation.limits import RateLimiter, TurnTimeout, call_with_timeout, iter_with_timeout


class FakeClock:
    """A manual clock for the token bucket."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.check("a").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.check("a")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(1.0)
    assert "wait 1 s" in refused.notice
    clock.now += 1.0
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
    clock.now += 100.0  # refill is capped at the burst
    assert [limiter.check("a").allowed for _ in range(4)] == [True, True, True, False]


def test_sessions_have_independent_buckets() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, clock=FakeClock())
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
    assert limiter.check("b").allowed  # another session is unaffected
    limiter.forget("a")
    assert limiter.check("a").allowed


def test_bounded_number_of_buckets() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, max_keys=100, clock=FakeClock())
    for i in range(1000):
        limiter.check(f"s{i}")
    assert len(limiter) == 100


def test_thread_safe_under_contention() -> None:
    limiter = RateLimiter(per_minute=0.001, burst=50, clock=FakeClock())
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        got = [limiter.check("shared").allowed for _ in range(100)]
        with lock:
            allowed.extend(got)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50  # exactly the burst, never more, whatever the interleaving


def test_bad_settings_rejected() -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)
    with pytest.raises(ValueError):
        RateLimiter(burst=0)


def test_call_with_timeout() -> None:
    assert call_with_timeout(lambda: 41 + 1, 1.0) == 42
    with pytest.raises(KeyError):
        call_with_timeout(lambda: {}["missing"], 1.0)
    release = threading.Event()
    t0 = time.monotonic()
    with pytest.raises(TurnTimeout, match=r"longer than 0\.2 s"):
        call_with_timeout(lambda: release.wait(10), 0.2)
    assert time.monotonic() - t0 < 1.0
    release.set()


def test_iter_with_timeout() -> None:
    assert list(iter_with_timeout(iter(range(5)), 1.0)) == [0, 1, 2, 3, 4]

    def slow() -> object:
        yield "first"
        time.sleep(5)
        yield "late"

    got: list[object] = []
    t0 = time.monotonic()
    with pytest.raises(TurnTimeout):
        for item in iter_with_timeout(slow(), 0.3):
            got.append(item)
    assert got == ["first"] and time.monotonic() - t0 < 1.5

    def failing() -> object:
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        list(iter_with_timeout(failing(), 1.0))


def test_memory_measurement() -> None:
    # in a fresh process: a long test session may satisfy the allocation from pages it already holds
    code = (
        "from agent.conversation.limits import memory\n"
        "before = memory()\n"
        "block = bytearray(64 * 1024 * 1024)\n"
        "block[::4096] = b'x' * len(block[::4096])\n"
        "after = memory()\n"
        "print(before.rss_mb, before.peak_mb, after.rss_mb, after.peak_mb)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    rss0, peak0, rss1, peak1 = map(float, out.stdout.split())
    assert 10 < rss0 <= peak0
    assert peak1 >= rss1 >= rss0 + 48


def test_abandoned_generator_releases_its_lock() -> None:
    lock = threading.Lock()

    def turn() -> object:
        with lock:
            yield "header"
            time.sleep(0.5)
            yield "late pick"

    with pytest.raises(TurnTimeout):
        list(iter_with_timeout(turn(), 0.2))
    assert lock.acquire(timeout=2.0)  # the producer was closed after its next item
