"""Test helper for the understanding corpus: the loader lives in ``agent.evaluation.corpus``.

``corpus_cases()`` returns (case id, family, messages, expect) per case and skips cases whose real message
cannot be read (``../shared`` data absent) with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agent.evaluation.corpus import CORPUS_DIR, CorpusCase, load_corpus, source_text

__all__ = ["CORPUS_DIR", "CorpusCase", "corpus_cases", "load_corpus", "source_text"]


def corpus_cases(root: Path = CORPUS_DIR) -> list[Any]:
    """pytest params, one per case: (id, family, messages list, expect dict); skipped without the data."""
    data = os.environ.get("REELCHAT_DATA_DIR")
    params = []
    for c in load_corpus(root, Path(data) if data else None):
        marks = [pytest.mark.skip(reason=c.skip)] if c.skip else []
        params.append(pytest.param(c.id, c.family, list(c.messages), dict(c.expect), id=c.id, marks=marks))
    return params
