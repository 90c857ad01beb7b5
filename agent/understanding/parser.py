"""Deterministic understanding of one user message (no LLM): titles, sentiment, filters, count, critiques.

``parse`` works on a lower-cased copy in which every title span (found by :class:`TitleResolver`) is a
marker. Control phrases (reset, critiques, years, counts, references to earlier picks) are recognised and
cut out in a fixed order, so "more recent" is a critique and not a year filter and "the first one" is a
reference and not a count. What is left feeds genre, mood and the free ``text`` used for retrieval.

Years, periods and counts are read by :mod:`agent.understanding.quantities`.

Genres: asking for one ("a comedy", "looking for westerns", "only horror") requires it; naming one as a
standing taste in its clause ("I like comedy and action") makes it a soft preference (``genres_liked``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from agent.settings import DEFAULT_LIMITS
from agent.understanding import lexicon as lx
from agent.understanding.deltas import Critique, TitleMention, Understanding
from agent.understanding.matching import Work, phrase
from agent.understanding.quantities import ages, count, number, spell_years, years
from agent.understanding.sentiment import DISLIKE, LIKE, SEEN, Attribution, attribute, item_marker
from retrieval.titles import TitleResolver, TitleSpan

_ORD = lx.ORDINAL_RE
_REF_NOUN = r"(?:one|movie|film|pick|suggestion|option|recommendation|title|entry)s?"
_REF_RULES = tuple(
    (phrase(p), kind)
    for p, kind in (
        (r"(?:the )?first (?P<n>two|three|four|2|3|4)(?: ones| movies| films| picks)?", "first_n"),
        (rf"(?:the )?(?:very )?(?P<o>{_ORD}) {_REF_NOUN}", "ord"),
        (
            rf"the (?:very )?(?P<o>{_ORD})(?! (?:time|few|half|place|season|part|act|minutes?|hours?|years?|"
            rf"decades?|century|of|two|three|\d)\b)(?! ?¤T)",
            "ord",
        ),
        (r"(?P<o>1st|2nd|3rd|4th|5th|6th|7th|8th|9th|10th)(?! ?¤T)", "ord"),
        (r"(?:number|no\.|#|option|pick|choice) ?(?P<n>\d{1,2}|one|two|three|four|five)", "num"),
        (r"(?:that|this) (?:one|movie|film|pick|suggestion)|that last one", "that"),
    )
)
_TITLE_MARKER_RE = re.compile(r"¤T[A-J]+¤")
_REF_CHAIN = re.compile(rf"(¤R[A-J]+¤ ?(?:,|and|or|&|\+) ?(?:the )?)(?P<o>{_ORD})(?![\w'])(?! ?¤T)")
_RESET_RE = phrase(lx.RESET_RE)
_SEEN_ALL_RE = phrase(lx.SEEN_ALL_RE)
_CLEAR_YEARS_RE = phrase(lx.CLEAR_YEARS_RE)
_CLEAR_GENRES_RE = phrase(lx.CLEAR_GENRES_RE)
_REPLACE_GENRES_RE = phrase(lx.REPLACE_GENRES_RE)
_ADD_GENRES_RE = phrase(r"as well|too|also|plus|in addition|and also")
_ADJECTIVE_AS_NOUN_RE = re.compile(r" *(?:movies?|films?|flicks?)(?![\w'])")
_GENERIC_SPAN_RE = re.compile(rf"(?:the |a )?(?:{_ORD})(?: one)?|[\W_]+")
_CRITIQUE_RULES = tuple((phrase(p), c) for p, c in lx.CRITIQUES)
_GENRE_RULES = tuple((phrase(p), g, True) for p, g in lx.GENRE_NOUNS) + tuple(
    (phrase(p), g, False) for p, g in lx.GENRE_ADJECTIVES
)
_GENRE_WORD_RE = re.compile("|".join(p for p, _ in (*lx.GENRE_NOUNS, *lx.GENRE_ADJECTIVES)))
_MOOD_RULES = tuple((phrase(p), m) for p, m in lx.MOODS)
_WORD_RE = re.compile(r"¤[A-Z]+¤|[a-z0-9']+|[.!?;,\n]")
_NEGATORS = lx.words(
    "no not nothing without non avoid avoiding except excluding exclude hate hated dislike disliked skip "
    "none "
    "neither nor minus never nope zero sans don't dont isn't aren't wasn't"
)
_NEG_VERB_RE = re.compile(
    r"(?:^| )(?:don't|dont|do not|didn't|did not|never|not|no|won't|doesn't|does not|i'm not|am not|"
    r"rather not|can't stand|cannot stand)(?: \w+){0,2} (?:like|want|need|love|enjoy|into|of|see|watch|in|"
    r"for|care|feel|more|on)(?: anything| any| something| some)?$"
)
_LIST_SKIP = lx.words(
    ", or and nor & / a an the any too overly very so really more much with movies movie films film stuff "
    "thing things "
    "kind kinds of type types genre genres flicks please science fiction fi sci noir love story stories "
    "world "
    "mob friendly family scary violent gory dark sad depressing long boring intense heavy cheesy silly "
    "romantic funny creepy spooky"
)
_FILLER_RE = phrase(
    r"i|i'm|i'd|i've|im|me|my|we|we're|we've|we'd|our|us|you|please|pls|can|could|would|will|recommend|suggest|give|show|find|get"
    r"|want|wanna|need|looking|look|for|some|something|anything|a|an|the|movies?|films?|flicks?|and|or|but"
    r"|with|that|this|these|those|is|are|was|were|be|it|to|of|in|on|like|liked|love|loved|hate|hated"
    r"|enjoyed|seen|watched|saw|really|just|also|more|thanks?|hi|hello|hey|ok|okay|no|not|nothing|any|maybe"
    r"|perhaps|so|very|too|what|about|how|do|did|don't|didn't|have|has|had|one|ones|fan|big"
    r"|similar|other|already|yes|yeah|lol|now|tonight|watch|see|else|ideas?|suggestions?|recommendations?"
    r"|kind|sort|type|stuff|there|then|than|as|if|at|by|from|all|both|either|into|let's|lets|let|ones?"
)
_SIMILAR_ASK_RE = phrase(
    r"(?:anything|something|any|some|other|more) (?:\w+ )?(?:similar|alike|along those lines|in that vein)|"
    r"similar (?:ones|movies|films|titles|stuff)|(?:movies|films|ones) like (?:that|those|them|these|it)"
)
_CONTROL_CHARS = dict.fromkeys(i for i in range(0xA0) if (i < 0x20 and chr(i) not in "\n\t") or i >= 0x7F)


def parse(
    message: str,
    resolver: TitleResolver,
    *,
    genres: Sequence[str],
    max_year: int,
    max_chars: int = DEFAULT_LIMITS.message_chars,
) -> Understanding:
    """Understand one user message (its first ``max_chars`` characters); never raises (worst case: an
    empty :class:`Understanding`)."""
    try:
        return _parse(
            message[:max_chars] if isinstance(message, str) else message,
            resolver,
            genres=genres,
            max_year=max_year,
        )
    except Exception:  # a failed parse must not break the conversation turn
        return Understanding()


def _sanitize(message: object) -> str:
    if not isinstance(message, str):
        return ""
    text = message.translate(_CONTROL_CHARS)
    text = "".join(" " if unicodedata.category(c) in ("Cs", "Co", "Cf") else c for c in text)
    return text.replace("’", "'").replace("‘", "'").replace("`", "'").replace("\t", " ")


def _lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _marked(msg: str, spans: Sequence[TitleSpan]) -> str:
    """``msg`` lower-cased, each title span replaced by its item marker."""
    pieces, prev = [], 0
    for i, span in enumerate(spans):
        pieces.append(_lower(msg[prev : span.start]))
        pieces.append(item_marker("T", i))
        prev = span.end
    pieces.append(_lower(msg[prev:]))
    return "".join(pieces)


def _parse(message: str, resolver: TitleResolver, *, genres: Sequence[str], max_year: int) -> Understanding:
    msg = _sanitize(message)
    if not msg.strip():
        return Understanding()
    spans = [s for s in resolver.find_mentions(msg) if not _generic_span(s, msg)]
    work = Work(_marked(msg, spans))
    reset = bool(work.take(_RESET_RE))
    seen_all = bool(work.take(_SEEN_ALL_RE))
    work.w = spell_years(work.w)
    child = ages(work)
    critiques = _critiques(work)
    clear_years = bool(work.take(_CLEAR_YEARS_RE))
    clear_genres = bool(work.take(_CLEAR_GENRES_RE))
    replace_genres = bool(work.take(_REPLACE_GENRES_RE)) and not _ADD_GENRES_RE.search(work.w)
    year_min, year_max = _relative_bound(years(work, max_year), critiques)
    refs = _refs(work)
    k = count(work)
    required, excluded, liked_genres, allowed, negated_spans = _genres(work.w, frozenset(genres))
    if child and "Children" in genres and "Children" not in (*required, *excluded, *liked_genres):
        required.append("Children")
    mood = _moods(work.w)
    attribution = attribute(work.w)
    movies, picks = _labelled(attribution, spans, refs)
    if _SIMILAR_ASK_RE.search(work.w):  # "I saw X and Y, anything similar?": asking for more of them
        movies[LIKE] += [m for m in movies[SEEN] if m not in movies[LIKE] and m not in movies[DISLIKE]]
    return Understanding(
        liked=tuple(movies[LIKE]),
        disliked=tuple(movies[DISLIKE]),
        seen=tuple(movies[SEEN]),
        liked_refs=tuple(picks[LIKE]),
        disliked_refs=tuple(picks[DISLIKE]),
        seen_refs=tuple(picks[SEEN]),
        seen_all_shown=seen_all,
        genres_required=tuple(required),
        genres_excluded=tuple(excluded),
        genres_liked=tuple(liked_genres),
        genres_allowed=tuple(allowed),
        year_min=None if clear_years else year_min,
        year_max=None if clear_years else year_max,
        clear_years=clear_years,
        clear_genres=clear_genres,
        replace_genres=replace_genres and bool(required),
        k=k,
        mood=tuple(mood),
        critiques=tuple(critiques),
        reset=reset,
        mentions=tuple(TitleMention(s.text, s.movie_id, s.alternatives, s.score) for s in spans),
        assumed=_assumed(spans, attribution),
        text=_free_text(work.w, negated_spans),
    )


def _generic_span(span: TitleSpan, msg: str = "") -> bool:
    """A span that is only a common word ("stuff", "the original", "the fourth"), a lower-case word that
    is a small part of a longer title ("watching" for "The Children Are Watching Us"), or a match whose
    year contradicts the year written with it ("Girls Trip (2017)" read as "The Trip (2002)"): never a
    title. A written year that agrees with the match ("The Post (2017)") makes it a title."""
    text = re.sub(r" *\(?(?:19|20)\d\d\)?$", "", " ".join(_lower(span.text).split()))
    best = span.matches[0] if span.matches else None
    if best is not None and span.year is not None and best.year is not None:
        if abs(span.year - best.year) <= 1:
            return False
        if _wrong_year_fragment(span, msg, text, best.title):
            return True
    if text.removeprefix("the ") in lx.GENERIC_TITLE_WORDS or _RESET_RE.fullmatch(text):
        return True
    if best is not None:
        title_words = re.sub(r"^(?:the|a|an) ", "", _lower(best.title)).split()
        # capitals tell a title from a word, except where a sentence starts ("Wasn't a huge fan")
        uninformative = span.text.islower() or msg[: span.start].rstrip()[-1:] in ("", ".", "!", "?")
        if uninformative and len(text.split()) == 1 and len(title_words) >= 3:
            return True
    return bool(_GENERIC_SPAN_RE.fullmatch(text))


def _wrong_year_fragment(span: TitleSpan, msg: str, text: str, title: str) -> bool:
    """A wrong year is common in chat; a wrong year on a part of a title or of a longer capitalised name
    ("Girls Trip (2017)" spotted as "Trip (2017)") is not a title."""
    partial = text.removeprefix("the ").split() != re.sub(r"^(?:the|a|an) ", "", _lower(title)).split()
    before = re.search(r"(\S+)\s*$", msg[: span.start])
    inside_name = bool(before and before.group(1)[:1].isupper() and before.group(1)[-1] not in ".!?")
    return partial or inside_name


def _relative_bound(
    bounds: tuple[int | None, int | None], critiques: Sequence[Critique]
) -> tuple[int | None, int | None]:
    """ "more recent, from 2008" is a lower bound and "older, from 1990" an upper one, not that year only."""
    lo, hi = bounds
    if lo is not None and lo == hi:
        if Critique.MORE_RECENT in critiques:
            return lo, None
        if Critique.OLDER in critiques:
            return None, hi
    return lo, hi


def _critiques(work: Work) -> list[Critique]:
    critiques: list[Critique] = []
    for pattern, critique in _CRITIQUE_RULES:
        if work.take(pattern) and critique not in critiques:
            critiques.append(critique)
    return critiques


def _assumed(spans: Sequence[TitleSpan], attribution: Attribution) -> tuple[int, ...]:
    """Titles liked only because no cue reached them ("something like X")."""
    out: list[int] = []
    for i, span in enumerate(spans):
        if ("T", i) in attribution.defaulted and span.movie_id is not None and span.movie_id not in out:
            out.append(span.movie_id)
    return tuple(out)


def _labelled(
    attribution: Attribution, spans: Sequence[TitleSpan], refs: Sequence[tuple[int, ...]]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Movie ids and pick references per label (like, dislike, seen), in item order, without repeats."""
    movies: dict[str, list[int]] = {LIKE: [], DISLIKE: [], SEEN: []}
    picks: dict[str, list[int]] = {LIKE: [], DISLIKE: [], SEEN: []}
    for (kind, index), labels in sorted(attribution.labels.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        for label in (LIKE, DISLIKE, SEEN):
            if label not in labels:
                continue
            if kind == "T":
                movie_id = spans[index].movie_id
                if movie_id is not None and movie_id not in movies[label]:
                    movies[label].append(movie_id)
            else:
                for ref in refs[index]:
                    if ref not in picks[label]:
                        picks[label].append(ref)
    return movies, picks


def _refs(work: Work) -> list[tuple[int, ...]]:
    refs: list[tuple[int, ...]] = []

    def marker(values: tuple[int, ...]) -> str:
        refs.append(values)
        return item_marker("R", len(refs) - 1)

    def sub_for(kind: str) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            if kind == "first_n":
                n = number(m.group("n")) or 1
                return marker(tuple(range(n)))
            if kind == "ord":
                return marker((lx.ORDINALS[m.group("o")],))
            if kind == "num":
                n = number(m.group("n")) or 1
                return marker((n - 1,))
            earlier = _TITLE_MARKER_RE.findall(m.string, 0, m.start())
            # "I liked Lucas ... I have seen that one": the title named just before in the message
            return f" {earlier[-1]} " if earlier else marker((-1,))

        return sub

    for pattern, kind in _REF_RULES:
        work.w = pattern.sub(sub_for(kind), work.w)
    for _ in range(5):
        new = _REF_CHAIN.sub(lambda m: m.group(1) + marker((lx.ORDINALS[m.group("o")],)), work.w)
        if new == work.w:
            break
        work.w = new
    return refs


def _negated(w: str, start: int) -> bool:
    """Whether the word at ``start`` sits in the scope of a negation ("no horror", "not too scary")."""
    toks = _WORD_RE.findall(w[max(0, start - 200) : start])
    k = len(toks) - 1
    while k >= 0 and (toks[k] in _LIST_SKIP or _GENRE_WORD_RE.fullmatch(toks[k])):
        k -= 1
    if k < 0:
        return False
    t = toks[k]
    if t in _NEGATORS:
        return True
    if t == "but":
        return k > 0 and toks[k - 1] in ("anything", "everything")
    if t == "than":
        return k > 0 and toks[k - 1] in ("other", "rather")
    return bool(_NEG_VERB_RE.search(" ".join(toks[max(0, k - 4) : k + 1])))


# "horror is fine", "comedies are ok too": allowed, not asked for
_ALLOWED_RE = re.compile(
    r"(?: movies?| films?)? (?:is|are|'s|would be|will be) (?:also |totally |perfectly )?"
    r"(?:fine|ok|okay|alright|all right|allowed|acceptable|no problem)(?![\w'])"
)
_CLAUSE_END_RE = re.compile(r"[.!?;\n]|\bbut\b")
_TASTE_RE = re.compile(
    r"\b(?:like|likes|liked|love|loves|loved|enjoy|enjoys|enjoyed|into|fan of|fond of|prefer|adore|"
    r"favou?rites?|big on|dig)\b"
)
_REQUEST_RE = re.compile(
    r"(?:'d|\bwould|\bwanna|\bwant|\blooking|\blook for|\bshow|\bgive|\brecommend|\bsuggest|\bfind|"
    r"\bneed|\bmood|\bsearching|\bsee|\bwatch(?:ing)?|\bfeel like|\bonly|\bjust)\b"
)


def _is_taste(w: str, start: int) -> bool:
    """A genre named as a standing taste in its clause ("I love comedies"), not asked for ("a comedy")."""
    clause = _CLAUSE_END_RE.split(w[:start])[-1]
    return bool(_TASTE_RE.search(clause)) and not _REQUEST_RE.search(clause)


def _genres(
    w: str, known: frozenset[str]
) -> tuple[list[str], list[str], list[str], list[str], list[tuple[int, int]]]:
    """(required, excluded, liked, allowed, negated spans): "I like X" is a taste; asking for X requires
    it; "X is fine" only allows it."""
    hits: list[tuple[int, int, tuple[str, ...], bool]] = []
    for pattern, names, noun in _GENRE_RULES:
        for m in pattern.finditer(w):
            hits.append((m.start(), m.end(), names, noun))
    hits.sort(key=lambda h: (h[0], -h[1]))
    state: dict[str, bool] = {}
    taste: set[str] = set()
    allowed: list[str] = []
    negated_spans: list[tuple[int, int]] = []
    end = -1
    for start, stop, names, noun in hits:
        if start < end:
            continue
        end = stop
        negated = _negated(w, start)
        if negated:
            negated_spans.append((start, stop))
        # "I love funny movies": a feeling adjective before "movies" in a taste is a soft genre taste
        noun = noun or (bool(_ADJECTIVE_AS_NOUN_RE.match(w, stop)) and _is_taste(w, start))
        if not (negated or noun):
            continue
        if not negated and _ALLOWED_RE.match(w, stop):
            for name in names:
                if name in known:
                    state.pop(name, None)
                    allowed.append(name)
            continue
        liked = not negated and _is_taste(w, start)
        for name in names:
            if name in known:
                state.pop(name, None)
                state[name] = not negated
                if liked:
                    taste.add(name)
                else:
                    taste.discard(name)
    required = [g for g, on in state.items() if on and g not in taste]
    liked_genres = [g for g, on in state.items() if on and g in taste]
    return required, [g for g, on in state.items() if not on], liked_genres, allowed, negated_spans


def _moods(w: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for pattern, mood in _MOOD_RULES:
        m = pattern.search(w)
        if m and not _negated(w, m.start()):
            found.append((m.start(), mood))
    out: list[str] = []
    for _, mood in sorted(found):
        if mood not in out:
            out.append(mood)
    return out


def _free_text(w: str, negated_spans: list[tuple[int, int]]) -> str:
    for start, stop in sorted(negated_spans, reverse=True):
        w = w[:start] + " " + w[stop:]
    w = re.sub(r"¤[A-Z]+¤", " ", w)
    w = _FILLER_RE.sub(" ", w)
    w = re.sub(r"[^\w\s'-]|(?<!\w)['-]|['-](?!\w)", " ", w)
    return " ".join(w.split())[:500]
