"""The understood request as the user's session holds it after a turn (``reply.query``)."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.types import Filters


@dataclass(frozen=True, slots=True)
class Member:
    """One viewer of a group conversation: their tastes and their own hard constraints."""

    name: str
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    genres_required: tuple[str, ...] = ()
    genres_excluded: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None

    @property
    def filters(self) -> Filters:
        return Filters(self.year_min, self.year_max, self.genres_required, self.genres_excluded)


@dataclass(frozen=True, slots=True)
class Query:
    """In a group conversation the top-level fields hold the whole group's union; ``members`` the detail."""

    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seen: tuple[int, ...] = ()
    genres_required: tuple[str, ...] = ()
    genres_excluded: tuple[str, ...] = ()
    genres_liked: tuple[str, ...] = ()  # stated tastes ("I like comedies"): they rank, they do not filter
    year_min: int | None = None
    year_max: int | None = None
    text: str = ""
    k: int = 5
    members: tuple[Member, ...] = ()  # empty for a single viewer; the speaker is the member "you"

    @property
    def filters(self) -> Filters:
        return Filters(self.year_min, self.year_max, self.genres_required, self.genres_excluded)
