"""Synthetic catalogues for ``bench/scale.py``: movie rows and vectors derived from a small encoded set.

Each synthetic movie ``i`` takes a *base* movie A and a *second* movie B of the real encoded set (the
ml-latest-small catalogue embedded with all-MiniLM-L6-v2) and gets the vector
``normalise(v_A + MIX * v_B + NOISE * g / sqrt(d))`` with ``g`` standard Gaussian: real MiniLM geometry,
blurred so that a million rows are not a hundred copies of each of 9.7k points. Its year is A's year
shifted by up to ±3, its genres are A's, its title is A's with a serial number, and its popularity
follows a power law (Zipf exponent 1.1 over a random order). Everything is seeded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MIX = 0.35
NOISE = 0.35


@dataclass(frozen=True)
class Synthetic:
    """A generated catalogue, its raw vectors (rows aligned with ``catalogue.ids``) and log popularity."""

    catalogue: Catalogue
    vectors: np.ndarray
    log_pop: np.ndarray


def unit(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return np.asarray(m / np.where(norms == 0, 1, norms), dtype=np.float32)


def synthesize(base: Catalogue, base_vecs: np.ndarray, n: int, seed: int = 0) -> Synthetic:
    """``n`` synthetic movies (ids 1..n) from the encoded ``base`` catalogue, as described above."""
    rng = np.random.default_rng(seed)
    base_vecs = unit(base_vecs)
    a = rng.integers(0, len(base), n)
    b = rng.integers(0, len(base), n)
    d = base_vecs.shape[1]
    vectors = np.empty((n, d), dtype=np.float32)
    step = 50_000
    for s in range(0, n, step):
        e = min(n, s + step)
        g = rng.standard_normal((e - s, d), dtype=np.float32) * (NOISE / np.sqrt(d))
        vectors[s:e] = unit(base_vecs[a[s:e]] + MIX * base_vecs[b[s:e]] + g)
    shift = rng.integers(-3, 4, n)
    movies = list(base)
    out = []
    for i in range(n):
        m = movies[a[i]]
        year = None if m.year is None else int(min(2025, max(1874, m.year + shift[i])))
        out.append(Movie(i + 1, f"{m.title} #{i + 1}", year, m.genres))
    ranks = rng.permutation(n) + 1
    log_pop = np.log1p(1e5 / ranks.astype(np.float64) ** 1.1).astype(np.float32)
    return Synthetic(Catalogue(out, source_fingerprint=f"synth-{n}-{seed}"), vectors, log_pop)


def exact_top(
    vectors: np.ndarray, query: np.ndarray, admitted: np.ndarray | None, n: int, block: int = 200_000
) -> set[int]:
    """Rows of the exact top ``n`` by cosine (``vectors`` are unit rows), in blocks; ground truth."""
    q = query / (np.linalg.norm(query) or 1.0)
    best_s = np.empty(0, dtype=np.float32)
    best_r = np.empty(0, dtype=np.int64)
    for s in range(0, len(vectors), block):
        sc = vectors[s : s + block] @ q
        rows = np.arange(s, s + len(sc))
        if admitted is not None:
            keep = admitted[s : s + len(sc)]
            sc, rows = sc[keep], rows[keep]
        best_s, best_r = np.concatenate([best_s, sc]), np.concatenate([best_r, rows])
        if len(best_s) > n:
            top = np.argpartition(-best_s, n - 1)[:n]
            best_s, best_r = best_s[top], best_r[top]
    return {int(r) for r in best_r}


# ----------------------------------------------------------------------------------- the Chroma server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """``chroma run --path DIR --host 127.0.0.1 --port N`` as a child process (its own process group)."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chroma = Path(sys.executable).with_name("chroma")
        cmd = [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait(60.0)

    def _wait(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"chroma did not answer within {timeout_s:.0f} s; see {self.log}")

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory (VmHWM) so far, MiB."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return float("nan")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server has used so far."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
