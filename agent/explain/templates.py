"""Factual template explanations that read like a person wrote them, in several phrasings.

Every sentence states only evidence we hold (genres, director, tags, co-liking users, ratings). The
phrasing is chosen deterministically from the pick's position and the pick itself, so one reply's
picks read differently and the same reply reads the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from retrieval.types import Movie

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


def opening(m: Movie, tags: Sequence[str], index: int, personal: bool = False) -> str:
    """What the pick is: genre, director, tags (each only when held); ``personal``: always says "you"
    (for when no reason sentence follows)."""
    desc = genre_phrase(m.genres)
    by = f" directed by {m.directors[0]}" if m.directors else ""
    from_ = f" from {m.directors[0]}" if m.directors else ""
    tq = quoted(tags)
    if desc == "a film" and not by and not tags:
        return f"You could try {m.label}."
    options: list[Callable[[], str]] = [
        lambda: f"{m.label} is {desc}{by}" + (f", tagged {tq}." if tags else "."),
        lambda: f"You could try {m.label}, {desc}{from_}" + (f" that people tag {tq}." if tags else "."),
        lambda: (
            f"If you want {desc}{from_}, {m.label} fits" + (f", and people call it {tq}." if tags else ".")
        ),
        lambda: f"{m.label} gives you {desc}{by}" + (f", known for {tq}." if tags else "."),
        lambda: f"Here is {desc}{from_} for you: {m.label}" + (f", tagged {tq}." if tags else "."),
        lambda: f"Take a look at {m.label}, {desc}{by}" + (f"; viewers tag it {tq}." if tags else "."),
        lambda: f"{m.label} is {desc}{from_}" + (f" that you may know for {tq}." if tags else "."),
    ]
    if personal:
        options = [options[i] for i in (1, 2, 3, 4, 6)]
    return _pick(options, index, m)


def _co_liked(m: Movie, liked: str, n: int, index: int) -> str:
    """The co-liking sentence; no six words in a row are the same in every phrasing (varied replies)."""
    who = "one MovieLens user" if n == 1 else f"{n} MovieLens users"
    t = m.title
    return _pick(
        [
            lambda: f"As a fan of {liked}, you share a taste with {who} who loved it.",
            lambda: f"{who[0].upper()}{who[1:]} loved both {liked} and {t}, and so might you.",
            lambda: f"{t} won over {who} who also loved {liked}, as you did.",
            lambda: f"If {liked} worked for you, so may {t}: {who} enjoyed both.",
            lambda: f"Fans of {liked}, like you, rate {t} well: {who} loved both.",
            lambda: f"Your love of {liked} is shared by {who}, and they loved {t} too.",
            lambda: f"Since you liked {liked}, try it: {who} who loved {liked} loved it too.",
            lambda: f"{t} is a favourite of {who} who also loved {liked}, so it suits your taste.",
        ],
        index,
        m,
    )


def _rating(m: Movie, r: str, n: int, index: int) -> str:
    t = m.title
    return _pick(
        [
            lambda: f"MovieLens users rate it {r} out of 5 over {n} ratings; good company for you.",
            lambda: f"It averages {r} out of 5 from {n} MovieLens ratings: safe for you.",
            lambda: f"Good company for you: {n} MovieLens ratings average {r} out of 5.",
            lambda: f"You can trust {t}: {n} MovieLens ratings give it {r} out of 5.",
        ],
        index,
        m,
    )


def reason(m: Movie, liked: str | None, co_liked: int | None, matched: Sequence[str], index: int) -> str:
    """Why it suits you: co-liking users, shared genres with a liked movie, or its rating."""
    if liked and co_liked:
        return _co_liked(m, liked, co_liked, index)
    if liked and matched:
        shared = genre_words(matched)
        return _pick(
            [
                lambda: f"It shares the {shared} side of {liked}, which you liked.",
                lambda: f"You liked {liked}, and this has the same {shared} streak.",
                lambda: f"It has the {shared} mix you enjoyed in {liked}.",
            ],
            index,
            m,
        )
    if liked:
        return _pick(
            [
                lambda: f"It sits close to {liked}, which you liked.",
                lambda: f"{m.title} is close in spirit to {liked}, which you enjoyed.",
            ],
            index,
            m,
        )
    if m.rating_mean is not None and m.rating_count >= 10:
        return _rating(m, f"{m.rating_mean:.1f}", m.rating_count, index)
    return ""


__all__ = ["genre_phrase", "genre_words", "opening", "quoted", "reason"]
