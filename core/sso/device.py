"""The device authorization grant (RFC 8628) against IAM Identity Center OIDC.

The person opens the verification URL anywhere (another computer, a phone) and enters the
user code shown; rolebar polls CreateToken at the interval OIDC asked for, five seconds
slower after each SlowDownException, until the code is approved, refused or expires. The
device code itself is a secret and is never shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rolebar.core.sso import clients
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.errors import SignInFailed, SsoError, translate
from rolebar.core.sso.registration import Registration

log = logging.getLogger(__name__)

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 3.2
SLOW_DOWN = 5  # RFC 8628 3.5
# Still pending, or a failure that may pass (no answer, throttled): poll on, until expiry.
_KEEP_POLLING = {"AuthorizationPendingException", None, "InternalServerException",
                 "TooManyRequestsException"}


def device_token(session: SsoSession, say: Callable[[str], None], oidc: Any,
                 registration: Registration, open_url: Callable[[str], bool] | None,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """CreateToken's answer once the person approved; SignInFailed otherwise."""
    with translate(session.subject, clients.OIDC):
        started = oidc.start_device_authorization(
            clientId=registration.client_id, clientSecret=registration.client_secret,
            startUrl=session.start_url)
    page, complete = started["verificationUri"], started.get("verificationUriComplete")
    say(f"{session.subject}: to sign in, open {page} and enter the code "
        f"{started['userCode']}" + (f"\n(or open {complete})" if complete else ""))
    if open_url is not None and complete:
        open_url(complete)
    deadline = time.monotonic() + float(started.get("expiresIn") or 600)
    interval = float(started.get("interval") or DEFAULT_INTERVAL)
    again = f"run `{session.login_command}` again"
    while True:
        if time.monotonic() + interval > deadline:
            raise SignInFailed(session.subject, f"the code was not approved in time; {again}")
        sleep(interval)
        try:
            with translate(session.subject, clients.OIDC):
                return dict(oidc.create_token(
                    grantType=GRANT, clientId=registration.client_id,
                    clientSecret=registration.client_secret,
                    deviceCode=started["deviceCode"]))
        except SsoError as exc:
            interval = _next_interval(session, exc, interval, again)


def _next_interval(session: SsoSession, exc: SsoError, interval: float, again: str) -> float:
    """Keep polling (at the same or a slower pace), or end with one line."""
    if exc.code in _KEEP_POLLING:
        return interval
    if exc.code == "SlowDownException":
        log.info("%s: OIDC asked to poll more slowly", session.subject)
        return interval + SLOW_DOWN
    if exc.code == "ExpiredTokenException":
        raise SignInFailed(session.subject, f"the code expired before it was approved; "
                           f"{again}") from exc
    if exc.code == "AccessDeniedException":
        raise SignInFailed(session.subject, f"the sign-in was refused in the browser; "
                           f"{again}") from exc
    raise exc
