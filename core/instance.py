"""One engine per user: a file lock in rolebar's state directory.

`rolebar keep` and `rolebar tray` both take it; a second one reads who holds it from a
small JSON file next to the lock (pid, kind, start time) and says so. The operating
system drops the lock when the holder dies, even by `kill -9`, so a stale JSON file
never blocks anyone: only the lock counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rolebar.core import locks, paths
from rolebar.core.atomic import write_private
from rolebar.core.errors import EngineBusy

LOCK = "engine.lock"
INFO = "engine.json"


class Instance:
    """The engine lock; `acquire()` raises EngineBusy naming the one that holds it."""

    def __init__(self, kind: str, root: Path | None = None) -> None:
        self.kind = kind
        self._root = root
        self._lock: FileLock | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = paths.state_dir()
        return self._root

    def acquire(self) -> None:
        if self._lock is not None:
            return
        folder = paths.private_dir(self.root)
        try:
            lock = locks.acquire(folder / LOCK, 0)  # a planted symlink is refused
        except Timeout:
            raise EngineBusy("engine", f"{describe(holder(self.root))} is already running; "
                             "one engine per user") from None
        self._lock = lock
        write_private(folder / INFO, json.dumps({"pid": os.getpid(), "kind": self.kind,
                                                 "started": time.time()}))

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.root / INFO)
        lock.release()

    def __enter__(self) -> Instance:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(root: Path | None = None) -> dict[str, Any] | None:
    """What the running engine wrote about itself, if anything (it may be starting)."""
    try:
        with open((root or paths.state_dir()) / INFO, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "another rolebar engine"
    return f"rolebar {info.get('kind', 'engine')} (pid {info.get('pid', '?')})"

