"""``reelchat eval groups``: synthetic groups of held-out MovieLens users, one row per strategy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.evaluation.group_sim import MAX_LOSS, REVEAL, SOLO, GroupOutcome, K, choose_default, summarise
from agent.evaluation.report import Report, write_report
from agent.group.aggregate import DEFAULT_STRATEGY, STRATEGIES


def groups_report(outcomes: Sequence[GroupOutcome], note: str = "", seed: int = 0) -> Report:
    """Markdown table and JSON: mean / minimum-member NDCG@10 and fairness gap per strategy and kind."""
    overall = summarise(outcomes)
    chosen = choose_default(overall) if overall else DEFAULT_STRATEGY
    data: dict[str, Any] = {"seed": seed, "note": note, "k": K, "reveal": REVEAL, "kinds": {}}
    lines = [
        "# Group recommendation\n",
        f"Seed {seed}. Groups of 2–4 held-out MovieLens users (random, or a random user and the users whose "
        f"positives overlap theirs most); each member reveals {REVEAL} liked movies. NDCG@{K} of the "
        f"group's top {K} against each member's own other positives. min member: the worst-served member "
        f"per group, averaged over groups; gap: max − min member NDCG@{K} per group, averaged. "
        f"'{SOLO}' ranks the same pool for each member alone (a reference, not a group list).\n",
        note + "\n" if note else "",
        f"| groups | strategy | n | mean NDCG@{K} | min member NDCG@{K} | fairness gap |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("random", "similar", None):
        summary = summarise(outcomes, kind)
        data["kinds"][kind or "all"] = summary
        for name, v in summary.items():
            lines.append(
                f"| {kind or 'all'} | {name} | {v['groups']:.0f} | {v['mean_ndcg@10']:.4f} | "
                f"{v['min_member_ndcg@10']:.4f} | {v['fairness_gap']:.4f} |"
            )
    data["chosen_default"] = chosen
    data["shipped_default"] = DEFAULT_STRATEGY
    lines.append(
        f"\nRule: the best minimum-member NDCG@{K} among strategies within {100 * MAX_LOSS:.0f}% of the best "
        f"mean NDCG@{K} (all groups) → **{chosen}**; the shipped default (agent.group.aggregate."
        f"DEFAULT_STRATEGY) is **{DEFAULT_STRATEGY}**{'' if chosen == DEFAULT_STRATEGY else ' (differs!)'}.\n"
    )
    return Report("groups", "\n".join(lines) + "\n", data)


def eval_groups(app: Any, n_per_kind: int, seed: int, out: Path, progress: bool = True) -> int:
    """Run the group evaluation for ``app`` and write ``groups.md``/``groups.json`` to ``out``."""
    from tqdm.auto import tqdm

    from agent.evaluation.group_sim import make_groups, run_groups
    from agent.evaluation.simulate import held_out_users
    from agent.group.recommend import GroupRecommender

    ratings = app.resources.ratings
    held, note = held_out_users(ratings, app.catalogue, seed=0)
    groups = make_groups(ratings, app.catalogue, held, n_per_kind, seed=seed)
    rec = GroupRecommender(app.engine.pipeline, app.catalogue)
    outcomes = run_groups(
        rec, groups, tuple(STRATEGIES), lambda g: tqdm(g, desc="groups", unit="group", disable=not progress)
    )
    report = groups_report(outcomes, note, seed)
    print("wrote " + ", ".join(str(p) for p in write_report(report, out)))
    for name, v in report.data["kinds"]["all"].items():
        print(
            f"{name:16s} mean NDCG@10 {v['mean_ndcg@10']:.4f}  min member {v['min_member_ndcg@10']:.4f}  "
            f"gap {v['fairness_gap']:.4f}"
        )
    print(f"default by the rule: {report.data['chosen_default']} (shipped: {DEFAULT_STRATEGY})")
    return 0
