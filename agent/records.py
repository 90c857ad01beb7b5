"""Typed records shared by the agent's stages: the understood query, replies, steps, feedback; and
:func:`counted`, how every stage writes a number with its noun.

The UI only renders these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from retrieval.types import Filters, Movie

ExplanationSource = Literal["llm", "template", "none"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` as a user reads them: "1 movie", "2 movies", "1,204 MovieLens ratings";
    ``plural`` for an irregular noun ("1 person", "3 people")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


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
    genres_liked: tuple[str, ...] = ()  # soft: genres they said they enjoy ("she loves romcoms")

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


@dataclass(frozen=True, slots=True)
class Recommendation:
    movie_id: int  # MovieLens movieId
    title: str
    year: int | None
    genres: tuple[str, ...]
    score: float
    explanation: str
    explanation_source: ExplanationSource = "template"
    rating_mean: float | None = None
    rating_count: int = 0
    imdb_id: str | None = None
    tmdb_id: int | None = None

    @classmethod
    def of(
        cls, movie: Movie, score: float, explanation: str = "", source: ExplanationSource = "none"
    ) -> Recommendation:
        """The card for ``movie``; an empty explanation becomes its title and genres."""
        return cls(
            movie_id=movie.movie_id,
            title=movie.title,
            year=movie.year,
            genres=movie.genres,
            score=float(score),
            explanation=explanation or f"{movie.label}: {', '.join(movie.genres) or 'no genre listed'}.",
            explanation_source=source,
            rating_mean=movie.rating_mean,
            rating_count=movie.rating_count,
            imdb_id=movie.imdb_id,
            tmdb_id=movie.tmdb_id,
        )

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    @property
    def links(self) -> dict[str, str]:
        out = {"MovieLens": f"https://movielens.org/movies/{self.movie_id}"}
        if self.imdb_id:
            out["IMDb"] = f"https://www.imdb.com/title/{self.imdb_id}/"
        if self.tmdb_id:
            out["TMDB"] = f"https://www.themoviedb.org/movie/{self.tmdb_id}"
        return out


StepKind = Literal["understand", "retrieve", "rerank", "filter", "explain", "notice", "error"]


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of a turn, for transparency panels and logs."""

    kind: StepKind
    summary: str
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    recommendations: tuple[Recommendation, ...]
    query: Query
    steps: tuple[Step, ...] = ()
    notices: tuple[str, ...] = ()  # one-line messages: ambiguity, unknown titles, contradictions, limits
    error: str | None = None  # set when the turn could not be served; text then explains it
    act: str = "recommend"  # recommend | question (answered, no picks) | reset | chitchat


@dataclass(frozen=True, slots=True)
class ReplyChunk:
    """A piece of a streamed reply; the last chunk carries the complete :class:`Reply`."""

    text: str
    reply: Reply | None = None
    recommendation: Recommendation | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class Feedback:
    movie_id: int
    signal: Literal["liked", "disliked", "seen"]
    source: Literal["chat", "button"] = "button"
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnInput:
    """One live turn's message and who sent it (``user_id`` None: anonymous, nothing is stored)."""

    text: str
    session_id: str
    user_id: str | None = None
    pending: tuple[str, ...] = ()  # notices waiting for this reply (e.g. a degraded component)
    history: list[dict[str, str]] | None = None  # the session's transcript; the turn appends to it
