"""The STS double is strict: real clients (boto3, the AWS CLI) against it, over loopback.

Each test gets a fresh double, so codes spent in one test never collide with another.
Codes for the current and the next 30-second step are always inside the ±1 step window;
the previous step's code is used only after ``away_from_step_edge``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from rolebar.core.stsdouble import StsDouble, User, totp

DEV = "arn:aws:iam::111111111111:role/developer"  # needs MFA
READER = "arn:aws:iam::111111111111:role/reader"  # needs no MFA
OPS = "arn:aws:iam::222222222222:role/ops/admin"  # needs MFA, 12 h max, a path in its ARN
FRESH = "arn:aws:iam::111111111111:role/break-glass"  # needs a code in the call itself
VENDOR = "arn:aws:iam::333333333333:role/vendor"  # needs ExternalId
AWS_CLI = str(Path(sys.executable).parent / "aws")

MSG_BAD_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
MSG_NOT_VALIDATED = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)


@dataclass
class World:
    double: StsDouble
    user: User
    other: User

    def client(self, key: str, secret: str, token: str | None = None, **config: Any) -> Any:
        """A boto3 STS client with no retries, so each fault shows."""
        options: dict[str, Any] = {"retries": {"total_max_attempts": 1}, **config}
        return boto3.client(
            "sts", region_name="us-east-1", endpoint_url=self.double.endpoint,
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            config=Config(**options),
        )

    def user_client(self, **config: Any) -> Any:
        return self.client(self.user.access_key_id, self.user.secret_access_key, **config)

    def client_for(self, credentials: dict[str, Any], **config: Any) -> Any:
        return self.client(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                           credentials["SessionToken"], **config)

    def mfa_session(self, **extra: Any) -> dict[str, Any]:
        answer = self.user_client().get_session_token(
            SerialNumber=self.user.mfa_serial, TokenCode=self.user.code(), **extra)
        return dict(answer["Credentials"])


@pytest.fixture
def world() -> Iterator[World]:
    double = StsDouble(role_lifetime=20, session_lifetime=180)
    user = double.add_user("member", account="000000000000")
    other = double.add_user("someone", account="000000000000")
    double.add_role(DEV, require_mfa=True)
    double.add_role(READER, require_mfa=False)
    double.add_role(OPS, require_mfa=True, max_session_duration=43200)
    double.add_role(FRESH, require_mfa=True, allow_session_route=False)
    double.add_role(VENDOR, require_mfa=False, external_id="vendor-123")
    double.start()
    yield World(double, user, other)
    double.stop()


def error_of(call: Callable[[], object]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response: Any = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def away_from_step_edge() -> None:
    """Wait out the last seconds of a TOTP step, so the previous step's code stays valid."""
    if time.time() % 30 > 20:
        time.sleep(30.05 - time.time() % 30)


def a_wrong_code(user: User) -> str:
    now = time.time()
    valid = {user.code(now + 30 * k) for k in (-2, -1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(123456, 1_000_000) if f"{n:06d}" not in valid)


def seconds_left(credentials: dict[str, Any]) -> float:
    return float(credentials["Expiration"].timestamp() - time.time())


def test_the_double_imports_only_the_stdlib() -> None:
    probe = (
        "import sys; before = set(sys.modules); import rolebar.core.stsdouble;"
        "print(sorted(m for m in set(sys.modules) - before"
        " if m.split('.')[0] not in sys.stdlib_module_names"
        " and m not in ('rolebar', 'rolebar.core') and not m.startswith('rolebar.core.stsdouble')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "[]\n"


# -- TOTP -------------------------------------------------------------------------------------


def test_totp_matches_the_rfc_6238_sha1_vectors() -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp(secret, 59) == "287082"
    assert totp(secret, 1111111109) == "081804"
    assert totp(secret, 1234567890) == "005924"
    assert totp(secret.lower(), 59) == "287082"


# -- the happy paths --------------------------------------------------------------------------


def test_mfa_session_then_role_without_a_code(world: World) -> None:
    code = world.user.code()
    session = world.user_client().get_session_token(
        SerialNumber=world.user.mfa_serial, TokenCode=code, DurationSeconds=3600)["Credentials"]
    assert session["AccessKeyId"].startswith("ASIA")
    assert 0 < seconds_left(session) <= 181  # session_lifetime caps the 3600 asked for
    as_session = world.client_for(session)
    assert as_session.get_caller_identity()["Arn"] == world.user.arn

    answer = as_session.assume_role(RoleArn=DEV, RoleSessionName="me")
    role = answer["Credentials"]
    assert answer["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/developer/me"
    assert 0 < seconds_left(role) <= 21  # role_lifetime caps the default 3600
    identity = world.client_for(role).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::111111111111:assumed-role/developer/me"
    assert identity["Account"] == "111111111111"
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":me")

    double = world.double
    assert double.counts == {"GetSessionToken": 1, "AssumeRole": 1, "GetCallerIdentity": 2}
    assert double.codes_seen == {world.user.mfa_serial: [code]}
    issued = {session["SecretAccessKey"], session["SessionToken"], role["SecretAccessKey"],
              role["SessionToken"], world.user.secret_access_key}
    assert issued <= set(double.secrets())
    records = repr(double.calls) + repr(world.user)
    assert not [s for s in double.secrets() if s in records]


def test_direct_assume_role_with_a_code_and_a_path_role(world: World) -> None:
    answer = world.user_client().assume_role(
        RoleArn=OPS, RoleSessionName="ops@home", DurationSeconds=7200,
        SerialNumber=world.user.mfa_serial, TokenCode=world.user.code())
    assert answer["AssumedRoleUser"]["Arn"] == (
        "arn:aws:sts::222222222222:assumed-role/admin/ops@home")
    assert seconds_left(answer["Credentials"]) <= 21  # role_lifetime wins over 7200


def test_role_chaining_keeps_mfa_and_is_capped_at_one_hour(world: World) -> None:
    dev = world.client_for(world.mfa_session()).assume_role(
        RoleArn=DEV, RoleSessionName="first")["Credentials"]
    as_dev = world.client_for(dev)
    assert error_of(lambda: as_dev.assume_role(
        RoleArn=OPS, RoleSessionName="second", DurationSeconds=3601)) == (
        "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
        "for roles assumed by role chaining.", 400)
    chained = as_dev.assume_role(RoleArn=OPS, RoleSessionName="second", DurationSeconds=3600)
    assert chained["AssumedRoleUser"]["Arn"].endswith(":assumed-role/admin/second")


# -- codes ------------------------------------------------------------------------------------


def test_a_code_is_accepted_once_only(world: World) -> None:
    code = world.user.code()
    client = world.user_client()
    client.get_session_token(SerialNumber=world.user.mfa_serial, TokenCode=code)
    again = ("AccessDenied", MSG_NOT_VALIDATED, 403)
    assert error_of(lambda: client.get_session_token(
        SerialNumber=world.user.mfa_serial, TokenCode=code)) == again
    assert error_of(lambda: client.assume_role(
        RoleArn=DEV, RoleSessionName="me", SerialNumber=world.user.mfa_serial,
        TokenCode=code)) == again
    assert world.double.codes_seen[world.user.mfa_serial] == [code, code, code]
    # The next step's code is a new code.
    client.assume_role(RoleArn=DEV, RoleSessionName="me", SerialNumber=world.user.mfa_serial,
                       TokenCode=world.user.code(time.time() + 30))


def test_wrong_code_is_rejected_and_spends_nothing(world: World) -> None:
    client = world.user_client()
    serial = world.user.mfa_serial
    assert error_of(lambda: client.get_session_token(
        SerialNumber=serial, TokenCode=a_wrong_code(world.user))) == (
        "AccessDenied", MSG_BAD_CODE, 403)
    far_ahead = world.user.code(time.time() + 90)  # still 2+ steps ahead if a step passes
    assert error_of(lambda: client.get_session_token(
        SerialNumber=serial, TokenCode=far_ahead))[0] == "AccessDenied"
    client.get_session_token(SerialNumber=serial, TokenCode=world.user.code())
    assert world.double.counts["GetSessionToken"] == 1


def test_the_window_is_one_step_either_side(world: World) -> None:
    away_from_step_edge()
    client = world.user_client()
    for offset in (-30, 30):
        client.get_session_token(SerialNumber=world.user.mfa_serial,
                                 TokenCode=world.user.code(time.time() + offset))
    assert world.double.counts["GetSessionToken"] == 2


def test_a_device_must_be_the_callers(world: World) -> None:
    client = world.user_client()
    assert error_of(lambda: client.get_session_token(
        SerialNumber=world.other.mfa_serial, TokenCode=world.other.code())) == (
        "AccessDenied", MSG_NOT_VALIDATED, 403)
    assert error_of(lambda: client.get_session_token(
        SerialNumber=world.user.mfa_serial))[0] == "AccessDenied"  # no TokenCode


# -- keys, signatures, tokens, expiry ---------------------------------------------------------


def test_unknown_key_and_tampered_secret_are_rejected(world: World) -> None:
    unknown = world.client("AKIAIOSFODNN7EXAMPLE", world.user.secret_access_key)
    assert error_of(unknown.get_caller_identity) == (
        "InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    tampered = world.client(world.user.access_key_id, world.user.secret_access_key[:-1] + "x")
    code, message, status = error_of(tampered.get_caller_identity)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("The request signature we calculated does not match")
    assert [c.code for c in world.double.calls] == ["InvalidClientTokenId",
                                                    "SignatureDoesNotMatch"]


def test_session_token_must_match_the_key(world: World) -> None:
    session = world.mfa_session()
    bad = ("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    no_token = world.client(session["AccessKeyId"], session["SecretAccessKey"])
    assert error_of(no_token.get_caller_identity) == bad
    wrong = session["SessionToken"][:-4] + ("AAAA" if not session["SessionToken"].endswith("AAAA")
                                            else "BBBB")
    other = world.client(session["AccessKeyId"], session["SecretAccessKey"], wrong)
    assert error_of(other.get_caller_identity) == bad
    long_term_with_token = world.client(world.user.access_key_id, world.user.secret_access_key,
                                        session["SessionToken"])
    assert error_of(long_term_with_token.get_caller_identity) == bad


def test_expired_credentials_are_rejected(world: World) -> None:
    world.double.session_lifetime = 2
    world.double.role_lifetime = 2
    client = world.user_client()  # one client for both, so neither waits on the other
    role = client.assume_role(RoleArn=READER, RoleSessionName="brief")["Credentials"]
    session = client.get_session_token(DurationSeconds=900)["Credentials"]
    assert seconds_left(session) <= 3 and seconds_left(role) <= 3
    time.sleep(max(seconds_left(session), seconds_left(role)) + 0.1)
    expired = ("ExpiredToken", "The security token included in the request is expired", 400)
    assert error_of(world.client_for(session).get_caller_identity) == expired
    assert error_of(world.client_for(role).get_caller_identity) == expired


def test_signature_check_follows_the_spec_not_one_sdk(world: World) -> None:
    """Header case, order, repeated spaces and a charset-less content type all verify."""

    def send(content_type: str, mangle: Callable[[str], str], body: str) -> int:
        request = AWSRequest(
            method="POST", url=world.double.endpoint + "/",
            data="Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": content_type, "X-Amz-Meta-Probe": "a   b  c"},
        )
        credentials = Credentials(world.user.access_key_id, world.user.secret_access_key)
        botocore.auth.SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
        connection = http.client.HTTPConnection("127.0.0.1", world.double.port, timeout=5)
        connection.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        connection.putheader("HOST", f"127.0.0.1:{world.double.port}")
        for name, value in reversed(list(request.headers.items())):
            connection.putheader(mangle(name), value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body.encode())
        status = connection.getresponse().status
        connection.close()
        return status

    good = "Action=GetCallerIdentity&Version=2011-06-15"
    assert send("application/x-www-form-urlencoded", str.lower, good) == 200
    assert send("application/x-www-form-urlencoded; charset=utf-8", str.upper, good) == 200
    assert send("application/x-www-form-urlencoded", str.swapcase, good + "&x=1") == 403


def test_requests_outside_the_clock_window_are_rejected(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda *a, **k: real(*a, **k) - timedelta(minutes=16))
    code, message, status = error_of(world.user_client().get_caller_identity)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("Signature expired: ")


# -- action rules -----------------------------------------------------------------------------


def test_get_session_token_needs_long_term_keys_and_a_sane_duration(world: World) -> None:
    session = world.client_for(world.mfa_session())
    assert error_of(session.get_session_token) == (
        "AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    lax = world.user_client(parameter_validation=False)
    for duration in (899, 129601):
        code, message, status = error_of(lambda d=duration: lax.get_session_token(
            DurationSeconds=d))
        assert (code, status) == ("ValidationError", 400)
        assert message.startswith("1 validation error detected: ") and "durationSeconds" in message
    plain = world.user_client().get_session_token(DurationSeconds=900)["Credentials"]
    assert error_of(lambda: world.client_for(plain).assume_role(
        RoleArn=DEV, RoleSessionName="me"))[0] == "AccessDenied"  # a session without MFA


def test_mfa_roles_refuse_callers_without_mfa(world: World) -> None:
    client = world.user_client()
    assert error_of(lambda: client.assume_role(RoleArn=DEV, RoleSessionName="me")) == (
        "AccessDenied", f"User: {world.user.arn} is not authorized to perform: sts:AssumeRole "
        f"on resource: {DEV}", 403)
    assert client.assume_role(RoleArn=READER, RoleSessionName="me")["Credentials"]


def test_a_fresh_code_role_refuses_the_session_route(world: World) -> None:
    session = world.client_for(world.mfa_session())
    assert error_of(lambda: session.assume_role(
        RoleArn=FRESH, RoleSessionName="me"))[0] == "AccessDenied"
    session.assume_role(RoleArn=FRESH, RoleSessionName="me", SerialNumber=world.user.mfa_serial,
                        TokenCode=world.user.code(time.time() + 30))


def test_assume_role_validates_its_parameters(world: World) -> None:
    lax = world.user_client(parameter_validation=False)
    unknown = "arn:aws:iam::111111111111:role/nobody"
    assert error_of(lambda: lax.assume_role(RoleArn=unknown, RoleSessionName="me")) == (
        "AccessDenied", f"User: {world.user.arn} is not authorized to perform: sts:AssumeRole "
        f"on resource: {unknown}", 403)
    assert error_of(lambda: lax.assume_role(
        RoleArn="not-an-arn-but-long-enough", RoleSessionName="me")) == (
        "ValidationError", "Request ARN is invalid", 400)
    for name in ("x", "no spaces allowed", "y" * 65):
        code, message, _ = error_of(lambda n=name: lax.assume_role(
            RoleArn=READER, RoleSessionName=n))
        assert code == "ValidationError" and "roleSessionName" in message
    assert error_of(lambda: lax.assume_role(RoleArn=READER))[0] == "ValidationError"
    assert error_of(lambda: lax.assume_role(
        RoleArn=DEV, RoleSessionName="me", DurationSeconds=7200,
        SerialNumber=world.user.mfa_serial, TokenCode=world.user.code())) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
        "for this role.", 400)
    assert error_of(lambda: lax.assume_role(
        RoleArn=VENDOR, RoleSessionName="me", ExternalId="wrong-id"))[0] == "AccessDenied"
    lax.assume_role(RoleArn=VENDOR, RoleSessionName="me", ExternalId="vendor-123")


# -- the AWS CLI ------------------------------------------------------------------------------


def test_aws_cli_get_caller_identity(world: World) -> None:
    world.double.role_lifetime = 3600  # each CLI start takes seconds on a loaded machine
    role = world.client_for(world.mfa_session()).assume_role(
        RoleArn=DEV, RoleSessionName="cli")["Credentials"]

    def aws(key: str, secret: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"],
               "AWS_ENDPOINT_URL_STS": world.double.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
        if token is not None:
            env["AWS_SESSION_TOKEN"] = token
        return subprocess.run([AWS_CLI, "sts", "get-caller-identity", "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)

    as_user = aws(world.user.access_key_id, world.user.secret_access_key)
    assert as_user.returncode == 0, as_user.stderr
    assert json.loads(as_user.stdout)["Arn"] == world.user.arn
    as_role = aws(role["AccessKeyId"], role["SecretAccessKey"], role["SessionToken"])
    assert as_role.returncode == 0, as_role.stderr
    assert json.loads(as_role.stdout)["Arn"] == (
        "arn:aws:sts::111111111111:assumed-role/developer/cli")
    secret = world.user.secret_access_key
    tampered = aws(world.user.access_key_id, ("y" if secret[0] == "x" else "x") + secret[1:])
    assert tampered.returncode != 0 and "SignatureDoesNotMatch" in tampered.stderr


# -- faults -----------------------------------------------------------------------------------


def test_fault_500_and_throttle(world: World) -> None:
    client = world.user_client()
    world.double.inject("500", count=1)
    assert error_of(client.get_caller_identity) == (
        "InternalFailure", "An internal error has occurred", 500)
    world.double.inject("throttle", count=1)
    assert error_of(client.get_caller_identity) == ("Throttling", "Rate exceeded", 400)
    client.get_caller_identity()
    # botocore's own retries ride out a short burst.
    world.double.inject("500", count=2)
    world.user_client(retries={"mode": "standard", "max_attempts": 3}).get_caller_identity()
    assert [c.code for c in world.double.calls] == [
        "InternalFailure", "Throttling", "OK", "InternalFailure", "InternalFailure", "OK"]


def test_fault_until_cleared(world: World) -> None:
    client = world.user_client()
    world.double.inject("throttle")
    for _ in range(3):
        assert error_of(client.get_caller_identity)[0] == "Throttling"
    world.double.clear()
    client.get_caller_identity()
    with pytest.raises(ValueError):
        world.double.inject("teapot")


def test_fault_stall(world: World) -> None:
    world.double.stall_seconds = 0.6
    world.double.inject("stall", count=1)
    started = time.monotonic()
    world.user_client().get_caller_identity()
    assert time.monotonic() - started >= 0.6
    world.double.inject("stall", count=1, seconds=5)
    with pytest.raises(ReadTimeoutError):
        world.user_client(read_timeout=0.5).get_caller_identity()
    # clear() releases a stalled request at once.
    world.double.inject("stall", seconds=30)
    threading.Timer(0.3, world.double.clear).start()
    started = time.monotonic()
    world.user_client().get_caller_identity()
    assert time.monotonic() - started < 5


def test_fault_reset(world: World) -> None:
    world.double.inject("reset", count=1)
    with pytest.raises(ConnectionClosedError):
        world.user_client().get_caller_identity()
    assert world.double.calls[-1].code == "reset"


def test_stop_refuses_connections_and_start_reuses_the_port(world: World) -> None:
    client = world.user_client()
    client.get_caller_identity()  # leaves a kept-alive connection in the pool
    endpoint = world.double.endpoint
    world.double.stop()
    with pytest.raises(EndpointConnectionError):
        client.get_caller_identity()
    assert world.double.start() == endpoint
    client.get_caller_identity()


def test_admin_channel(world: World) -> None:
    def admin(path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(world.double.endpoint + "/_double/" + path,
                                         method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    world.user_client().get_caller_identity()
    assert admin("counts")["GetCallerIdentity"] == 1
    assert admin("inject?fault=500&count=1", "POST") == {"ok": True}
    assert error_of(world.user_client().get_caller_identity)[0] == "InternalFailure"
    assert admin("config?role_lifetime=7", "POST")["role_lifetime"] == 7
    assert [c["code"] for c in admin("calls")] == ["OK", "InternalFailure"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin("inject?fault=teapot", "POST")
    assert caught.value.code == 400


# -- process mode -----------------------------------------------------------------------------


def start_process(state: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "rolebar.core.stsdouble", "--state", str(state), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_process_mode_serves_until_sigterm(tmp_path: Path) -> None:
    state_file = tmp_path / "double.json"
    process, endpoint = start_process(state_file, "--role", DEV, "--role-lifetime", "20")
    try:
        assert endpoint.startswith("http://127.0.0.1:")
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        state = json.loads(state_file.read_text())
        assert state["endpoint"] == endpoint
        user = state["user"]
        client = boto3.client(
            "sts", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id=user["access_key_id"],
            aws_secret_access_key=user["secret_access_key"],
        )
        code = totp(user["totp_secret"])
        role = client.assume_role(RoleArn=DEV, RoleSessionName="proc",
                                  SerialNumber=user["mfa_serial"], TokenCode=code)["Credentials"]
        assert role["Expiration"].timestamp() - time.time() <= 21
        with urllib.request.urlopen(endpoint + "/_double/counts", timeout=5) as response:
            assert json.load(response)["AssumeRole"] == 1
        with urllib.request.urlopen(endpoint + "/_double/codes_seen", timeout=5) as response:
            assert json.load(response) == {user["mfa_serial"]: [code]}
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert user["secret_access_key"] not in out + err


def test_process_mode_exits_0_on_sigint(tmp_path: Path) -> None:
    process, endpoint = start_process(tmp_path / "state.json")
    assert endpoint.startswith("http://127.0.0.1:")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
