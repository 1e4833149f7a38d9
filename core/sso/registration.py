"""rolebar's OIDC client registrations (RegisterClient), reused until they expire.

A registration is kept in rolebar's cache (0600, it holds the client secret), one per
start URL, region, scopes, session and kind: "code" (authorization code with PKCE on a
loopback redirect, and refresh) or "device" (the device code; refresh when it has scopes,
registered as the AWS CLI registers it). Each token file also carries the registration its
token came from, for the refresh grant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rolebar.core.cache import Cache, entry_name
from rolebar.core.sso import clients
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.errors import translate

log = logging.getLogger(__name__)

Kind = Literal["code", "device"]
CLIENT_NAME = "rolebar"
# The CLI's path; the port is whatever is free (RFC 8252 7.3: registered without one).
REDIRECT_URI = "http://127.0.0.1/oauth/callback"
CODE_GRANTS = ("authorization_code", "refresh_token")
# A registration this close to its end is not started on: a sign-in should outlast it.
MIN_LEFT = 15 * 60


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = field(repr=False)
    expires: float

    def to_dict(self) -> dict[str, Any]:
        return {"clientId": self.client_id, "clientSecret": self.client_secret,
                "expiresAt": self.expires}


class Registrations:
    def __init__(self, cache: Cache | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.cache = cache or Cache()
        self._now = now

    def get(self, session: SsoSession, kind: Kind, oidc: Any) -> Registration:
        """A live registration of ``kind``: the cached one, else a new one."""
        name = _entry(session, kind)
        with self.cache.lock(name, timeout=60):
            found = _from_dict(self.cache.load(name))
            if found is not None and found.expires - self._now() > MIN_LEFT:
                return found
            registration = self._register(session, kind, oidc)
            self.cache.store(name, registration.to_dict())
        return registration

    def forget(self, session: SsoSession, kind: Kind) -> None:
        """Drop a registration OIDC refused (it ended early, or was deleted)."""
        self.cache.delete(_entry(session, kind))

    def _register(self, session: SsoSession, kind: Kind, oidc: Any) -> Registration:
        params: dict[str, Any] = {"clientName": CLIENT_NAME, "clientType": "public"}
        if session.registration_scopes:
            params["scopes"] = list(session.registration_scopes)
        if kind == "code":
            params.update(grantTypes=list(CODE_GRANTS), redirectUris=[REDIRECT_URI],
                          issuerUrl=session.start_url)
        with translate(session.subject, clients.OIDC):
            answer = oidc.register_client(**params)
        log.info("%s: registered an OIDC client for %s sign-in", session.subject,
                 "browser" if kind == "code" else "device code")
        return Registration(answer["clientId"], answer["clientSecret"],
                            float(answer["clientSecretExpiresAt"]))


def _entry(session: SsoSession, kind: Kind) -> str:
    return entry_name("sso-registration", start_url=session.start_url, region=session.region,
                      scopes=",".join(session.registration_scopes),
                      session=session.name or "", flow=kind)


def _from_dict(data: dict[str, Any] | None) -> Registration | None:
    if not data:
        return None
    try:
        return Registration(str(data["clientId"]), str(data["clientSecret"]),
                            float(data["expiresAt"]))
    except (KeyError, TypeError, ValueError):
        return None
