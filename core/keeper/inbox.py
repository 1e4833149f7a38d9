"""The keeper's inbox: what other threads ask of the keeper, run on the keeper's thread.

The keeper's thread is the only one that reads or writes the keeper's records. Public
methods called from the tray, ipc or a prompt thread, and the work jobs.py runs off the
thread, post a command here instead; the keeper runs the commands in the order they came,
at the start of each tick (and right after inline work, in `tick()` mode). Waiting on the
inbox is the keeper's sleep: a post wakes it.

Once closed (the keeper stopped), a command is not run: its `dropped` callback is, so a
caller waiting on a command's answer (request_code's future) is never left hanging.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

Command = Callable[[], None]


def _nothing() -> None:
    pass


class Inbox:
    def __init__(self) -> None:
        self._ready = threading.Condition(threading.Lock())
        self._items: deque[tuple[Command, Command]] = deque()
        self._closed = False

    def post(self, command: Command, dropped: Command = _nothing) -> None:
        """Run `command` on the keeper's thread (any thread may call this)."""
        with self._ready:
            if not self._closed:
                self._items.append((command, dropped))
                self._ready.notify()
                return
        dropped()

    def wake(self) -> None:
        self.post(_nothing)

    def wait(self, timeout: float) -> None:
        """Sleep until a command arrives or `timeout` seconds passed."""
        with self._ready:
            self._ready.wait_for(lambda: bool(self._items), timeout)

    def drain(self) -> None:
        """Run what arrived, in order. A command that raises propagates; the ones after it
        stay for the next call."""
        while True:
            with self._ready:
                if not self._items:
                    return
                command, _ = self._items.popleft()
            command()

    def open(self) -> None:
        with self._ready:
            self._closed = False

    def close(self) -> None:
        """Stop taking commands; the pending ones are dropped (their `dropped` runs)."""
        with self._ready:
            self._closed = True
            pending, self._items = list(self._items), deque()
        for _, dropped in pending:
            dropped()
