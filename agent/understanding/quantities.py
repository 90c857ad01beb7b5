"""Years, periods and counts: what the deterministic parser reads from numbers in a message.

Year choices: "recent"/"latest" -> ``year_min = max_year - 5``; "last N years" -> ``max_year - N``;
"modern" -> ``max_year - 20``; "old"/"classic"/"vintage" -> ``year_max = max_year - 40``; vague words apply
only when no explicit year is given. "after 2010" -> 2011, "since 2010"/"2010 or later" -> 2010,
"before 1960" -> 1959, "until 1960" -> 1960, "from 1999"/"in 1999" -> exactly 1999, "90s" -> 1990-1999
("early"/"mid"/"late" narrow it), two-digit decades 20s-90s are 1900s and 00s/10s are 2000s. A year in
parentheses ("Death Toll (2008)") belongs to a title and is never a filter.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

from agent.understanding import lexicon as lx
from agent.understanding.matching import Work, phrase

# The largest number read as a count of picks ("give me 30"); the session then caps it at
# ``Limits.max_picks`` and says so. Bigger numbers are not counts ("a 1000-page novel").
COUNT_CEILING = 50

_YEAR = r"(?:1[89]\d\d|20\d\d)"
_DECADE = (
    rf"(?:(?:early|mid|late)[- ]?(?:the )?)?(?:1[89]\d0'?s|20\d0'?s|'?\d0'?s|{'|'.join(lx.DECADE_WORDS)})"
)
_PERIOD = rf"(?:{_DECADE}|{_YEAR})"
_TITLE_YEAR_RE = re.compile(rf"\(\s*{_YEAR}\s*\)")
_P1, _P2 = rf"(?P<a>{_PERIOD})", rf"(?P<b>{_PERIOD})"
_NUM_WORDS = (
    "a couple of|couple of|a couple|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty"
    "|forty|fifty|a few|few"
)
#: "nothing", "no movies", "I don't want anything": what negates a bound after it
_NOT_ANY = (
    r"(?:nothing|none|not(?: anything)?|no (?:movies?|films?|ones?)?|(?:i )?(?:do ?n'?t|do not|never) "
    r"(?:want|need|like|watch)(?: to (?:see|watch))? "
    r"(?:anything|any(?: movies?| films?)?|stuff|movies?|films?)"
    r") ?(?:made |released |from |that'?s |that is |that was )?"
)
_SPELLED = (
    r"zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand"
)
_SPELLED_RUN_RE = re.compile(rf"\b(?:{_SPELLED})(?:(?:[- ]| and )(?:{_SPELLED}))+\b")
_AGE_NUM = rf"(?:\d{{1,2}}|{_SPELLED})"
_AGE_RES = tuple(
    phrase(p)
    for p in (
        rf"(?P<child>{_AGE_NUM})[- ](?:years?|yrs?)[- ]olds?",
        r"(?:kids?|children|sons?|daughters?|boys?|girls?|grandkids?|grandchildren|nephews?|nieces?"
        r"|little ones)"
        rf"(?: are| is|'s| aged?)? (?P<child>{_AGE_NUM})(?: and {_AGE_NUM})?"
        rf"(?= *(?:[.,!?;\n]|$|and\b|years?\b|yrs?\b))",
        rf"{_AGE_NUM} (?:years?|yrs?) (?:old|of age)|aged? {_AGE_NUM}",
        rf"(?:i'?m|i am|he'?s|she'?s|he is|she is|they'?re|they are|are|is|turn(?:s|ed|ing)?) {_AGE_NUM}"
        rf"(?= *(?:[.,!?;\n]|$|and\b|now\b|today\b|next\b))",
        r"when i was (?:a )?(?:kid|child|teen(?:ager)?|little)|as a (?:kid|child|teen(?:ager)?)",
    )
)


def spell_years(text: str) -> str:
    """``text`` with spelled-out years as digits ("nineteen ninety five" -> "1995", "two thousand and
    five" -> "2005"), read by ``text2num``; other number words stay as they are."""

    def sub(m: re.Match[str]) -> str:
        digits = alpha2digit(m.group(0), "en")
        digits = re.sub(r"^(1[89]|20) (\d\d)$", r"\1\2", digits.strip())
        return digits if re.fullmatch(r"1[89]\d\d|20\d\d", digits) else m.group(0)

    return _SPELLED_RUN_RE.sub(sub, text)


def ages(work: Work) -> bool:
    """Take ages out of ``work`` ("my 8-year-old", "I'm 35"): never years or counts. Whether one names a
    child (an "N-year-old" of 12 or under)."""
    child = False
    for pattern in _AGE_RES:
        for m in work.take(pattern):
            n = number(m.groupdict().get("child"))
            child = child or (n is not None and n <= 12)
    return child


_YEAR_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (phrase(p), kind)
    for p, kind in (
        (rf"(?:between|from) (?:the )?{_P1},? (?:and|to|till|until|through|-) (?:the )?{_P2}", "range"),
        (rf"{_P1} ?(?:-|–|to|through|till|until) ?(?:the )?{_P2}", "range"),
        (rf"{_P1},? (?:and|or|&|/|\+) (?:the )?{_P2}", "range"),
        # negated bounds first: "nothing before 2000" means from 2000, "no movies after 1990" until 1990
        (rf"{_NOT_ANY}(?:before|older than|earlier than|prior to|pre)[- ](?:the )?(?:year )?{_P1}", "from"),
        (rf"{_NOT_ANY}(?:after|newer than|later than|post)[- ](?:the )?(?:year )?{_P1}", "until"),
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
    (phrase(r"recent(?:ly released)?|latest|newest|brand[- ]new|new releases?|new (?:movies|films|stuff)"),
     "recent"),
    (phrase(r"modern|contemporary"), "modern"),
    (phrase(r"(?<!his )(?<!her )(?<!their )(?<!my )(?<!your )old(?: movies| films| ones| stuff| school)?|"
             r"oldies|classics?|vintage|golden[- ]age|"
             r"black[- ]and[- ]white"), "old"),
)  # fmt: skip
_GENRE_PLURALS = (
    r"comed(?:y|ies)|thrillers?|dramas?|westerns?|documentar(?:y|ies)|horrors?|rom[- ]?coms?|musicals?"
    r"|cartoons?|myster(?:y|ies)|romances?|adventures?|classics?|gems|sci[- ]?fi|action|animations?"
)
_K_RULES = tuple(
    phrase(p)
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


def years(work: Work, max_year: int) -> tuple[int | None, int | None]:
    """Take the year phrases out of ``work``: the ``(year_min, year_max)`` they ask for."""
    work.take(_TITLE_YEAR_RE)  # "Death Toll (2008)": the year of a title we could not resolve, not a filter
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
                n = number(m.group("n"))
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


def number(text: str | None) -> int | None:
    """``"12"`` -> 12, ``"twelve"`` -> 12; ``None`` for anything else."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    extra = {"thirty": 30, "forty": 40, "fifty": 50, "thirteen": 13, "fourteen": 14, "sixteen": 16}
    return lx.NUMBER_WORDS.get(text, extra.get(text))


_PAST_COUNT_RE = phrase(
    rf"(?:gave|given|showed|shown|suggested|sent|had) (?:me |us )?(?:a |some )?{lx.NUMBER_RE}|"
    rf"{lx.NUMBER_RE} (?:stars?|out of)"
)


def count(work: Work) -> int | None:
    """Take the count phrases out of ``work`` ("give me 5", "top 3"): the number of picks asked for."""
    work.take(_PAST_COUNT_RE)  # "you gave me a couple good ones", "at least 4 stars": not a count
    k: int | None = None
    for pattern in _K_RULES:
        for m in work.take(pattern):
            n = number(m.group("n"))
            if n is not None and 1 <= n <= COUNT_CEILING:
                k = n
    return k
