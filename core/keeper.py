"""The keeper: keeps each selected section of the credentials file fresh.

PUBLIC API CONTRACT (the tray, the CLI and ipc code against this; the bodies are being
written in the keeper issue). Threads are started in `start()`, never in `__init__`.
Subscribers are called on the keeper's thread with the new state and the event; the tray
marshals what it does to its own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Style = Literal["keys", "process"]
Health = Literal["idle", "fresh", "refreshing", "needs_code", "error"]
EventKind = Literal[
    "state",           # anything changed; the tray rebuilds its menu
    "code_needed",     # a code is needed that generate_token could not supply (once per need)
    "session_ending",  # an MFA session ends within 10 minutes and renewing it needs a code
    "refresh_failed",  # refreshing keeps failing (after retries)
    "section_refused", # a section exists without the marker; rolebar leaves it alone
]


@dataclass(frozen=True)
class SectionState:
    name: str
    profile: str | None
    style: Style
    health: Health
    expires: float | None  # POSIX seconds of the credentials in the section
    problem: str | None  # one user-facing sentence, never a secret


@dataclass(frozen=True)
class CodeNeed:
    device: str
    profile: str


@dataclass(frozen=True)
class KeeperState:
    sections: tuple[SectionState, ...]
    profiles: tuple[str, ...]  # the assumable profiles, sorted
    needs: tuple[CodeNeed, ...]  # codes the keeper is waiting for
    sessions: tuple[tuple[str, float], ...]  # (MFA device, session expiry)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    subject: str  # "section NAME", "profile NAME" or the MFA device
    message: str  # one user-facing sentence, never a secret


Listener = Callable[[KeeperState, Event], None]
