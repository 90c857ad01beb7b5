"""``bench/scale.py`` end to end at a tiny size: a real Chroma server, real MiniLM vectors, exact recall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_scale_bench_tiny(data_dir: Path, tmp_path: Path) -> None:
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.is_file():
        pytest.skip("no chroma executable beside the interpreter")
    cmd = [
        sys.executable, str(ROOT / "bench" / "scale.py"), "--items", "1000", "2000", "--queries", "8",
        "--ef-construction", "64", "--ef-search", "400", "--batch-size", "1000",
        "--embeddings-cache", str(conftest.test_cache_dir() / "embeddings"),
        "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "REELCHAT_DATA_DIR": str(data_dir), "ANONYMIZED_TELEMETRY": "False"}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sizes = result["sizes"]
    assert [s["items"] for s in sizes] == [1000, 2000]
    for s in sizes:
        assert {"items", "build_s", "p95_ms", "recall_at_200", "turn_p95_ms"} <= s.keys()
        assert s["build_s"] > 0 and s["p95_ms"] > 0 and s["turn_p95_ms"] > 0
        assert s["recall_at_200"] >= 0.95  # HNSW at this size is near exact
        assert "where" not in s["strategies"]  # the planner keeps filters out of Chroma's `where`
    table = (tmp_path / "out" / "scale.md").read_text()
    assert "| 1,000 |" in table and "| 2,000 |" in table
    assert (tmp_path / "out" / "scale.png").stat().st_size > 1000
