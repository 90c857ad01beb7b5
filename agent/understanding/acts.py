"""Conversation acts: what a message does beyond its deltas, and which shown picks a question is about.

- ``question``: a question about a movie ("why the first one?", "who's in it?", "is #3 scary?", "tell me
  more about Coco", "what year is the second one?"). It asks for facts, not for picks, and states no taste.
- ``reset``: "start over" and the like.
- ``chitchat``: greetings, thanks, goodbyes with nothing else in them.
- ``recommend``: everything else (the default).

A question must name its subject: a shown pick ("the first one", "#3", "it", "that one") or a title. Asking
for picks wins ("why not recommend something funnier?" is a request).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from agent.understanding import lexicon as lx
from agent.understanding.deltas import Act, Understanding


def _phrase(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'])(?:{pattern})(?![\w'])", re.IGNORECASE)


#: Which fact a question asks for, by its wording; first match wins, "about" is the catch-all summary.
ASPECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("why", _phrase(r"why|how come|what made you|reason")),
    ("length", _phrase(r"how long|run ?time|running time|length|shortest|longest|duration|"
                       r"(?:minutes|hours?) long")),
    ("directors", _phrase(r"direct(?:ed|or|s)?|who made|filmmaker")),
    ("stars", _phrase(r"who(?:'s| is| are)? (?:in|starring|stars)|cast|actors?|actress(?:es)?|"
                      r"star(?:s|ring)?|who plays|acts? in|acted in|lead")),
    ("year", _phrase(r"what year|which year|when (?:was|did|is)|how old|release[sd]?|come out|came out")),
    ("rating", _phrase(r"rating|rated|score|any good|is it good|well liked|reviews?|how good")),
    ("genres", _phrase(r"genres?|what kind|what sort|what type|scary|funny|romantic|violent|sad|"
                       r"(?:is|was) (?:it|that|this) (?:a |an )?\w+ (?:movie|film)|"
                       r"for kids|kid[- ]friendly|family[- ]friendly|animated|gory|dark|creepy|action")),
    ("about", _phrase(r"about|plot|story|synopsis|premise|tell me more|more info|details|describe")),
)  # fmt: skip
_QUESTION_LEAD = _phrase(
    r"why|who|who's|whos|whom|what|what's|whats|which|when|how|is|isn't|was|does|did|can you tell|"
    r"tell me (?:more )?about|tell me more|more (?:info|details) (?:on|about)|any (?:info|details)|"
    r"describe|explain"
)
_REQUEST = _phrase(
    r"recommend|suggest|give me|show me|find me|something|anything|any (?:other|more)|another|others|"
    r"more like|similar|instead|i want|i'd like|looking for|in the mood"
)
_SUBJECT = _phrase(
    rf"(?:the )?(?:{lx.ORDINAL_RE})(?: one| movie| film| pick)?|#\s?\d|number \d|no\. ?\d|it|that|this|"
    r"that one|this one|those|these|them|they|its"
)
_CHITCHAT = _phrase(
    r"(?:i'?ll |i will |i'?m |i am )?(?:have to |make sure to |gonna |going to |definitely |go )*"
    r"(?:check|look|watch) (?:it|that|that one|them|those|this one) (?:out|up)|"
    r"(?:i )?(?:have ?n'?t|have not|never|not) (?:seen|heard of|watched) "
    r"(?:that|it|them|those|that one)(?: one)?|"
    r"(?:i'?ve |i have )?never heard of (?:that|it|them|those)(?: one)?|(?:no,? )?i haven'?t|"
    r"(?:(?:and )?(?:have|hope you have|enjoy) )?(?:a |your )?(?:good|great|nice|wonderful|lovely) "
    r"(?:holiday |long )?(?:day|one|night|weekend|weeked|evening|time|holiday|holidays)|"
    r"(?:great|good|nice|cool|awesome|thanks for the|thank you for the) "
    r"(?:suggestions?|recommendations?|ideas?|picks?|choices?)(?: though)?|"
    r"happy (?:holidays|new year|thanksgiving)|"
    r"nice (?:to meet|meeting|talking|chatting)(?: (?:to|with))? you|"
    r"greetings|how are you(?: doing)?(?: today)?|"
    r"(?:i'?m|i am) (?:well|fine|good|great|doing (?:well|good|great|fine)|going well|ok|okay)|"
    r"and (?:you|yourself)|you too|you as well|as well|thanks? (?:you )?(?:so much |very much )?"
    r"(?:for (?:the|your|all the|all your) )?(?:help|suggestions?|recommendations?|recommends?|ideas?|chat)|"
    r"hi|hello|hey|hiya|howdy|thanks?|thank you(?: so much| very much)?|thx|cheers|great|cool|ok|okay|"
    r"nice|awesome|perfect|bye|goodbye|see you|good night|goodnight|how are you|good morning|"
    r"good evening|you're welcome|no problem|lol|haha|yes|yeah|sure|got it|sounds good|will do|"
    r"i will|i'll check (?:it|them) out|i'll watch (?:it|them)|there|you|all|much|very|so|a lot|again|"
    r"thanks? you|well|fine|enjoy|oh wow|wow|oh|good|doing|today|though|now|that|this|it|will|i|do|"
    r"for|the|a|and|no|not really|gonna|go|out|help"
)
_ORDINAL_TARGET = _phrase(
    rf"(?:the )?(?:very )?(?P<o>{lx.ORDINAL_RE})(?: one| movie| film| pick| suggestion)?|"
    r"(?:#|number |no\. ?|option |pick )\s?(?P<n>\d{1,2})"
)
_PRONOUN_TARGET = _phrase(r"it|that|this|that one|this one|its")
_COMPARE = _phrase(r"which (?:one )?of (?:those|these|them|the (?:picks|movies|films|ones))")
_SUPERLATIVE = _phrase(
    r"oldest|earliest|newest|latest|most recent|best|worst|(?:highest|lowest|top)[- ]rated"
)
_PLURAL_TARGET = _phrase(r"those|these|them|they|which of|any of|all of|each of")


def _strip_titles(text: str, u: Understanding) -> str:
    for m in u.mentions:
        text = text.replace(m.text, " ")
    return text


def classify(text: str, u: Understanding) -> Act:
    """The act of one message, given what the parser read in it."""
    if u.reset:
        return "reset"
    if _is_question(text, u):
        return "question"
    if _is_chitchat(text, u):
        return "chitchat"
    return "recommend"


def with_act(text: str, u: Understanding) -> Understanding:
    """``u`` with its act set from ``text``."""
    act = classify(text, u)
    return u if act == u.act else replace(u, act=act)


def aspect(text: str) -> str:
    """The fact a question asks for: why, directors, stars, year, rating, genres or about (a summary)."""
    for name, pattern in ASPECTS:
        if pattern.search(text):
            return name
    return "about"


_TASTE_STATEMENT = _phrase(
    r"lov(?:e|ed|es)|lik(?:e|ed|es)|enjoy(?:ed|s)?|adored?|hated?|favou?rites?|great|good|amazing|awesome|"
    r"fan of|into|(?:seen|watched|saw)"
)


def _states_taste(text: str, u: Understanding) -> bool:
    """A sentence that is not a question names a movie with a verdict ("We loved Coco! Is Jumanji ok?")."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if sentence.rstrip().endswith("?"):
            continue
        if any(m.text in sentence for m in u.mentions) and _TASTE_STATEMENT.search(
            _strip_titles(sentence, u)
        ):
            return True
    return False


def _states_genre_taste(text: str, u: Understanding) -> bool:
    """A sentence that is not a question states a genre taste ("Is that a movie? I like animation")."""
    if not u.genres_liked:
        return False
    return any(
        _TASTE_STATEMENT.search(sentence)
        for sentence in re.split(r"(?<=[.!?])\s+|\n", text)
        if not sentence.rstrip().endswith("?")
    )


def _is_question(text: str, u: Understanding) -> bool:
    rest = _strip_titles(text, u)
    if _states_taste(text, u) or _states_genre_taste(text, u):
        return False
    if _COMPARE.search(rest) and (aspect(rest) != "about" or _SUPERLATIVE.search(rest)):
        # "which of them is the newest?" compares the last picks ("newest" is not the critique "newer")
        return True
    if u.critiques or u.k is not None or u.clear_years:
        return False
    if _REQUEST.search(rest) or (u.year_min is not None and not u.mentions):
        return False
    lead = _QUESTION_LEAD.search(rest)
    if lead is None or lead.start() > 40:
        return False
    if aspect(rest) == "about" and not re.search(
        r"about|plot|story|synopsis|premise|tell|info|detail|descri", rest, re.IGNORECASE
    ):
        return False
    has_subject = bool(u.mentions) or bool(_SUBJECT.search(rest))
    if not has_subject:
        return False
    # "is it any good?" and "what about Heat?" name a movie to consider: keep "what about" a request
    return not re.search(r"\bwhat about\b|\bhow about\b|\bhave you (?:ever )?(?:seen|watched)\b", rest, re.I)


def _is_chitchat(text: str, u: Understanding) -> bool:
    if u.mentions or u.genres_required or u.genres_excluded or u.genres_liked or u.k is not None:
        return False
    if u.year_min is not None or u.year_max is not None or u.critiques or u.seen_all_shown:
        return False
    left = _CHITCHAT.sub(" ", text)
    left = re.sub(r"[^\w]+", " ", left).strip()
    return left == "" and bool(re.search(r"\w", text))


def targets(text: str, u: Understanding, last_picks: Sequence[int], focus: int | None = None) -> list[int]:
    """The movies a question is about: named titles, then positions among ``last_picks`` ("the second
    one", "#3"); a pronoun ("it", "that one") means ``focus`` (the movie last asked about), else the only
    or first pick; a plural ("those", "which of them") means every last pick."""
    out = [m.movie_id for m in u.mentions if m.movie_id is not None]
    rest = _strip_titles(text, u)
    for m in _ORDINAL_TARGET.finditer(rest):
        idx = lx.ORDINALS[m.group("o").lower()] if m.group("o") else int(m.group("n")) - 1
        if last_picks and -len(last_picks) <= idx < len(last_picks) and last_picks[idx] not in out:
            out.append(last_picks[idx])
    if not out and _PLURAL_TARGET.search(rest):  # "which of those is the oldest?": every last pick
        return list(last_picks)
    if not out and _PRONOUN_TARGET.search(rest):
        if focus is not None:
            out.append(focus)
        elif last_picks:
            out.append(last_picks[0])
    return out
