"""The movie catalogue: an immutable, id-indexed collection of :class:`Movie` records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import numpy as np

from retrieval.types import Movie


class Catalogue:
    """Movies by MovieLens id, in ascending id order (row ``i`` of any item matrix is ``ids[i]``)."""

    def __init__(self, movies: Iterable[Movie], *, source_fingerprint: str = "") -> None:
        ordered = sorted(movies, key=lambda m: m.movie_id)
        self._movies: dict[int, Movie] = {m.movie_id: m for m in ordered}
        if len(self._movies) != len(ordered):
            raise ValueError("duplicate movie ids in catalogue")
        self.ids: np.ndarray = np.fromiter(self._movies, dtype=np.int64, count=len(ordered))
        self._row = {mid: i for i, mid in enumerate(self._movies)}
        self._source_fingerprint = source_fingerprint

    def __len__(self) -> int:
        return len(self._movies)

    def __iter__(self) -> Iterator[Movie]:
        return iter(self._movies.values())

    def __contains__(self, movie_id: object) -> bool:
        return movie_id in self._movies

    def get(self, movie_id: int) -> Movie:
        """The movie with this id; ``KeyError`` if unknown."""
        return self._movies[int(movie_id)]

    def find(self, movie_id: int) -> Movie | None:
        return self._movies.get(int(movie_id))

    def row(self, movie_id: int) -> int:
        """Row of ``movie_id`` in item matrices aligned with :attr:`ids`."""
        return self._row[int(movie_id)]

    def rows(self, movie_ids: Iterable[int]) -> np.ndarray:
        return np.array([self._row[int(m)] for m in movie_ids], dtype=np.int64)

    @property
    def genres(self) -> tuple[str, ...]:
        return tuple(sorted({g for m in self for g in m.genres}))

    @property
    def fingerprint(self) -> str:
        """Stable digest of the source data (or of the records when built in memory)."""
        if self._source_fingerprint:
            return self._source_fingerprint
        h = hashlib.sha256()
        for m in self:
            h.update(repr(m).encode())
        return h.hexdigest()[:16]
