"""Factual template explanations that read like a person wrote them, in several phrasings.

Every sentence states only evidence we hold (genres, director, tags, co-liking users, ratings). The
phrasing is chosen deterministically from the pick's position and the pick itself, so one reply's
picks read differently and the same reply reads the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.records import counted
from retrieval.types import Movie


@dataclass(frozen=True, slots=True)
class Voice:
    """Whom a sentence speaks of: the user (``"you"``) or, in a group, another viewer (``"they"``; the
    reply names that viewer before the sentence). Singular "they" takes the same verb forms as "you"."""

    subject: str = "you"
    object: str = "you"
    possessive: str = "your"

    @property
    def subject_cap(self) -> str:
        """The subject capitalised, for a sentence's first word."""
        return self.subject[:1].upper() + self.subject[1:]

    @property
    def possessive_cap(self) -> str:
        return self.possessive[:1].upper() + self.possessive[1:]


YOU = Voice()
THEY = Voice("they", "them", "their")

# Genre wording: the first noun present heads the phrase, the first other adjective qualifies it.
_NOUNS = (
    ("Documentary", "documentary"), ("Western", "western"), ("Thriller", "thriller"),
    ("Horror", "horror film"), ("Comedy", "comedy"), ("Musical", "musical"), ("Mystery", "mystery"),
    ("Drama", "drama"), ("Adventure", "adventure"), ("Action", "action film"), ("Fantasy", "fantasy"),
    ("Sci-Fi", "sci-fi film"), ("Romance", "romance"), ("Children", "family film"),
    ("Animation", "animated film"), ("Crime", "crime film"), ("War", "war film"), ("Film-Noir", "film noir"),
)  # fmt: skip
_ADJECTIVES = (
    ("Animation", "animated"), ("Sci-Fi", "sci-fi"), ("Fantasy", "fantasy"), ("Crime", "crime"),
    ("War", "war"), ("Romance", "romantic"), ("Children", "family"), ("Film-Noir", "noir"),
    ("Action", "action"), ("Mystery", "mystery"), ("Horror", "horror"), ("Comedy", "comic"),
    ("Adventure", "adventure"),
)  # fmt: skip


def genre_phrase(genres: Sequence[str]) -> str:
    """``("Horror", "Sci-Fi")`` → ``"a sci-fi horror film"``; ``"a film"`` when no genre is listed."""
    noun = next(((g, w) for g, w in _NOUNS if g in genres), None)
    adj = next((w for g, w in _ADJECTIVES if g in genres and (noun is None or g != noun[0])), None)
    if noun is None:
        phrase = "film"
    elif adj and not noun[1].startswith(adj):
        phrase = f"{adj} {noun[1]}"
    else:
        phrase = noun[1]
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def genre_words(genres: Sequence[str]) -> str:
    """``("Crime", "Sci-Fi")`` → ``"crime and sci-fi"`` (at most two)."""
    return " and ".join(g.lower() if g != "Sci-Fi" else "sci-fi" for g in genres[:2])


def quoted(tags: Sequence[str]) -> str:
    """The first two tags in single quotes, joined by "and"."""
    return " and ".join(f"'{t}'" for t in tags[:2])


def _pick(options: Sequence[Callable[[], str]], index: int, movie: Movie) -> str:
    """One phrasing: by position first, shifted by the movie so equal positions vary across replies."""
    return options[(index + movie.movie_id % 7) % len(options)]()


def opening(m: Movie, tags: Sequence[str], index: int, personal: bool = False, voice: Voice = YOU) -> str:
    """What the pick is: genre, director, tags (each only when held); ``personal``: always names the
    viewer, "you" or ``voice`` (for when no reason sentence follows)."""
    v = voice
    desc = genre_phrase(m.genres)
    by = f" directed by {m.directors[0]}" if m.directors else ""
    from_ = f" from {m.directors[0]}" if m.directors else ""
    tq = quoted(tags)
    if desc == "a film" and not by and not tags:
        return f"{v.subject_cap} could try {m.label}."
    options: list[Callable[[], str]] = [
        lambda: f"{m.label} is {desc}{by}" + (f", tagged {tq}." if tags else "."),
        lambda: (
            f"{v.subject_cap} could try {m.label}, {desc}{from_}"
            + (f" that people tag {tq}." if tags else ".")
        ),
        lambda: (
            f"If {v.subject} want {desc}{from_}, {m.label} fits"
            + (f", and people call it {tq}." if tags else ".")
        ),
        lambda: f"{m.label} gives {v.object} {desc}{by}" + (f", known for {tq}." if tags else "."),
        lambda: f"Here is {desc}{from_} for {v.object}: {m.label}" + (f", tagged {tq}." if tags else "."),
        lambda: f"Take a look at {m.label}, {desc}{by}" + (f"; viewers tag it {tq}." if tags else "."),
        lambda: f"{m.label} is {desc}{from_}" + (f" that {v.subject} may know for {tq}." if tags else "."),
    ]
    if personal:
        options = [options[i] for i in (1, 2, 3, 4, 6)]
    return _pick(options, index, m)


def _co_liked(m: Movie, liked: str, n: int, index: int, v: Voice = YOU) -> str:
    """The co-liking sentence; no six words in a row are the same in every phrasing (varied replies)."""
    who = "one MovieLens user" if n == 1 else counted(n, "MovieLens user")
    t = m.title
    return _pick(
        [
            lambda: f"As a fan of {liked}, {v.subject} share a taste with {who} who loved it.",
            lambda: f"{who[0].upper()}{who[1:]} loved both {liked} and {t}, and so might {v.subject}.",
            lambda: f"{t} won over {who} who also loved {liked}, as {v.subject} did.",
            lambda: f"If {liked} worked for {v.object}, so may {t}: {who} enjoyed both.",
            lambda: f"Fans of {liked}, like {v.object}, rate {t} well: {who} loved both.",
            lambda: f"{v.possessive_cap} love of {liked} is shared by {who}, who loved {t} too.",
            lambda: f"Since {v.subject} liked {liked}, try it: {who} who loved {liked} loved it too.",
            lambda: f"{t} is a favourite of {who} who also loved {liked}, so it suits {v.possessive} taste.",
        ],
        index,
        m,
    )


def _rating(m: Movie, r: str, n: int, index: int, v: Voice = YOU) -> str:
    t = m.title
    ratings, ml_ratings = counted(n, "rating"), counted(n, "MovieLens rating")
    return _pick(
        [
            lambda: f"MovieLens users rate it {r} out of 5 over {ratings}; good company for {v.object}.",
            lambda: f"It averages {r} out of 5 from {ml_ratings}: safe for {v.object}.",
            lambda: f"Good company for {v.object}: {ml_ratings} average {r} out of 5.",
            lambda: f"{v.subject_cap} can trust {t}: {ml_ratings} give it {r} out of 5.",
        ],
        index,
        m,
    )


def reason(
    m: Movie, liked: str | None, co_liked: int | None, matched: Sequence[str], index: int, voice: Voice = YOU
) -> str:
    """Why it suits you (or ``voice``): co-liking users, shared genres with a liked movie, or its rating."""
    v = voice
    if liked and co_liked:
        return _co_liked(m, liked, co_liked, index, v)
    if liked and matched:
        shared = genre_words(matched)
        return _pick(
            [
                lambda: f"It shares the {shared} side of {liked}, which {v.subject} liked.",
                lambda: f"{v.subject_cap} liked {liked}, and this has the same {shared} streak.",
                lambda: f"It has the {shared} mix {v.subject} enjoyed in {liked}.",
            ],
            index,
            m,
        )
    if liked:
        return _pick(
            [
                lambda: f"It sits close to {liked}, which {v.subject} liked.",
                lambda: f"{m.title} is close in spirit to {liked}, which {v.subject} enjoyed.",
            ],
            index,
            m,
        )
    if m.rating_mean is not None and m.rating_count >= 10:
        return _rating(m, f"{m.rating_mean:.1f}", m.rating_count, index, v)
    return ""


__all__ = ["THEY", "YOU", "Voice", "genre_phrase", "genre_words", "opening", "quoted", "reason"]
