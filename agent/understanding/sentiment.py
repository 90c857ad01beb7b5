"""Attribute liked / disliked / seen to the items (titles, pick references) of a marked-up message.

The parser rewrites the lower-cased message so each item is a marker ``¤T<n>¤`` (title) or ``¤R<n>¤``
(reference to an earlier pick). Here cue phrases become markers too, then one pass decides each item's
labels: a predicate right after an item group ("X and Y were great", "X bored me") wins over a cue before
it ("I loved X", "not a fan of X"); cues last until the end of the clause ("but", ".", ";") or the next
cue; a bare "not"/"no" reaches only the next item. Items with no cue at all count as liked ("something
like X" is the common case); neutral cues ("haven't seen X", "what about X") leave them unlabelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.understanding import lexicon as lx
from agent.understanding.matching import phrase

LIKE, DISLIKE, SEEN = "like", "dislike", "seen"
_DIGITS = "ABCDEFGHIJ"


def item_marker(kind: str, index: int) -> str:
    """``item_marker("T", 12)`` -> ``"¤TBC¤"``: letters so that number patterns never see the index."""
    return f" ¤{kind}{''.join(_DIGITS[int(d)] for d in str(index))}¤ "


def _marker_index(token: str) -> tuple[str, int]:
    return token[1], int("".join(str(_DIGITS.index(c)) for c in token[2:-1]))


_POST_RE = phrase(
    rf"(?:(?P<neg>{lx.COPULA} not|wasn'?t|weren'?t|isn'?t|aren'?t|was not|were not|is not|are not|"
    rf"did ?n'?t|does ?n'?t)|{lx.COPULA})? ?(?:{lx.ADVERBS} )*(?P<not>not )?(?:{lx.ADVERBS} )*"
    rf"(?:(?P<pos>{lx.POSITIVE_WORDS})|(?P<bad>{lx.NEGATIVE_WORDS}))"
)
_POST_VERB_RE = phrase(rf"(?P<pos>{lx.POSITIVE_VERBS})|(?P<bad>{lx.NEGATIVE_VERBS})")
_PRONOUN_VERB_RE = phrase(rf"(?P<pos>{lx.POSITIVE_PRONOUN})|(?P<bad>{lx.NEGATIVE_PRONOUN})")
# "I thought it was amazing", "but was a little underwhelmed": a verdict on the item mentioned just before
_PRONOUN_POST_RE = phrase(
    rf"(?:(?:i )?(?:thought|think|found|find) (?:it|that|that one|them)|(?:it|that|that one|this|they)|but)"
    rf" (?:(?P<neg>wasn'?t|weren'?t|isn'?t|was not|is not)|{lx.COPULA}"
    rf"|(?:was|is) (?:a bit |a little |kind of )?)?"
    rf" ?(?:{lx.ADVERBS} )*(?P<not>not )?(?:{lx.ADVERBS} )*"
    rf"(?:(?P<pos>{lx.POSITIVE_WORDS})|(?P<bad>{lx.NEGATIVE_WORDS}))"
)
# "Not Finding Nemo, we've seen it": the item mentioned just before is seen
_SEEN_PRONOUN_RE = phrase(
    r"(?:we'?ve|i'?ve|we have|i have|we|i|already) (?:already |all |both )?(?:seen|watched|saw) "
    r"(?:it|that|them|that one|those)(?! *¤)"
)
# "X was ok": a verdict that is neither like nor dislike
_NEUTRAL_POST_RE = phrase(
    rf"{lx.COPULA} (?:just |only )?(?:ok|okay|alright|all right|decent|so-so|fine i guess)"
)
# "movies like X" after a cue: the cue before ("I'm tired of films like Jaws") still decides
_LIKE_AFTER_NOUN_RE = phrase(
    "(?:"
    + "|".join(f"(?<={w} )" for w in ("movies", "films", "stuff", "things", "ones", "movie", "film"))
    + ")like"
)
# "I heard bad things about X": before the predicates, which would take "bad" as a verdict on what precedes
_HEARSAY_RE = phrase(
    r"(?:heard|read) (?:\w+ ){0,3}(?:bad|awful|terrible|negative|horrible|mixed|mediocre|poor) "
    r"(?:things|reviews|stuff|press|word) (?:about|of|for|on)"
)
# "my favourite Ben Stiller movie was X": a like cue, before the predicates take "favourite" as a verdict
_FAVOURITE_RE = phrase(
    r"(?:my|our|his|her|their) (?:all[- ]time |personal |absolute |very )?favou?rites? (?:[\w'-]+ ){0,4}?"
    r"(?:movies? |films? |ones? )?(?:is|are|was|were|has to be|would be|being)"
)
_CUES = (
    (phrase(lx.NEUTRAL_CUE), "¤N¤"),
    (phrase(lx.DISLIKE_CUE), "¤D¤"),
    (phrase(lx.SEEN_CUE), "¤S¤"),
    (phrase(lx.LIKE_CUE), "¤L¤"),
    (phrase(r"not|no|nor|never"), "¤X¤"),
)
_TOKEN_RE = re.compile(r"¤(?:[TR][A-J]+|[NDLSXPMQZOW])¤|[a-z0-9']+|[.!?;,\n&]")
_SENTENCE_END = frozenset(".!?;\n")
_BOUNDARY = lx.words(". ! ? ; but however though although whereas yet") | {"\n"}
_GROUP_GLUE = lx.words(", and & or both also all it them which that those the two of")
_CUE_LABEL = {"¤L¤": LIKE, "¤D¤": DISLIKE, "¤S¤": SEEN, "¤N¤": None}


@dataclass
class Attribution:
    """Labels per item marker, e.g. ``{("T", 0): {"like"}, ("R", 1): {"dislike"}}``."""

    labels: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    defaulted: set[tuple[str, int]] = field(default_factory=set)  # liked only because no cue reached them


def _pronoun_sub(m: re.Match[str]) -> str:
    positive = m.group("pos") is not None
    if m.groupdict().get("neg") or m.groupdict().get("not"):
        positive = not positive
    return " ¤Q¤ " if positive else " ¤Z¤ "


def _post_sub(m: re.Match[str]) -> str:
    positive = m.group("pos") is not None
    if (m.groupdict().get("neg") or m.groupdict().get("not")) and m.re is _POST_RE:
        positive = not positive
    return " ¤P¤ " if positive else " ¤M¤ "


def attribute(marked: str) -> Attribution:
    """Labels for every item marker in ``marked`` (lower-cased text with item markers)."""
    toks = _TOKEN_RE.findall(_with_cue_markers(marked))
    out = Attribution()
    for tok in toks:
        if tok[:2] in ("¤T", "¤R"):
            out.labels.setdefault(_marker_index(tok), set())
    post = _predicate_labels(toks, out.labels)
    explicit = post | _cue_labels(toks, out.labels, post)
    for key, labels in out.labels.items():
        if key not in explicit and not labels:
            labels.add(LIKE)
            out.defaulted.add(key)
    return out


def _with_cue_markers(marked: str) -> str:
    """``marked`` with predicates and cue phrases replaced by their markers."""
    text = _LIKE_AFTER_NOUN_RE.sub(" ", marked)
    text = _HEARSAY_RE.sub(" ¤D¤ ", text)
    text = _FAVOURITE_RE.sub(" ¤L¤ ", text)
    text = _NEUTRAL_POST_RE.sub(" ¤O¤ ", text)
    text = _SEEN_PRONOUN_RE.sub(" ¤W¤ ", text)
    text = _PRONOUN_VERB_RE.sub(_pronoun_sub, text)
    text = _PRONOUN_POST_RE.sub(_pronoun_sub, text)
    text = _POST_VERB_RE.sub(_post_sub, text)
    text = _POST_RE.sub(_post_sub, text)
    for pattern, marker in _CUES:
        text = pattern.sub(f" {marker} ", text)
    return text


def _predicate_labels(toks: list[str], labels: dict[tuple[str, int], set[str]]) -> set[tuple[str, int]]:
    """Label the items a predicate follows ("X and Y were great", "... but hated it"); those items."""
    post: set[tuple[str, int]] = set()
    for idx, tok in enumerate(toks):
        if tok in ("¤Q¤", "¤Z¤", "¤W¤"):
            # "... but hated it": the nearest earlier item, in this sentence or the one before
            k, ends = idx - 1, 0
            while k >= 0 and ends < 2 and toks[k][:2] not in ("¤T", "¤R"):
                ends += toks[k] in _SENTENCE_END and toks[k + 1] not in _SENTENCE_END
                k -= 1
            if k >= 0 and toks[k][:2] in ("¤T", "¤R"):
                key = _marker_index(toks[k])
                labels[key].add({"¤Q¤": LIKE, "¤Z¤": DISLIKE}.get(tok, SEEN))
                if tok != "¤W¤":
                    post.add(key)
            continue
        if tok not in ("¤P¤", "¤M¤", "¤O¤"):
            continue
        k = idx - 1
        while k >= 0 and (toks[k][:2] in ("¤T", "¤R") or toks[k] in _GROUP_GLUE or toks[k] == "¤S¤"):
            if toks[k][:2] in ("¤T", "¤R"):
                key = _marker_index(toks[k])
                if tok != "¤O¤":
                    labels[key].add(LIKE if tok == "¤P¤" else DISLIKE)
                post.add(key)
            k -= 1
    return post


def _cue_labels(
    toks: list[str], labels: dict[tuple[str, int], set[str]], post: set[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Label items by the cue before them, where no predicate after them did; the items a cue reached."""
    reached: set[tuple[str, int]] = set()
    cue: str | None = None
    cue_set = False
    not_until = -1
    not_label: str | None = DISLIKE
    before = None  # the cue of the clause before ("I've seen X, but not Y": Y is not seen, not disliked)
    for idx, tok in enumerate(toks):
        # "though" ends a clause after a comma ("X was great, though Y..."), not as a mid-clause adverb
        if tok in _BOUNDARY and not (tok == "though" and idx and toks[idx - 1] not in (",", ".", "!", "?")):
            before = cue
            cue, cue_set = None, False
        elif tok in _CUE_LABEL:
            cue, cue_set = _CUE_LABEL[tok], True
            # "No I haven't seen X", "no, I really liked X": a viewing cue, or a cue after "no," decides;
            # "I never got into X" stays negated
            if tok in ("¤N¤", "¤S¤") or "," in toks[max(0, not_until - 3) : idx]:
                not_until = -1
        elif tok == "¤X¤" or (tok == "¤M¤" and toks[idx + 1 : idx + 2] and toks[idx + 1][:2] == "¤T"):
            not_until = idx + 3
            not_label = None if SEEN in (cue, before) else DISLIKE
        elif tok[:2] in ("¤T", "¤R"):
            key = _marker_index(tok)
            negated = idx <= not_until
            label: str | None = not_label if negated else cue
            not_until = -1 if negated else not_until
            if label is None and not cue_set and not negated:
                continue
            reached.add(key)
            if label is not None and not (key in post and label in (LIKE, DISLIKE)):
                labels[key].add(label)
    return reached
