"""A valid access token for a sign-in: the cached one, or one renewed with the refresh
token (CreateToken, refresh grant) under one lock across processes.

Whoever waits on the lock reads the file again afterwards, so simultaneous callers make one
refresh grant (refresh tokens are single-use: a second grant with the same one would fail
and end the sign-in). When renewal is impossible the caller gets SignInNeeded; a
failure that may pass (network, throttling) is an SsoError and the token file stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rolebar.core.cache import Cache, entry_name
from rolebar.core.sso import clients
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.errors import REFUSED_RENEWAL, SignInNeeded, SsoError, translate
from rolebar.core.sso.tokencache import CachedToken, TokenCache

log = logging.getLogger(__name__)

# Renew this long before the end, as botocore's SSOTokenProvider does.
RENEW_WINDOW = 15 * 60.0
# A token that could not be renewed is still handed out while it has this much left.
MIN_LEFT = 60.0
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class AccessToken:
    """A bearer token for the portal; ``expires`` in POSIX seconds. ``renewable``: a
    refresh token is on file (else the person signs in again when it expires)."""

    session: SsoSession
    value: str = field(repr=False)
    expires: float
    renewable: bool = False


class Tokens:
    """Token files plus their renewal; the collaborators are arguments for tests."""

    def __init__(self, cache: TokenCache | None = None, locks: Cache | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.files = cache or TokenCache()
        self.locks = locks or Cache()
        self._now = now

    def token(self, session: SsoSession, *, window: float = RENEW_WINDOW,
              rejected: str | None = None, strict: bool = False) -> AccessToken:
        """A token with at least ``window`` left if it can be had, else one with at least
        MIN_LEFT; ``rejected`` is a token the portal refused (renewed whatever its expiry).
        ``strict``: SignInNeeded as soon as renewal is impossible (the keeper's warning
        ahead of time), not when the current token runs out."""
        seen = self.files.load(session)
        cached = self._usable(session, seen, window, rejected)
        if cached is not None:
            return _access(session, cached)
        with self.locks.lock(self.lock_name(session), timeout=LOCK_TIMEOUT):
            current = self.files.load(session)
            cached = self._usable(session, current, window, rejected)
            assert seen is not None and current is not None  # _usable raised otherwise
            if cached is None and current.access_token not in (seen.access_token, rejected) \
                    and current.left(self._now()) > MIN_LEFT:
                cached = current  # renewed by another process while this one waited
            if cached is not None:
                return _access(session, cached)
            try:
                renewed = self.renew(session, current)
            except (SignInNeeded, SsoError) as exc:
                if strict and isinstance(exc, SignInNeeded):
                    raise
                return self._unrenewed(session, current, rejected, exc)
            self.files.store(session, renewed)
        return _access(session, renewed)

    def renew(self, session: SsoSession, current: CachedToken) -> CachedToken:
        """One refresh grant; SignInNeeded when none can work."""
        if not current.renewable:
            raise SignInNeeded(session, "no-refresh-token")
        ends = current.registration_expires
        if ends is not None and ends <= self._now():
            raise SignInNeeded(session, "registration-expired")
        assert current.client_id and current.client_secret and current.refresh_token
        oidc = clients.oidc(session.region, session.profile, session.subject)
        started = self._now()
        try:
            with translate(session.subject, clients.OIDC):
                answer = oidc.create_token(
                    grantType="refresh_token", clientId=current.client_id,
                    clientSecret=current.client_secret, refreshToken=current.refresh_token)
        except SsoError as exc:
            if exc.code in REFUSED_RENEWAL:
                log.info("%s: refresh grant refused (%s)", session.subject, exc.code)
                raise SignInNeeded(session, REFUSED_RENEWAL[exc.code]) from exc
            raise
        log.info("%s: access token renewed with the refresh token", session.subject)
        expires = float(int(started + float(answer["expiresIn"])))  # whole seconds, as filed
        return current.renewed(answer["accessToken"], expires, answer.get("refreshToken"))

    def _unrenewed(self, session: SsoSession, current: CachedToken, rejected: str | None,
                   exc: SignInNeeded | SsoError) -> AccessToken:
        """After a failed renewal: the current token while it lasts, else the error."""
        left = current.left(self._now())
        if rejected is None and left > MIN_LEFT:
            why = exc.reason if isinstance(exc, SignInNeeded) else exc.code or "no answer"
            log.warning("%s: the sign-in was not renewed (%s); it ends in %d s",
                        session.subject, why, left)
            return _access(session, current)
        if isinstance(exc, SignInNeeded):
            if rejected is not None:
                raise SignInNeeded(session, "signed-out") from exc
            if exc.reason == "no-refresh-token" and left <= 0:
                raise SignInNeeded(session, "expired") from exc
        raise exc

    def lock_name(self, session: SsoSession) -> str:
        return entry_name("sso-token", key=session.cache_key)

    def _usable(self, session: SsoSession, cached: CachedToken | None, window: float,
                rejected: str | None) -> CachedToken | None:
        """The cached token if it has ``window`` left; None if renewal should be tried;
        SignInNeeded if there is nothing to renew."""
        if cached is None:
            raise SignInNeeded(session, "not-signed-in")
        if cached.start_url and cached.start_url.rstrip("/") != session.start_url.rstrip("/"):
            raise SignInNeeded(session, "other-start-url")
        if cached.access_token == rejected:
            return None
        return cached if cached.left(self._now()) >= window else None


def _access(session: SsoSession, cached: CachedToken) -> AccessToken:
    return AccessToken(session, cached.access_token, cached.expires, cached.renewable)


def token(session: SsoSession, *, window: float = RENEW_WINDOW) -> AccessToken:
    """A valid access token for ``session`` (see Tokens.token)."""
    return Tokens().token(session, window=window)
