"""Console federation (``https://signin.aws.amazon.com/federation``), GET or form POST.

- ``Action=getSigninToken&Session=<JSON sessionId, sessionKey, sessionToken>
  [&SessionDuration=N]`` answers ``{"SigninToken": ...}`` for role credentials only
  (AssumeRole or the SSO portal's): long-term keys and GetSessionToken credentials are
  refused, as AWS refuses them. SessionDuration is 900 to 43200 seconds, and at most one
  hour for credentials from role chaining.
- ``Action=login&Issuer=...&Destination=...&SigninToken=...`` spends the token (good once,
  for ``token_lifetime`` seconds) and answers a page saying which console would open;
  ``logins`` records each (no secret in them).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .jsonwire import Response, json_reply, page, plain, url_token
from .model import Keys, Role

CHAINED_MAX = 3600
_DEFAULT_REGION = "us-east-1"


@dataclass
class _Token:
    role: Role
    session_name: str
    duration: int
    issued: float
    used: bool = False


@dataclass(frozen=True)
class ConsoleLogin:
    """One ``Action=login`` the double accepted: where a real console would open."""

    role_arn: str
    session_name: str
    account: str
    region: str
    destination: str
    issuer: str | None
    session_duration: int


@dataclass
class Federation:
    keys: dict[str, Keys] = field(repr=False)
    remember: Callable[[list[str]], None] = field(repr=False)
    token_lifetime: int = 900  # a sign-in token is good for 15 minutes
    logins: list[ConsoleLogin] = field(default_factory=list)
    _tokens: dict[str, _Token] = field(default_factory=dict, repr=False)

    def answer(self, action: str, params: dict[str, str]) -> Response:
        if action == "getSigninToken":
            return self._signin_token(params)
        if action == "login":
            return self._login(params)
        return plain(400, f"Unknown Action {action!r}: getSigninToken or login")

    def logins_as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(login) for login in self.logins]

    def _signin_token(self, params: dict[str, str]) -> Response:
        session = _session(params.get("Session"))
        if session is None:
            return plain(400, "Session must be JSON with sessionId, sessionKey and sessionToken")
        keys = self.keys.get(session["sessionId"])
        if keys is None or not hmac.compare_digest(keys.secret, session["sessionKey"]):
            return plain(403, "The credentials in Session are not valid")
        if keys.token is None:
            return plain(403, "Long-term access keys cannot sign in to the console: use role "
                         "credentials")
        if not hmac.compare_digest(keys.token, session.get("sessionToken", "")):
            return plain(403, "The credentials in Session are not valid")
        if keys.expires is not None and time.time() >= keys.expires:
            return plain(403, "The credentials in Session have expired")
        if keys.role is None or keys.session_name is None:
            return plain(403, "Credentials from GetSessionToken cannot sign in to the console: "
                         "use role credentials (AssumeRole or IAM Identity Center)")
        duration = params.get("SessionDuration")
        if duration is not None:
            if not duration.isdigit() or not 900 <= int(duration) <= 43200:
                return plain(400, "SessionDuration must be between 900 and 43200 seconds")
            if keys.chained and int(duration) > CHAINED_MAX:
                return plain(400, "SessionDuration cannot exceed 3600 seconds for credentials "
                             "from role chaining")
        token = url_token(600)
        self._tokens[token] = _Token(keys.role, keys.session_name,
                                     int(duration or CHAINED_MAX), time.time())
        self.remember([token])
        return json_reply({"SigninToken": token})

    def _login(self, params: dict[str, str]) -> Response:
        destination = params.get("Destination", "")
        if urlsplit(destination).scheme != "https":
            return page(400, "Destination must be an https URL.")
        entry = self._tokens.get(params.get("SigninToken", ""))
        if entry is None or entry.used or time.time() >= entry.issued + self.token_lifetime:
            return page(400, "The sign-in token is not valid: it is unknown, used or expired.")
        entry.used = True
        region = _region(destination)
        login = ConsoleLogin(entry.role.arn, entry.session_name, entry.role.account, region,
                             destination, params.get("Issuer"), entry.duration)
        self.logins.append(login)
        return page(200, f"Console for {escape(entry.role.name)} ({entry.role.account}) in "
                    f"{escape(region)} would open at {escape(destination)}.")


def _session(raw: str | None) -> dict[str, str] | None:
    try:
        session = json.loads(raw or "")
    except ValueError:
        return None
    if not isinstance(session, dict) or not all(
            isinstance(session.get(name), str) for name in ("sessionId", "sessionKey")):
        return None
    token = session.get("sessionToken")
    if token is not None and not isinstance(token, str):
        return None
    return {name: value for name, value in session.items() if isinstance(value, str)}


def _region(destination: str) -> str:
    """The console's region: ``?region=``, else ``REGION.console.aws.amazon.com``."""
    parts = urlsplit(destination)
    region = parse_qs(parts.query).get("region", [""])[0]
    if region:
        return region
    host = parts.hostname or ""
    first = host.split(".")[0]
    if host.endswith(".console.aws.amazon.com") and first.count("-") >= 2:
        return first
    return _DEFAULT_REGION
