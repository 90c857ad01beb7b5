"""Markup and SQL in messages are code, not words (``agent.conversation.markup``)."""

from __future__ import annotations

import pytest

from agent.conversation.markup import strip_markup, strip_sql


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (";; DROP TABLE users;", ""),
        ("'; SELECT * FROM accounts; --", ""),
        ("1 OR 1=1; SELECT id, name FROM users WHERE 1=1", "1 OR 1=1"),
        ("Robert'); DROP TABLE students;-- and I love Alien", "and I love Alien"),
        ("x' UNION SELECT password FROM accounts --", ""),
    ],
)
def test_sql_statements_are_dropped(message: str, kept: str) -> None:
    assert strip_sql(message) == (kept, True)
    assert strip_markup(message) == (kept, True)


@pytest.mark.parametrize(
    "message",
    [
        "select a movie from 1995",  # English, no SQL punctuation
        "please select a movie from the 90s; no horror",  # a ';' but no statement
        "select comedies from the 90s; no horror",
        "comedy -- nothing too long",  # a dash, not a comment
        "something like Drop Zone; no horror",
        "Heat (1995); Alien (1979)",
        "drop table users",  # words alone, no SQL punctuation: read as words
    ],
)
def test_english_with_sql_words_or_punctuation_is_kept(message: str) -> None:
    assert strip_sql(message) == (message, False)
    assert strip_markup(message) == (message, False)


def test_markup_and_sql_together() -> None:
    assert strip_markup("<b>comedy</b> please; DROP TABLE users") == ("comedy please", True)
