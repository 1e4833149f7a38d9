"""Work that may block, kept off the keeper's thread.

Fetching one profile's credentials can take minutes: its `generate_token` (a password
manager waiting to be unlocked), a stalled STS, another process holding the profile's
lock. Each such piece of work runs on its own daemon thread, at most one per key; what
it found is applied later on the keeper's thread, which meanwhile goes on serving every
other section. With `inline` (the keeper's `tick()`, for tests with a fake clock) the
work runs and is applied at once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
# What the work returned, or the exception it raised (exactly one of the two is set).
Apply = Callable[[T | None, Exception | None], None]


class Jobs:
    def __init__(self, wake: Callable[[], None]) -> None:
        self.inline = True
        self._wake = wake
        self._lock = threading.Lock()
        self._keys: set[str] = set()  # started, and not yet applied
        self._done: list[tuple[str, Callable[[], None]]] = []

    def busy(self, key: str) -> bool:
        """True from `start` until the outcome was applied."""
        with self._lock:
            return key in self._keys

    def start(self, key: str, work: Callable[[], T], apply: Apply[T]) -> bool:
        """Run `work` unless work for `key` is under way; `apply` then runs in `finish`."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
        if self.inline:
            self._run(key, work, apply)
            self.finish()
        else:
            threading.Thread(target=self._run, args=(key, work, apply), daemon=True,
                             name="rolebar-keeper-fetch").start()
        return True

    def finish(self) -> None:
        """Apply what finished work found (on the keeper's thread). An exception from
        one `apply` propagates; the others stay queued for the next call."""
        while True:
            with self._lock:
                if not self._done:
                    return
                key, apply = self._done.pop(0)
            try:
                apply()
            finally:
                with self._lock:
                    self._keys.discard(key)

    def _run(self, key: str, work: Callable[[], T], apply: Apply[T]) -> None:
        try:
            outcome = functools.partial(apply, work(), None)
        except Exception as exc:
            outcome = functools.partial(apply, None, exc)
        with self._lock:
            self._done.append((key, outcome))
        self._wake()
