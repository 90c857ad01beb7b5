"""Versioned ranking checkpoints: ``root/v0001/``, ``root/v0002/``... and a ``root/CURRENT`` pointer.

Each version is an immutable checkpoint folder written by :func:`ranking.checkpoint.save`. A publish
saves into a hidden temp folder, renames it to the next version and only then flips ``CURRENT`` (a JSON
file replaced atomically), so readers always see a complete model. ``CURRENT`` also keeps the stack of
previously current versions, so :meth:`ModelRegistry.rollback` can step back one at a time.

A legacy checkpoint saved directly into ``root`` (``root/config.json``) is version ``v0000``: its files
stay where they are and the first publish records it as the previous version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ranking.checkpoint import CONFIG, CheckpointError, load, save
from ranking.train import TrainedModel

POINTER = "CURRENT"
LEGACY = "v0000"
_VERSION = re.compile(r"^v(\d{4,})$")


class RegistryError(CheckpointError):
    """The model registry is empty, corrupt or has nothing to roll back to; ``str()`` is one line."""


class ModelRegistry:
    """Versioned checkpoints under ``root`` with an atomically switched current version."""

    def __init__(self, root: Path | str, *, keep: int = 3) -> None:
        if keep < 2:
            raise ValueError("keep must be at least 2 (the current and the previous version)")
        self.root = Path(root)
        self.keep = keep

    # -- reading -------------------------------------------------------------------------------------
    def path(self, version: str) -> Path:
        """Folder of ``version`` (``v0000`` is the legacy checkpoint in ``root`` itself)."""
        if version == LEGACY:
            return self.root
        if not _VERSION.match(version):
            raise RegistryError(f"not a model version name: {version!r}")
        return self.root / version

    def _has_legacy(self) -> bool:
        return (self.root / CONFIG).is_file()

    def versions(self) -> list[str]:
        """Complete versions, oldest first (``v0000`` first when a legacy checkpoint exists)."""
        out = [LEGACY] if self._has_legacy() else []
        if self.root.is_dir():
            found = [p.name for p in self.root.iterdir() if _VERSION.match(p.name) and (p / CONFIG).is_file()]
            out += sorted(found, key=lambda v: int(v[1:]))
        return out

    def _pointer(self) -> dict[str, Any] | None:
        try:
            raw = (self.root / POINTER).read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise RegistryError(f"model registry unreadable: {POINTER} ({type(err).__name__})") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            raise RegistryError(f"model registry corrupt: cannot parse {self.root / POINTER}") from None
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str) or not _VERSION.match(version):
            raise RegistryError(f"model registry corrupt: {self.root / POINTER} names no version")
        history = data.get("history")
        data["history"] = [h for h in history if isinstance(h, str)] if isinstance(history, list) else []
        return data

    def current_version(self) -> str | None:
        """Name of the current version: ``CURRENT``, else ``v0000`` for a legacy root, else None."""
        ptr = self._pointer()
        if ptr is not None:
            return str(ptr["version"])
        return LEGACY if self._has_legacy() else None

    def previous_version(self) -> str | None:
        """The version :meth:`rollback` would restore (None when there is none)."""
        ptr = self._pointer()
        hist = [h for h in (ptr or {}).get("history", []) if (self.path(h) / CONFIG).is_file()]
        return hist[-1] if hist else None

    def current(self) -> Path | None:
        """Folder of the current checkpoint, or None when nothing was trained yet."""
        version = self.current_version()
        if version is None:
            return None
        folder = self.path(version)
        if not (folder / CONFIG).is_file():
            raise RegistryError(
                f"model registry corrupt: current version {version} is missing under {self.root}"
            )
        return folder

    def load_current(self, fingerprint: str | None = None) -> TrainedModel | None:
        """The current model (None when there is none); a broken one raises a one-line error."""
        version = self.current_version()
        folder = self.current()
        if folder is None:
            return None
        try:
            return load(folder, fingerprint)
        except CheckpointError as err:
            hint = " (`reelchat model rollback` restores the previous one)" if self.previous_version() else ""
            raise RegistryError(f"model version {version}: {err}{hint}") from None

    def stamp(self) -> str:
        """A cheap token that changes whenever the current model changes (one small file read)."""
        try:
            raw = (self.root / POINTER).read_bytes()
        except FileNotFoundError:
            try:
                st = (self.root / CONFIG).stat()
            except FileNotFoundError:
                return "none"
            return f"legacy:{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
        except OSError:
            return "unreadable"
        return "current:" + hashlib.sha256(raw).hexdigest()[:16]

    def describe(self) -> list[dict[str, Any]]:
        """Per version: name, ``current``/``previous`` marks and its publish info (for ``model list``)."""
        cur, prev = self.current_version(), self.previous_version()
        rows = []
        for v in self.versions():
            try:
                meta = json.loads((self.path(v) / CONFIG).read_text())
                info = dict((meta.get("info") or {}).get("publish") or {})
            except (OSError, ValueError, AttributeError):
                info = {"error": "unreadable config.json"}
            rows.append({"version": v, "current": v == cur, "previous": v == prev, **info})
        return rows

    # -- writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise publish / rollback between processes (advisory lock; a no-op without fcntl)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write_pointer(self, version: str, history: list[str]) -> None:
        data = {"version": version, "previous": history[-1] if history else None, "history": history}
        fd, tmp = tempfile.mkstemp(prefix=f".{POINTER}.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(data, indent=2))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.root / POINTER)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def publish(self, model: TrainedModel, fingerprint: str, *, info: dict[str, Any] | None = None) -> str:
        """Save ``model`` as the next version and make it current; returns the new version name.

        ``info`` (JSON-serialisable) is stored in the checkpoint's ``config.json`` under
        ``info.publish`` together with the version, its parent and the time.
        """
        with self._locked():
            ptr = self._pointer()
            parent = self.current_version()
            history = [h for h in (ptr or {}).get("history", []) if (self.path(h) / CONFIG).is_file()]
            if parent is not None and (self.path(parent) / CONFIG).is_file():
                history.append(parent)
            numbers = [int(v[1:]) for v in self.versions()]
            if parent is not None:
                numbers.append(int(parent[1:]))
            version = f"v{max(numbers, default=0) + 1:04d}"
            meta = {"version": version, "parent": parent, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            stamped = dataclasses.replace(model, info={**model.info, "publish": {**meta, **(info or {})}})
            for stale in self.root.glob(".publish-*"):  # left by a crashed publish (we hold the lock)
                shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=".publish-", dir=self.root))
            try:
                save(stamped, tmp, fingerprint)
                os.rename(tmp, self.root / version)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            self._write_pointer(version, history)
            self._prune(version, history)
        return version

    def rollback(self) -> str:
        """Make the previous version current again; returns its name."""
        with self._locked():
            ptr = self._pointer()
            history = [h for h in (ptr or {}).get("history", []) if (self.path(h) / CONFIG).is_file()]
            if ptr is None or not history:
                raise RegistryError(f"no previous model version to roll back to under {self.root}")
            version = history.pop()
            self._write_pointer(version, history)
        return version

    def _prune(self, current: str, history: list[str]) -> None:
        """Delete the oldest numbered versions beyond ``keep`` (never the current or previous one)."""
        numbered = [v for v in self.versions() if v != LEGACY]
        protected = {current, *(history[-1:])}
        excess = len(numbered) - self.keep
        for v in numbered:
            if excess <= 0:
                break
            if v not in protected:
                shutil.rmtree(self.root / v, ignore_errors=True)
                excess -= 1
        kept = [h for h in history if (self.path(h) / CONFIG).is_file()]
        if kept != history:
            self._write_pointer(current, kept)


__all__ = ["LEGACY", "ModelRegistry", "RegistryError"]
