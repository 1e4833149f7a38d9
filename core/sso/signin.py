"""Sign-in as the AWS CLI v2 does it, and the token written where the CLI reads it.

- Browser (the default for an `[sso-session]`): RegisterClient for the authorization code
  and refresh grants, then the code with PKCE (S256) on a loopback redirect; the browser is
  opened with Python's `webbrowser` (so `$BROWSER` is honoured), or the URL is printed.
- Device code (`--device-code`, the older per-profile form as in the CLI, or when no
  browser can be opened): StartDeviceAuthorization, the URL and user code printed, then
  CreateToken polled at the interval asked for (see ``device``).

Instructions go to ``say`` (stderr for the CLI); codes, tokens and secrets never do.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from rolebar.core.sso import clients
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.device import device_token
from rolebar.core.sso.errors import SignInFailed, SsoError, translate
from rolebar.core.sso.loopback import Receiver, pkce_pair
from rolebar.core.sso.registration import Kind, Registration, Registrations
from rolebar.core.sso.tokencache import CachedToken
from rolebar.core.sso.tokens import AccessToken, Tokens

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # the CLI's: ten minutes for the browser to come back


def open_browser(url: str) -> bool:
    """webbrowser, with the loader path a frozen (PyInstaller) rolebar replaced restored:
    the browser must load the system's libraries, not the ones bundled with rolebar."""
    saved = os.environ.get("LD_LIBRARY_PATH_ORIG")  # PyInstaller keeps the original here
    if not getattr(sys, "frozen", False) or "LD_LIBRARY_PATH" not in os.environ:
        return webbrowser.open_new_tab(url)
    ours = os.environ["LD_LIBRARY_PATH"]
    if saved is None:
        del os.environ["LD_LIBRARY_PATH"]
    else:
        os.environ["LD_LIBRARY_PATH"] = saved
    try:
        return webbrowser.open_new_tab(url)
    finally:
        os.environ["LD_LIBRARY_PATH"] = ours


@dataclass(frozen=True)
class SignInOptions:
    browser: bool = True  # open the browser (False: print the URL to open)
    device_code: bool = False
    timeout: float = DEFAULT_TIMEOUT
    say: Callable[[str], None] = field(default=lambda text: None)
    open_url: Callable[[str], bool] = open_browser


def login(session: SsoSession, options: SignInOptions, tokens: Tokens | None = None,
          registrations: Registrations | None = None) -> AccessToken:
    """Sign in and cache the token; SignInFailed or SsoError if it did not work."""
    tokens = tokens or Tokens()
    registrations = registrations or Registrations()
    oidc = clients.oidc(session.region, session.profile, session.subject)
    answer: tuple[dict[str, Any], Registration] | None = None
    if session.name is not None and not options.device_code:
        answer = _with_registration(session, "code", registrations, oidc,
                                    lambda reg: _browser_flow(session, options, oidc, reg))
        if answer is None:
            options.say(f"{session.subject}: no browser could be opened; "
                        "signing in with a device code instead")
    if answer is None:
        opens = options.browser and not options.device_code and session.name is None
        answer = _with_registration(session, "device", registrations, oidc,
                                    lambda reg: device_token(session, options.say, oidc, reg,
                                                             options.open_url if opens
                                                             else None))
    assert answer is not None
    created, registration = answer
    cached = _cached(session, created, registration)
    with tokens.locks.lock(tokens.lock_name(session), timeout=60):
        tokens.files.store(session, cached)
    log.info("%s: signed in", session.subject)
    return AccessToken(session, cached.access_token, cached.expires, cached.renewable)


def _with_registration(session: SsoSession, kind: Kind, registrations: Registrations,
                       oidc: Any, flow: Callable[[Registration], dict[str, Any] | None]
                       ) -> tuple[dict[str, Any], Registration] | None:
    """Run ``flow`` with a registration; one OIDC no longer honours is dropped, so the
    next sign-in registers anew."""
    registration = registrations.get(session, kind, oidc)
    try:
        created = flow(registration)
    except SsoError as exc:
        if exc.code == "InvalidClientException":
            registrations.forget(session, kind)
            raise SignInFailed(session.subject, "IAM Identity Center no longer accepts "
                               "rolebar's client registration (InvalidClientException); "
                               f"run `{session.login_command}` again") from exc
        raise
    return (created, registration) if created is not None else None


def _browser_flow(session: SsoSession, options: SignInOptions, oidc: Any,
                  registration: Registration) -> dict[str, Any] | None:
    """The authorization code with PKCE; None when no browser could be opened."""
    verifier, challenge = pkce_pair()
    again = f"run `{session.login_command}` again"
    with Receiver(session.subject) as receiver:
        url = authorize_url(oidc, registration.client_id, receiver.redirect_uri,
                            receiver.state, challenge, session.registration_scopes)
        if not options.browser:
            options.say(f"{session.subject}: to sign in, open this URL in a browser on this "
                        f"computer:\n{url}")
        elif options.open_url(url):
            options.say(f"{session.subject}: signing in in the browser; if it did not open, "
                        f"open this URL on this computer:\n{url}")
        else:
            return None
        code = receiver.wait(options.timeout, again)
    with translate(session.subject, clients.OIDC):
        return dict(oidc.create_token(
            grantType="authorization_code", clientId=registration.client_id,
            clientSecret=registration.client_secret, redirectUri=receiver.redirect_uri,
            codeVerifier=verifier, code=code))


def authorize_url(oidc: Any, client_id: str, redirect_uri: str, state: str, challenge: str,
                  scopes: tuple[str, ...]) -> str:
    """`<OIDC endpoint>/authorize?...`, as the AWS CLI builds it."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "state": state, "code_challenge_method": "S256", "code_challenge": challenge,
             "scopes": " ".join(scopes)}
    return f"{clients.oidc_endpoint(oidc)}/authorize?{urlencode(query)}"


def _cached(session: SsoSession, created: dict[str, Any], registration: Registration
            ) -> CachedToken:
    expires = float(int(time.time() + float(created["expiresIn"])))  # whole seconds, as filed
    return CachedToken(start_url=session.start_url, region=session.region,
                       access_token=created["accessToken"], expires=expires,
                       client_id=registration.client_id,
                       client_secret=registration.client_secret,
                       registration_expires=registration.expires,
                       refresh_token=created.get("refreshToken"))
