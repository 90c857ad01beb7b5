"""Fit the conversational blend's feature weights: the ReDial tune half, train dialogues, simulated users.

    python bench/redial_tune.py [--train-examples N] [--sim-users N] [--recipe NAME]
                                [--rows FILE] [--write agent/prior/blend.json] [--json FILE]

Three sources of (turn, target) examples, each candidate a feature row (``agent.prior.blend.FEATURES``):

* ReDial tune half, split in two folds by dialogue; each fold's turns are replayed through the agent with
  a conversational prior counted on the *other* fold, plus the co-occurrence of the ReDial train
  dialogues (``redial-train/``, unless ``--no-train``). The report half is never read.
* ReDial train dialogues (``--train-examples N``): a seeded sample of N of their recommender turns,
  replayed like the evaluation's (``retrieval.dialogue_training.replay_turns``: the chat before the turn;
  targets the mapped movies it names that the dialogue had not named). The train dialogues are split in
  ``TRAIN_FOLDS`` folds; a turn's prior is one tune fold plus the *other* train folds' co-occurrence, so
  no example sees its own dialogue in the prior.
* Simulated MovieLens users (``agent.evaluation.simulate``) drawn from *tuning users*: neither the
  simulator's held-out evaluation users nor users the reranker used here was trained on (a reranker is
  trained without both, cached under ``cache_dir/eval-tune``). Every turn of each episode is recorded.

Every recipe (``bench/redial_fit.RECIPES``: which sources, at which share of the loss) is fitted listwise
(softmax over a turn's candidates, L2-regularised) and cross-fitted: fitted on one tune fold (+ the train
turns, + the other half of the simulated users) and scored on the other tune fold. ``--write`` refits the
chosen recipe on everything and writes the weights. ``--rows FILE`` keeps the recorded rows (pickle) so a
second run only fits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # after the repo root: bench/agent.py is no package

from redial_fit import RECIPES, cross_fit, final_fit, make_packs, recall, table

__all__ = ["collect", "fold_of", "recall"]
TRAIN_FOLDS = 10


def fold_of(dialog_id: str) -> int:
    return hashlib.sha256(f"fold:{dialog_id}".encode()).digest()[0] & 1


def train_fold(dialog_id: str, k: int = TRAIN_FOLDS) -> int:
    return int.from_bytes(hashlib.sha256(f"train-fold:{dialog_id}".encode()).digest()[:4], "big") % k


def _recorder(app: Any, prior: Any) -> Any:
    """Install (and return) a blend on ``app``'s pipeline that keeps the last feature matrix it built."""
    from agent.prior.blend import BlendWeights, PriorBlend

    class Recorder(PriorBlend):
        last: tuple[np.ndarray, np.ndarray] | None = None

        def features(self, *a: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
            out = super().features(*a, **kw)
            self.last = out
            return out

    pipe = app.engine.pipeline
    rec = Recorder(app.catalogue, pipe.item_emb, prior, BlendWeights.load())
    pipe.blend = rec
    return rec


def as_replay(turn: Any, mapper: Any) -> Any:
    """A dev turn as a ``ReplayTurn`` (targets: mapped rec titles not mentioned in the context)."""
    from retrieval.dialogue_training import ReplayTurn
    from retrieval.redial import mentioned_ids

    mentioned = mentioned_ids(turn, mapper)
    targets = {m for r in set(turn.rec) if (m := mapper.map(r)) is not None} - mentioned
    return ReplayTurn(turn.dialog_id, tuple(turn.messages), mentioned, frozenset(targets))


def collect(app: Any, turns: list, mapper: Any, prior: Any) -> list[dict[str, Any]]:
    """Per ReDial turn: candidate ids, feature rows, which candidates are targets (and the target count)."""
    return collect_examples(app, [as_replay(t, mapper) for t in turns], prior)


def collect_examples(app: Any, examples: list, prior: Any) -> list[dict[str, Any]]:
    """Replay each example (a ``ReplayTurn``) through ``app`` with ``prior``; record its candidates' rows."""
    rec = _recorder(app, prior)
    rows = []
    for ex in examples:
        if not ex.targets:
            continue
        rec.last = None
        app.recommend(list(ex.messages), k=50)
        if rec.last is None:
            rows.append(
                {"ids": np.zeros(0, np.int64), "x": None, "y": np.zeros(0, bool), "n": len(ex.targets)}
            )
            continue
        ids, x = rec.last
        keep = np.array([int(m) not in ex.mentioned for m in ids], dtype=bool)
        ids, x = ids[keep], x[keep].astype(np.float32)
        rows.append({"ids": ids, "x": x, "y": np.isin(ids, list(ex.targets)), "n": len(ex.targets)})
    return rows


def train_rows(
    app: Any, train: tuple, train_dir: Path, mapper: Any, tune_folds: dict[int, list], n: int
) -> list[dict[str, Any]]:
    """Feature rows of ``n`` sampled recommender turns of the train dialogues, each fold's prior from a
    tune fold plus the other train folds (see the module docstring)."""
    from agent.prior.conversational import ConversationPrior
    from retrieval.dialogue_training import replay_turns
    from retrieval.redial import load_movie_names

    dialogues, mapping = train
    turns = replay_turns(dialogues, mapping, load_movie_names(train_dir / "movies_with_mentions.csv"))
    print(f"train dialogues: {len(turns)} replay turns; {min(n, len(turns))} sampled", flush=True)
    turns = random.Random(0).sample(turns, min(n, len(turns)))
    rows: list[dict[str, Any]] = []
    for g in range(TRAIN_FOLDS):
        mine = [t for t in turns if train_fold(t.dialog_id) == g]
        others = [d for d in dialogues if train_fold(d.conversation_id) != g]
        prior = ConversationPrior.from_turns(tune_folds[g % 2], mapper).with_train(others, mapping)
        rows += collect_examples(app, mine, prior)
        print(f"train fold {g}: {len(mine)} turns, {len(rows)} rows so far", flush=True)
    return rows


def simulated_rows(app: Any, users: list, prior: Any) -> list[dict[str, Any]]:
    """Play each simulated user against ``app`` and record every turn's candidates and features."""
    from agent.evaluation.simulate import MAX_TURNS, critique

    rec = _recorder(app, prior)
    cat = app.catalogue
    rows = []
    for user in users:
        session = app.start_session()
        msg = user.opening
        for turn in range(1, MAX_TURNS + 1):
            rec.last = None
            reply = session.send(msg)
            if rec.last is not None:
                ids, x = rec.last
                rows.append(
                    {
                        "ids": ids,
                        "x": x.astype(np.float32),
                        "y": ids == user.target,
                        "n": 1,
                        "user": user.user_id,
                    }
                )
            top = [r.movie_id for r in reply.recommendations][:5]
            if user.target in top or turn == MAX_TURNS:
                break
            msg = critique(cat.get(user.target), [cat.get(m) for m in top if m in cat])
    return rows


def tuning_users(app: Any, n: int, seed: int = 1) -> tuple[list, list[int]]:
    """Simulated users from MovieLens users outside the simulator's evaluation split, and those users."""
    from agent.evaluation.simulate import held_out_users, sample_users
    from ranking.interactions import build_interactions, split_users

    ratings = app.resources.ratings
    held, _ = held_out_users(ratings, app.catalogue, seed=0)
    inter = build_interactions(ratings, app.catalogue.ids)
    rest = np.setdiff1d(inter.users, held)
    _, tune_users = split_users(rest, 0.2, seed)
    users = sample_users(ratings, app.catalogue, tune_users, n, seed=seed)
    return users, [int(u) for u in np.concatenate([held, tune_users])]


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=Path)
    ap.add_argument(
        "--write", type=Path, help="write the chosen recipe's weights here (agent/prior/blend.json)"
    )
    ap.add_argument("--recipe", default="tune+sim", choices=sorted(RECIPES), help="the recipe --write uses")
    ap.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), help="fit only these (default: all)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--rows", type=Path, help="pickle of the recorded rows: read when present, else written")
    ap.add_argument("--sim-users", type=int, default=200, help="simulated tuning users (0: none)")
    ap.add_argument("--train-examples", type=int, default=0, help="sampled train-dialogue turns (0: none)")
    ap.add_argument(
        "--no-train", action="store_true", help="leave the ReDial train dialogues out of the prior"
    )
    ap.add_argument("--n-cf", type=int)
    ap.add_argument("--n-prior", type=int)
    ap.add_argument("--n-related", type=int)
    ap.add_argument("--words-match", type=float)
    return ap.parse_args(argv)


def record(args: argparse.Namespace) -> dict[str, Any]:
    """Load the agent and record the rows of every source (see the module docstring)."""
    os.environ.setdefault("REELCHAT_LLM", "none")
    from agent.app import RecommenderAgent
    from agent.prior.conversational import ConversationPrior
    from agent.resources import locate_redial_train
    from agent.settings import PipelineConfig, Settings
    from retrieval.redial import TitleMapper, load_train_folder, load_turns

    names = ("n_cf", "n_prior", "n_related", "words_match")
    knobs = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    settings = Settings(llm="none", prior="none", pipeline=PipelineConfig(diversity=0.0, **knobs))
    turns_path = args.turns or Path(settings.data_dir or ".") / "redial-ievalm" / "dev_turns.jsonl"
    app = RecommenderAgent.load(settings, progress=False)
    mapper = TitleMapper.from_path(app.catalogue, turns_path.parent / "id2info.json")
    tune = [t for t in load_turns(turns_path) if t.half == "tune"]
    folds = {f: [t for t in tune if fold_of(t.dialog_id) == f] for f in (0, 1)}
    train_dir = None if args.no_train else locate_redial_train(settings)
    train = load_train_folder(train_dir, mapper) if train_dir else None

    def prior_of(turns: list) -> ConversationPrior:
        prior = ConversationPrior.from_turns(turns, mapper)
        return prior.with_train(*train) if train else prior

    t0 = time.perf_counter()
    rows = {f: collect(app, folds[f], mapper, prior_of(folds[1 - f])) for f in (0, 1)}
    print(f"tune half: {sum(map(len, rows.values()))} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    extra: list[dict[str, Any]] = []
    if args.train_examples and train is not None and train_dir is not None:
        t0 = time.perf_counter()
        extra = train_rows(app, train, train_dir, mapper, folds, args.train_examples)
        print(f"train turns: {len(extra)} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    sim: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    if args.sim_users:
        from agent.evaluation.simulate import holdout_app

        users, excluded = tuning_users(app, args.sim_users)
        tuner = holdout_app(app, excluded, progress=True, name="eval-tune")
        pipe = tuner.engine.pipeline  # the simulator's users see the default diversity
        pipe.config = pipe.config.model_copy(update={"diversity": PipelineConfig().diversity})
        for r in simulated_rows(tuner, users, prior_of(tune)):
            sim[r["user"] % 2].append(r)
    meta = {"knobs": knobs, "train_examples": args.train_examples, "sim_users": args.sim_users}
    return {"tune": rows, "train": extra, "sim": sim, "meta": meta, "prior_train": train is not None}


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    t0 = time.perf_counter()
    if args.rows and args.rows.is_file():
        data = pickle.loads(args.rows.read_bytes())
        print(f"rows from {args.rows}: {json.dumps(data['meta'])}")
    else:
        data = record(args)
        if args.rows:
            args.rows.write_bytes(pickle.dumps(data, protocol=5))
    from agent.prior.blend import FEATURES, BlendWeights

    tune, train, sim = data["tune"], data["train"], data["sim"]
    packs = make_packs(tune, train, sim)
    shipped = BlendWeights.load().vector
    results: dict[str, Any] = {
        "shipped": {
            "redial": _mean({f: recall(tune[f], shipped) for f in (0, 1)}),
            "sim": _mean({f: recall(sim[f], shipped) for f in (0, 1) if sim[f]}),
        }
    }
    for name, recipe in RECIPES.items():
        if (recipe.train and not train) or (recipe.sim and not sim[0]):
            continue
        if args.recipes and name not in args.recipes and name != args.recipe:
            continue
        results[name] = cross_fit(recipe, tune, sim, packs, len(FEATURES))
        print(f"{name}: l2 {results[name]['l2']:g}  {json.dumps(results[name]['redial'])}", flush=True)
    print(table(results))
    counts = {
        "tune": {f: len(tune[f]) for f in tune},
        "train": len(train),
        "sim": {f: len(sim[f]) for f in sim},
    }
    print(f"rows: {json.dumps(counts)}; {time.perf_counter() - t0:.0f} s")
    if args.write:
        if args.recipe not in results:
            print(f"recipe {args.recipe} needs rows this run lacks (--train-examples, --sim-users)")
            return 2
        chosen = results[args.recipe]
        w = final_fit(RECIPES[args.recipe], chosen["l2"], packs, len(FEATURES))
        weights = {f: round(float(v), 4) for f, v in zip(FEATURES, w, strict=True)}
        chosen["weights"] = weights
        note = (
            f"fitted by bench/redial_tune.py, recipe {args.recipe}: the ReDial dev tune half"
            f" ({counts['tune'][0] + counts['tune'][1]} turns), {counts['train']} sampled train turns"
            f" (share {chosen['recipe']['train']:g}) and {data['meta']['sim_users']} simulated tuning users"
            f" (share {chosen['recipe']['sim']:g}); l2 {chosen['l2']:g}; train dialogues' co-occurrence"
            f" {'in the prior' if data['prior_train'] else 'left out'}"
        )
        args.write.write_text(json.dumps({"weights": weights, "note": note}, indent=1) + "\n")
        print(f"wrote {args.write}: {note}")
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "meta": data["meta"], **results}, indent=2))
    return 0


def _mean(figures: dict[int, dict[str, float]]) -> dict[str, float]:
    from redial_fit import mean_folds

    return mean_folds({str(f): v for f, v in figures.items()})


if __name__ == "__main__":
    sys.exit(main())
