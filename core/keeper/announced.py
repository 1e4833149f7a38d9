"""What the keeper announced that still holds, handed to each new subscriber.

One-time events (a code needed, an MFA session ending, refreshing that keeps failing, a
section left alone) are sent once per state change. A subscriber that joins later would
never hear of them: the tray starts its engine first and subscribes a moment after, so a
code needed at start-up (autostart after the MFA session ended overnight) reached nobody.
Each one-time event is therefore recorded when it is delivered, dropped once the state it
announced is over, and replayed to every new subscriber as if it had just happened.

The keeper calls `delivered` and `replay` under its delivery lock, so a subscriber gets
each event exactly once: replayed, or live.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rolebar.core.timing import span

if TYPE_CHECKING:
    from rolebar.core.state import Event, KeeperState


class Announced:
    def __init__(self) -> None:
        # (kind, subject) -> (the event, the expiry of the MFA session it warned about)
        self._events: dict[tuple[str, str], tuple[Event, float | None]] = {}

    def delivered(self, event: Event, state: KeeperState, keeper_problem: str | None) -> None:
        """`event` was just sent with `state`: remember it, forget what no longer holds."""
        for key, (old, expiry) in list(self._events.items()):
            if not holds(old, expiry, state, keeper_problem):
                del self._events[key]
        if event.kind != "state":
            # Kept even if `state` does not show it yet (session_ending comes before its
            # need is recorded); the next delivery checks it like the others.
            expiry = dict(state.sessions).get(event.subject)
            self._events[(event.kind, event.subject)] = (event, expiry)

    def replay(self, state: KeeperState, keeper_problem: str | None, now: float
               ) -> list[Event]:
        """The recorded events that still hold, brought up to date (time left, a session
        that ended meanwhile)."""
        events: dict[tuple[str, str], Event] = {}
        for event, expiry in self._events.values():
            if holds(event, expiry, state, keeper_problem):
                now_event = _current(event, expiry, state, now)
                key = (now_event.kind, now_event.subject)
                # A session that ended became a code need: one per device, the keeper's
                # own announcement of it first.
                if now_event.kind == event.kind or key not in events:
                    events[key] = now_event
        return list(events.values())


def holds(event: Event, expiry: float | None, state: KeeperState,
          keeper_problem: str | None) -> bool:
    """Whether the state `event` announced is still the state. A kind not known here is
    never replayed: better silent than announcing something that is over."""
    needed = any(need.device == event.subject for need in state.needs)
    if event.kind == "session_ending":
        # Until that session is renewed (a new expiry) or, once it ended, the code came.
        return dict(state.sessions).get(event.subject) == expiry or needed
    if event.kind == "code_needed":
        return needed
    if event.kind == "signin_needed":
        return any(need.session == event.subject for need in state.signins)
    if event.kind == "refresh_failed" and event.subject == "keeper":
        return keeper_problem is not None
    if event.kind == "refresh_failed":
        # A failing refresh shows as its section's problem, "profile P: <cause>" (or in
        # the "switching to P: ..." line); a refused section's problem hides it.
        profile = event.subject.removeprefix("profile ")
        return any(s.profile == profile and (
            (s.problem or "").startswith(f"profile {profile}: ")
            or (s.switching and s.health == "error")) for s in state.sections)
    if event.kind == "section_refused":
        name = event.subject.removeprefix("section ")
        return any(s.name == name and s.health == "error" for s in state.sections)
    return False


def _current(event: Event, expiry: float | None, state: KeeperState, now: float) -> Event:
    if event.kind != "session_ending":
        return event
    device = event.subject
    if expiry is None or dict(state.sessions).get(device) != expiry:
        # The session ended while nobody listened: now a code is needed.
        profile = next(n.profile for n in state.needs if n.device == device)
        return replace(event, kind="code_needed",
                       message=f"profile {profile} needs a one-time code for {device}")
    return replace(event, message=f"the MFA session for {device} ends in "
                                  f"{span(expiry - now)}; enter a code to keep credentials "
                                  "fresh")

