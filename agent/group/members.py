"""Understanding several viewers in one message: who said what about whom.

The message is cut into clauses (never inside a title). Each clause is given a subject: the speaker
("I", "me"), the whole group ("we", "all of us": the session's shared state), a named member ("Sam
loves …"), a role ("my partner", "the kids") or a pronoun for the last member named; a clause without
one continues the previous subject. A member's clause is rewritten in the first person ("Sam loves
Amélie and hates horror" → "I love Amélie and hate horror") and read by the ordinary deterministic
parser (:func:`agent.understanding.parser.parse`); its likes, dislikes, genres and years go to that
member, the rest (seen, count, mood, critiques) to the shared state.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.settings import DEFAULT_LIMITS
from agent.understanding.deltas import Understanding
from agent.understanding.state import SessionState, apply_understanding
from retrieval.catalogue import Catalogue

MAX_MEMBERS = 8
SPEAKER, GROUP = "you", "*group*"

_ROLE_WORDS = (
    "partner|wife|husband|girlfriend|boyfriend|fiancée?|spouse|son|daughter|kids|kid|children|child|"
    "mom|mum|dad|mother|father|brother|sister|friend|roommate|flatmate|grandma|grandpa|grandmother|"
    "grandfather|parents|teenager|teen|niece|nephew|boss|colleague"
)
_ROLE_RE = re.compile(rf"\b(my|our|the) ({_ROLE_WORDS})\b", re.I)
_VERBS = (  # verbs after a capitalised word that make it a new viewer ("Sam loves …")
    r"loves?|likes?|hates?|dislikes?|enjoys?|adores?|prefers?|wants?|needs?|watch(?:es)?|only|mostly|"
    r"can't stand|cannot stand|doesn't|does not|isn't|is not|is into|'s into|never|despises?|detests?|"
    r"loathes?|won't|refuses?"
)
_NAME = r"[A-ZÀ-Ý][\w'-]+"
_SUBJECT_NAME_RE = re.compile(rf"^({_NAME})(?=\s+(?:{_VERBS})\b|\s*:)")
_SPEAKER_RE = re.compile(r"^(?:i|i'm|i've|i'd|me|myself)\b(?:\s*:)?", re.I)
_GROUP_RE = re.compile(
    r"^(?:we|we're|we've|us|all of us|both of us|none of us|neither of us|everyone|everybody|nobody|"
    r"the whole group|the group)\b",
    re.I,
)
_PRONOUN_RE = re.compile(r"^(?:he|she|they|he's|she's|they're)\b", re.I)
_LEAD_RE = re.compile(r"^(?:and|but|also|while|whereas|then|plus|oh|actually|so|now)\b\s*", re.I)
_CLAUSE_END = re.compile(  # "and"/"but" start a new clause only before a new subject
    rf"[.;!?\n:]|,\s*|\s+(?=(?:and|but|while|whereas)\s+(?:(?i:i|i'm|we|he|she|they|my|our|the kids)\s|"
    rf"{_NAME}\s+(?:{_VERBS})\b))"
)
_NOT_NAMES = frozenset(
    str.split(
        "I We You He She They It Me My Our The A An And But Also Actually Maybe Please Any Anything "
        "Something Nothing Show Give Find Recommend Suggest Movie Movies Film Films What Which How "
        "Why Tonight Today "
        "Thanks Hi Hello Hey Yes No Not Only Just Oh So Then Now Everyone Everybody Nobody Both All None "
        "Neither Let Lets Let's That This These Those There Here Some More Less Great Good Ok Okay Sure "
        "Don't Dont Didn't Didnt Doesn't Never Really Usually Definitely Probably"
    )
)
_WHO = rf"(?:{_NAME}|(?i:my|our|the) (?i:{_ROLE_WORDS}))"
_INTRO_RE = re.compile(
    rf"(?i:\b(?:night|evening|date|watching|watch|together|hanging out|movies?|films?|us)\s+(?:with|for))\s+"
    rf"({_WHO}(?:\s*(?:,|and|&)\s*{_WHO})*)|(?i:\b(?:add|adding|invite|include))\s+"
    rf"({_WHO}(?:\s*(?:,|and|&)\s*{_WHO})*)"
)
_JOIN_RE = re.compile(rf"^({_NAME}) (?:is joining|joins|is coming|is here|is with us|is watching)\b")
_LEAVE_RE = re.compile(
    rf"\b(?:remove|drop|forget(?: about)?|without)\s+({_NAME}|(?:my|our|the) (?:{_ROLE_WORDS}))\b"
    rf"|^({_NAME}|(?:my|our|the) (?:{_ROLE_WORDS})) (?:left|has left|is leaving|went home|isn't coming|"
    r"is not coming|can't make it|cannot make it|is out|won't be joining|is not joining|isn't joining)\b",
    re.I,
)
_UNBAN_RE = re.compile(
    r"^(?:doesn't mind|does not mind|don't mind|do not mind|is fine with|is ok with|is okay with|"
    r"am fine with|am ok with|is over)\b\s*(.*)$",
    re.I,
)
_CONJUGATE = {
    "loves": "love", "likes": "like", "hates": "hate", "dislikes": "dislike", "enjoys": "enjoy",
    "adores": "adore", "prefers": "prefer", "wants": "want", "needs": "need", "watches": "watch",
    "despises": "despise", "detests": "detest", "loathes": "loathe", "doesn't": "don't",
    "does": "do", "is": "am", "isn't": "am not", "has": "have", "hasn't": "haven't", "'s": "am",
    "thinks": "think", "finds": "find", "refuses": "refuse", "gets": "get", "was": "was",
}  # fmt: skip
_HATE_RE = re.compile(r"\b(?:can't stand|cannot stand|can not stand|despises?|detests?|loathes?)\b", re.I)
_VERB_AND_RE = re.compile(
    r"\s*(?:,|\band\b|\bbut\b)\s+(?=(?:love|like|hate|dislike|enjoy|adore|prefer|want|need|watch|despise|"
    r"detest|loathe|don't|do not|can't|cannot|never|only|am|have|haven't)\b)"
)
_WORD_RE = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class Clause:
    """One stretch of the message and whom it is about (``SPEAKER``, ``GROUP`` or a member name)."""

    subject: str
    text: str  # rewritten for the parser (first person for members)


@dataclass(frozen=True, slots=True)
class GroupTurn:
    """What one message did to the group: clauses per subject, members added, removed, un-banned."""

    clauses: tuple[Clause, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    allowed: tuple[tuple[str, str], ...] = ()  # (member, text of "doesn't mind …")

    @property
    def is_group(self) -> bool:
        return bool(
            self.added or self.removed or any(c.subject not in (SPEAKER, GROUP) for c in self.clauses)
        )


def display_name(raw: str) -> str:
    """``"my partner"`` → ``"your partner"``, ``"sam"`` → ``"Sam"``, ``"the kids"`` stays."""
    words = raw.strip().split()
    if not words:
        return ""
    if words[0].lower() in ("my", "our"):
        return "your " + " ".join(w.lower() for w in words[1:])
    if words[0].lower() == "the":
        return " ".join(w.lower() for w in words)
    return " ".join(w[:1].upper() + w[1:] for w in words)


def find_member(known: Sequence[str], raw: str) -> str | None:
    name = display_name(raw).casefold()
    return next((k for k in known if k.casefold() == name), None)


def _split(text: str, protected: Sequence[tuple[int, int]]) -> list[str]:
    """Clauses of ``text``, never cutting inside a protected (title) span."""
    out, start = [], 0
    for m in _CLAUSE_END.finditer(text):
        if any(a <= m.start() < b for a, b in protected):
            continue
        out.append(text[start : m.start()])
        start = m.end()
    out.append(text[start:])
    return [c.strip() for c in out if c.strip()]


def _first_person(rest: str) -> str:
    """``"only watches comedies"`` → ``"I only watch comedies"``."""
    rest = _HATE_RE.sub("hate", rest)  # the parser knows "hate"
    words = rest.split(" ")
    for i, w in enumerate(words):
        low = w.lower()
        if low in _CONJUGATE:
            words[i] = _CONJUGATE[low]
    text = " ".join(words)
    text = re.sub(r"^(?:'s|am)\s+into\b", "am into", text)
    return "I " + text


def read_members(text: str, known: Sequence[str], spans: Sequence[tuple[int, int]]) -> GroupTurn:
    """Cut ``text`` into subject clauses; ``known`` are the current members, ``spans`` title spans."""
    reader = _MemberReader(text, known, spans)
    for clause in _split(text, spans):
        reader.read(_LEAD_RE.sub("", clause).strip())
    return reader.turn()


class _MemberReader:
    """What :func:`read_members` has gathered so far, and whose clause the current one is."""

    def __init__(self, text: str, known: Sequence[str], spans: Sequence[tuple[int, int]]) -> None:
        self.text, self.spans = text, spans
        self.known = list(known)
        self.added: list[str] = []
        self.removed: list[str] = []
        self.allowed: list[tuple[str, str]] = []
        self.clauses: list[Clause] = []
        self.subject: str = SPEAKER
        self.last_member: str | None = None

    def turn(self) -> GroupTurn:
        removed = tuple(dict.fromkeys(self.removed))
        return GroupTurn(tuple(self.clauses), tuple(self.added), removed, tuple(self.allowed))

    def read(self, body: str) -> None:
        """Take one clause (lead words such as "and" already cut off)."""
        if self._roster_change(body):
            return
        text = self._subject_text(body)
        if self.subject in (SPEAKER, GROUP):
            self.clauses.append(Clause(self.subject, text))
            return
        unban = _UNBAN_RE.match(text.removeprefix("I ").strip())
        if unban:
            self.allowed.append((self.subject, unban.group(1)))
            return
        # "I love Amélie and hate horror" reads better as two sentences
        parts = _VERB_AND_RE.split(text.removeprefix("I ").strip())
        self.clauses += [Clause(self.subject, f"I {part}") for part in parts if part.strip()]

    def _members(self) -> list[str]:
        return [*self.known, *self.added]

    def _member(self, raw: str) -> str:
        """The member ``raw`` names, added to the group if new (while there is room)."""
        name = find_member(self._members(), raw) or display_name(raw)
        if name not in self._members() and len(self._members()) < MAX_MEMBERS:
            self.added.append(name)
        return name

    def _roster_change(self, body: str) -> bool:
        """Whether ``body`` brings members in ("movie night with Sam", "Sam is joining") or drops one."""
        intro = _INTRO_RE.search(body)
        if intro:
            names = intro.group(1) or intro.group(2)
            for raw in re.split(r"\s*(?:,|\band\b|&)\s*", names):
                if raw.strip() and raw.strip() not in _NOT_NAMES:
                    self.last_member = self._member(raw)
            return True
        join = _JOIN_RE.match(body)
        if join and join.group(1) not in _NOT_NAMES:
            self.last_member = self._member(join.group(1))
            return True
        leave = _LEAVE_RE.search(body)
        if leave:
            name = find_member(self._members(), leave.group(1) or leave.group(2))
            if name is not None:
                self.removed.append(name)
                return True
        return False

    def _subject_text(self, body: str) -> str:
        """Set the clause's subject; its text for the parser (first person for a member)."""
        role = _ROLE_RE.match(body)
        named = _SUBJECT_NAME_RE.match(body) or _known_at(body, self._members())
        if _SPEAKER_RE.match(body):
            self.subject = SPEAKER
        elif _GROUP_RE.match(body):
            self.subject = GROUP
        elif role:
            self.subject = self.last_member = self._member(role.group(0))
            return _first_person(body[role.end() :].lstrip(" :"))
        elif named and named.group(1) not in _NOT_NAMES and not self._title_not_member(named.group(1)):
            self.subject = self.last_member = self._member(named.group(1))
            return _first_person(body[named.end() :].lstrip(" :"))
        elif _PRONOUN_RE.match(body) and self.last_member is not None:
            self.subject = self.last_member
            return _first_person(_PRONOUN_RE.sub("", body, count=1).strip())
        elif (  # no subject of its own: the member's clause goes on ("…, likes westerns")
            self.subject not in (SPEAKER, GROUP)
            and _WORD_RE.match(body)
            and body.split()[0].lower() in _CONJUGATE
        ):
            return _first_person(body)
        return body

    def _title_not_member(self, name: str) -> bool:
        """A capitalised word inside a title span is a movie, unless it names a current member."""
        if find_member(self._members(), name) is not None:
            return False
        return any(
            any(a <= m.start() < b for a, b in self.spans)
            for m in re.finditer(rf"\b{re.escape(name)}\b", self.text)
        )


def _known_at(body: str, names: Sequence[str]) -> re.Match[str] | None:
    """A current member's name opening ``body`` in any case ("sam likes …", "Sam: …")."""
    for name in names:
        if " " not in name:
            m = re.match(rf"({re.escape(name)})\b(?!')", body, re.I)
            if m:
                return m
    return None


def mentions_members(text: str, known: Sequence[str]) -> bool:
    """Cheap test whether ``text`` may talk about viewers (so single-viewer turns skip the group path)."""
    if known:
        return True
    return bool(
        _ROLE_RE.search(text)
        or _INTRO_RE.search(text)
        or re.search(_JOIN_RE.pattern.removeprefix("^"), text)
        or re.search(rf"(?:^|[,.;:!?]\s*|\b(?:and|but) )({_NAME})\s+(?:{_VERBS})\b", text)
    )


def changes_roster(text: str, known: Sequence[str], spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``text`` brings viewers into the group or drops one ("movie night with Sam", "Alex left")."""
    turn = read_members(text, known, spans)
    return bool(turn.added or turn.removed)


# -- applying a turn to the session ------------------------------------------------------------------
_PERSONAL = ("liked", "disliked", "liked_refs", "disliked_refs", "genres_required", "genres_excluded",
             "genres_liked", "year_min", "year_max", "clear_years")  # fmt: skip


def personal(u: Understanding) -> Understanding:
    """Only the member's own part of ``u``: likes, dislikes, genres and years."""
    return Understanding(**{f: getattr(u, f) for f in _PERSONAL})


def shared(u: Understanding) -> Understanding:
    """``u`` without the member's own part and free text (seen, count, mood, critiques, mentions stay)."""
    blank = {f: (False if f == "clear_years" else None if f.startswith("year") else ()) for f in _PERSONAL}
    return dataclasses.replace(u, text="", **blank)  # type: ignore[arg-type]


def merge(parts: Sequence[Understanding]) -> Understanding:
    """One :class:`Understanding` holding every part's deltas, in order (later values win)."""
    if not parts:
        return Understanding()
    out: dict[str, object] = {}
    for f in dataclasses.fields(Understanding):
        vals = [getattr(u, f.name) for u in parts]
        if f.name == "text":
            out[f.name] = " ".join(v for v in vals if v).strip()
        elif isinstance(vals[0], tuple):
            out[f.name] = tuple(dict.fromkeys(x for v in vals for x in v))
        elif isinstance(vals[0], bool):
            out[f.name] = any(vals)
        else:
            out[f.name] = next((v for v in reversed(vals) if v is not None), None)
    return Understanding(**out)  # type: ignore[arg-type]


_PLURAL_ROLES = ("kids", "children", "parents", "grandparents", "friends")


def _third_person(notice: str, name: str) -> str:
    """A notice about the user's tastes, said of viewer ``name`` ("Noted: Sam now likes …")."""
    s = "" if name.split()[-1] in _PLURAL_ROLES else "s"
    for verb in ("like", "dislike"):
        notice = notice.replace(f"Noted: you now {verb} ", f"Noted: {name} now {verb}{s} ")
    return notice.replace("Earlier you", f"Earlier {name}")


def apply_group_message(
    state: SessionState,
    text: str,
    understand: Callable[[str], Understanding],
    catalogue: Catalogue,
    spans: Sequence[tuple[int, int]],
    *,
    max_picks: int = DEFAULT_LIMITS.max_picks,
) -> tuple[Understanding, list[str]] | None:
    """Fold a message that talks about group members into ``state``; None when it names no member
    and the session has none (the caller then handles it as a single viewer's message)."""
    turn = read_members(text, list(state.members), spans)
    if not turn.is_group and not state.members:
        return None
    notices: list[str] = []
    parsed = [(c.subject, understand(c.text)) for c in turn.clauses]
    main = merge([u if who in (SPEAKER, GROUP) else shared(u) for who, u in parsed])
    notices += apply_understanding(state, main, catalogue, max_picks=max_picks)
    for name in turn.removed:
        state.members.pop(name, None)
    if turn.removed:
        notices.append(f"Removed {_names(turn.removed)} from the group.")
    new = [n for n in turn.added if n not in state.members and n not in turn.removed]
    for name in new:
        state.members[name] = SessionState()
    if new:
        notices.append(f"Added {_names(new)} to the group.")
    for who, u in parsed:
        if who in state.members:
            st = state.members[who]
            st.last_picks = list(state.last_picks)
            notices += [
                _third_person(n, who)
                for n in apply_understanding(st, personal(u), catalogue, max_picks=max_picks)
            ]
    for who, phrase in turn.allowed:
        if who in state.members:
            u = understand(f"I want {phrase}")
            st = state.members[who]
            for g in (*u.genres_required, *u.genres_excluded):
                for lst in (st.genres_excluded, st.genres_required):
                    if g in lst:
                        lst.remove(g)
    if not state.members and turn.removed:
        notices.append("Back to recommending for you alone.")
    return merge([u for _, u in parsed]), notices


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
