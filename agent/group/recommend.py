"""The group pipeline step: a common candidate pool, each member's CF scores, aggregation, explanations.

Every member's hard constraints apply to the group (the union of exclusions and requirements, the
tightest years); every member's liked and disliked movies are never picked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from agent.explain.claims import Constraints
from agent.explain.evidence import EvidenceBuilder
from agent.explain.explainer import Explainer
from agent.group.aggregate import aggregate, resolve
from agent.pipeline.candidates import admitted, search
from agent.pipeline.pipeline import Pipeline, PipelineRequest, shortfall
from agent.records import Member, Recommendation, Step
from agent.understanding.state import SessionState
from ranking.protocol import Ranker
from retrieval.catalogue import Catalogue
from retrieval.types import Filters, ScoredList

log = logging.getLogger(__name__)

N_PER_MEMBER = 100  # candidates each member brings from the index and from CF
GOOD_FIT = 0.5  # a member's z-score from which a pick "suits their taste" too
GROUP = "every viewer's"  # whose constraints a group's shortfall notice names


@dataclass(frozen=True, slots=True)
class MemberScores:
    """Each member's z-scores over one shared candidate pool."""

    ids: tuple[int, ...]
    members: tuple[Member, ...]
    scores: np.ndarray  # (n_members, n_ids)


@dataclass(frozen=True, slots=True)
class GroupResult:
    picks: tuple[tuple[int, float], ...]
    served: tuple[str, ...]  # per pick: the member it suits best
    fits: tuple[tuple[float, ...], ...]  # per pick: every member's z-score, in ``members`` order
    members: tuple[Member, ...]
    strategy: str
    steps: tuple[Step, ...]
    notices: tuple[str, ...] = ()


def group_filters(members: Sequence[Member]) -> Filters:
    """Every member's hard constraints at once."""
    mins = [m.year_min for m in members if m.year_min is not None]
    maxs = [m.year_max for m in members if m.year_max is not None]
    req = tuple(dict.fromkeys(g for m in members for g in m.genres_required))
    exc = tuple(dict.fromkeys(g for m in members for g in m.genres_excluded))
    return Filters(max(mins) if mins else None, min(maxs) if maxs else None, req, exc)


class GroupRecommender:
    """Stateless over a session's :class:`SessionState`; wraps the shared single-user pipeline parts: its
    retrieval and CF for candidates, its liked-genre lift for each viewer's scores, and its shaping
    (moods, critique directions) of the group's aggregated list."""

    def __init__(self, pipeline: Pipeline, catalogue: Catalogue, n_per_member: int = N_PER_MEMBER) -> None:
        self.pipeline = pipeline
        self.catalogue = catalogue
        self.n_per_member = n_per_member

    # -- candidates and member scores -----------------------------------------------------------------
    def candidates(
        self, members: Sequence[Member], text: str, filters: Filters, exclude: set[int], notices: list[str]
    ) -> list[int]:
        """The union of each member's index neighbours and CF top movies that meet ``filters``."""
        pool: dict[int, None] = {}
        p = self.pipeline
        for m in members:
            vec = p.query_vector(m.liked, text)
            if vec is not None:
                found = search(p.retriever, p.fallback_retriever, vec, filters, exclude, self.n_per_member)
                pool.update(dict.fromkeys(int(i) for i in found.hits.ids))
                if found.notice and found.notice not in notices:
                    notices.append(found.notice)
            top = p.reranker.rank_all(m.liked, m.disliked, exclude=sorted(exclude), k=self.n_per_member * 4)
            for added, mid in enumerate(admitted(self.catalogue, top.ids, filters, exclude, pool), 1):
                pool[mid] = None
                if added >= self.n_per_member:
                    break
        return list(pool)

    def member_scores(
        self,
        members: Sequence[Member],
        ids: Sequence[int],
        text: str,
        exclude: set[int],
        reranker: Ranker | None = None,
    ) -> MemberScores:
        """Every member's reranker scores, lifted for the genres they like as the single-user pipeline
        lifts them (:meth:`Pipeline.genre_lift`), z-scored over the pool, for the same candidates."""
        reranker = reranker or self.pipeline.reranker
        rows = [self.catalogue.row(i) for i in ids]
        keep = [i for i in ids if i not in exclude]
        mat = np.zeros((len(members), len(keep)))
        for j, m in enumerate(members):
            vec = self.pipeline.query_vector(m.liked, text)
            sims = None
            if vec is not None:
                sims = (self.pipeline.item_emb[rows] @ vec).tolist()
            ranked = reranker.score(m.liked, m.disliked, list(ids), text_sim=sims, exclude=sorted(exclude))
            got = dict(zip(ranked.ids, ranked.scores, strict=True))
            col = np.array([got.get(i, np.nan) for i in keep], dtype=np.float64)
            if m.genres_liked:  # "she loves romcoms": the same lift a single viewer's liked genres get
                col += self.pipeline.genre_lift(keep, m.genres_liked)
            ok = np.isfinite(col)
            if ok.any():
                sd = col[ok].std()
                col = (col - col[ok].mean()) / sd if sd > 1e-12 else col - col[ok].mean()
            mat[j] = np.nan_to_num(col, nan=-3.0)
        return MemberScores(tuple(keep), tuple(members), mat)

    # -- one turn -----------------------------------------------------------------------------------
    def run(self, state: SessionState, k: int | None = None, strategy: str | None = None) -> GroupResult:
        k = k or state.k
        name = resolve(strategy or state.strategy or None)
        members = state.member_list() or (_solo(state),)
        filters = group_filters(members)
        exclude = state.excluded_ids()
        t0 = time.perf_counter()
        notices: list[str] = []
        ids = self.candidates(members, state.text, filters, exclude, notices)
        steps = [Step("retrieve", f"{len(ids)} candidates pooled for {len(members)} viewers", _ms(t0))]
        if not ids:
            return GroupResult((), (), (), members, name, tuple(steps), (*notices, shortfall(0, k, GROUP)))
        t1 = time.perf_counter()
        bias = float(np.clip(state.popularity_bias, -1.0, 1.0))
        ranker = self.pipeline.reranker.with_knobs(0.0, bias)  # no MMR: the aggregation orders the list
        ms = self.member_scores(members, ids, state.text, exclude, ranker)
        group = aggregate(ms.scores, name)
        order = np.lexsort((np.asarray(ms.ids), -group))
        ranked = ScoredList(tuple(ms.ids[int(i)] for i in order), tuple(float(group[int(i)]) for i in order))
        ranked = self.pipeline.shape(ranked, PipelineRequest.from_state(state, k))  # moods, critiques
        steps.append(Step("rerank", f"{name.replace('_', ' ')} over {len(ms.ids)} candidates", _ms(t1)))
        column = {mid: i for i, mid in enumerate(ms.ids)}
        picks, served, fits = [], [], []
        for mid, score in zip(ranked.ids, ranked.scores, strict=True):
            movie = self.catalogue.find(mid)
            if movie is None or mid in exclude or not filters.admits(movie):  # defence in depth
                continue
            col = ms.scores[:, column[mid]]
            picks.append((int(mid), float(score)))
            served.append(members[int(np.argmax(col))].name)
            fits.append(tuple(float(x) for x in col))
            if len(picks) >= k:
                break
        if len(picks) < k:
            notices.append(shortfall(len(picks), k, GROUP))
        out = (tuple(picks), tuple(served), tuple(fits))
        return GroupResult(*out, members, name, tuple(steps), tuple(notices))


# -- explanations ---------------------------------------------------------------------------------------
def possessive(name: str) -> str:
    if name == "you":
        return "your"
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _genre_word(g: str) -> str:
    return "sci-fi" if g == "Sci-Fi" else g.lower()


def rules(member: Member) -> list[str]:
    """A member's hard constraints as short rule names: "comedy-only", "no-horror", "2000-or-later"."""
    out = [f"{_genre_word(g)}-only" for g in member.genres_required]
    out += [f"no-{_genre_word(g)}" for g in member.genres_excluded]
    if member.year_min is not None:
        out.append(f"{member.year_min}-or-later")
    if member.year_max is not None:
        out.append(f"{member.year_max}-or-earlier")
    return out


def fit_sentence(members: Sequence[Member], fits: Sequence[float], served: str) -> str:
    """How a pick fits the members it was not chosen for: their rules, and their taste when it fits."""
    parts = []
    for m, z in zip(members, fits, strict=True):
        if m.name == served:
            continue
        r = rules(m)
        taste = z >= GOOD_FIT and bool(m.liked)
        if r:
            noun = "rule" if len(r) == 1 else "rules"
            parts.append(f"{possessive(m.name)} {' and '.join(r)} {noun}" + (" and taste" if taste else ""))
        elif taste:
            parts.append(f"{possessive(m.name)} taste")
    if not parts:
        return ""
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"It also suits {text}."


def explain_group(
    explainer: Explainer,
    evidence: EvidenceBuilder,
    catalogue: Catalogue,
    text: str,
    result: GroupResult,
    constraints: Constraints | None = None,
) -> Iterator[Recommendation]:
    """Recommendations with explanations naming the member each pick serves and how it fits the others;
    no explanation may contradict ``constraints`` (the group's)."""
    if not result.picks:
        return
    by_name = {m.name: m for m in result.members}
    solo = len(result.members) == 1
    items = [
        evidence.build(
            mid,
            by_name[who].liked,
            text,
            member=None if who == "you" and solo else who,
            constraints=constraints,
        )
        for (mid, _), who in zip(result.picks, result.served, strict=True)
    ]
    rows = zip(result.picks, result.served, result.fits, explainer.explain_iter(items), strict=True)
    for (mid, score), who, fits, expl in rows:
        extra = fit_sentence(result.members, fits, who)  # the explainer already speaks of ``who``
        yield Recommendation.of(catalogue.get(mid), score, f"{expl.text} {extra}".strip(), expl.source)


def group_header(header: str, members: Sequence[Member]) -> str:
    """``"Here are 5 picks (…)"`` → ``"Here are 5 picks for you, Sam and Alex (…)"``."""
    names = [m.name for m in members]
    if len(names) < 2:
        return header
    who = ", ".join(names[:-1]) + " and " + names[-1]
    return re.sub(r"^(Here (?:is|are) \d+ (?:popular )?picks?)", rf"\1 for {who}", header, count=1)


def _solo(state: SessionState) -> Member:
    return Member("you", tuple(state.liked), tuple(state.disliked), tuple(state.genres_required),
                  tuple(state.genres_excluded), state.year_min, state.year_max,
                  tuple(state.genres_liked))  # fmt: skip


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
