"""The AWS CLI's SSO token cache: `~/.aws/sso/cache/<sha1 of the session name, or of the
start URL for the older form>.json`, shared with the AWS CLI and the SDKs both ways.

Fields and time format are the CLI's (`startUrl`, `region`, `accessToken`, `expiresAt`,
`clientId`, `clientSecret`, `registrationExpiresAt`, `refreshToken`; UTC as
`2024-05-01T12:00:00Z`), so botocore's SSOTokenProvider and the AWS CLI read what rolebar
writes. Reading takes what they write as is (`Z`, `UTC`, offsets, fractions). Writes are
atomic and 0600. Unreadable means missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rolebar.core.atomic import write_private
from rolebar.core.credentials import iso8601
from rolebar.core.errors import RolebarError
from rolebar.core.sso.config import SsoSession

log = logging.getLogger(__name__)

_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?"
                   r"\s*(Z|UTC|GMT|[+-]\d\d:?\d\d)?")


@dataclass(frozen=True)
class CachedToken:
    """One token file's content; times are POSIX seconds."""

    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires: float
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires: float | None = None
    refresh_token: str | None = field(default=None, repr=False)

    def left(self, now: float) -> float:
        return self.expires - now

    @property
    def renewable(self) -> bool:
        """A refresh grant can be tried (whether it works, only OIDC knows)."""
        return bool(self.refresh_token and self.client_id and self.client_secret)

    def to_json(self) -> str:
        data: dict[str, Any] = {"startUrl": self.start_url, "region": self.region,
                                "accessToken": self.access_token,
                                "expiresAt": iso8601(self.expires)}
        if self.client_id is not None and self.client_secret is not None:
            data["clientId"], data["clientSecret"] = self.client_id, self.client_secret
        if self.registration_expires is not None:
            data["registrationExpiresAt"] = iso8601(self.registration_expires)
        if self.refresh_token is not None:
            data["refreshToken"] = self.refresh_token
        return json.dumps(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CachedToken | None:
        """None unless it holds an access token and a readable expiry (as botocore asks)."""
        access, expires = data.get("accessToken"), parse_time(data.get("expiresAt"))
        if not isinstance(access, str) or not access or expires is None:
            return None
        return cls(start_url=_text(data, "startUrl") or "", region=_text(data, "region") or "",
                   access_token=access, expires=expires, client_id=_text(data, "clientId"),
                   client_secret=_text(data, "clientSecret"),
                   registration_expires=parse_time(data.get("registrationExpiresAt")),
                   refresh_token=_text(data, "refreshToken"))

    def renewed(self, access_token: str, expires: float, refresh_token: str | None
                ) -> CachedToken:
        """After a refresh grant; no new refresh token means none (as botocore does)."""
        return replace(self, access_token=access_token, expires=expires,
                       refresh_token=refresh_token)


class TokenCache:
    """The token files; ``root`` defaults to ~/.aws/sso/cache (read at each call)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root or Path(os.path.expanduser(os.path.join("~", ".aws", "sso", "cache")))

    def path(self, session: SsoSession) -> Path:
        digest = hashlib.sha1(session.cache_key.encode("utf-8"))  # noqa: S324 - the CLI's name
        return self.root / f"{digest.hexdigest()}.json"

    def load(self, session: SsoSession) -> CachedToken | None:
        data = read_json(self.path(session))
        return CachedToken.from_dict(data) if data is not None else None

    def store(self, session: SsoSession, token: CachedToken) -> None:
        path = self.path(session)
        try:
            if not self.root.is_dir():
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private(path, token.to_json())
        except OSError as exc:
            raise RolebarError(session.subject, f"cannot write the token to {path} "
                               f"({exc.strerror or type(exc).__name__})") from exc
        log.info("%s: token cached until %s", session.subject, iso8601(token.expires))

    def delete(self, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def files(self) -> list[Path]:
        """Every token file (files holding an accessToken, as the CLI's logout sweeps)."""
        with contextlib.suppress(OSError):
            return [p for p in sorted(self.root.glob("*.json"))
                    if "accessToken" in (read_json(p) or {})]
        return []


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_time(value: object) -> float | None:
    """A timestamp as the CLI, botocore or the JS SDK wrote it; None if unreadable."""
    if not isinstance(value, str):
        return None
    found = _TIME.fullmatch(value.strip())
    if found is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = found.group(7) or "Z"
    if offset[0] in "+-":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.timestamp()


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
