"""Small frozen records passed between retrieval and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Movie:
    """One catalogue entry (a MovieLens movie, with optional ReDial plot facts)."""

    movie_id: int
    title: str  # display title: "The Matrix", not "Matrix, The"
    year: int | None
    genres: tuple[str, ...]
    tags: tuple[str, ...] = ()
    rating_count: int = 0
    rating_mean: float | None = None
    imdb_id: str | None = None  # "tt0133093"
    tmdb_id: int | None = None
    plot: str | None = None
    directors: tuple[str, ...] = ()
    stars: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """ "The Matrix (1999)"."""
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass(frozen=True, slots=True)
class Filters:
    """Hard constraints applied inside the vector store."""

    year_min: int | None = None
    year_max: int | None = None
    genres_required: tuple[str, ...] = ()
    genres_excluded: tuple[str, ...] = ()

    def admits(self, movie: Movie) -> bool:
        if self.year_min is not None and (movie.year is None or movie.year < self.year_min):
            return False
        if self.year_max is not None and (movie.year is None or movie.year > self.year_max):
            return False
        if any(g not in movie.genres for g in self.genres_required):
            return False
        return not any(g in movie.genres for g in self.genres_excluded)


@dataclass(frozen=True, slots=True)
class ScoredList:
    """Movie ids, best first, with parallel scores (higher is better): what retrievers and rankers return.

    ``meta`` says how a retriever found them (strategy, backend); rankers leave it empty.
    """

    ids: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.scores):
            raise ValueError("ids and scores differ in length")

    def __len__(self) -> int:
        return len(self.ids)
