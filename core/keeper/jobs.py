"""Work that may block, kept off the keeper's thread.

Fetching one profile's credentials can take minutes: its `generate_token` (a password
manager waiting to be unlocked), a stalled STS, another process holding the profile's
lock. Each such piece of work runs on its own daemon thread, at most one per key; what it
found comes back as a command through the keeper's inbox (inbox.py) and is applied on
the keeper's thread, which meanwhile goes on serving every other section. With `inline`
(the keeper's `tick()`, for tests with a fake clock) the work runs at once and the inbox
is drained right after it, so its outcome is applied in the order a running keeper would
apply it: after any command that arrived while the work ran.

Only the keeper's thread calls `start` and `busy`: the set of keys needs no lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

from rolebar.core.keeper.inbox import Command

T = TypeVar("T")
# What the work returned, or the exception it raised (exactly one of the two is set).
Apply = Callable[[T | None, Exception | None], None]


class Jobs:
    def __init__(self, post: Callable[[Command, Command], None], drain: Command) -> None:
        self.inline = True
        self._post = post
        self._drain = drain
        self._keys: set[str] = set()  # started, and not yet applied

    def busy(self, key: str) -> bool:
        """True from `start` until the outcome was applied."""
        return key in self._keys

    def start(self, key: str, work: Callable[[], T], apply: Apply[T]) -> bool:
        """Run `work` unless work for `key` is under way; `apply` then runs on the
        keeper's thread."""
        if key in self._keys:
            return False
        self._keys.add(key)
        if self.inline:
            self._run(key, work, apply)
            self._drain()
        else:
            threading.Thread(target=self._run, args=(key, work, apply), daemon=True,
                             name="rolebar-keeper-fetch").start()
        return True

    def _run(self, key: str, work: Callable[[], T], apply: Apply[T]) -> None:
        try:
            outcome = functools.partial(apply, work(), None)
        except Exception as exc:
            outcome = functools.partial(apply, None, exc)
        # Dropped by a stopped keeper: the key is free again for a keeper started anew.
        self._post(functools.partial(self._apply, key, outcome),
                   functools.partial(self._keys.discard, key))

    def _apply(self, key: str, outcome: Command) -> None:
        try:
            outcome()
        finally:
            self._keys.discard(key)
