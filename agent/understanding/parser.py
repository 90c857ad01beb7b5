"""Deterministic understanding of one user message (no LLM): titles, sentiment, filters, count, critiques.

``parse`` works on a lower-cased copy in which every title span (found by :class:`TitleResolver`) is a
marker. Control phrases (reset, critiques, years, counts, references to earlier picks) are recognised and
cut out in a fixed order, so "more recent" is a critique and not a year filter and "the first one" is a
reference and not a count. What is left feeds genre, mood and the free ``text`` used for retrieval.

Year choices: "recent"/"latest" -> ``year_min = max_year - 5``; "last N years" -> ``max_year - N``;
"modern" -> ``max_year - 20``; "old"/"classic"/"vintage" -> ``year_max = max_year - 40``; vague words apply
only when no explicit year is given. "after 2010" -> 2011, "since 2010"/"2010 or later" -> 2010,
"before 1960" -> 1959, "until 1960" -> 1960, "from 1999"/"in 1999" -> exactly 1999, "90s" -> 1990-1999
("early"/"mid"/"late" narrow it), two-digit decades 20s-90s are 1900s and 00s/10s are 2000s. A year in
parentheses ("Death Toll (2008)") belongs to a title and is never a filter.

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
from agent.understanding.sentiment import DISLIKE, LIKE, SEEN, attribute, item_marker
from retrieval.titles import TitleResolver, TitleSpan

# The largest number read as a count of picks ("give me 30"); the session then caps it at
# ``Limits.max_picks`` and says so. Bigger numbers are not counts ("a 1000-page novel").
COUNT_CEILING = 50


def _phrase(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'])(?:{pattern})(?![\w'])")


_YEAR = r"(?:1[89]\d\d|20\d\d)"
_DECADE = (
    rf"(?:(?:early|mid|late)[- ]?(?:the )?)?(?:1[89]\d0'?s|20\d0'?s|'?\d0'?s|{'|'.join(lx.DECADE_WORDS)})"
)
_PERIOD = rf"(?:{_DECADE}|{_YEAR})"
_TITLE_YEAR_RE = re.compile(rf"\(\s*{_YEAR}\s*\)")
_P1, _P2 = rf"(?P<a>{_PERIOD})", rf"(?P<b>{_PERIOD})"
_NUM_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty|forty|fifty|a few|few"
_YEAR_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_phrase(p), kind)
    for p, kind in (
        (rf"(?:between|from) (?:the )?{_P1},? (?:and|to|till|until|through|-) (?:the )?{_P2}", "range"),
        (rf"{_P1} ?(?:-|–|to|through|till|until) ?(?:the )?{_P2}", "range"),
        (rf"{_P1},? (?:and|or|&|/|\+) (?:the )?{_P2}", "range"),
        # negated bounds first: "nothing before 2000" means from 2000, "no movies after 1990" until 1990
        (
            rf"(?:nothing|none|not(?: anything)?|no (?:movies?|films?|ones?)?) ?(?:made |released |from )?"
            rf"(?:before|older than|earlier than|prior to|pre)[- ](?:the )?(?:year )?{_P1}",
            "from",
        ),
        (
            rf"(?:nothing|none|not(?: anything)?|no (?:movies?|films?|ones?)?) ?(?:made |released |from )?"
            rf"(?:after|newer than|later than|post)[- ](?:the )?(?:year )?{_P1}",
            "until",
        ),
        (rf"(?:after|post|newer than|later than|beyond)[- ](?:the )?(?:year )?{_P1}", "after"),
        (
            rf"(?:since|starting (?:from |in |with )?|from) (?:the )?(?:year )?{_P1}(?: (?:on|onwards?|"
            rf"or (?:later|newer|after)|and (?:later|newer|up|after|beyond)))",
            "from",
        ),
        (rf"(?:since|starting (?:from |in |with )?) (?:the )?(?:year )?{_P1}", "from"),
        (rf"{_P1} ?(?:\+|or (?:later|newer|after)|and (?:later|newer|up|after|beyond)|onwards?)", "from"),
        (rf"(?:before|pre|prior to|older than|earlier than)[- ](?:the )?(?:year )?{_P1}", "before"),
        (rf"(?:until|till|up to|through|no later than|not after) (?:the )?(?:year )?{_P1}", "until"),
        (rf"{_P1} (?:or|and) (?:earlier|older|before)", "until"),
        (r"(?:this|the 21st|21st) century", "c21"),
        (r"(?:the )?20th century", "c20"),
        (rf"(?:the )?(?:last|past) (?P<n>\d{{1,2}}|{_NUM_WORDS}) years?", "last_n"),
        (r"(?:the )?(?:last|past) (?:decade|ten years)", "last_10"),
        (rf"{_P1}", "period"),
    )
)
_VAGUE_YEARS = (
    (_phrase(r"recent(?:ly released)?|latest|newest|brand[- ]new|new releases?|new (?:movies|films|stuff)"),
     "recent"),
    (_phrase(r"modern|contemporary"), "modern"),
    (_phrase(r"old(?: movies| films| ones| stuff| school)?|oldies|classics?|vintage|golden[- ]age|"
             r"black[- ]and[- ]white"), "old"),
)  # fmt: skip
_GENRE_PLURALS = (
    r"comed(?:y|ies)|thrillers?|dramas?|westerns?|documentar(?:y|ies)|horrors?|rom[- ]?coms?|musicals?"
    r"|cartoons?|myster(?:y|ies)|romances?|adventures?|classics?|gems|sci[- ]?fi|action|animations?"
)
_K_RULES = tuple(
    _phrase(p)
    for p in (
        rf"(?:give|show|recommend|suggest|list|find|get|need|want|name|tell|pick|send) (?:me |us )?(?:like |"
        rf"about |maybe |just |only |another |exactly |up to |at least |some )?(?P<n>{lx.NUMBER_RE})"
        rf"(?! (?:of|year|years|hours?|minutes?)\b)",
        rf"(?:top|just|only|another|best|exactly|up to|at most|at least|maybe) (?P<n>{lx.NUMBER_RE})"
        rf"(?! (?:of|year|years|hours?|minutes?)\b)",
        rf"(?P<n>{lx.NUMBER_RE})(?= (?:(?!of\b|the\b)[\w-]+ ){{0,3}}(?:movies?|films?|picks?|"
        rf"recommendations?|suggestions?|options?|titles?|ones|more|flicks?|ideas|{_GENRE_PLURALS})(?![\w']))",
    )
)
_ORD = lx.ORDINAL_RE
_REF_NOUN = r"(?:one|movie|film|pick|suggestion|option|recommendation|title|entry)s?"
_REF_RULES = tuple(
    (_phrase(p), kind)
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
_REF_CHAIN = re.compile(rf"(¤R[A-J]+¤ ?(?:,|and|or|&|\+) ?(?:the )?)(?P<o>{_ORD})(?![\w'])(?! ?¤T)")
_RESET_RE = _phrase(lx.RESET_RE)
_SEEN_ALL_RE = _phrase(lx.SEEN_ALL_RE)
_CLEAR_YEARS_RE = _phrase(lx.CLEAR_YEARS_RE)
_CRITIQUE_RULES = tuple((_phrase(p), c) for p, c in lx.CRITIQUES)
_GENRE_RULES = tuple((_phrase(p), g, True) for p, g in lx.GENRE_NOUNS) + tuple(
    (_phrase(p), g, False) for p, g in lx.GENRE_ADJECTIVES
)
_GENRE_WORD_RE = re.compile("|".join(p for p, _ in (*lx.GENRE_NOUNS, *lx.GENRE_ADJECTIVES)))
_MOOD_RULES = tuple((_phrase(p), m) for p, m in lx.MOODS)
_WORD_RE = re.compile(r"¤[A-Z]+¤|[a-z0-9']+|[.!?;,\n]")
_NEGATORS = lx.words(
    "no not nothing without non avoid avoiding except excluding exclude hate hated dislike disliked skip "
    "none "
    "neither nor minus never nope zero sans don't dont isn't aren't wasn't"
)
_NEG_VERB_RE = re.compile(
    r"(?:^| )(?:don't|dont|do not|didn't|did not|never|not|no|won't|doesn't|does not|i'm not|am not|"
    r"rather not|can't stand|cannot stand)(?: \w+){0,2} (?:like|want|need|love|enjoy|into|of|see|watch|in|"
    r"for|care|feel|more)(?: anything| any| something| some)?$"
)
_LIST_SKIP = lx.words(
    ", or and nor & / a an the any too overly very so really more movies movie films film stuff thing things "
    "kind kinds of type types genre genres flicks please science fiction fi sci noir love story stories "
    "world "
    "mob friendly family scary violent gory dark sad depressing long boring intense heavy cheesy silly "
    "romantic funny creepy spooky"
)
_FILLER_RE = _phrase(
    r"i|i'm|i'd|i've|im|me|my|we|us|you|please|pls|can|could|would|will|recommend|suggest|give|show|find|get"
    r"|want|wanna|need|looking|look|for|some|something|anything|a|an|the|movies?|films?|flicks?|and|or|but"
    r"|with|that|this|these|those|is|are|was|were|be|it|to|of|in|on|like|liked|love|loved|hate|hated"
    r"|enjoyed|seen|watched|saw|really|just|also|more|thanks?|hi|hello|hey|ok|okay|no|not|nothing|any|maybe"
    r"|perhaps|so|very|too|what|about|how|do|did|don't|didn't|have|has|had|one|ones|fan|big"
    r"|similar|other|already|yes|yeah|lol|now|tonight|watch|see|else|ideas?|suggestions?|recommendations?"
    r"|kind|sort|type|stuff|there|then|than|as|if|at|by|from|all|both|either|into|let's|lets|let|ones?"
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


class _Work:
    """The lower-cased message being consumed phrase by phrase."""

    def __init__(self, text: str) -> None:
        self.w = text

    def take(self, pattern: re.Pattern[str], repl: str = " ") -> list[re.Match[str]]:
        found: list[re.Match[str]] = []

        def sub(m: re.Match[str]) -> str:
            found.append(m)
            return repl

        self.w = pattern.sub(sub, self.w)
        return found


def _parse(message: str, resolver: TitleResolver, *, genres: Sequence[str], max_year: int) -> Understanding:
    msg = _sanitize(message)
    if not msg.strip():
        return Understanding()
    spans: list[TitleSpan] = resolver.find_mentions(msg)
    pieces, prev = [], 0
    for i, span in enumerate(spans):
        pieces.append(_lower(msg[prev : span.start]))
        pieces.append(item_marker("T", i))
        prev = span.end
    pieces.append(_lower(msg[prev:]))
    work = _Work("".join(pieces))

    reset = bool(work.take(_RESET_RE))
    seen_all = bool(work.take(_SEEN_ALL_RE))
    critiques: list[Critique] = []
    for pattern, critique in _CRITIQUE_RULES:
        if work.take(pattern) and critique not in critiques:
            critiques.append(critique)
    clear_years = bool(work.take(_CLEAR_YEARS_RE))
    work.take(_TITLE_YEAR_RE)  # "Death Toll (2008)": the year of a title we could not resolve, not a filter
    year_min, year_max = _years(work, max_year)
    refs = _refs(work)
    k = _count(work)
    required, excluded, liked_genres, negated_spans = _genres(work.w, frozenset(genres))
    mood = _moods(work.w)

    attribution = attribute(work.w)
    liked: list[int] = []
    disliked: list[int] = []
    seen: list[int] = []
    refs_by_label: dict[str, list[int]] = {LIKE: [], DISLIKE: [], SEEN: []}
    for (kind, index), labels in sorted(attribution.labels.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        for label in (LIKE, DISLIKE, SEEN):
            if label not in labels:
                continue
            if kind == "T":
                movie_id = spans[index].movie_id
                target = {LIKE: liked, DISLIKE: disliked, SEEN: seen}[label]
                if movie_id is not None and movie_id not in target:
                    target.append(movie_id)
            else:
                for ref in refs[index]:
                    if ref not in refs_by_label[label]:
                        refs_by_label[label].append(ref)

    mentions = tuple(TitleMention(s.text, s.movie_id, s.alternatives, s.score) for s in spans)
    return Understanding(
        liked=tuple(liked),
        disliked=tuple(disliked),
        seen=tuple(seen),
        liked_refs=tuple(refs_by_label[LIKE]),
        disliked_refs=tuple(refs_by_label[DISLIKE]),
        seen_refs=tuple(refs_by_label[SEEN]),
        seen_all_shown=seen_all,
        genres_required=tuple(required),
        genres_excluded=tuple(excluded),
        genres_liked=tuple(liked_genres),
        year_min=None if clear_years else year_min,
        year_max=None if clear_years else year_max,
        clear_years=clear_years,
        k=k,
        mood=tuple(mood),
        critiques=tuple(critiques),
        reset=reset,
        mentions=mentions,
        text=_free_text(work.w, negated_spans),
    )


def _period(text: str, max_year: int) -> tuple[int, int] | None:
    """Year range named by a decade ("late 90s", "the 1980s", "sixties") or a single year."""
    text = text.strip().removeprefix("the ").replace("'", "")
    part = ""
    m = re.match(r"(early|mid|late)[- ]?(?:the )?(.*)$", text)
    if m:
        part, text = m.group(1), m.group(2)
    if text in lx.DECADE_WORDS:
        lo = lx.DECADE_WORDS[text]
    elif re.fullmatch(r"\d{4}s", text):
        lo = int(text[:4])
    elif re.fullmatch(r"\d0s", text):
        d = int(text[0])
        lo = 2000 + 10 * d if 2000 + 10 * d <= max_year else 1900 + 10 * d
    elif re.fullmatch(r"\d{4}", text):
        year = int(text)
        return (year, year) if 1870 <= year <= 2099 else None
    else:
        return None
    hi = lo + 9
    if part == "early":
        hi = lo + 4
    elif part == "mid":
        lo, hi = lo + 3, lo + 7
    elif part == "late":
        lo = lo + 5
    return lo, hi


def _years(work: _Work, max_year: int) -> tuple[int | None, int | None]:
    year_min: int | None = None
    year_max: int | None = None
    for pattern, kind in _YEAR_RULES:
        for m in work.take(pattern):
            a = _period(m.group("a"), max_year) if "a" in pattern.groupindex and m.group("a") else None
            b = _period(m.group("b"), max_year) if "b" in pattern.groupindex and m.group("b") else None
            if kind == "range" and a and b:
                year_min, year_max = min(a[0], b[0]), max(a[1], b[1])
            elif kind == "after" and a:
                year_min = a[1] + 1
            elif kind == "from" and a:
                year_min = a[0]
            elif kind == "before" and a:
                year_max = a[0] - 1
            elif kind == "until" and a:
                year_max = a[1]
            elif kind == "period" and a:
                year_min, year_max = a
            elif kind == "c21":
                year_min = 2000
            elif kind == "c20":
                year_min, year_max = 1900, 1999
            elif kind == "last_n":
                n = _number(m.group("n"))
                if n:
                    year_min = max_year - n
            elif kind == "last_10":
                year_min = max_year - 10
    explicit = year_min is not None or year_max is not None
    for pattern, kind in _VAGUE_YEARS:
        if work.take(pattern) and not explicit:
            if kind == "recent":
                year_min = max_year - 5
            elif kind == "modern":
                year_min = max_year - 20
            else:
                year_max = max_year - 40
    return year_min, year_max


def _number(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    extra = {"thirty": 30, "forty": 40, "fifty": 50}
    return lx.NUMBER_WORDS.get(text, extra.get(text))


def _refs(work: _Work) -> list[tuple[int, ...]]:
    refs: list[tuple[int, ...]] = []

    def marker(values: tuple[int, ...]) -> str:
        refs.append(values)
        return item_marker("R", len(refs) - 1)

    def sub_for(kind: str) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            if kind == "first_n":
                n = _number(m.group("n")) or 1
                return marker(tuple(range(n)))
            if kind == "ord":
                return marker((lx.ORDINALS[m.group("o")],))
            if kind == "num":
                n = _number(m.group("n")) or 1
                return marker((n - 1,))
            return marker((-1,))

        return sub

    for pattern, kind in _REF_RULES:
        work.w = pattern.sub(sub_for(kind), work.w)
    for _ in range(5):
        new = _REF_CHAIN.sub(lambda m: m.group(1) + marker((lx.ORDINALS[m.group("o")],)), work.w)
        if new == work.w:
            break
        work.w = new
    return refs


def _count(work: _Work) -> int | None:
    k: int | None = None
    for pattern in _K_RULES:
        for m in work.take(pattern):
            n = _number(m.group("n"))
            if n is not None and 1 <= n <= COUNT_CEILING:
                k = n
    return k


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


_CLAUSE_END_RE = re.compile(r"[.!?;\n]|\bbut\b")
_TASTE_RE = re.compile(
    r"\b(?:like|likes|liked|love|loves|loved|enjoy|enjoys|enjoyed|into|fan of|fond of|prefer|adore|"
    r"favou?rites?|big on|dig)\b"
)
_REQUEST_RE = re.compile(
    r"(?:'d|\bwould|\bwanna|\bwant|\blooking|\blook for|\bshow|\bgive|\brecommend|\bsuggest|\bfind|"
    r"\bneed|\bmood|\bsearching|\bsee|\bwatch|\bonly|\bjust)\b"
)


def _is_taste(w: str, start: int) -> bool:
    """A genre named as a standing taste in its clause ("I love comedies"), not asked for ("a comedy")."""
    clause = _CLAUSE_END_RE.split(w[:start])[-1]
    return bool(_TASTE_RE.search(clause)) and not _REQUEST_RE.search(clause)


def _genres(w: str, known: frozenset[str]) -> tuple[list[str], list[str], list[str], list[tuple[int, int]]]:
    """(required, excluded, liked, negated spans): "I like X" is a taste; asking for X requires it."""
    hits: list[tuple[int, int, tuple[str, ...], bool]] = []
    for pattern, names, noun in _GENRE_RULES:
        for m in pattern.finditer(w):
            hits.append((m.start(), m.end(), names, noun))
    hits.sort(key=lambda h: (h[0], -h[1]))
    state: dict[str, bool] = {}
    taste: set[str] = set()
    negated_spans: list[tuple[int, int]] = []
    end = -1
    for start, stop, names, noun in hits:
        if start < end:
            continue
        end = stop
        negated = _negated(w, start)
        if negated:
            negated_spans.append((start, stop))
        if not (negated or noun):
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
    return required, [g for g, on in state.items() if not on], liked_genres, negated_spans


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
