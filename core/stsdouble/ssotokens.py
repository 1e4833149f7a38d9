"""IAM Identity Center sign-ins: the settings and the token store the OIDC service and the
portal share.

A sign-in (a ``Grant``) issues an access token and, for clients allowed the refresh grant,
a refresh token. Refresh tokens rotate: each is good for one refresh grant, which returns
a new pair; a spent, revoked or unknown one is ``InvalidGrantException``. The sign-in
itself ends after ``session_lifetime``: no refresh beyond it, and no access token outlives
it. The portal's Logout ends the sign-in and every token of it.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .jsonwire import ServiceError, b64_token

BROWSER_MODES = ("approve", "deny", "ignore")
_INVALID_SESSION = "Session token not found or invalid"


@dataclass
class SsoSettings:
    """What a test may change while the double runs (seconds unless said otherwise)."""

    access_token_lifetime: int = 3600
    session_lifetime: int = 8 * 3600  # one sign-in; refresh grants end with it
    registration_lifetime: int = 90 * 86400  # clientSecretExpiresAt
    role_lifetime: int = 3600  # credentials from GetRoleCredentials
    device_interval: int = 1  # polling interval a device authorization asks for
    device_lifetime: int = 600
    slow_down_increase: int = 5  # RFC 8628 3.5: after slow_down, wait this much longer
    code_lifetime: int = 600  # authorization codes
    browser: str = "approve"  # /authorize and the device page: approve | deny | ignore
    user_name: str = "member"  # the signed-in person: role session name in the portal
    start_url: str = "https://d-0000000000.awsapps.com/start"  # a suggestion for configs

    def update(self, values: dict[str, str]) -> None:
        """Set fields from strings (the admin path); ValueError names a bad one."""
        for name, text in values.items():
            current = getattr(self, name, None)
            if current is None or name.startswith("_"):
                raise ValueError(f"no SSO setting {name!r}")
            if isinstance(current, int):
                setattr(self, name, int(text))
            elif name == "browser" and text not in BROWSER_MODES:
                raise ValueError(f"browser must be one of {', '.join(BROWSER_MODES)}")
            else:
                setattr(self, name, text)


@dataclass
class Grant:
    """One sign-in: every token issued from it shares its end and its revocation."""

    client_id: str
    scopes: tuple[str, ...]
    ends: float
    revoked: bool = False


@dataclass
class Token:
    grant: Grant
    expires: float
    state: str = "live"  # refresh tokens: live | spent | revoked


@dataclass
class TokenStore:
    settings: SsoSettings
    remember: Callable[[list[str]], None]  # registers new secrets for leak hunts
    access: dict[str, Token] = field(default_factory=dict, repr=False)
    refresh: dict[str, Token] = field(default_factory=dict, repr=False)

    def issue(self, client_id: str, scopes: tuple[str, ...], with_refresh: bool,
              grant: Grant | None = None) -> dict[str, Any]:
        """CreateToken's answer: a new access token (and refresh token) for ``grant``."""
        now = time.time()
        if grant is None:
            grant = Grant(client_id, scopes, now + self.settings.session_lifetime)
        expires = min(now + self.settings.access_token_lifetime, grant.ends)
        access = b64_token("aoa", 150)
        self.access[access] = Token(grant, expires)
        answer: dict[str, Any] = {"accessToken": access, "tokenType": "Bearer",
                                  "expiresIn": max(int(expires - now), 0)}
        if with_refresh:
            refresh = b64_token("aor", 150)
            self.refresh[refresh] = Token(grant, grant.ends)
            answer["refreshToken"] = refresh
        self.remember([value for value in (access, answer.get("refreshToken")) if value])
        return answer

    def rotate(self, refresh: str, client_id: str) -> dict[str, Any]:
        """The refresh grant: spend ``refresh``, issue a new pair on the same sign-in."""
        token = self.refresh.get(refresh)
        if token is None or not hmac.compare_digest(token.grant.client_id, client_id):
            raise invalid_grant("Invalid refresh token provided")
        if token.state == "spent":
            raise invalid_grant("Refresh token has already been used")
        if token.state == "revoked" or token.grant.revoked:
            raise invalid_grant("Refresh token has been revoked")
        if time.time() >= token.grant.ends:
            raise invalid_grant("Refresh token has expired: the session has ended")
        token.state = "spent"
        return self.issue(client_id, token.grant.scopes, True, token.grant)

    def check(self, bearer: str | None) -> Grant:
        """The sign-in behind a live access token, or the portal's 401."""
        token = self.access.get(bearer or "")
        if token is None or token.grant.revoked or time.time() >= token.expires:
            raise ServiceError("UnauthorizedException", _INVALID_SESSION, 401)
        return token.grant

    def logout(self, bearer: str | None) -> None:
        self.check(bearer).revoked = True

    def revoke(self, refresh_only: bool = True) -> int:
        """Revoke every live refresh token (and, unless ``refresh_only``, every sign-in)."""
        count = 0
        for token in self.refresh.values():
            if token.state == "live":
                token.state, count = "revoked", count + 1
        if not refresh_only:
            for token in self.access.values():
                count += not token.grant.revoked
                token.grant.revoked = True
        return count


def invalid_grant(message: str) -> ServiceError:
    return ServiceError("InvalidGrantException", message, 400, "invalid_grant")
