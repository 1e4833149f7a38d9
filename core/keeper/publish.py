"""The keeper's state and events: the health of each section, built from the books, and
its delivery to subscribers.

Subscribers are called on the keeper's thread with the new state and the event. A new
subscriber is first handed, on its own thread, the current state and every one-time event
that still holds (announced.py): no order of `start` and `subscribe` loses an event.
Deliveries, joining subscribers and what `Announced` records are serialised by one lock,
which guards only them; the books are read on the keeper's thread alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rolebar.core.keeper.announced import Announced
from rolebar.core.keeper.records import Books, Kept, Section
from rolebar.core.state import (
    CodeNeed,
    Event,
    EventKind,
    Health,
    KeeperState,
    Listener,
    SectionState,
    SignInNeed,
)

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, books: Books, clock: Callable[[], float]) -> None:
        self._books = books
        self._clock = clock
        # The state last built; any thread reads it (a frozen value, replaced whole).
        self.state = KeeperState((), (), (), ())
        self._deliver = threading.RLock()
        self._listeners: list[Listener] = []
        self._announced = Announced()
        self._delivered: KeeperState | None = None  # the state last sent to listeners
        self._problem: str | None = None  # the keeper's problem as of that delivery

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(state, event)` on every event; returns an unsubscribe function.

        Once the keeper has published anything, the listener is first called right here
        with the current state (a "state" event) and then with each one-time event whose
        state still holds (a code still needed, a session still ending, refreshing still
        failing, a section still refused), as if it had just happened.
        """
        with self._deliver:
            self._listeners.append(listener)
            state = self._delivered
            if state is not None:
                replay = self._announced.replay(state, self._problem, self._clock())
                for event in (Event("state", "keeper", "the keeper's state"), *replay):
                    _call(listener, state, event)

        def unsubscribe() -> None:
            with self._deliver:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self) -> None:
        """Tell the subscribers if the state changed."""
        state = self._build()
        if state != self.state:
            self.state = state
            self._notify(Event("state", "keeper", "the keeper's state changed"), state)

    def emit(self, kind: EventKind, subject: str, message: str) -> None:
        log.info("keeper: %s: %s: %s", kind, subject, message)
        self.state = state = self._build()
        self._notify(Event(kind, subject, message), state)

    def _notify(self, event: Event, state: KeeperState) -> None:
        with self._deliver:
            self._delivered, self._problem = state, self._books.problem
            self._announced.delivered(event, state, self._problem)
            for listener in list(self._listeners):
                _call(listener, state, event)

    def _build(self) -> KeeperState:
        books, now = self._books, self._clock()
        sections = tuple(self._section_state(books.sections[name], now)
                         for name in sorted(books.sections))
        needs = tuple(CodeNeed(n.device, n.profile, n.reason)
                      for n in sorted(books.needs.values(), key=lambda n: n.device))
        used = {k.device for k in books.kept.values() if k.device}
        sessions = tuple(sorted((d, s.expires) for d, s in books.sessions.items()
                                if d in used and s.expires > now))
        signins: dict[str, SignInNeed] = {}
        for kept in sorted(books.kept.values(), key=lambda k: k.profile):
            if kept.signin is not None:
                signins.setdefault(kept.signin.session, kept.signin)
        return KeeperState(sections, books.profiles, needs, sessions,
                           tuple(signins[s] for s in sorted(signins)))

    def _section_state(self, section: Section, now: float) -> SectionState:
        setting = section.setting
        kept = self._books.kept.get(setting.profile)
        expires = kept.creds.expires if kept and kept.creds else None
        problem = section.problem or (kept.problem if kept else None)
        health = self._health(section, kept, expires, now)
        if section.problem is None and self._books.problem and health != "fresh":
            problem = problem or self._books.problem
        if section.switching and section.problem is None:
            problem = _switching(setting.profile, health, kept)
        return SectionState(setting.name, setting.profile, setting.style, health, expires,
                            problem, section.switching)

    def _health(self, section: Section, kept: Kept | None, expires: float | None,
                now: float) -> Health:
        if section.refused:
            return "error"
        if kept is None:
            return "idle"
        if kept.device and kept.device in self._books.needs:
            return "needs_code"
        if kept.busy:
            return "refreshing"
        if expires is not None and now < expires:
            return "fresh" if not kept.failures else "refreshing"
        return "error" if kept.failures else "refreshing"


def _call(listener: Listener, state: KeeperState, event: Event) -> None:
    try:
        listener(state, event)
    except Exception:  # a subscriber's bug must not stop the keeper
        log.exception("keeper: a listener failed on %s", event.kind)


def _switching(profile: str, health: Health, kept: Kept | None) -> str:
    """The status line of a section between a role switch and the new role's credentials."""
    if health == "needs_code":
        detail = "waiting for a one-time code"
    elif health == "error" and kept is not None and kept.problem:
        detail = kept.problem.removeprefix(f"profile {profile}: ")
    else:
        detail = "fetching its credentials"
    return f"switching to {profile}: {detail}"
