"""The double's console federation endpoint (`/federation`), with boto3 for the credentials
and urllib for `getSigninToken` and `login`, as a browser or rolebar would call them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from rolebar.core.stsdouble import StsDouble, User
from tests.loopback.clients.awsdouble import (
    device_sign_in,
    oidc_client,
    portal_client,
    signed_client,
    signin_token,
    visit,
)

READER = "arn:aws:iam::111111111111:role/reader"  # no MFA
DEV = "arn:aws:iam::111111111111:role/developer"  # MFA, 12 h
NEXT = "arn:aws:iam::222222222222:role/next-hop"  # no MFA: the second hop of a chain
CONSOLE = "https://console.aws.amazon.com/console/home?region=ap-northeast-1"


@dataclass
class World:
    double: StsDouble
    user: User

    @property
    def endpoint(self) -> str:
        return self.double.endpoint

    def user_sts(self) -> Any:
        return signed_client("sts", self.endpoint, {
            "AccessKeyId": self.user.access_key_id,
            "SecretAccessKey": self.user.secret_access_key})

    def role(self, arn: str = READER, **extra: Any) -> dict[str, Any]:
        answer = self.user_sts().assume_role(RoleArn=arn, RoleSessionName="me", **extra)
        return dict(answer["Credentials"])

    def login(self, token: str, destination: str = CONSOLE) -> tuple[int, str]:
        query = urlencode({"Action": "login", "Issuer": "https://rolebar.example/",
                           "Destination": destination, "SigninToken": token})
        status, page, _ = visit(f"{self.endpoint}/federation?{query}")
        return status, page


@pytest.fixture
def world() -> Iterator[World]:
    double = StsDouble()
    user = double.add_user("member", account="000000000000")
    double.add_role(READER, require_mfa=False)
    double.add_role(DEV, require_mfa=True, max_session_duration=43200)
    double.add_role(NEXT, require_mfa=False)
    double.services.add_sso_account("333333333333", "sandbox", ("Developer",))
    double.start()
    yield World(double, user)
    double.stop()


def token_of(answer: tuple[int, str]) -> str:
    status, body = answer
    assert status == 200, body
    return str(json.loads(body)["SigninToken"])


def test_role_credentials_open_the_console_once(world: World) -> None:
    token = token_of(signin_token(world.endpoint, world.role()))
    status, page = world.login(token)
    assert status == 200
    assert "Console for reader (111111111111) in ap-northeast-1 would open" in page
    [login] = world.double.services.federation.logins
    assert (login.role_arn, login.session_name, login.region) == (READER, "me", "ap-northeast-1")
    assert (login.destination, login.issuer, login.session_duration) == (
        CONSOLE, "https://rolebar.example/", 3600)
    assert world.login(token)[0] == 400  # a sign-in token is good once
    assert world.login("A" * 600)[0] == 400
    assert world.double.counts["getSigninToken"] == 1 and world.double.counts["login"] == 1


def test_sso_role_credentials_and_a_form_post(world: World) -> None:
    _, sso_token = device_sign_in(world.double, oidc_client(world.endpoint))
    answer = portal_client(world.endpoint).get_role_credentials(
        accessToken=sso_token["accessToken"], accountId="333333333333",
        roleName="Developer")["roleCredentials"]
    session = json.dumps({"sessionId": answer["accessKeyId"],
                          "sessionKey": answer["secretAccessKey"],
                          "sessionToken": answer["sessionToken"]})
    body = urlencode({"Action": "getSigninToken", "Session": session,
                      "SessionDuration": "43200"}).encode()
    status, text, _ = visit(f"{world.endpoint}/federation", data=body)  # a form POST
    token = token_of((status, text))
    status, page = world.login(token, "https://eu-west-1.console.aws.amazon.com/ec2/home")
    assert status == 200 and "in eu-west-1 would open" in page
    login = world.double.services.federation.logins[-1]
    assert login.account == "333333333333" and login.session_duration == 43200
    assert "AWSReservedSSO_Developer_" in login.role_arn


def test_session_token_credentials_and_long_term_keys_are_refused(world: World) -> None:
    user = world.user
    session = dict(world.user_sts().get_session_token(
        SerialNumber=user.mfa_serial, TokenCode=user.code())["Credentials"])
    status, message = signin_token(world.endpoint, session)
    assert status == 403 and "GetSessionToken" in message
    # The same session may still assume a role, and those credentials are accepted.
    role = dict(signed_client("sts", world.endpoint, session).assume_role(
        RoleArn=DEV, RoleSessionName="mfa")["Credentials"])
    token_of(signin_token(world.endpoint, role))
    status, message = signin_token(world.endpoint, {
        "AccessKeyId": user.access_key_id, "SecretAccessKey": user.secret_access_key})
    assert status == 403 and "Long-term" in message
    tampered = {**role, "SecretAccessKey": "x" + role["SecretAccessKey"][1:]}
    assert signin_token(world.endpoint, tampered)[0] == 403
    assert signin_token(world.endpoint, {**role, "SessionToken": "IQo" + "x" * 40})[0] == 403
    status, _, _ = visit(f"{world.endpoint}/federation?Action=getSigninToken&Session=nope")
    assert status == 400
    assert visit(f"{world.endpoint}/federation?Action=teleport")[0] == 400
    assert world.double.counts["getSigninToken"] == 1  # the role's, and no other


def test_expired_role_credentials_are_refused(world: World) -> None:
    world.double.role_lifetime = 1
    role = world.role()
    time.sleep(role["Expiration"].timestamp() - time.time() + 0.1)
    status, message = signin_token(world.endpoint, role)
    assert status == 403 and "expired" in message


def test_session_duration_rules(world: World) -> None:
    role = world.role()
    for bad in ("899", "43201", "one-hour", "-900"):
        status, message = signin_token(world.endpoint, role, SessionDuration=bad)
        assert status == 400 and "900 and 43200" in message
    token_of(signin_token(world.endpoint, role, SessionDuration="43200"))
    chained = dict(signed_client("sts", world.endpoint, role).assume_role(
        RoleArn=NEXT, RoleSessionName="hop")["Credentials"])
    status, message = signin_token(world.endpoint, chained, SessionDuration="3601")
    assert status == 400 and "role chaining" in message
    token_of(signin_token(world.endpoint, chained, SessionDuration="3600"))
    token_of(signin_token(world.endpoint, chained))


def test_a_sign_in_token_expires_and_the_destination_must_be_https(world: World) -> None:
    token = token_of(signin_token(world.endpoint, world.role()))
    assert world.login(token, "http://console.aws.amazon.com/")[0] == 400
    assert world.login(token)[0] == 200  # a refused destination did not spend it
    world.double.services.federation.token_lifetime = 0  # older than 15 minutes, in effect
    late = token_of(signin_token(world.endpoint, world.role()))
    status, page = world.login(late)
    assert status == 400 and "expired" in page
    assert len(world.double.services.federation.logins) == 1
