"""rolebar's cache: 0600 JSON files in a 0700 directory, one file lock per entry.

Names are hashes of what identifies an entry, so no profile name or ARN shows in a
file name. Unreadable means missing. Writes are atomic (temporary file in the same
folder, fsync, rename). Whoever waits on a lock re-reads the entry afterwards: that is
how fifty simultaneous callers make one STS call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rolebar.core import locks, paths
from rolebar.core.atomic import write_private
from rolebar.core.errors import RolebarError
from rolebar.core.fastpath import entry_name as entry_name

log = logging.getLogger(__name__)

# Long enough for a person to fetch a code from a phone while another caller waits.
LOCK_TIMEOUT = 300.0


class Cache:
    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = paths.cache_dir()
        return self._root

    def _dir(self) -> Path:
        try:
            return paths.private_dir(self.root)
        except OSError as exc:
            raise RolebarError(f"cache {self.root}", f"cannot create it ({exc.strerror})") from exc

    def path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            with open(self.path(name), encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, name: str, data: dict[str, Any], answer: str | None = None) -> None:
        """Write an entry; `answer` is the plain-text twin the fast path reads."""
        folder = self._dir()
        try:
            write_private(self.path(name), json.dumps(data))
            if answer is not None:
                write_private(folder / f"{name}.answer", answer)
        except OSError as exc:
            raise RolebarError(f"cache {folder}", f"cannot write ({exc.strerror})") from exc

    def delete(self, name: str) -> bool:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.root / f"{name}.answer")
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            return False
        return True

    def names(self, kind: str) -> list[str]:
        try:
            return sorted(p.stem for p in self.root.glob(f"{kind}-*.json"))
        except OSError:
            return []

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the entry's lock (a planted symlink there is refused: see core/locks.py)."""
        try:
            folder = paths.private_dir(self._dir() / "locks")
        except OSError as exc:
            raise RolebarError(f"cache {self.root}", f"cannot create its locks folder "
                               f"({exc.strerror})") from exc
        with locks.held(folder / f"{name}.lock", timeout, lambda: RolebarError(
                "cache", "another rolebar process holds the lock")):
            yield
