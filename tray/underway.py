"""At most one background task per profile (an "Open console" sign-in, an IAM Identity
Center sign-in), each on a daemon thread of its own: the dispatcher and the GTK loop never
wait for one, and a second click while one runs starts nothing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class UnderWay:
    def __init__(self, what: str) -> None:
        self._what = what  # "console", "sign-in": for the log and the thread's name
        self._lock = threading.Lock()
        self._profiles: set[str] = set()

    def start(self, profile: str, run: Callable[[str], None]) -> threading.Thread | None:
        """`run(profile)` on a thread; None if one for `profile` has not called `done`."""
        with self._lock:
            if profile in self._profiles:
                log.info("tray: %s for profile %s: a sign-in is already under way",
                         self._what, profile)
                return None
            self._profiles.add(profile)
        thread = threading.Thread(target=run, args=(profile,), daemon=True,
                                  name=f"rolebar-{self._what}")
        thread.start()
        return thread

    def done(self, profile: str) -> None:
        with self._lock:
            self._profiles.discard(profile)
