"""Real clients for the double's services beyond STS: boto3 `sso-oidc`, `sso`, `iam`, `sts`,
and urllib for the browser steps (`/authorize`, the device page, `/federation`)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from rolebar.core.stsdouble import StsDouble

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
START_URL = "https://d-0000000000.awsapps.com/start"
CALLBACK = "http://127.0.0.1/oauth/callback"  # registered; the port is the client's pick


def oidc_client(endpoint: str) -> Any:
    """sso-oidc as the SDKs make it: unsigned, no retries (so each answer shows)."""
    return boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=endpoint,
                        config=Config(signature_version=UNSIGNED,
                                      retries={"total_max_attempts": 1}))


def portal_client(endpoint: str, **config: Any) -> Any:
    return boto3.client("sso", region_name="us-east-1", endpoint_url=endpoint,
                        config=Config(signature_version=UNSIGNED,
                                      retries={"total_max_attempts": 1}, **config))


def signed_client(service: str, endpoint: str, credentials: dict[str, Any],
                  **config: Any) -> Any:
    """A SigV4 client from STS-style (or SSO-style) credentials."""
    key = credentials.get("AccessKeyId") or credentials["accessKeyId"]
    secret = credentials.get("SecretAccessKey") or credentials["secretAccessKey"]
    token = credentials.get("SessionToken") or credentials.get("sessionToken")
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1}, **config))


def error_of(call: Callable[[], object]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response: Any = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def device_sign_in(double: StsDouble, oidc: Any, **register: Any) -> tuple[dict[str, Any],
                                                                           dict[str, Any]]:
    """Register, start a device authorization, approve it, take the token: (client, token)."""
    options = {"scopes": ["sso:account:access"], **register}
    client = oidc.register_client(clientName="tests", clientType="public", **options)
    device = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL)
    assert double.services.approve(device["userCode"]) == 1
    token = oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"],
                              grantType=DEVICE_GRANT, deviceCode=device["deviceCode"])
    return client, token


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_url(endpoint: str, client_id: str, redirect_uri: str, challenge: str,
                  state: str, **extra: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
             "scopes": "sso:account:access", **extra}
    return f"{endpoint}/authorize?{urlencode(query)}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def visit(url: str, data: bytes | None = None) -> tuple[int, str, str | None]:
    """GET (or POST ``data``) like a browser that does not follow redirects:
    (status, body, Location)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, data=data, timeout=10) as answer:
            return answer.status, answer.read().decode(), answer.headers.get("Location")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(), error.headers.get("Location")


def redirected_query(location: str | None) -> dict[str, str]:
    assert location is not None
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def signin_token(endpoint: str, credentials: dict[str, Any], **params: str) -> tuple[int, str]:
    """getSigninToken for STS-style credentials: (status, body)."""
    session = {"sessionId": credentials["AccessKeyId"],
               "sessionKey": credentials["SecretAccessKey"]}
    if credentials.get("SessionToken"):
        session["sessionToken"] = credentials["SessionToken"]
    query = urlencode({"Action": "getSigninToken", "Session": json.dumps(session), **params})
    status, body, _ = visit(f"{endpoint}/federation?{query}")
    return status, body


# -- an IAM Identity Center world -------------------------------------------------------------

SSO_DEV, SSO_PROD = "111111111111", "222222222222"
CHAINED = "arn:aws:iam::111111111111:role/deployer"  # no MFA: reachable from an SSO role
GUARDED = "arn:aws:iam::111111111111:role/guarded"  # needs MFA


@dataclass
class Sso:
    """A double with two accounts assigned (dev: three permission sets, prod: one) and
    boto3 `sso-oidc` and `sso` clients on it."""

    double: StsDouble
    oidc: Any
    portal: Any

    @property
    def endpoint(self) -> str:
        return self.double.endpoint

    def token_calls(self) -> list[str]:
        return [call.code for call in self.double.calls if call.action == "CreateToken"]

    def refresh(self, client: dict[str, Any], refresh_token: str) -> dict[str, Any]:
        return dict(self.oidc.create_token(
            clientId=client["clientId"], clientSecret=client["clientSecret"],
            grantType="refresh_token", refreshToken=refresh_token))


def sso_world() -> Iterator[Sso]:
    """The body of an `sso` fixture: a running double, stopped afterwards."""
    double = StsDouble()
    double.services.add_sso_account(SSO_DEV, "dev", ("Developer", "ReadOnly", "Billing"))
    double.services.add_sso_account(SSO_PROD, "prod", ("Admin",))
    double.add_role(CHAINED, require_mfa=False)
    double.add_role(GUARDED, require_mfa=True)
    endpoint = double.start()
    yield Sso(double, oidc_client(endpoint), portal_client(endpoint))
    double.stop()
