"""Argon2id password verification time with the shipped parameters (issue target: 50-500 ms here).

Usage: python bench/passwords.py [--repeats 10] [--out FILE.json]
Reported as milliseconds and as a ratio to a minimal Argon2id verify (t=1, 8 MiB, p=1) measured in the
same run, so a busy machine shows as a shift of both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # last: bench/agent.py must not shadow agent/

from emit import emit


def _verify_ms(ph: object, repeats: int) -> list[float]:
    encoded = ph.hash("correct horse battery")  # type: ignore[attr-defined]
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        ph.verify(encoded, "correct horse battery")  # type: ignore[attr-defined]
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    from argon2 import PasswordHasher

    from agent.store.passwords import Hasher

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    shipped = Hasher()._ph
    minimal = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    ms = _verify_ms(shipped, args.repeats)
    base = _verify_ms(minimal, args.repeats)
    result = {
        "params": {"t": shipped.time_cost, "m_kib": shipped.memory_cost, "p": shipped.parallelism},
        "verify_p50_ms": round(statistics.median(ms), 1),
        "verify_min_ms": round(min(ms), 1),
        "verify_max_ms": round(max(ms), 1),
        "baseline_p50_ms": round(statistics.median(base), 2),
        "ratio_to_baseline": round(statistics.median(ms) / statistics.median(base), 1),
        "within_50_500_ms": 50 <= statistics.median(ms) <= 500,
    }
    return emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
