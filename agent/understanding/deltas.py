"""What one user message says, as parsed by the deterministic understanding layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

#: What a message does: asks for picks, asks about shown picks, starts over, or only chats.
Act = Literal["recommend", "question", "reset", "chitchat"]
ACTS: tuple[Act, ...] = ("recommend", "question", "reset", "chitchat")


class Critique(StrEnum):
    """Relative feedback on the last picks."""

    MORE_RECENT = "more_recent"
    OLDER = "older"
    LIGHTER = "lighter"  # "less dark", "something lighter", "more fun"
    DARKER = "darker"
    SOMETHING_ELSE = "something_else"  # "something else", "different", "none of those"
    MORE_POPULAR = "more_popular"
    LESS_POPULAR = "less_popular"  # "hidden gems", "lesser known"
    FUNNIER = "funnier"  # "something funnier", "more comedy"
    MORE_ROMANTIC = "more_romantic"
    LESS_VIOLENT = "less_violent"  # "less violent", "too bloody"


@dataclass(frozen=True, slots=True)
class TitleMention:
    """A span of the message that names a movie."""

    text: str  # the span as written
    movie_id: int | None  # best match, None when unresolved
    alternatives: tuple[int, ...] = ()  # other close matches (ambiguity), best first
    score: float = 0.0

    @property
    def ambiguous(self) -> bool:
        return self.movie_id is not None and bool(self.alternatives)


@dataclass(frozen=True, slots=True)
class Understanding:
    """Deltas stated by one message. Empty tuples/None mean "not mentioned"."""

    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seen: tuple[int, ...] = ()
    # references to the previous reply's picks, 0-based positions ("the first one" -> 0, "that one" -> -1
    # meaning "the only/last single pick referred to")
    liked_refs: tuple[int, ...] = ()
    disliked_refs: tuple[int, ...] = ()
    seen_refs: tuple[int, ...] = ()
    seen_all_shown: bool = False  # "I've seen all of those"
    genres_required: tuple[str, ...] = ()
    genres_excluded: tuple[str, ...] = ()
    genres_liked: tuple[str, ...] = ()  # "I like comedies": a taste that ranks, not a filter
    genres_allowed: tuple[str, ...] = ()  # "horror is fine": no longer excluded, not required either
    year_min: int | None = None
    year_max: int | None = None
    clear_years: bool = False  # "any year"
    clear_genres: bool = False  # "forget the genre", "drop comedy": earlier required genres go
    replace_genres: bool = (
        False  # "actually a comedy instead": this message's genres replace the earlier ones
    )
    k: int | None = None
    mood: tuple[str, ...] = ()  # free-text descriptors for retrieval: "mind-bending", "feel-good"
    critiques: tuple[Critique, ...] = ()
    reset: bool = False
    mentions: tuple[TitleMention, ...] = ()  # every title span found, resolved or not
    assumed: tuple[int, ...] = ()  # titles in ``liked`` only because no cue reached them ("like X")
    text: str = ""  # the message with titles removed, for semantic retrieval
    act: Act = "recommend"  # set by agent.understanding.acts after parsing

    @property
    def unresolved(self) -> tuple[str, ...]:
        return tuple(m.text for m in self.mentions if m.movie_id is None)

    @property
    def ambiguous(self) -> tuple[TitleMention, ...]:
        return tuple(m for m in self.mentions if m.ambiguous)
