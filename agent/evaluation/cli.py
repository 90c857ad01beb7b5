"""``reelchat eval {script,redial,simulate,groups,understanding,explanations,all}``: run an evaluation,
write a report."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("reports") / "eval"
DEFAULT_GROUPS = 200  # `eval groups`: groups per kind (random, similar)
DEFAULT_USERS = 120  # every held-out user with a usable target (~122); n=60 is too noisy to compare variants
DEFAULT_REDIAL_TURNS = 0  # 0 = every turn of the half
ALL_REDIAL_TURNS = 300  # `eval all`: the first 300 report-half turns (~1 s per turn for all variants)


def add_eval_parser(subparsers: Any, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """Add ``eval`` and its sub-commands to the ``reelchat`` parser."""
    p = subparsers.add_parser("eval", help="evaluate the agent: scripts, ReDial replay, simulated users")
    sub = p.add_subparsers(dest="eval_command", required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument(
            "--out", type=Path, default=None, help=f"report folder (default {DEFAULT_OUT}/<command>)"
        )
        s.add_argument(
            "--keep-llm", action="store_true", help="keep REELCHAT_LLM (default: template explanations)"
        )
        s.add_argument("--no-progress", action="store_true")
        s.set_defaults(func=handler)

    s = sub.add_parser("script", help="play scripted conversations and check every turn")
    s.add_argument("files", nargs="+", type=Path, help="YAML scripts or folders of them")
    common(s)
    s = sub.add_parser("redial", help="replay ReDial dev turns; Recall@1/10/50 against baselines")
    s.add_argument("--turns", type=Path, required=True, help="dev_turns.jsonl")
    s.add_argument("--id2info", type=Path, help="id2info.json (default: beside --turns)")
    s.add_argument("--half", choices=["report", "tune"], default="report")
    s.add_argument("--limit", type=int, default=DEFAULT_REDIAL_TURNS, help="at most N turns (0 = all)")
    common(s)
    s = sub.add_parser("simulate", help="simulated held-out MovieLens users with hidden targets")
    s.add_argument("--users", type=int, default=DEFAULT_USERS)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--holdout-model",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="evaluate a reranker trained without the held-out users (default; cached after the first run)",
    )
    common(s)
    s = sub.add_parser("groups", help="synthetic groups of held-out users: NDCG@10 per group strategy")
    s.add_argument("--groups", type=int, default=DEFAULT_GROUPS, help="groups per kind (random, similar)")
    s.add_argument("--seed", type=int, default=0)
    common(s)
    s = sub.add_parser("understanding", help="understanding corpus: exact match, per-field scores, acts")
    s.add_argument(
        "--redial-questions",
        action="store_true",
        help="score liked/disliked readings of titles against the ReDial train seekers' labels",
    )
    s.add_argument("--limit", type=int, default=0, help="at most N corpus cases, evenly spread (0 = all)")
    common(s)
    s = sub.add_parser("critiques", help="critique directions: share of next picks moving the asked way")
    s.add_argument("--starts", type=int, default=0, help="at most N starting conversations (0 = all 30)")
    common(s)
    s = sub.add_parser("explanations", help="every explainer side by side: claim audit, evidence, diversity")
    s.add_argument("--n", type=int, default=200, help="requests (scripted + ReDial dev tune half)")
    s.add_argument(
        "--explainers", default="", help="comma-separated names (default: every one; see REELCHAT_EXPLAINER)"
    )
    s.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=(),
        help="earlier report folders (same --n) whose explainer rows join this report (parallel runs)",
    )
    common(s)
    s = sub.add_parser(
        "all", help="scripts + ReDial (report half) + understanding corpus + simulate + explanations"
    )
    common(s)
    return p


def _load_app(settings: Any, args: argparse.Namespace) -> Any:
    from agent.app import RecommenderAgent

    if not getattr(args, "keep_llm", False):
        settings = settings.model_copy(update={"llm": "none"})
    if settings.prior == "all":  # dialogues being evaluated must never feed the conversational prior
        settings = settings.model_copy(update={"prior": _prior_half(settings, args)})
    return RecommenderAgent.load(settings, progress=not args.no_progress)


def _prior_half(settings: Any, args: argparse.Namespace) -> str:
    """The dev dialogues the prior may use: all of them for turns from elsewhere (a held-out test file),
    else the half not being evaluated (the tune half unless ``--half tune``)."""
    from retrieval.redial import load_turns

    dev = Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    if getattr(args, "eval_command", "") == "redial" and dev.is_file():
        evaluated = {t.dialog_id for t in load_turns(args.turns)}
        if not evaluated & {t.dialog_id for t in load_turns(dev)}:
            return "all"
        return "report" if args.half == "tune" else "tune"
    return "tune"


def _say(paths: list[Path]) -> None:
    print("wrote " + ", ".join(str(p) for p in paths))


def eval_scripts(app: Any, files: list[Path], out: Path, progress: bool = True) -> int:
    from tqdm.auto import tqdm

    from agent.evaluation.report import scripts_report, write_report
    from agent.evaluation.scripts import load_scripts, run_script

    scripts = load_scripts(files)
    results = [run_script(app, s) for s in tqdm(scripts, desc="scripts", unit="script", disable=not progress)]
    report = scripts_report(results)
    _say(write_report(report, out))
    print(f"scripts: {report.data['scripts_passed']}/{report.data['scripts']} pass")
    for r in results:
        for t in r.turns:
            if not t.passed:
                print(f"FAIL {r.script.name} turn {t.index}: {'; '.join(t.reasons)}")
    return 0 if report.data["scripts_passed"] == report.data["scripts"] else 1


def eval_redial(
    app: Any,
    turns_file: Path,
    id2info: Path | None,
    half: str,
    out: Path,
    limit: int = 0,
    progress: bool = True,
) -> int:
    from agent.evaluation.baselines import build_variants
    from agent.evaluation.redial import replay
    from agent.evaluation.report import redial_report, write_report
    from agent.resources import locate_redial_train
    from retrieval.redial import TitleMapper, load_train_folder, load_turns, split_turns

    if id2info is None and (turns_file.parent / "id2info.json").is_file():
        id2info = turns_file.parent / "id2info.json"
    tune, report_half = split_turns(load_turns(turns_file))
    mapper = TitleMapper.from_path(app.catalogue, id2info)
    train_dir = locate_redial_train(app.resources.settings)
    train = load_train_folder(train_dir, mapper) if train_dir else None
    dialogue = {kind: app.resources.dialogue_retriever(kind) for kind in ("base", "tuned")}
    variants, notes = build_variants(app, tune, mapper, train=train, dialogue=dialogue)
    from agent.prior.blend import dialogue_weights

    notes["dialogue_retriever"] = {
        kind: ("not trained: run `reelchat train --retriever`" if r is None else r.encoder.model_name)
        + f" (weights {dialogue_weights(kind) or 'none fitted: candidates only'})"
        for kind, r in dialogue.items()
    }
    turns = report_half if half == "report" else tune
    if limit:
        turns = turns[:limit]
    notes["id2info"] = str(id2info) if id2info else "none (title + year matching only)"
    t0 = time.perf_counter()
    result = replay(turns, variants, mapper, half=half, progress=progress)
    notes["seconds"] = round(time.perf_counter() - t0, 1)
    report = redial_report(result, notes)
    _say(write_report(report, out))
    for name, s in result.summaries.items():
        r = s.pair_recall
        print(f"{name:28s} R@1 {r[1]:.3f}  R@10 {r[10]:.3f}  R@50 {r[50]:.3f}  leaks {result.leaks[name]}")
    return 0


def eval_simulate(app: Any, users: int, seed: int, out: Path, holdout: bool, progress: bool = True) -> int:
    from agent.evaluation.report import simulate_report, write_report
    from agent.evaluation.simulate import held_out_users, holdout_app, sample_users, simulate, variant_apps

    ratings = app.resources.ratings
    held, note = held_out_users(ratings, app.catalogue, seed=0)
    sims = sample_users(ratings, app.catalogue, held, users, seed=seed)
    if holdout:
        note += " This run's reranker was trained without the held-out users."
    else:
        note += " This run used --no-holdout-model: the reranker has seen these users' ratings."
    apps = variant_apps(app, (lambda a: holdout_app(a, held, progress)) if holdout else None)
    episodes = simulate(apps, sims, progress=progress)
    report = simulate_report(episodes, note, seed)
    _say(write_report(report, out))
    for name, v in report.data["variants"].items():
        print(
            f"{name:16s} success@1 {v['success@1']:.3f}  success@5 {v['success@5']:.3f}  "
            f"turns {v['avg_turns']:.2f}"
        )
    return 0


def eval_understanding(app: Any, settings: Any, args: argparse.Namespace, out: Path) -> int:
    """``eval understanding``: the labelled corpus (exact match, per-field precision/recall, acts); with
    ``--redial-questions`` also title sentiment on the ReDial train labels."""
    code = eval_corpus(app, settings, out, getattr(args, "limit", 0))
    if getattr(args, "redial_questions", False):
        from agent.evaluation.title_sentiment import run_title_sentiment

        if settings.data_dir is None:
            print("error: --redial-questions needs a data folder (REELCHAT_DATA_DIR)", file=sys.stderr)
            return 2
        run_title_sentiment(app, settings.data_dir, out)
    return code


def eval_corpus(app: Any, settings: Any, out: Path, limit: int = 0) -> int:
    """The understanding corpus report (``understanding.md``/``.json``); 0 always (a score, not a test)."""
    from agent.evaluation.report import write_report
    from agent.evaluation.understanding import evaluate

    data = Path(settings.data_dir) if settings.data_dir is not None else None
    report = evaluate(app.engine, data_dir=data, limit=limit)
    _say(write_report(report, out))
    d = report.data
    worst = min(min(s["precision"], s["recall"]) for s in d["fields"].values())
    print(f"understanding: {d['n_cases']} cases, exact match {d['exact_match']:.3f}, worst field {worst:.3f}")
    return 0


def eval_critiques(app: Any, out: Path, starts: int = 0) -> int:
    """``eval critiques``: the 8 critique directions over the starting conversations; 0 always."""
    from agent.evaluation.critiques import STARTS, critiques_report, run_steps, summarise
    from agent.evaluation.report import write_report

    chosen = STARTS[:starts] if starts else STARTS
    summary = summarise(run_steps(app.engine, chosen), app.engine)
    _say(write_report(critiques_report(summary, len(chosen)), out))
    for d, v in summary.items():
        text = "n/a" if v["text_share"] is None else f"{v['text_share']:.3f}"
        print(
            f"{d:14s} axis {v['axis_share']:.3f} (control {v['control_axis_share']:.3f})  text {text}  "
            f"shift {v['mean_axis_shift']:+.2f}"
        )
    return 0


def _explanations(
    app: Any, settings: Any, out: Path, n: int, names: str, progress: bool, merge: Any = ()
) -> int:
    from agent.evaluation.explanations_report import eval_explanations
    from agent.explain.choice import EXPLAINER_NAMES

    chosen = tuple(x.strip() for x in names.split(",") if x.strip()) or EXPLAINER_NAMES
    unknown = [x for x in chosen if x not in EXPLAINER_NAMES]
    if unknown:
        print(
            f"error: unknown explainer(s) {', '.join(unknown)}; use {', '.join(EXPLAINER_NAMES)}",
            file=sys.stderr,
        )
        return 2
    return eval_explanations(app, settings, out, n, chosen, progress, merge=merge)


def run_eval(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch ``reelchat eval …``; returns the exit code (1 when a script fails)."""
    from agent.evaluation.scripts import SCRIPTS_DIR

    cmd = args.eval_command
    out = Path(args.out) if args.out else DEFAULT_OUT / cmd
    progress = not args.no_progress
    if cmd == "redial" and not args.turns.is_file():
        print(f"error: {args.turns} does not exist", file=sys.stderr)
        return 2
    app = _load_app(settings, args)
    if cmd == "script":
        return eval_scripts(app, list(args.files), out, progress)
    if cmd == "redial":
        return eval_redial(app, args.turns, args.id2info, args.half, out, args.limit, progress)
    if cmd == "simulate":
        return eval_simulate(app, args.users, args.seed, out, args.holdout_model, progress)
    if cmd == "groups":
        from agent.evaluation.groups import eval_groups

        return eval_groups(app, args.groups, args.seed, out, progress)
    if cmd == "understanding":
        return eval_understanding(app, settings, args, out)
    if cmd == "critiques":
        return eval_critiques(app, out, args.starts)
    if cmd == "explanations":
        return _explanations(app, settings, out, args.n, args.explainers, progress, args.merge)
    # all
    t0 = time.perf_counter()
    code = eval_scripts(app, [SCRIPTS_DIR], out, progress)
    turns = None
    if settings.data_dir is not None:
        turns = Path(settings.data_dir) / "redial-ievalm" / "dev_turns.jsonl"
    if turns is not None and turns.is_file():
        code = max(code, eval_redial(app, turns, None, "report", out, ALL_REDIAL_TURNS, progress))
    else:
        print("skipping ReDial: no redial-ievalm/dev_turns.jsonl under the data folder", file=sys.stderr)
    code = max(code, eval_corpus(app, settings, out))
    code = max(code, eval_simulate(app, DEFAULT_USERS, 0, out, True, progress))
    # the LLM explainers only with --keep-llm (they take minutes); the templates always
    names = "" if getattr(args, "keep_llm", False) else "templates"
    code = max(code, _explanations(app, settings, out, 200, names, progress))
    print(f"eval all: {time.perf_counter() - t0:.0f} s; reports in {out}")
    return code
