"""Filters in the vector index's terms: Chroma metadata and ``where`` clauses, and a vectorised mask.

Each form admits exactly the movies :meth:`retrieval.types.Filters.admits` admits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from retrieval.catalogue import Catalogue
from retrieval.types import Filters, Movie


def genre_key(genre: str) -> str:
    """Metadata key of a genre flag: ``"Horror"`` → ``"g_Horror"``."""
    return f"g_{genre}"


def movie_metadata(movie: Movie, genres: Sequence[str]) -> dict[str, int | bool]:
    """Chroma metadata: id, year (-1 unknown) and a flag for *every* genre (missing keys never match)."""
    meta: dict[str, int | bool] = {"movie_id": int(movie.movie_id), "year": movie.year or -1}
    meta.update({genre_key(g): g in movie.genres for g in genres})
    return meta


def where_clause(
    filters: Filters | None, genres: Collection[str], exclude_ids: Collection[int] = ()
) -> dict[str, Any] | None:
    """Chroma ``where`` equivalent to ``Filters.admits`` (and not in ``exclude_ids``); ``None`` if no clause.

    ``genres`` are the genres that have metadata flags: excluding an unknown genre is a no-op (a
    ``False`` test on a missing key would match nothing).
    """
    clauses: list[dict[str, Any]] = []
    if filters is not None:
        if filters.year_min is not None or filters.year_max is not None:
            # unknown years are stored as -1 and must fail any year bound, as in Filters.admits
            clauses.append({"year": {"$gte": max(filters.year_min or 0, 0)}})
            if filters.year_max is not None:
                clauses.append({"year": {"$lte": filters.year_max}})
        clauses += [{genre_key(g): True} for g in filters.genres_required]
        clauses += [{genre_key(g): False} for g in filters.genres_excluded if g in genres]
    if exclude_ids:
        clauses.append({"movie_id": {"$nin": sorted(int(i) for i in exclude_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class FilterMask:
    """Vectorised ``Filters.admits`` over a catalogue (rows aligned with ``catalogue.ids``)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.genres = catalogue.genres
        self._col = {g: j for j, g in enumerate(self.genres)}
        self._years = np.array([m.year if m.year is not None else -1 for m in catalogue], dtype=np.int64)
        self._flags = np.zeros((len(catalogue), len(self.genres)), dtype=bool)
        for i, m in enumerate(catalogue):
            self._flags[i, [self._col[g] for g in m.genres]] = True

    def __call__(self, filters: Filters) -> np.ndarray:
        mask = np.ones(len(self._years), dtype=bool)
        known = self._years != -1
        if filters.year_min is not None:
            mask &= known & (self._years >= filters.year_min)
        if filters.year_max is not None:
            mask &= known & (self._years <= filters.year_max)
        for g in filters.genres_required:
            mask &= self._flags[:, self._col[g]] if g in self._col else False
        for g in filters.genres_excluded:
            if g in self._col:
                mask &= ~self._flags[:, self._col[g]]
        return mask
