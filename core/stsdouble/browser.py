"""The browser's side of IAM Identity Center sign-in: ``GET /authorize`` and the device page.

A signed-in person is assumed, so both approve at once unless ``SsoSettings.browser`` says
"deny" (the person refuses) or "ignore" (the page waits and the browser never comes back).

- ``/authorize?response_type=code&client_id=...&redirect_uri=...&state=...
  &code_challenge=...&code_challenge_method=S256[&scopes=...]`` answers 302 to
  ``redirect_uri?code=...&state=...``. An unknown or expired client, or a redirect URI the
  client did not register, gets an error page and no redirect (OAuth never redirects to an
  unchecked URI); other faults go back to the redirect URI as ``error=...``.
- ``/device?user_code=ABCD-EFGH`` (``verificationUriComplete``) approves that code.
"""

from __future__ import annotations

import re
import time
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from .jsonwire import Response, page, redirect
from .oidc import Oidc

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL of a SHA-256 digest


def authorize(oidc: Oidc, query: dict[str, str]) -> Response:
    client = oidc.clients.get(query.get("client_id", ""))
    if client is None or time.time() >= client.expires:
        return page(400, "Sign-in failed: unknown or expired client registration.")
    target = query.get("redirect_uri", "")
    if not client.redirect_allowed(target):
        return page(400, "Sign-in failed: redirect_uri is not registered for this client.")
    state = query.get("state")
    scopes = tuple(s for s in re.split(r"[ ,]+", query.get("scopes", "")) if s)
    if query.get("response_type") != "code":
        return _back(target, state, error="unsupported_response_type")
    if not client.allows("authorization_code"):
        return _back(target, state, error="unauthorized_client")
    if query.get("code_challenge_method") != "S256" \
            or _CHALLENGE.fullmatch(query.get("code_challenge", "")) is None:
        return _back(target, state, error="invalid_request")
    if client.scopes and not set(scopes) <= set(client.scopes):
        return _back(target, state, error="invalid_scope")
    mode = oidc.settings.browser
    if mode == "ignore":
        return page(200, "Sign in to AWS: this page waits and never returns to the app.")
    if mode == "deny":
        return _back(target, state, error="access_denied")
    code = oidc.new_code(client, target, query["code_challenge"], scopes)
    return _back(target, state, code=code)


def device_page(oidc: Oidc, query: dict[str, str]) -> Response:
    user_code = query.get("user_code")
    if not user_code:
        return page(200, "Enter the code shown by your app: "
                    '<form><input name="user_code"><button>Next</button></form>')
    if user_code not in oidc.pending():
        return page(400, "This code is unknown, expired or already used.")
    mode = oidc.settings.browser
    if mode == "ignore":
        return page(200, f"Authorize request {escape(user_code)}? (Nobody answers.)")
    oidc.decide(user_code, "approved" if mode == "approve" else "denied")
    verdict = "approved" if mode == "approve" else "denied"
    return page(200, f"Request {escape(user_code)} {verdict}: you may close this window.")


def _back(target: str, state: str | None, **values: str) -> Response:
    """Redirect to the client's loopback URI with ``values`` (and ``state``) added."""
    if state is not None:
        values["state"] = state
    parts = urlsplit(target)
    joined = "&".join(q for q in (parts.query, urlencode(values)) if q)
    return redirect(urlunsplit((parts.scheme, parts.netloc, parts.path, joined, "")))
