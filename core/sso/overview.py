"""The sign-ins the config names, as `status` and `doctor` show them: signed in until
when (the cached access token, and whether it is renewed), and which roles each serves."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from rolebar.core.sso.config import SsoConfig
from rolebar.core.sso.tokencache import TokenCache
from rolebar.core.timing import span


@dataclass(frozen=True)
class SignInStatus:
    session: str  # "sso-session NAME" or "profile NAME" (the older form)
    command: str  # how to sign in
    expires: float | None  # the cached access token's end; None: not signed in
    renewable: bool  # a refresh token is on file
    roles: tuple[str, ...]  # "ROLE in ACCOUNT (profile)"

    def describe(self, now: float) -> str:
        roles = f"; roles: {', '.join(self.roles)}" if self.roles else ""
        if self.expires is None:
            return f"not signed in (run `{self.command}`){roles}"
        if self.expires > now:
            then = "renewed as needed" if self.renewable else "then sign in again"
            return f"signed in, access token {span(self.expires - now)} left, {then}{roles}"
        if self.renewable:
            return f"signed in, access token expired, renewed when next needed{roles}"
        return f"sign-in expired (run `{self.command}`){roles}"


def sign_ins(env: Mapping[str, str] = os.environ, files: TokenCache | None = None,
             config: SsoConfig | None = None) -> list[SignInStatus]:
    config = config or SsoConfig.load(env)
    files = files or TokenCache()
    roles = config.roles()
    found = []
    for session in config.sessions():
        cached = files.load(session)
        if cached is not None and cached.start_url.rstrip("/") != session.start_url.rstrip("/"):
            cached = None  # another start URL's sign-in: not this one
        served = tuple(f"{r.role_name} in {r.account_id} ({r.profile})" for r in roles
                       if r.session.cache_key == session.cache_key)
        found.append(SignInStatus(session.subject, session.login_command,
                                  cached.expires if cached else None,
                                  bool(cached and cached.renewable), served))
    return found
