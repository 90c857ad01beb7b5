"""The understood request as the user's session holds it after a turn (``reply.query``)."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.types import Filters


@dataclass(frozen=True, slots=True)
class Query:
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seen: tuple[int, ...] = ()
    genres_required: tuple[str, ...] = ()
    genres_excluded: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    text: str = ""
    k: int = 5

    @property
    def filters(self) -> Filters:
        return Filters(self.year_min, self.year_max, self.genres_required, self.genres_excluded)
