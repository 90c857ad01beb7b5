"""``reelchat eval explanations``: every explainer over the same picks, side by side.

Requests are scripted (popular catalogue movies, liked and with constraints) and ReDial-derived (the
**tune half** of the dev turns only). Each request runs through the agent as a stateless replay; one of
its picks (position ``i % picks``) is explained by every explainer from the same evidence. The texts are
checked by the independent :class:`agent.evaluation.claim_audit.ClaimAuditor`, not the grounding filter.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.evaluation.claim_audit import ClaimAuditor, second_person, uses_evidence
from agent.explain.claims import Constraints
from agent.explain.explainer import Evidence, Explainer, Explanation
from retrieval.catalogue import Catalogue

DEFAULT_N = 200
SCRIPTED_SHARE = 0.3  # of the requests; ReDial tune-half turns make up the rest (all scripted without them)
PICKS = 5
_GENRES = {  # catalogue genre → how a user names it
    "Action": "action", "Adventure": "adventure", "Animation": "animation", "Comedy": "comedy",
    "Crime": "crime", "Drama": "drama", "Fantasy": "fantasy", "Horror": "horror", "Mystery": "mystery",
    "Romance": "romance", "Sci-Fi": "sci-fi", "Thriller": "thriller", "War": "war", "Western": "western",
}  # fmt: skip
_SCRIPTS = (
    "I loved {a}. What else would I like?",
    "Something like {a} but no {g}, please.",
    "I liked {a} and {b}. Any suggestions?",
    "Give me a {h} movie from the {d}s.",
    "I'm in the mood for a {h} movie, nothing before 2000.",
    "My favourite film is {a}. Something from after {y}?",
    "Recommend me a movie like {a} without any {g}.",
    "A {h} please; I enjoyed {a}.",
)


@dataclass(frozen=True, slots=True)
class Request:
    """One request: where it comes from and the conversation so far."""

    source: str  # "scripted" | "redial"
    messages: tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True)
class Case:
    """One pick to explain: its evidence, its position in the reply and the request it answers."""

    request: Request
    evidence: Evidence
    position: int


def scripted_requests(catalogue: Catalogue, n: int, seed: int = 0) -> list[Request]:
    """``n`` requests from :data:`_SCRIPTS` over the 300 most rated movies (deterministic)."""
    rng = random.Random(seed)
    popular = sorted(catalogue, key=lambda m: -m.rating_count)[:300]
    out = []
    for i in range(n):
        a, b = rng.sample(popular, 2)
        own = [g for g in a.genres if g in _GENRES]
        g = _GENRES[rng.choice(own)] if len(own) > 1 else rng.choice(["horror", "romance", "animation"])
        text = _SCRIPTS[i % len(_SCRIPTS)].format(
            a=a.label, b=b.label, g=g, h=rng.choice(list(_GENRES.values())),
            d=rng.choice([1970, 1980, 1990, 2000]), y=rng.choice([1990, 1995, 2000, 2005]),
        )  # fmt: skip
        out.append(Request("scripted", ({"role": "user", "content": text},)))
    return out


def redial_requests(turns_file: Path, n: int) -> list[Request]:
    """``n`` turns of the ReDial dev file's **tune half**, evenly spread (never the report half)."""
    from retrieval.redial import context_messages, load_turns, split_turns

    tune, _ = split_turns(load_turns(turns_file))
    usable = [t for t in tune if any(c.strip() for c in t.context[::2])]
    if not usable or n <= 0:
        return []
    step = max(1, len(usable) // n)
    return [Request("redial", tuple(context_messages(t.context))) for t in usable[::step][:n]]


def build_cases(app: Any, requests: Sequence[Request]) -> list[Case]:
    """One case per request that gets picks: the pick at position ``i % picks`` and its evidence."""
    from agent.pipeline.pipeline import PipelineResult

    engine = app.engine
    evidence = engine.evidence
    cases = []
    for i, req in enumerate(requests):
        state = engine.replay(list(req.messages), PICKS)
        result = engine.recommend(state, PICKS)
        if not isinstance(result, PipelineResult) or not result.picks:
            continue
        pos = i % len(result.picks)
        q = state.query()
        asked = Constraints(tuple(q.genres_excluded), q.year_min, q.year_max)
        ev = evidence.build(result.picks[pos][0], state.liked, state.text, constraints=asked)
        cases.append(Case(req, ev, pos))
    return cases


def request_text(req: Request) -> str:
    """The user's words in a request (the last user message)."""
    return next((m["content"] for m in reversed(req.messages) if m.get("role") == "user"), "")


@dataclass
class Run:
    """One explainer's output over all cases."""

    name: str
    explanations: list[Explanation]
    latencies_ms: list[float]


def run_explainer(name: str, explainer: Explainer, cases: Sequence[Case], progress: bool = False) -> Run:
    """Explain every case one at a time (timing each) with ``explainer``."""
    from tqdm.auto import tqdm

    out: list[Explanation] = []
    lat: list[float] = []
    for case in tqdm(cases, desc=name, unit="pick", disable=not progress):
        t0 = time.perf_counter()
        out.append(next(iter(explainer.explain_iter([case.evidence], start=case.position))))
        lat.append(1000 * (time.perf_counter() - t0))
    return Run(name, out, lat)


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The word ``n``-grams of ``text`` (lower case, punctuation dropped)."""
    words = "".join(c.lower() if c.isalnum() or c in "'-" else " " for c in text).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def diversity(texts: Sequence[str]) -> dict[str, Any]:
    """Distinct 3-grams; share of texts sharing a 6-word phrase with another; the most shared 6-gram."""
    tri: Counter[tuple[str, ...]] = Counter()
    six: Counter[tuple[str, ...]] = Counter()
    grams6 = [ngrams(t, 6) for t in texts]
    for t, g6 in zip(texts, grams6, strict=True):
        tri.update(ngrams(t, 3))
        six.update(g6)
    shared = sum(1 for g6 in grams6 if any(six[g] > 1 for g in g6))
    top = six.most_common(1)
    n = max(1, len(texts))
    return {
        "distinct_3grams": len(tri),
        "distinct_3gram_ratio": round(len(tri) / max(1, sum(tri.values())), 4),
        "shared_6gram_rate": round(shared / n, 4),
        "top_6gram_share": round(top[0][1] / n, 4) if top else 0.0,
        "top_6gram": " ".join(top[0][0]) if top else "",
    }


def figures(run: Run, cases: Sequence[Case], auditor: ClaimAuditor) -> dict[str, Any]:
    """The figures of one explainer: claim audit, rejections, evidence, second person, diversity, latency."""
    texts = [e.text for e in run.explanations]
    audits = [auditor.audit(t, c.evidence) for t, c in zip(texts, cases, strict=True)]
    kinds: Counter[str] = Counter(u.kind for a in audits for u in a.unsupported)
    n = max(1, len(texts))
    lat = sorted(run.latencies_ms)
    bad = [
        {"text": t, "unsupported": [f"{u.kind}: {u.text}" for u in a.unsupported]}
        for t, a in zip(texts, audits, strict=True)
        if not a.ok
    ]
    return {
        "n": len(texts),
        "unsupported_rate": round(sum(1 for a in audits if not a.ok) / n, 4),
        "unsupported_by_kind": dict(kinds),
        "rejected_rate": round(sum(1 for e in run.explanations if e.rejected_reason) / n, 4),
        "rejected_reasons": dict(
            Counter(_reason(e.rejected_reason) for e in run.explanations if e.rejected_reason)
        ),
        "llm_text_rate": round(sum(1 for e in run.explanations if e.source == "llm") / n, 4),
        "evidence_rate": round(
            sum(
                uses_evidence(t, c.evidence, request_text(c.request))
                for t, c in zip(texts, cases, strict=True)
            )
            / n,
            4,
        ),
        "second_person_rate": round(sum(second_person(t) for t in texts) / n, 4),
        **diversity(texts),
        "p50_ms": round(lat[len(lat) // 2], 1) if lat else 0.0,
        "p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1) if lat else 0.0,
        "examples": texts[:4],
        "unsupported_examples": bad[:6],
    }


def _reason(reason: str | None) -> str:
    return (reason or "").split(":")[0][:40]


__all__ = [
    "DEFAULT_N",
    "Case",
    "Request",
    "Run",
    "build_cases",
    "diversity",
    "figures",
    "redial_requests",
    "request_text",
    "run_explainer",
    "scripted_requests",
]
