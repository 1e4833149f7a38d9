"""The double's services share its port, its fault switch, its counters and its process mode."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from rolebar.core.stsdouble import StsDouble, User, totp
from tests.loopback.clients.awsdouble import (
    DEVICE_GRANT,
    START_URL,
    error_of,
    oidc_client,
    portal_client,
    signed_client,
    visit,
)

ACCOUNT = "111111111111"


@pytest.fixture
def double() -> Iterator[StsDouble]:
    double = StsDouble()
    double.services.add_sso_account(ACCOUNT, "dev", ("Developer",))
    double.start()
    yield double
    double.stop()


def keys_of(user: User) -> dict[str, str]:
    return {"AccessKeyId": user.access_key_id, "SecretAccessKey": user.secret_access_key}


def test_faults_reach_every_service(double: StsDouble) -> None:
    user = double.add_user("member")
    oidc, portal = oidc_client(double.endpoint), portal_client(double.endpoint)
    iam = signed_client("iam", double.endpoint, keys_of(user))
    double.inject("500", count=1)
    assert error_of(lambda: oidc.register_client(clientName="c", clientType="public")) == (
        "InternalServerException", "An internal error has occurred", 500)
    double.inject("throttle", count=1)
    assert error_of(lambda: portal.list_accounts(accessToken="aoa" + "C" * 60))[::2] == (
        "TooManyRequestsException", 429)
    double.inject("500", count=1)
    assert error_of(iam.list_access_keys)[::2] == ("ServiceFailure", 500)
    double.inject("throttle", count=1)
    assert visit(f"{double.endpoint}/federation?Action=login")[0] == 429
    double.inject("reset", count=1)
    with pytest.raises(ConnectionClosedError):
        iam.list_access_keys()
    assert iam.list_access_keys()["AccessKeyMetadata"]
    assert [(c.action, c.code) for c in double.calls] == [
        ("RegisterClient", "InternalServerException"),
        ("ListAccounts", "TooManyRequestsException"), ("ListAccessKeys", "ServiceFailure"),
        ("login", "TooManyRequestsException"), ("ListAccessKeys", "reset"),
        ("ListAccessKeys", "OK")]
    assert double.calls[-1].key_id == user.access_key_id


def test_reset_after_carries_the_request_out(double: StsDouble) -> None:
    """The answer is lost but the work is done: a created key exists (a retry hits the limit
    sooner than the client thinks)."""
    user = double.add_user("member")
    sts = signed_client("sts", double.endpoint, keys_of(user))
    session = sts.get_session_token(SerialNumber=user.mfa_serial, TokenCode=user.code())
    iam = signed_client("iam", double.endpoint, dict(session["Credentials"]))
    double.inject("reset-after", count=1)
    with pytest.raises(ConnectionClosedError):
        iam.create_access_key()
    assert len(iam.list_access_keys()["AccessKeyMetadata"]) == 2
    assert error_of(iam.create_access_key)[0] == "LimitExceeded"
    created = [c for c in double.calls if c.action == "CreateAccessKey"]
    assert [(c.code, c.answered) for c in created] == [("OK", False), ("LimitExceeded", True)]


def test_counts_include_every_service(double: StsDouble) -> None:
    oidc = oidc_client(double.endpoint)
    client = oidc.register_client(clientName="c", clientType="public", scopes=["sso:x"])
    assert double.counts["RegisterClient"] == 1
    assert double.counts["GetSessionToken"] == 0 and "CreateToken" not in double.counts
    assert error_of(lambda: oidc.create_token(
        clientId=client["clientId"], clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT, deviceCode="nope"))[0] == "InvalidGrantException"
    assert "CreateToken" not in double.counts  # counts are successful calls only
    assert double.calls[-1].code == "InvalidGrantException"
    status, _, _ = visit(f"{double.endpoint}/token")  # GET on a POST operation
    assert status == 404


def test_the_secrets_of_every_service_are_listed_for_leak_hunts(double: StsDouble) -> None:
    oidc = oidc_client(double.endpoint)
    client = oidc.register_client(clientName="c", clientType="public", scopes=["sso:x"])
    device = oidc.start_device_authorization(clientId=client["clientId"],
                                             clientSecret=client["clientSecret"],
                                             startUrl=START_URL)
    double.services.approve()
    token = oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"],
                              grantType=DEVICE_GRANT, deviceCode=device["deviceCode"])
    role = portal_client(double.endpoint).get_role_credentials(
        accessToken=token["accessToken"], accountId=ACCOUNT,
        roleName="Developer")["roleCredentials"]
    known = set(double.secrets())
    assert {client["clientSecret"], device["deviceCode"], token["accessToken"],
            token["refreshToken"], role["secretAccessKey"], role["sessionToken"]} <= known
    assert not any(device["userCode"] in repr(call) for call in double.calls)


# -- process mode -------------------------------------------------------------------------------


def admin(endpoint: str, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(f"{endpoint}/_double/{path}", method=method,
                                     data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def test_process_mode_serves_the_other_services(tmp_path: Path) -> None:
    state_file = tmp_path / "double.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "rolebar.core.stsdouble", "--state", str(state_file),
         "--sso-account", f"{ACCOUNT}=dev", "--sso-role", f"{ACCOUNT}:Developer",
         "--sso-role", "222222222222:Admin", "--access-token-lifetime", "120",
         "--sso-user", "ann@example.com"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    try:
        state = json.loads(state_file.read_text())
        assert state["endpoints"]["sso_oidc"] == state["endpoints"]["iam"] == endpoint
        assert state["sso"]["accounts"] == [
            {"id": ACCOUNT, "name": "dev", "roles": ["Developer"]},
            {"id": "222222222222", "name": "account-222222222222", "roles": ["Admin"]}]
        assert state["sso"]["access_token_lifetime"] == 120
        oidc = oidc_client(endpoint)
        client = oidc.register_client(clientName="c", clientType="public", scopes=["sso:x"])
        ids = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}
        device = oidc.start_device_authorization(**ids, startUrl=START_URL)
        assert admin(endpoint, "sso_pending") == [device["userCode"]]
        assert admin(endpoint, f"sso_approve?user_code={device['userCode']}", "POST") == {
            "count": 1}
        token = oidc.create_token(**ids, grantType=DEVICE_GRANT, deviceCode=device["deviceCode"])
        assert token["expiresIn"] == 120
        role = portal_client(endpoint).get_role_credentials(
            accessToken=token["accessToken"], accountId=ACCOUNT,
            roleName="Developer")["roleCredentials"]
        arn = signed_client("sts", endpoint, role).get_caller_identity()["Arn"]
        assert arn.endswith("/ann@example.com")
        counts = admin(endpoint, "counts")
        assert counts["CreateToken"] == counts["GetRoleCredentials"] == 1
        assert admin(endpoint, "sso_grants")[DEVICE_GRANT] == 1
        assert admin(endpoint, "sso_revoke", "POST") == {"count": 1}
        check_admin_changes(endpoint, state["user"])
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_process_mode_refuses_bad_service_options(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rolebar.core.stsdouble", "--state", str(tmp_path / "s.json"),
         "--sso-role", "12345:Developer"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not an account id" in done.stderr


def check_admin_changes(endpoint: str, user: dict[str, str]) -> None:
    assert admin(endpoint, "sso_config?browser=deny", "POST")["browser"] == "deny"
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin(endpoint, "sso_config?browser=maybe", "POST")
    assert caught.value.code == 400
    assert admin(endpoint, "iam_config?consistency_calls=3", "POST")["consistency_calls"] == 3
    sts = signed_client("sts", endpoint, {"AccessKeyId": user["access_key_id"],
                                          "SecretAccessKey": user["secret_access_key"]})
    session = sts.get_session_token(SerialNumber=user["mfa_serial"],
                                    TokenCode=totp(user["totp_secret"]))["Credentials"]
    new = signed_client("iam", endpoint, dict(session)).create_access_key()["AccessKey"]
    assert error_of(signed_client("sts", endpoint, new).get_caller_identity)[0] == (
        "InvalidClientTokenId")  # the first of three refused attempts
