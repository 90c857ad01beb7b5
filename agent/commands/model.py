"""``reelchat finetune`` and ``reelchat model rollback|list``: stored feedback -> a new model version.

The glue between the feedback store, :func:`ranking.finetune.finetune` and the versioned checkpoints of
:class:`ranking.registry.ModelRegistry` rooted at ``resources.checkpoint_dir``. A running app notices a
new current version between turns through :meth:`ModelRegistry.stamp`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.records import counted

if TYPE_CHECKING:
    import pandas as pd

    from agent.settings import Settings
    from agent.store import FeedbackEvent
    from ranking.registry import ModelRegistry

Outcome = Literal["published", "refused", "skipped"]


def feedback_rows(events: Iterable[FeedbackEvent]) -> pd.DataFrame:
    """Stored events (oldest first) as the ``user_key, movie_id, signal`` frame of ranking.finetune."""
    from ranking.finetune import feedback_frame

    return feedback_frame((str(e.user_id), int(e.movie_id), str(e.signal)) for e in events)


def read_feedback(settings: Settings) -> list[FeedbackEvent]:
    """Every feedback event in the store configured by ``settings``."""
    from agent.store import FeedbackStore

    with FeedbackStore.open(settings.db_url, cache_dir=settings.cache_dir) as store:
        return store.feedback_events()


def registry_of(resources: Any) -> ModelRegistry:
    """The model registry of ``resources`` (rooted at its ``checkpoint_dir``)."""
    from ranking.registry import ModelRegistry

    return ModelRegistry(Path(resources.checkpoint_dir))


def _device(resources: Any) -> str:
    try:
        return str(resources.settings.resolved_device())
    except Exception:  # torch without CUDA support, odd device strings: CPU still works
        return "cpu"


def finetune_model(
    resources: Any, *, epochs: int = 3, force: bool = False, seed: int = 0
) -> tuple[str, Outcome]:
    """Fine-tune the current model on MovieLens + stored feedback; publish it if it passes the gate.

    ``resources`` needs ``settings``, ``catalogue`` (``fingerprint``), ``ratings`` and
    ``checkpoint_dir``. Returns a one-line summary and what happened.
    """
    from ranking.finetune import finetune
    from ranking.registry import RegistryError

    registry = registry_of(resources)
    fingerprint = resources.catalogue.fingerprint
    model = registry.load_current(fingerprint)
    if model is None:
        raise RegistryError("no ranking model to fine-tune yet (run `reelchat train` first)")
    parent = registry.current_version()
    rows = feedback_rows(read_feedback(resources.settings))
    known = set(model.item_ids.tolist())
    usable = rows[rows["signal"].isin(["liked", "disliked"]) & rows["movie_id"].isin(known)]
    if usable.empty:
        return (
            f"nothing to fine-tune: no liked/disliked feedback stored yet; {parent} stays current",
            "skipped",
        )
    result = finetune(
        model,
        resources.ratings,
        rows,
        epochs=epochs,
        seed=seed,
        device=_device(resources),
        progress=bool(getattr(resources, "progress", False)),
    )
    n_users = usable["user_key"].nunique()
    data = (
        f"{counted(len(usable), 'feedback event')} of {counted(n_users, 'user')}, {counted(epochs, 'epoch')}"
    )
    if not result.accepted and not force:
        return (
            f"refused: {result.reason}; {parent} stays current ({data}; --force publishes anyway)",
            "refused",
        )
    info = {
        "source": "finetune",
        "epochs": epochs,
        "seed": seed,
        "feedback_events": len(usable),
        "feedback_users": int(n_users),
        "val_ndcg_before": result.val_before,
        "val_ndcg_after": result.val_after,
        "accepted": result.accepted,
        "forced": not result.accepted,
    }
    version = registry.publish(result.model, fingerprint, info=info)
    forced = " [forced past the NDCG gate]" if not result.accepted else ""
    return f"published {version} (previous {parent}): {result.reason}; {data}{forced}", "published"


def run_finetune(resources: Any, *, epochs: int = 3, force: bool = False, seed: int = 0) -> str:
    """One-line summary: before/after validation NDCG@10 and the new version or why it was refused."""
    return finetune_model(resources, epochs=epochs, force=force, seed=seed)[0]


def run_rollback(resources: Any) -> str:
    """Make the previous model version current again (a running app switches before its next turn)."""
    registry = registry_of(resources)
    was = registry.current_version()
    version = registry.rollback()
    return f"rolled back: {version} is current again (was {was})"


def list_models(resources: Any) -> str:
    """One line per stored version, the current one marked with ``*`` and the previous with ``-``."""
    rows = registry_of(resources).describe()
    if not rows:
        return "no ranking model yet (run `reelchat train`)"
    lines = []
    for r in rows:
        mark = "*" if r["current"] else ("-" if r["previous"] else " ")
        parts = [f"{mark} {r['version']}", str(r.get("source", "train"))]
        if r.get("at"):
            parts.append(str(r["at"]))
        if "val_ndcg_before" in r and "val_ndcg_after" in r:
            parts.append(f"NDCG@10 {r['val_ndcg_before']:.4f} -> {r['val_ndcg_after']:.4f}")
        if r.get("forced"):
            parts.append("forced")
        if r.get("error"):
            parts.append(str(r["error"]))
        lines.append("  ".join(parts))
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------------------
def _resources(settings: Settings, resources: Any | None) -> Any:
    if resources is not None:
        return resources
    from agent.resources import Resources

    return Resources(settings, progress=True)


def _guarded(fn: Callable[[], int]) -> int:
    """Store failures are one line on stderr with exit code 2 (ranking errors carry their own)."""
    from agent.store import StoreError

    try:
        return fn()
    except StoreError as err:
        print(f"error: {str(err).splitlines()[0] if str(err) else 'feedback store failed'}", file=sys.stderr)
        return 2


def cmd_finetune(args: argparse.Namespace, settings: Settings, *, resources: Any | None = None) -> int:
    """``reelchat finetune``: exit 0 when published or nothing to do, 1 when the gate refused it."""

    def go() -> int:
        res = _resources(settings, resources)
        msg, outcome = finetune_model(res, epochs=args.epochs, force=args.force, seed=args.seed)
        print(msg)
        return 1 if outcome == "refused" else 0

    return _guarded(go)


def cmd_rollback(args: argparse.Namespace, settings: Settings, *, resources: Any | None = None) -> int:
    """``reelchat model rollback``."""
    print(run_rollback(_resources(settings, resources)))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings, *, resources: Any | None = None) -> int:
    """``reelchat model list``."""
    print(list_models(_resources(settings, resources)))
    return 0


def run_handler(args: argparse.Namespace) -> int:
    """Default ``func``: build Settings from ``--data-dir`` / ``--cache-dir`` and call ``args.handler``."""
    from agent.settings import settings_from_args

    return int(args.handler(args, settings_from_args(args)))


def add_model_parsers(subparsers: Any, func: Callable[[argparse.Namespace], int] | None = None) -> None:
    """Add ``finetune [--epochs N] [--force] [--seed S]`` and ``model rollback|list``.

    Each sets ``args.handler`` (taking ``(args, settings)``) and ``args.func`` (taking ``args``):
    ``func`` when given, else :func:`run_handler`.
    """
    run = func or run_handler
    s = subparsers.add_parser(
        "finetune", help="fine-tune the reranker on stored feedback and publish a new model version"
    )
    s.add_argument("--epochs", type=int, default=3, help="epochs over MovieLens + feedback (default 3)")
    s.add_argument("--force", action="store_true", help="publish even if validation NDCG@10 drops > 2%%")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=run, handler=cmd_finetune)

    m = subparsers.add_parser("model", help="list the reranker's model versions or roll back")
    msub = m.add_subparsers(dest="model_command", required=True)
    msub.add_parser("rollback", help="restore the previous model version").set_defaults(
        func=run, handler=cmd_rollback
    )
    msub.add_parser("list", help="list model versions (* current, - previous)").set_defaults(
        func=run, handler=cmd_list
    )


__all__ = [
    "add_model_parsers",
    "cmd_finetune",
    "cmd_list",
    "cmd_rollback",
    "feedback_rows",
    "finetune_model",
    "list_models",
    "read_feedback",
    "registry_of",
    "run_finetune",
    "run_handler",
    "run_rollback",
]
