"""Who the double knows: IAM users, roles, the key pairs it accepts, and call records."""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field

from .totp import totp

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)")
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def key_id(prefix: str, length: int = 20) -> str:
    """AKIA... for long-term keys, ASIA... for temporary ones, AIDA/AROA... for ids."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length - len(prefix)))


def secret_key() -> str:
    return base64.b64encode(os.urandom(30)).decode()  # 40 chars with '+' and '/', like AWS's


def session_token() -> str:
    # Long and full of '+', '/' and '=', as real tokens are, to exercise clients' quoting.
    return "IQoJb3JpZ2luX2VjE" + base64.b64encode(os.urandom(180)).decode()


@dataclass(frozen=True)
class User:
    """An IAM user with long-term keys and (unless made without) a virtual MFA device."""

    name: str
    account: str
    user_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    mfa_serial: str | None
    totp_secret: str | None = field(repr=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user/{self.name}"

    def code(self, at: float | None = None) -> str:
        """The device's code now (or at ``at``)."""
        if self.totp_secret is None:
            raise ValueError(f"user {self.name} has no MFA device")
        return totp(self.totp_secret, at)


@dataclass(frozen=True)
class Role:
    """A role every known principal may assume, under the rules it was registered with."""

    arn: str
    require_mfa: bool
    max_session_duration: int
    external_id: str | None = field(repr=False)
    allow_session_route: bool
    role_id: str

    def __post_init__(self) -> None:
        if ROLE_ARN.fullmatch(self.arn) is None:
            raise ValueError(f"not a role ARN: {self.arn}")

    @property
    def account(self) -> str:
        return self._match().group(1)

    @property
    def name(self) -> str:
        return self._match().group(2)

    def _match(self) -> re.Match[str]:
        match = ROLE_ARN.fullmatch(self.arn)
        assert match is not None  # checked in __post_init__
        return match


@dataclass(frozen=True)
class Call:
    """One STS request as the double saw it; never a secret."""

    action: str
    key_id: str | None  # as named in the Authorization header, even when unknown
    code: str  # "OK", the AWS error code returned, or "reset"
    answered: bool = True  # False: carried out, then the connection dropped ("reset-after")


@dataclass
class Keys:
    """A key pair the double accepts, and whom it stands for."""

    access_key_id: str
    secret: str = field(repr=False)
    user: User
    token: str | None = field(default=None, repr=False)  # None: the user's long-term keys
    expires: float | None = None
    mfa: bool = False  # MFA-authenticated (directly, or inherited along the chain)
    role: Role | None = None
    session_name: str | None = None
    chained: bool = False  # a role assumed with role credentials (role chaining)

    @property
    def arn(self) -> str:
        if self.role is None:
            return self.user.arn
        return f"arn:aws:sts::{self.role.account}:assumed-role/{self.role.name}/{self.session_name}"

    def identity(self) -> dict[str, str]:
        """GetCallerIdentity's answer."""
        if self.role is None:
            return {"Arn": self.user.arn, "UserId": self.user.user_id, "Account": self.user.account}
        return {"Arn": self.arn, "UserId": f"{self.role.role_id}:{self.session_name}",
                "Account": self.role.account}
