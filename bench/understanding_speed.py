"""Speeds of the per-message understanding steps and the data checks, on the real catalogue.

Usage: python bench/understanding_speed.py [--repeats 20] [--out FILE.json]

Budgets (from the issues): parse 10 ms per message, title spotting 5 ms per message, a 20,000-character
message under 200 ms, MovieLens validation 1 s, reranking 200 candidates 50 ms. Each speed is also given
as a ratio to a baseline measured in the same run: a regular-expression word split of the same text
(for the text steps) and hashing the same files with no parsing (for validation), so a busy machine
shows as a shift of both.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # last: bench/agent.py must not shadow agent/

from emit import emit

MESSAGES = [
    "I loved alien and the matrx, hated Titanic (1997)",
    "Something like Inception but funnier",
    "big fan of star wars and the dark knight",
    "I've seen the shawshank redemption and pulp fiction",
    "a family movie for the kids, nothing scary, from the 90s",
    "my wife and I want something cozy for a rainy sunday, no horror",
]
HUGE = "I loved Alien and Heat, give me 3 comedies. " * 455  # about 20,000 characters


def _ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _words(texts: list[str]) -> None:
    for t in texts:
        re.findall(r"\w+", t.lower())


def _hash_files(folder: Path) -> None:
    for f in sorted(folder.glob("*.csv")):
        hashlib.sha256(f.read_bytes()).hexdigest()


def measure(data_dir: Path, repeats: int) -> dict[str, float]:
    """Median milliseconds of each step and of its baseline."""
    from agent.understanding.parser import parse
    from retrieval.catalogue_loader import load_catalogue
    from retrieval.movielens import MOVIELENS_SHA256, validate_movielens
    from retrieval.titles import TitleResolver

    ml = data_dir / "ml-latest-small"
    t = time.perf_counter()
    catalogue = load_catalogue(ml)
    load_ms = (time.perf_counter() - t) * 1000
    resolver = TitleResolver(catalogue)
    genres, max_year = catalogue.genres, max(m.year or 0 for m in catalogue)

    def parse_all() -> None:
        for m in MESSAGES:
            parse(m, resolver, genres=genres, max_year=max_year)

    def spot_all() -> None:
        for m in MESSAGES:
            resolver.find_mentions(m)

    n = len(MESSAGES)
    return {
        "catalogue_load_ms": load_ms,
        "parse_ms_per_message": _ms(parse_all, repeats) / n,
        "find_mentions_ms_per_message": _ms(spot_all, repeats) / n,
        "word_split_ms_per_message": _ms(lambda: _words(MESSAGES), repeats) / n,
        "parse_20k_chars_ms": _ms(lambda: parse(HUGE, resolver, genres=genres, max_year=max_year), 3),
        "word_split_20k_chars_ms": _ms(lambda: _words([HUGE]), 3),
        "validate_movielens_ms": _ms(lambda: validate_movielens(ml, checksums=MOVIELENS_SHA256), 3),
        "hash_only_ms": _ms(lambda: _hash_files(ml), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("REELCHAT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--data-dir", type=Path, default=Path(default))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    ms = measure(args.data_dir, args.repeats)
    result = {k: round(v, 3) for k, v in ms.items()} | {
        "parse_ratio_to_word_split": round(ms["parse_ms_per_message"] / ms["word_split_ms_per_message"], 1),
        "validate_ratio_to_hash_only": round(ms["validate_movielens_ms"] / ms["hash_only_ms"], 2),
        "parse_within_10_ms": ms["parse_ms_per_message"] < 10,
        "find_mentions_within_5_ms": ms["find_mentions_ms_per_message"] < 5,
        "parse_20k_within_200_ms": ms["parse_20k_chars_ms"] < 200,
        "validate_within_1_s": ms["validate_movielens_ms"] < 1000,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    return emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
