"""IAM Identity Center OIDC (``sso-oidc``, rest-json): RegisterClient,
StartDeviceAuthorization and CreateToken, with the rules the real service keeps.

- Clients are public; a registration lasts ``registration_lifetime`` and its secret is
  checked on every later call (``InvalidClientException``, 401).
- Grants: the device code (pending until approved, ``SlowDownException`` when polled
  faster than the interval, which then grows by ``slow_down_increase`` as RFC 8628 asks,
  ``ExpiredTokenException`` after ``device_lifetime``), the authorization code with PKCE
  (S256 only; the verifier, the client and the redirect URI checked; each code good once),
  and the refresh token (see ``ssotokens``).
- A client registered without ``grantTypes`` may use the device code, and the refresh
  grant only if it registered scopes (the legacy, scope-less form gets no refresh token).

The browser side (``/authorize``, the device page) is in ``browser``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .jsonwire import ServiceError, b64_token, url_token
from .ssotokens import SsoSettings, TokenStore, invalid_grant

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", DEVICE_GRANT)
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_SCOPE = re.compile(r"[\w.:/-]{1,256}")
_USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Client:
    client_id: str
    secret: str = field(repr=False)
    name: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] | None  # None: registered without grantTypes
    redirect_uris: tuple[str, ...]
    issued: float
    expires: float

    def allows(self, grant: str) -> bool:
        if self.grant_types is not None:
            return grant in self.grant_types
        return grant == DEVICE_GRANT or (grant == "refresh_token" and bool(self.scopes))

    def redirect_allowed(self, uri: str) -> bool:
        """Registered, the port aside: loopback clients pick a free port (RFC 8252 7.3)."""
        return any(_same_but_port(uri, known) for known in self.redirect_uris)


@dataclass
class DeviceAuthorization:
    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    start_url: str
    expires: float
    interval: int
    last_poll: float | None = None  # monotonic
    state: str = "pending"  # pending | approved | denied | used


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    expires: float
    used: bool = False


class Oidc:
    """The OIDC service's state and operations; every method runs under the double's lock."""

    def __init__(self, settings: SsoSettings, tokens: TokenStore, endpoint: Callable[[], str],
                 remember: Callable[[list[str]], None]) -> None:
        self.settings, self.tokens = settings, tokens
        self._endpoint, self._remember = endpoint, remember
        self.clients: dict[str, Client] = {}
        self.devices: dict[str, DeviceAuthorization] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants_issued = dict.fromkeys(GRANTS, 0)  # successful CreateToken per grant

    # -- operations --

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("clientName")
        if not isinstance(name, str) or not name:
            raise _invalid_request("clientName is required")
        if body.get("clientType") != "public":
            raise ServiceError("InvalidClientMetadataException", "Invalid client type: only "
                               "public clients are supported", 400, "invalid_client_metadata")
        scopes, uris = _strings(body, "scopes"), _strings(body, "redirectUris")
        grants = _strings(body, "grantTypes") if "grantTypes" in body else None
        if any(grant not in GRANTS for grant in grants or ()):
            raise ServiceError("UnsupportedGrantTypeException", "Unsupported grant type", 400,
                               "unsupported_grant_type")
        if any(_SCOPE.fullmatch(scope) is None for scope in scopes):
            raise ServiceError("InvalidScopeException", "Invalid scope", 400, "invalid_scope")
        if any(not _loopback(uri) for uri in uris) or (
                grants is not None and "authorization_code" in grants and not uris):
            raise ServiceError("InvalidRedirectUriException", "Invalid redirect URI: "
                               "loopback http URIs are required for the authorization code "
                               "grant", 400, "invalid_redirect_uri")
        now = time.time()
        client = Client(url_token(22), b64_token("eyJ", 240), name, scopes, grants, uris,
                        now, now + self.settings.registration_lifetime)
        self.clients[client.client_id] = client
        self._remember([client.secret])
        return {"clientId": client.client_id, "clientSecret": client.secret,
                "clientIdIssuedAt": int(client.issued),
                "clientSecretExpiresAt": int(client.expires)}

    def start_device_authorization(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self.client(body)
        if not client.allows(DEVICE_GRANT):
            raise _unauthorized_client()
        start_url = body.get("startUrl")
        if not isinstance(start_url, str) or urlsplit(start_url).scheme not in ("https", "http"):
            raise _invalid_request("startUrl must be an absolute URL")
        letters = [secrets.choice(_USER_CODE_LETTERS) for _ in range(8)]
        user_code = "".join(letters[:4]) + "-" + "".join(letters[4:])
        auth = DeviceAuthorization(b64_token("", 150), user_code, client.client_id, start_url,
                                   time.time() + self.settings.device_lifetime,
                                   self.settings.device_interval)
        self.devices[auth.device_code] = auth
        self._remember([auth.device_code])
        page = f"{self._endpoint()}/device"
        return {"deviceCode": auth.device_code, "userCode": user_code,
                "verificationUri": page, "verificationUriComplete": f"{page}?user_code={user_code}",
                "expiresIn": self.settings.device_lifetime, "interval": auth.interval}

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self.client(body)
        grant = body.get("grantType")
        if not isinstance(grant, str) or grant not in GRANTS:
            raise ServiceError("UnsupportedGrantTypeException", "Unsupported grant type", 400,
                               "unsupported_grant_type")
        if not client.allows(grant):
            raise _unauthorized_client()
        if grant == DEVICE_GRANT:
            answer = self._device_grant(client, _required(body, "deviceCode"))
        elif grant == "authorization_code":
            answer = self._code_grant(client, body)
        else:
            answer = self.tokens.rotate(_required(body, "refreshToken"), client.client_id)
        self.grants_issued[grant] += 1
        return answer

    # -- the browser's side (see ``browser``) --

    def decide(self, user_code: str | None, state: str) -> int:
        """Approve or deny a pending device authorization (every pending one if None)."""
        count = 0
        for auth in self.devices.values():
            if auth.state == "pending" and user_code in (None, auth.user_code) \
                    and time.time() < auth.expires:
                auth.state, count = state, count + 1
        return count

    def pending(self) -> list[str]:
        """User codes waiting for approval (not secret: people read them off a screen)."""
        return [auth.user_code for auth in self.devices.values()
                if auth.state == "pending" and time.time() < auth.expires]

    def new_code(self, client: Client, redirect_uri: str, challenge: str,
                 scopes: tuple[str, ...]) -> str:
        code = url_token(64)
        self.codes[code] = AuthCode(client.client_id, redirect_uri, challenge, scopes,
                                    time.time() + self.settings.code_lifetime)
        self._remember([code])
        return code

    # -- checks --

    def client(self, body: dict[str, Any]) -> Client:
        client = self.clients.get(str(body.get("clientId")))
        secret = body.get("clientSecret")
        if client is None or not isinstance(secret, str) \
                or not hmac.compare_digest(client.secret, secret):
            raise ServiceError("InvalidClientException", "Invalid client credentials", 401,
                               "invalid_client")
        if time.time() >= client.expires:
            raise ServiceError("InvalidClientException", "Client registration has expired",
                               401, "invalid_client")
        return client

    def _device_grant(self, client: Client, device_code: str) -> dict[str, Any]:
        auth = self.devices.get(device_code)
        if auth is None or auth.client_id != client.client_id or auth.state == "used":
            raise invalid_grant("Invalid device code provided")
        if time.time() >= auth.expires:
            raise ServiceError("ExpiredTokenException", "Device code has expired", 400,
                               "expired_token")
        last, auth.last_poll = auth.last_poll, time.monotonic()
        if last is not None and auth.last_poll - last < auth.interval:
            auth.interval += self.settings.slow_down_increase
            raise ServiceError("SlowDownException", "Client is polling too quickly", 400,
                               "slow_down")
        if auth.state == "denied":
            raise ServiceError("AccessDeniedException", "Authorization was denied", 400,
                               "access_denied")
        if auth.state == "pending":
            raise ServiceError("AuthorizationPendingException", "Authorization is still "
                               "pending", 400, "authorization_pending")
        auth.state = "used"
        return self.tokens.issue(client.client_id, client.scopes, client.allows("refresh_token"))

    def _code_grant(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        code, redirect = _required(body, "code"), _required(body, "redirectUri")
        verifier = _required(body, "codeVerifier")
        entry = self.codes.get(code)
        if entry is None or entry.client_id != client.client_id or entry.used:
            raise invalid_grant("Invalid authorization code provided")
        entry.used = True  # one try: a code that met a wrong verifier is gone too
        if time.time() >= entry.expires:
            raise invalid_grant("Authorization code has expired")
        if redirect != entry.redirect_uri:
            raise invalid_grant("redirectUri does not match the authorization request")
        if not pkce_matches(verifier, entry.challenge):
            raise invalid_grant("Code verifier does not match the code challenge")
        return self.tokens.issue(client.client_id, entry.scopes or client.scopes,
                                 client.allows("refresh_token"))


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(expected, challenge)


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS and not parts.fragment


def _same_but_port(uri: str, known: str) -> bool:
    a, b = urlsplit(uri), urlsplit(known)
    return (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query)


def _strings(body: dict[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid_request(f"{name} must be a list of strings")
    return tuple(value)


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid_request(f"{name} is required for this grant type")
    return value


def _invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message, 400, "invalid_request")


def _unauthorized_client() -> ServiceError:
    return ServiceError("UnauthorizedClientException", "The client is not registered for "
                        "this grant type", 400, "unauthorized_client")
