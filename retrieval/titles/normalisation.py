"""Title normalisation: comparable word tokens, the everyday-word vocabulary and a title's lookup aliases.

``normalize("Amélie & Co.")`` is ``"amelie and co"``; ``_aliases`` turns a MovieLens display title
("Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il)") into weighted lookup keys.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Alias weights: how strongly a key identifies its movie.
_W_FULL = 1.0
_W_NO_ARTICLE = 0.97
_W_AKA = 0.95
_W_SUBTITLE = 0.92
_W_SERIES = 0.85
_W_PARTIAL = 0.86

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
_YEAR_TAIL_RE = re.compile(r"[\s,]*[(\[]?\s*((?:18[89]|19\d|20[0-4])\d)\s*[)\]]?\s*$")
_PAREN_YEAR_RE = re.compile(r"\s*\(\d{4}\)\s*$")
_TRAILING_ARTICLE_RE = re.compile(
    r"^(.*?),\s*(the|a|an|le|la|les|l'|il|der|die|das|el|los|las|lo|i|gli|un|une)\s*$", re.IGNORECASE
)
_PAREN_RE = re.compile(r"\s*\(([^()]*)\)")
_AKA_RE = re.compile(r"^\s*(?:a\.k\.a\.|aka)\s+", re.IGNORECASE)
_ROMAN = _words("i ii iii iv v vi vii viii ix x")
_ARTICLES = frozenset(("the", "a", "an"))

# Function words: a title made only of these ("It", "Her", "Up", "The One") needs capitals mid-sentence,
# quotes or a year; a cue word alone is not enough ("I loved it").
_STOPWORDS = _words(
    """a about above after again against all am an and any anything are as at be because been before
    being below between both but by can could did do does doing down during each either else even ever
    every everything few first for from further get got had has have having he her here hers herself him
    himself his how i if in into is it its itself just last let me more most much my myself next no nor
    not nothing now of off on once one only or other others our ours out over own same second she should
    so some something somebody someone still such than that the their them then there these they third
    this those through to too under until up us very was we were what when where which while who whom
    why will with would yes yet you your yours yourself another anyone everyone none nobody whatever
    again always never maybe ok okay oh hey hi hello please thanks thank two three four five six seven
    eight nine ten many may might must shall us go going gone come came"""
)
# Everyday content words, including the genre/mood/control vocabulary users type around titles.
_COMMON = _STOPWORDS | _words(
    """action adventure animation animated anime cartoon cartoons children kids kid family comedy comedies
    crime documentary documentaries doc drama dramas fantasy noir film films horror imax musical musicals
    mystery mysteries romance romantic romcom sci fi scifi science fiction thriller thrillers war western
    westerns movie movies show shows series funny scary dark light lighter darker feel good bad great best
    better worse worst new old older newer recent classic classics modern love loved like liked hate hated
    watch watched seen saw see enjoy enjoyed want need give show tell recommend suggest something fun
    space twist heist time travel mind bending crash heat speed drive safe smoke friday kids big home
    sweet life man men woman women girl girls boy boys day night days nights world city house money
    game games story stories way people family friends friend school high wild heart dream dreams war
    run fire water blue red black white green gold star stars sun moon king queen true lost found end
    beginning last first second third top ten one two alone together away back little long short
    hard easy real fake free love happy sad happiness true lies truth right wrong side dead alive
    power fast slow strange weird cool nice fine sure yes still gone taken split signs brave frozen
    cars rush network arrival contact sunshine twister psycho scream halloween christmas holiday
    summer winter spring fall rain snow ice storm road trip drive ride run chase hunt kill killer
    murder death life living dead zombie zombies vampire vampires monster monsters robot robots ghost
    ghosts witch alien aliens hero heroes superhero villain animal animals dog dogs cat cats horse
    music dance song songs art book books mother father brother sister son daughter wife husband baby
    enough more less please also really very pretty kinda quite rather similar same different else
    start over reset search forget everything any year years decade era century recent older
    hidden gem gems popular known obscure underrated mainstream upbeat serious intense violent gory
    date weekend evening morning tonight office job work party wedding
    sappy cheesy quirky clever smart twisted epic gritty cozy wholesome emotional uplifting"""
)


@lru_cache(maxsize=65_536)
def _norm_token(token: str) -> str:
    if token == "&":
        return "and"
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def tokens(text: str) -> list[str]:
    """Normalised word tokens: case, accents and apostrophes folded, ``&`` read as "and"."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        t = _norm_token(m.group())
        if t:
            out.append(t)
    return out


def normalize(text: str) -> str:
    """Comparable form of a title: ``"Amélie & Co."`` -> ``"amelie and co"``."""
    return " ".join(tokens(text))


def _move_trailing_article(text: str) -> str:
    m = _TRAILING_ARTICLE_RE.match(text.strip())
    if not m:
        return text
    article = m.group(2)
    sep = "" if article.endswith("'") else " "
    return f"{article}{sep}{m.group(1)}"


def _aliases(title: str) -> dict[str, float]:
    """Lookup keys for a display title with their weights."""
    keys: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        toks = tokens(_move_trailing_article(text))
        if not toks or (weight < _W_FULL and all(t in _STOPWORDS for t in toks)):
            return
        key = " ".join(toks)
        keys[key] = max(keys.get(key, 0.0), weight)
        if len(toks) > 1 and toks[0] in _ARTICLES:
            bare = " ".join(toks[1:])
            keys[bare] = max(keys.get(bare, 0.0), weight * _W_NO_ARTICLE)

    title = _PAREN_YEAR_RE.sub("", title) or title
    main = _PAREN_RE.sub("", title).strip() or title
    add(main, _W_FULL)
    if main != title:
        add(title, _W_AKA)
        for inner in _PAREN_RE.findall(title):
            add(_AKA_RE.sub("", inner), _W_AKA)
    if ":" in main:
        head, _, tail = main.partition(":")
        add(head, _W_SERIES)
        add(tail, _W_SUBTITLE)
        if " - " in tail:
            add(tail.rsplit(" - ", 1)[1], _W_SUBTITLE)
    return keys


def _is_sequel_of(longer: list[str], shorter: list[str]) -> bool:
    """``longer`` is ``shorter`` plus a sequel number ("toy story 2" vs "toy story")."""
    return (
        len(longer) == len(shorter) + 1
        and longer[:-1] == shorter
        and (longer[-1].isdigit() or longer[-1] in _ROMAN)
    )
