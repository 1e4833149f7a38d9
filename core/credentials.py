"""Plain values that cross module borders: keys, temporary credentials, their JSON forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rolebar.core import timing
from rolebar.core.fastpath import answer_json


@dataclass(frozen=True)
class Keys:
    """The long-term keys of a source profile. `keyring`: the profile is marked
    `rolebar_keys = keyring`, and these are a stand-in with no key id or secret: the
    keys are read from the OS keyring when a call needs them (providers/keys.py)."""

    profile: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    keyring: bool = False

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"Keys(profile={self.profile!r}, access_key_id={mask(self.access_key_id)!r})"


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials as STS returned them; times are POSIX seconds."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    issued: float
    expires: float

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={mask(self.access_key_id)!r}, expires={self.expires})"

    @property
    def margin(self) -> float:
        return timing.margin(self.issued, self.expires)

    def fresh(self, now: float) -> bool:
        """Good enough to hand to a reader: at least `margin` left (DESIGN.md section 4)."""
        return now < timing.fresh_until(self.issued, self.expires)

    def usable(self, now: float, slack: float = timing.USE_SLACK) -> bool:
        """Good enough to sign one more STS call with (timing.usable_until)."""
        return now < timing.usable_until(self.issued, self.expires, slack)

    @property
    def expiration(self) -> str:
        return iso8601(self.expires)

    def process_json(self) -> str:
        """The `credential_process` answer, shared by `-j` and `process`."""
        return answer_json(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration,
            "issued": self.issued,
            "expires": self.expires,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        return cls(
            access_key_id=data["AccessKeyId"],
            secret_access_key=data["SecretAccessKey"],
            session_token=data["SessionToken"],
            issued=float(data["issued"]),
            expires=float(data["expires"]),
        )


def iso8601(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def mask(key_id: str) -> str:
    """`ASIA…WXYZ`: enough to tell keys apart in a log, not enough to use one."""
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 8 else "…"
