"""The engine's state and events: what the keeper publishes, ipc carries and clients show.

Plain frozen dataclasses with a typed round trip through JSON-able dicts (`to_dict`,
`from_dict`), so what crosses ipc is JSON by construction and `status`, the tray and the
CLI print the same objects the keeper built, never a re-assembled dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

Style = Literal["keys", "process"]
Health = Literal["idle", "fresh", "refreshing", "needs_code", "error"]
EventKind = Literal[
    "state",           # anything changed; the tray rebuilds its menu
    "code_needed",     # a code is needed that generate_token could not supply (once per need)
    "session_ending",  # an MFA session ends within 10 minutes and renewing it needs a code
    "refresh_failed",  # refreshing keeps failing (after retries)
    "section_refused", # a section exists without the marker; rolebar leaves it alone
    "signin_needed",   # an IAM Identity Center sign-in cannot be renewed (once per need)
]


@dataclass(frozen=True)
class SectionState:
    name: str
    profile: str | None
    style: Style
    health: Health
    expires: float | None  # POSIX seconds of the credentials in the section
    problem: str | None  # one user-facing sentence, never a secret
    # Another profile was selected and its credentials are not in the section yet: it
    # holds none meanwhile (keys), or `process --section` waits for the new ones.
    switching: bool = False


@dataclass(frozen=True)
class CodeNeed:
    device: str
    profile: str
    reason: str | None = None  # why a code is asked for again (codes.REUSED, codes.WRONG)


@dataclass(frozen=True)
class SignInNeed:
    """An IAM Identity Center sign-in that only a person can renew (browser sign-in)."""

    session: str  # "sso-session NAME", or "profile NAME" for the older form
    name: str  # what the menu says: "Sign in to NAME..."
    profile: str  # a kept profile that needs it (`rolebar login PROFILE` works for any)
    command: str  # the `rolebar login ...` command line


@dataclass(frozen=True)
class KeeperState:
    sections: tuple[SectionState, ...]
    profiles: tuple[str, ...]  # the assumable profiles, sorted
    needs: tuple[CodeNeed, ...]  # codes the keeper is waiting for
    sessions: tuple[tuple[str, float], ...]  # (MFA device, session expiry)
    signins: tuple[SignInNeed, ...] = ()  # sign-ins the keeper is waiting for

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeeperState:
        """The inverse of `to_dict`; ValueError for anything of another shape."""
        try:
            return cls(
                sections=tuple(_section(s) for s in data["sections"]),
                profiles=tuple(_str(p) for p in data["profiles"]),
                needs=tuple(CodeNeed(_str(n["device"]), _str(n["profile"]),
                                     _opt_str(n.get("reason"))) for n in data["needs"]),
                sessions=tuple((_str(d), float(e)) for d, e in data["sessions"]),
                signins=tuple(SignInNeed(_str(n["session"]), _str(n["name"]), _str(n["profile"]),
                                         _str(n["command"])) for n in data.get("signins", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed state ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Event:
    kind: EventKind
    subject: str  # "section NAME", "profile NAME" or the MFA device
    message: str  # one user-facing sentence, never a secret

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        try:
            kind = _literal(data["kind"], EventKind)
            return cls(kind, _str(data["subject"]), _str(data["message"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed event ({type(exc).__name__})") from None


@dataclass(frozen=True)
class EngineInfo:
    """Who runs the engine: what ipc `ping` answers and `status` names."""

    pid: int
    kind: str  # "keep", "tray" or "demo"
    answers_codes: bool = False  # someone there answers code_needed (the tray's prompt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineInfo:
        try:
            pid = data["pid"]
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise TypeError(pid)
            return cls(pid, _str(data["kind"]), bool(data.get("answers_codes", False)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed engine info ({type(exc).__name__})") from None


Listener = Callable[[KeeperState, Event], None]


def _section(data: Mapping[str, Any]) -> SectionState:
    expires = data.get("expires")
    return SectionState(
        name=_str(data["name"]),
        profile=_opt_str(data.get("profile")),
        style=_literal(data["style"], Style),
        health=_literal(data["health"], Health),
        expires=None if expires is None else float(expires),
        problem=_opt_str(data.get("problem")),
        switching=bool(data.get("switching", False)),
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _literal(value: object, kind: Any) -> Any:
    if value not in get_args(kind):
        raise ValueError(f"unknown value {value!r}")
    return value
