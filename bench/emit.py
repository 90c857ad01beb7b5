"""The common tail of the benchmarks: a table on stderr, the JSON on stdout (and in ``--out`` when given)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def emit(result: Mapping[str, Any], out: Path | None = None) -> int:
    """Print ``result`` as a ``metric | value`` table (stderr) and as one JSON line (stdout); 0."""
    width = max((len(k) for k in result), default=6)
    print(f"{'metric':{width}s} | value", file=sys.stderr)
    for k, v in result.items():
        print(f"{k:{width}s} | {v}", file=sys.stderr)
    if out:
        out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0
