"""The keeper's records: what it knows of each kept profile, section, MFA session and code
need, held in one `Books`.

Only the keeper's thread reads or writes them (other threads post commands, inbox.py), so
they carry no lock. What other threads see is the frozen KeeperState built from them
(publish.py).
"""

from __future__ import annotations

from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

from rolebar.core.credentials import Credentials
from rolebar.core.settings import SectionSetting
from rolebar.core.state import EventKind, SignInNeed


@dataclass
class Kept:
    """One kept profile (several sections may share it)."""

    profile: str
    creds: Credentials | None = None
    due: float = 0.0  # wall time of the next refresh
    force: bool = False  # the next refresh must not take the cache's answer
    # "Refresh now" came while a refresh was under way: one more, forced, once it ends
    # (whatever it ends with, its own outcome must not push the asked-for one back).
    again: bool = False
    failures: int = 0
    noticed: bool = False  # refresh_failed sent for this failure streak
    problem: str | None = None
    busy: bool = False
    device: str | None = None
    route: str | None = None
    region: str | None = None
    planned: bool = False
    signin: SignInNeed | None = None  # its IAM Identity Center sign-in cannot be renewed

    def ask(self) -> None:
        """Refresh now, not from the cache; if a refresh is under way, again after it."""
        self.due, self.force = 0.0, True
        self.again = self.again or self.busy


@dataclass
class Section:
    setting: SectionSetting
    written: dict[str, str] | None = None  # what the file held after our last write/check
    refused: bool = False
    problem: str | None = None
    switching: bool = False  # see SectionState.switching
    checked: bool = False  # the name passed check_section against the AWS files


@dataclass
class Session:
    """An MFA session the kept profiles use (by device)."""

    issued: float
    expires: float
    retry_at: float = 0.0
    failures: int = 0
    warned: bool = False  # session_ending sent for this session


@dataclass
class Need:
    """A one-time code someone waits for: the keeper itself (`own`), ipc requests
    (`waiters`, each answered through its future), or both."""

    device: str
    profile: str
    own: bool = False
    waiters: list[Future[str | None]] = field(default_factory=list)
    announced: bool = False
    kind: EventKind = "code_needed"
    message: str = ""
    reason: str | None = None  # see CodeNeed.reason


@dataclass
class Books:
    sections: dict[str, Section] = field(default_factory=dict)
    kept: dict[str, Kept] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    needs: dict[str, Need] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()  # the assumable profiles, sorted
    problem: str | None = None  # what the last tick hit, if it failed as a whole

    def current(self, kept: Kept) -> bool:
        """`kept` is still the record of its profile (not unselected or replaced)."""
        return self.kept.get(kept.profile) is kept

    def users(self, device: str) -> list[Kept]:
        return [k for k in self.kept.values() if k.device == device]

    def wake_in(self, now: float, seconds: float) -> None:
        """Bring every refresh forward to within `seconds` (a retry after a problem)."""
        for kept in self.kept.values():
            kept.due = min(kept.due, now + seconds)


def answer(future: Future[str | None], value: str | None) -> None:
    """Answer a waiting request, unless it was answered already."""
    try:
        future.set_result(value)
    except InvalidStateError:
        pass


def mfa(device: str) -> str:
    """The jobs key of work on a device's MFA session (renewal, a typed code)."""
    return f"mfa {device}"


def profile_key(profile: str) -> str:
    """The jobs key of fetching a profile's credentials."""
    return f"profile {profile}"
