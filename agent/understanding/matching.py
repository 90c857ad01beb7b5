"""Matching helpers of the deterministic parser: whole phrases, and a message consumed phrase by phrase."""

from __future__ import annotations

import re


def phrase(pattern: str) -> re.Pattern[str]:
    """``pattern`` matched as whole words only (an apostrophe counts as part of a word)."""
    return re.compile(rf"(?<![\w'])(?:{pattern})(?![\w'])")


class Work:
    """The lower-cased message being consumed phrase by phrase."""

    def __init__(self, text: str) -> None:
        self.w = text

    def take(self, pattern: re.Pattern[str], repl: str = " ") -> list[re.Match[str]]:
        """Replace every match of ``pattern`` with ``repl``; the matches, in order."""
        found: list[re.Match[str]] = []

        def sub(m: re.Match[str]) -> str:
            found.append(m)
            return repl

        self.w = pattern.sub(sub, self.w)
        return found
