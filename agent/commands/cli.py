"""``reelchat`` command line: data, index, search, train, prepare, chat, ui, bench, eval."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import ReelChatError

if TYPE_CHECKING:
    from agent.settings import Settings

log = logging.getLogger("reelchat")


def _settings(args: argparse.Namespace) -> Settings:
    from agent.settings import settings_from_args

    return settings_from_args(args)


def cmd_data(args: argparse.Namespace) -> int:
    from agent.resources import locate_data, locate_redial_train

    settings = _settings(args)
    ml_dir, redial_dir = locate_data(settings, progress=True)
    print(f"MovieLens: {ml_dir}")
    print(f"ReDial facts: {redial_dir or 'not found (optional)'}")
    train_dir = locate_redial_train(settings)
    if train_dir is None:
        print("ReDial train dialogues: not found (optional)")
        return 0
    from retrieval.catalogue_loader import load_catalogue
    from retrieval.redial import TitleMapper, load_train_folder

    id2info = redial_dir / "id2info.json" if redial_dir else None
    mapper = TitleMapper.from_path(load_catalogue(ml_dir, redial_dir), id2info)
    dialogues, mapping = load_train_folder(train_dir, mapper)
    print(
        f"ReDial train dialogues: {train_dir} ({len(dialogues)} dialogues; {len(mapping.ids)} of"
        f" {mapping.total} ReDial movies mapped to MovieLens, {mapping.share:.1%})"
    )
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """``reelchat data synth``: write synthetic MovieLens-shaped CSVs (see :mod:`retrieval.synth`)."""
    from retrieval.synth import estimate_marginals, synthesize

    like = args.like
    root = args.data_dir or os.environ.get("REELCHAT_DATA_DIR")
    if like is None and root and (Path(root) / "ml-latest-small" / "movies.csv").is_file():
        like = Path(root) / "ml-latest-small"
    marginals = estimate_marginals(like) if like else None
    counts = synthesize(args.out, args.users, args.items, args.ratings, args.seed, marginals)
    print(json.dumps({"out": str(args.out), "marginals": str(like or "built-in"), **counts}))
    return 0


def _add_synth_parser(data: argparse.ArgumentParser) -> None:
    s = data.add_subparsers(dest="data_command").add_parser(
        "synth", help="write synthetic MovieLens-shaped CSVs (movies, ratings, tags, links)"
    )
    s.add_argument("--users", type=int, default=610)
    s.add_argument("--items", type=int, default=9742)
    s.add_argument("--ratings", type=int, default=100_836)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, required=True, help="folder to write the four CSVs into")
    s.add_argument(
        "--like",
        type=Path,
        help="MovieLens folder to copy marginals from (default: data dir's ml-latest-small, else built-in)",
    )
    s.set_defaults(func=cmd_synth)


def cmd_index(args: argparse.Namespace) -> int:
    from agent.resources import Resources

    res = Resources(_settings(args), progress=True)
    index = res.index(rebuild=args.rebuild)
    print(f"index ready: {len(index)} movies at {res.settings.chroma_url or res.settings.index_dir}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from agent.resources import Resources
    from retrieval.types import Filters

    res = Resources(_settings(args), progress=not args.json)
    filters = Filters(
        year_min=args.year_min,
        year_max=args.year_max,
        genres_required=tuple(args.genre or ()),
        genres_excluded=tuple(args.exclude_genre or ()),
    )
    from retrieval.search import search

    cands = search(res.retriever(), res.catalogue, args.text, filters=filters, k=args.k, prior=args.prior)
    rows: list[dict[str, Any]] = []
    for mid, score in zip(cands.ids, cands.scores, strict=True):
        m = res.catalogue.get(mid)
        rows.append(
            {
                "movie_id": m.movie_id,
                "title": m.title,
                "year": m.year,
                "genres": list(m.genres),
                "score": score,
            }
        )
    if args.json:
        print(json.dumps(rows))
    else:
        for i, r in enumerate(rows, 1):
            print(f"{i:2d}. {r['title']} ({r['year']})  {'|'.join(r['genres'])}  {r['score']:.3f}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from agent.resources import Resources

    res = Resources(_settings(args), progress=True)
    if getattr(args, "retriever", False):
        return train_retriever(res, args)
    res.reranker(retrain=True)
    print(f"model saved under {res.settings.models_dir}")
    return 0


# -- `reelchat train --retriever`: the dialogue-context retriever (issue 16) ------------------------------
def train_retriever(res: Any, args: argparse.Namespace) -> int:
    """Fine-tune (or find in the cache) the dialogue retriever on ``redial-train/``; exit 2 without data."""
    import time

    from agent.resources import locate_redial_train
    from retrieval.dialogue_encoder import TrainConfig

    if locate_redial_train(res.settings) is None:
        print("error: no redial-train/ folder under the data folder (REELCHAT_DATA_DIR)", file=sys.stderr)
        return 2
    config = TrainConfig(
        **{k: v for k in ("max_steps", "max_pairs") if (v := getattr(args, k, None)) is not None}
    )
    t0 = time.perf_counter()

    def show(step: int, steps: int) -> None:
        if step == steps or step % 25 == 0:
            print(f"training the dialogue retriever: step {step}/{steps} ({time.perf_counter() - t0:.0f} s)")

    retriever = res.dialogue_retriever("tuned", train=True, config=config, progress=show)
    if retriever is None:
        print("error: the dialogue retriever could not be trained", file=sys.stderr)
        return 2
    print(f"dialogue retriever {retriever.encoder.model_name} ready in {time.perf_counter() - t0:.0f} s")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from agent.resources import Resources

    res = Resources(_settings(args), progress=True)
    res.prepare()
    print("ReelChat is ready.")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from agent.app import RecommenderAgent
    from agent.commands.terminal import repl

    app = RecommenderAgent.load(_settings(args))
    return repl(app)


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import serve

    return serve(_settings(args), host=args.host, port=args.port)


def cmd_bench(args: argparse.Namespace) -> int:
    import runpy

    script = Path(__file__).resolve().parents[2] / "bench" / f"{args.which}.py"
    if not script.exists():
        raise ReelChatError(f"no benchmark named {args.which!r} (expected {script})")
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from agent.evaluation.cli import run_eval

    return run_eval(args, _settings(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reelchat", description="Conversational movie recommender.")
    p.add_argument("--data-dir", help="folder holding ml-latest-small/ (default: $REELCHAT_DATA_DIR)")
    p.add_argument("--cache-dir", help="downloads, index and models (default: ~/.cache/reelchat)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="find or download MovieLens ml-latest-small (or `data synth`)")
    data.set_defaults(func=cmd_data)
    _add_synth_parser(data)
    s = sub.add_parser("index", help="build the Chroma index (if missing or stale)")
    s.add_argument("--rebuild", action="store_true")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="semantic search with hard filters")
    s.add_argument("text")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--json", action="store_true")
    s.add_argument("--year-min", type=int)
    s.add_argument("--year-max", type=int)
    s.add_argument("--genre", action="append", help="required genre (repeatable)")
    s.add_argument("--exclude-genre", action="append", help="excluded genre (repeatable)")
    s.add_argument("--prior", type=float, default=0.1, help="popularity prior weight (0 = pure similarity)")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("train", help="train the collaborative-filtering reranker")
    s.add_argument("--retriever", action="store_true", help="train the dialogue retriever instead")
    s.add_argument("--max-steps", type=int, help="--retriever: at most N training steps")
    s.add_argument("--max-pairs", type=int, help="--retriever: the first N training pairs only")
    s.set_defaults(func=cmd_train)
    sub.add_parser("prepare", help="data + index + model + LLM, all at once").set_defaults(func=cmd_prepare)
    sub.add_parser("chat", help="chat in the terminal").set_defaults(func=cmd_chat)
    s = sub.add_parser("ui", help="start the browser chat")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=cmd_ui)
    s = sub.add_parser("bench", help="run a benchmark from bench/")
    s.add_argument("which", choices=["retrieval", "ranking", "agent", "load"])
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)
    from agent.commands.model import add_model_parsers

    add_model_parsers(sub)
    from agent.commands.users import add_users_parsers

    add_users_parsers(sub)
    try:
        from agent.evaluation.cli import add_eval_parser
    except ImportError:
        pass
    else:
        add_eval_parser(sub, cmd_eval)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    for var, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }.items():
        os.environ.setdefault(var, value)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except ReelChatError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        # errors of ranking/ and the store carry their own exit code and a one-line message
        code = getattr(err, "exit_code", None)
        if code is None:
            raise
        print(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
