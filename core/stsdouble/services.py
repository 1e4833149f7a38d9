"""The double's services beyond STS, on the same port: routing, faults, counts and records.

Requests are told apart as the SDKs send them, by path (and for IAM by its API version or
the SigV4 scope), so one endpoint serves ``AWS_ENDPOINT_URL_STS``, ``_SSO_OIDC``,
``_SSO``, ``_IAM`` and ``_SIGNIN`` alike:

    POST /client/register, /device_authorization, /token    sso-oidc (``oidc``)
    GET  /authorize, /device                                 the browser (``browser``)
    GET  /federation/credentials, /assignment/accounts,
         /assignment/roles; POST /logout                     the portal (``portal``)
    GET|POST /federation                                     console sign-in (``federation``)
    POST / with Version=2010-05-08                           IAM access keys (``iam``)

Everything else is STS's. Injected faults, ``counts`` (successful calls per action) and
``calls`` cover these services as they cover STS; all state sits behind the double's lock.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from . import iam
from .browser import authorize, device_page
from .federation import Federation
from .iam import Iam
from .jsonwire import Response, ServiceError, body_json, json_error, json_reply, path_of, plain
from .jsonwire import query as query_of
from .oidc import Oidc
from .portal import Account, Portal
from .sigv4 import Request, key_id_of
from .ssotokens import SsoSettings, TokenStore
from .wire import StsError

if TYPE_CHECKING:
    from .double import StsDouble

# path -> (service, method, action); the federation and IAM name their action in a parameter
_ROUTES = {
    "/client/register": ("sso-oidc", "POST", "RegisterClient"),
    "/device_authorization": ("sso-oidc", "POST", "StartDeviceAuthorization"),
    "/token": ("sso-oidc", "POST", "CreateToken"),
    "/authorize": ("browser", "GET", "Authorize"),
    "/device": ("browser", "GET", "VerifyDevice"),
    "/federation/credentials": ("sso", "GET", "GetRoleCredentials"),
    "/assignment/accounts": ("sso", "GET", "ListAccounts"),
    "/assignment/roles": ("sso", "GET", "ListAccountRoles"),
    "/logout": ("sso", "POST", "Logout"),
}
_SCOPE_SERVICE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")


class Services:
    """OIDC, the portal, console federation and IAM, sharing the double's key store."""

    def __init__(self, double: StsDouble) -> None:
        self._double = double
        self.sso = SsoSettings()
        self.tokens = TokenStore(self.sso, self._remember)
        self.oidc = Oidc(self.sso, self.tokens, lambda: double.endpoint, self._remember)
        self.portal = Portal(self.sso, self.tokens, double._keys, self._remember)
        self.federation = Federation(double._keys, self._remember)
        self.iam = Iam(double._keys, self._remember)

    # -- for tests --

    def add_sso_account(self, account_id: str, name: str | None = None,
                        roles: tuple[str, ...] = ()) -> Account:
        with self._double._lock:
            return self.portal.add_account(account_id, name, roles)

    def approve(self, user_code: str | None = None) -> int:
        """Approve a pending device code (all, if None), as a person in a browser would."""
        with self._double._lock:
            return self.oidc.decide(user_code, "approved")

    def deny(self, user_code: str | None = None) -> int:
        with self._double._lock:
            return self.oidc.decide(user_code, "denied")

    def revoke(self, refresh_only: bool = True) -> int:
        """Revoke every refresh token (and, unless ``refresh_only``, every sign-in)."""
        with self._double._lock:
            return self.tokens.revoke(refresh_only)

    # -- serving --

    def owns(self, request: Request) -> bool:
        return self._route(request) is not None

    def handle(self, request: Request) -> Response | None:
        """Answer a request ``owns`` said is ours; None: drop the connection (fault)."""
        route = self._route(request)
        assert route is not None
        service, method, action = route
        caller = key_id_of(request)
        stall, fault, wake = self._double._take_faults()
        if stall is not None:
            wake.wait(stall)
        if fault == "reset":
            self._double._record(action, caller, "reset")
            return None
        answered = fault != "reset-after"  # else: carried out, then the connection dropped
        with self._double._lock:
            if fault is not None and answered:
                response = _fault(service, fault)
            elif method not in (request.method, ""):
                response = json_error(ServiceError(
                    "UnknownOperationException", "Unknown operation", 404))
            else:
                response = self._answer(service, action, request)
            if response.status < 400:
                counts = self._double._counts
                counts[action] = counts.get(action, 0) + 1
            code = response.code if response.code != "OK" or response.status < 400 \
                else str(response.status)
            self._double._record(action, caller, code, answered)
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        return response if answered else None

    def _route(self, request: Request) -> tuple[str, str, str] | None:
        path = path_of(request)
        if path in _ROUTES:
            return _ROUTES[path]
        if path == "/federation":
            return "signin", "", request.params().get("Action", "")
        if path in ("", "/"):
            params = request.params()
            scope = _SCOPE_SERVICE.search(request.header("authorization") or "")
            if params.get("Version") == iam.VERSION or (scope and scope.group(1) == "iam"):
                return "iam", "POST", params.get("Action", "")
        return None

    def _answer(self, service: str, action: str, request: Request) -> Response:
        try:
            if service == "sso-oidc":
                operation = {"RegisterClient": self.oidc.register_client,
                             "StartDeviceAuthorization": self.oidc.start_device_authorization,
                             "CreateToken": self.oidc.create_token}[action]
                return json_reply(operation(body_json(request)))
            if service == "sso":
                return self._portal(action, request)
            if service == "browser":
                answer = authorize if action == "Authorize" else device_page
                return answer(self.oidc, query_of(request))
            if service == "signin":
                return self.federation.answer(action, request.params())
            return self._iam(action, request)
        except ServiceError as error:
            return json_error(error)

    def _portal(self, action: str, request: Request) -> Response:
        bearer, query = request.header("x-amz-sso_bearer_token"), query_of(request)
        if action == "Logout":
            self.portal.logout(bearer)
            return Response(200)
        operation = {"GetRoleCredentials": self.portal.get_role_credentials,
                     "ListAccounts": self.portal.list_accounts,
                     "ListAccountRoles": self.portal.list_account_roles}[action]
        return json_reply(operation(bearer, query))

    def _iam(self, action: str, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        headers = {"x-amzn-RequestId": request_id}
        try:
            caller = self._double._authenticate(request, "iam")
            result = self.iam.answer(action, request.params(), caller)
        except StsError as error:
            return Response(error.status, iam.error_xml(error, request_id), "text/xml",
                            headers, error.code)
        return Response(200, iam.response_xml(action, result, request_id), "text/xml", headers)

    def _remember(self, values: list[str]) -> None:
        with self._double._lock:
            self._double._secrets.extend(values)

    # -- admin channel (process mode): /_double/PATH --

    def admin(self, path: str, params: dict[str, str]) -> tuple[int, Any] | None:
        """Answer an admin path of these services, or None if it is not one."""
        readers = {"sso_pending": self.oidc.pending,
                   "sso_grants": lambda: dict(self.oidc.grants_issued),
                   "logins": self.federation.logins_as_dicts}
        with self._double._lock:
            if path in readers:
                return 200, readers[path]()
            try:
                return self._admin_change(path, params)
            except (ValueError, KeyError) as exc:
                return 400, {"error": str(exc)}

    def _admin_change(self, path: str, params: dict[str, str]) -> tuple[int, Any] | None:
        if path in ("sso_approve", "sso_deny"):
            state = "approved" if path == "sso_approve" else "denied"
            return 200, {"count": self.oidc.decide(params.get("user_code"), state)}
        if path == "sso_revoke":
            return 200, {"count": self.tokens.revoke(params.get("what", "refresh") == "refresh")}
        if path == "sso_config":
            self.sso.update(params)
            return 200, asdict(self.sso)
        if path == "sso_account":
            roles = tuple(r for r in params.get("roles", "").split(",") if r)
            account = self.portal.add_account(params["account"], params.get("name"), roles)
            return 200, {"account": account.account_id, "roles": sorted(account.roles)}
        if path == "iam_config":
            self.iam.consistency_delay = float(params.get("consistency_delay",
                                                          self.iam.consistency_delay))
            self.iam.consistency_calls = int(params.get("consistency_calls",
                                                        self.iam.consistency_calls))
            return 200, {"consistency_delay": self.iam.consistency_delay,
                         "consistency_calls": self.iam.consistency_calls}
        if path == "signin_config":
            self.federation.token_lifetime = int(params.get("token_lifetime",
                                                            self.federation.token_lifetime))
            return 200, {"token_lifetime": self.federation.token_lifetime}
        return None


def _fault(service: str, fault: str) -> Response:
    """An injected "500" or "throttle", worded as each service words it."""
    failure = fault == "500"
    if service == "iam":
        error = StsError("ServiceFailure", "An internal error has occurred", 500, "Receiver") \
            if failure else StsError("Throttling", "Rate exceeded")
        return Response(error.status, iam.error_xml(error, str(uuid.uuid4())), "text/xml",
                        code=error.code)
    status, message = (500, "An internal error has occurred") if failure else (429,
                                                                               "Rate exceeded")
    code = "InternalServerException" if failure else "TooManyRequestsException"
    if service in ("signin", "browser"):
        return Response(status, plain(status, message).body, "text/plain", code=code)
    oauth = "server_error" if failure and service == "sso-oidc" else None
    return json_error(ServiceError(code, message, status, oauth))
