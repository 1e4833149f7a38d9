"""The double's IAM Identity Center OIDC service: device code, authorization code with PKCE,
refresh tokens, with real clients (boto3 `sso-oidc` and `sso`, urllib as the browser)."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.loopback.clients.awsdouble import (
    CALLBACK,
    DEVICE_GRANT,
    START_URL,
    Sso,
    authorize_url,
    device_sign_in,
    error_of,
    pkce_pair,
    redirected_query,
    sso_world,
    visit,
)

AUTH_CODE_CLIENT = {"grantTypes": ["authorization_code", "refresh_token"],
                    "redirectUris": [CALLBACK], "issuerUrl": START_URL}


@pytest.fixture
def sso() -> Iterator[Sso]:
    yield from sso_world()


# -- device code ----------------------------------------------------------------------------------


def test_device_flow_pending_then_slow_down_then_approved(sso: Sso) -> None:
    # Intervals wide enough that a loaded machine's pauses cannot make a fast poll slow.
    sso.double.services.sso.device_interval = 2
    sso.double.services.sso.slow_down_increase = 2  # RFC 8628 says 5; 2 keeps the test short
    client = sso.oidc.register_client(clientName="cli", clientType="public",
                                      scopes=["sso:account:access"])
    device = sso.oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL)
    assert device["interval"] == 2 and device["expiresIn"] == 600
    assert device["verificationUriComplete"] == (
        f"{sso.endpoint}/device?user_code={device['userCode']}")

    def poll() -> Any:
        return sso.oidc.create_token(clientId=client["clientId"],
                                     clientSecret=client["clientSecret"],
                                     grantType=DEVICE_GRANT, deviceCode=device["deviceCode"])

    assert error_of(poll)[0] == "AuthorizationPendingException"
    assert error_of(poll)[0] == "SlowDownException"  # polled again at once
    time.sleep(2.1)  # the interval asked for at first, but it has grown to 4 s
    assert error_of(poll)[0] == "SlowDownException"
    assert sso.double.services.oidc.pending() == [device["userCode"]]
    status, page, _ = visit(device["verificationUriComplete"])  # the person approves
    assert status == 200 and "approved" in page
    time.sleep(6.1)  # the interval is now 6 s
    token = poll()
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 3600
    assert token["accessToken"] and token["refreshToken"]
    assert error_of(poll)[0] == "InvalidGrantException"  # a device code is good once
    assert sso.token_calls() == ["AuthorizationPendingException", "SlowDownException",
                                 "SlowDownException", "OK", "InvalidGrantException"]
    assert sso.double.services.oidc.grants_issued[DEVICE_GRANT] == 1


def test_device_flow_denied_expired_and_wrong_client(sso: Sso) -> None:
    settings = sso.double.services.sso
    settings.browser = "deny"
    client = sso.oidc.register_client(clientName="cli", clientType="public")
    ids = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}
    device = sso.oidc.start_device_authorization(**ids, startUrl=START_URL)
    assert "denied" in visit(device["verificationUriComplete"])[1]
    assert error_of(lambda: sso.oidc.create_token(
        **ids, grantType=DEVICE_GRANT, deviceCode=device["deviceCode"]))[0] == (
        "AccessDeniedException")
    settings.device_lifetime = 0  # expired as soon as it is issued
    late = sso.oidc.start_device_authorization(**ids, startUrl=START_URL)
    assert error_of(lambda: sso.oidc.create_token(
        **ids, grantType=DEVICE_GRANT, deviceCode=late["deviceCode"]))[:3:2] == (
        "ExpiredTokenException", 400)
    assert visit(late["verificationUriComplete"])[0] == 400
    wrong = {**ids, "clientSecret": "x" + ids["clientSecret"][1:]}
    assert error_of(lambda: sso.oidc.start_device_authorization(
        **wrong, startUrl=START_URL))[::2] == ("InvalidClientException", 401)
    assert error_of(lambda: sso.oidc.create_token(
        **ids, grantType=DEVICE_GRANT, deviceCode="no-such-code"))[0] == "InvalidGrantException"


# -- authorization code with PKCE -----------------------------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    """The client's loopback redirect target: records the query it is sent."""

    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        body = b"signed in"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_pkce_sign_in_follows_the_redirect_to_a_loopback_port(sso: Sso) -> None:
    client = sso.oidc.register_client(clientName="cli", clientType="public",
                                      scopes=["sso:account:access"], **AUTH_CODE_CLIENT)
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    _Callback.seen = []
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
    verifier, challenge = pkce_pair()
    url = authorize_url(sso.endpoint, client["clientId"], redirect_uri, challenge, "st4te")
    with urllib.request.urlopen(url, timeout=10) as page:  # a browser follows the 302
        assert page.read() == b"signed in"
    thread.join(10)
    server.server_close()
    query = redirected_query(_Callback.seen[0])
    assert query["state"] == "st4te" and set(query) == {"code", "state"}
    ids = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}
    token = sso.oidc.create_token(**ids, grantType="authorization_code", code=query["code"],
                                  redirectUri=redirect_uri, codeVerifier=verifier)
    assert token["refreshToken"] and token["expiresIn"] == 3600
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert error_of(lambda: sso.oidc.create_token(  # a code is good once
        **ids, grantType="authorization_code", code=query["code"], redirectUri=redirect_uri,
        codeVerifier=verifier))[0] == "InvalidGrantException"


def test_pkce_refuses_a_wrong_verifier_and_another_redirect_uri(sso: Sso) -> None:
    client = sso.oidc.register_client(clientName="cli", clientType="public",
                                      scopes=["sso:account:access"], **AUTH_CODE_CLIENT)
    ids = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}
    redirect_uri = "http://127.0.0.1:43210/oauth/callback"

    def code_for(challenge: str) -> str:
        status, _, location = visit(authorize_url(sso.endpoint, client["clientId"],
                                                  redirect_uri, challenge, "s"))
        assert status == 302
        return redirected_query(location)["code"]

    verifier, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    assert error_of(lambda: sso.oidc.create_token(
        **ids, grantType="authorization_code", code=code_for(challenge),
        redirectUri=redirect_uri, codeVerifier=other_verifier)) == (
        "InvalidGrantException", "Code verifier does not match the code challenge", 400)
    assert error_of(lambda: sso.oidc.create_token(
        **ids, grantType="authorization_code", code=code_for(challenge),
        redirectUri="http://127.0.0.1:43211/oauth/callback", codeVerifier=verifier))[0] == (
        "InvalidGrantException")
    token = sso.oidc.create_token(**ids, grantType="authorization_code",
                                  code=code_for(challenge), redirectUri=redirect_uri,
                                  codeVerifier=verifier)
    assert token["accessToken"]
    assert sso.token_calls() == ["InvalidGrantException", "InvalidGrantException", "OK"]


def test_authorize_checks_the_client_the_redirect_and_the_challenge(sso: Sso) -> None:
    client = sso.oidc.register_client(clientName="cli", clientType="public",
                                      scopes=["sso:account:access"], **AUTH_CODE_CLIENT)
    cid, (_, challenge) = client["clientId"], pkce_pair()
    good = "http://127.0.0.1:5000/oauth/callback"
    for bad in ("http://127.0.0.1:5000/elsewhere", "http://evil.example/oauth/callback"):
        status, page, location = visit(authorize_url(sso.endpoint, cid, bad, challenge, "s"))
        assert (status, location) == (400, None) and "redirect_uri" in page
    assert visit(authorize_url(sso.endpoint, "nobody", good, challenge, "s"))[::2] == (400, None)

    def error_for(**extra: str) -> str:
        status, _, location = visit(authorize_url(sso.endpoint, cid, good, challenge, "s",
                                                  **extra))
        query = redirected_query(location)
        assert status == 302 and query["state"] == "s" and "code" not in query
        return query["error"]

    assert error_for(code_challenge_method="plain") == "invalid_request"
    assert error_for(code_challenge="short") == "invalid_request"
    assert error_for(response_type="token") == "unsupported_response_type"
    assert error_for(scopes="sso:account:access,admin:everything") == "invalid_scope"
    sso.double.services.sso.browser = "deny"
    assert error_for() == "access_denied"
    sso.double.services.sso.browser = "ignore"  # the browser never comes back
    assert visit(authorize_url(sso.endpoint, cid, good, challenge, "s"))[::2] == (200, None)
    device_only = sso.oidc.register_client(clientName="d", clientType="public")
    sso.double.services.sso.browser = "approve"
    status, _, location = visit(authorize_url(sso.endpoint, device_only["clientId"], good,
                                              challenge, "s"))
    assert status == 400 and location is None  # it registered no redirect URI


def test_register_client_rules_and_registration_expiry(sso: Sso) -> None:
    register = sso.oidc.register_client
    assert error_of(lambda: register(clientName="c", clientType="confidential"))[0] == (
        "InvalidClientMetadataException")
    assert error_of(lambda: register(clientName="c", clientType="public",
                                     grantTypes=["password"]))[0] == (
        "UnsupportedGrantTypeException")
    assert error_of(lambda: register(clientName="c", clientType="public",
                                     grantTypes=["authorization_code"]))[0] == (
        "InvalidRedirectUriException")
    assert error_of(lambda: register(clientName="c", clientType="public",
                                     grantTypes=["authorization_code"],
                                     redirectUris=["https://example.com/cb"]))[0] == (
        "InvalidRedirectUriException")
    client, token = device_sign_in(sso.double, sso.oidc)
    assert client["clientSecretExpiresAt"] == client["clientIdIssuedAt"] + 90 * 86400
    sso.double.services.sso.registration_lifetime = 1
    short = register(clientName="c", clientType="public")
    assert short["clientSecretExpiresAt"] == short["clientIdIssuedAt"] + 1
    time.sleep(1.1)
    assert error_of(lambda: sso.oidc.start_device_authorization(
        clientId=short["clientId"], clientSecret=short["clientSecret"], startUrl=START_URL)) == (
        "InvalidClientException", "Client registration has expired", 401)
    sso.double.services.oidc.clients[client["clientId"]].expires = time.time()  # 90 days on
    assert error_of(lambda: sso.refresh(client, token["refreshToken"]))[0] == (
        "InvalidClientException")


# -- refresh tokens -------------------------------------------------------------------------------


def test_refresh_tokens_rotate_and_a_spent_one_is_refused(sso: Sso) -> None:
    client, first = device_sign_in(sso.double, sso.oidc)
    second = sso.refresh(client, first["refreshToken"])
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    assert error_of(lambda: sso.refresh(client, first["refreshToken"])) == (
        "InvalidGrantException", "Refresh token has already been used", 400)
    third = sso.refresh(client, second["refreshToken"])
    for token in (first, second, third):  # earlier access tokens live out their lifetime
        assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert sso.double.services.oidc.grants_issued["refresh_token"] == 2
    other, _ = device_sign_in(sso.double, sso.oidc)
    assert error_of(lambda: sso.refresh(other, third["refreshToken"]))[0] == (
        "InvalidGrantException")  # another client's refresh token


def test_a_client_without_scopes_gets_no_refresh_token(sso: Sso) -> None:
    client, token = device_sign_in(sso.double, sso.oidc, scopes=[])
    assert "refreshToken" not in token
    assert error_of(lambda: sso.refresh(client, "aor" + "A" * 60))[0] == (
        "UnauthorizedClientException")


def test_revoked_refresh_tokens_and_an_ended_session(sso: Sso) -> None:
    client, token = device_sign_in(sso.double, sso.oidc)
    assert sso.double.services.revoke() == 1
    assert error_of(lambda: sso.refresh(client, token["refreshToken"])) == (
        "InvalidGrantException", "Refresh token has been revoked", 400)
    assert sso.portal.list_accounts(accessToken=token["accessToken"])  # still until expiry
    sso.double.services.sso.session_lifetime = 1
    client, token = device_sign_in(sso.double, sso.oidc)
    assert token["expiresIn"] <= 1  # no access token outlives the sign-in
    time.sleep(1.1)
    assert error_of(lambda: sso.refresh(client, token["refreshToken"]))[0] == (
        "InvalidGrantException")
    assert error_of(lambda: sso.portal.list_accounts(accessToken=token["accessToken"]))[
        ::2] == ("UnauthorizedException", 401)


def test_access_tokens_expire_and_refresh_renews_them(sso: Sso) -> None:
    sso.double.services.sso.access_token_lifetime = 1
    client, token = device_sign_in(sso.double, sso.oidc)
    assert token["expiresIn"] == 1
    time.sleep(1.1)
    assert error_of(lambda: sso.portal.list_accounts(accessToken=token["accessToken"])) == (
        "UnauthorizedException", "Session token not found or invalid", 401)
    renewed = sso.refresh(client, token["refreshToken"])
    assert sso.portal.list_accounts(accessToken=renewed["accessToken"])["accountList"]
