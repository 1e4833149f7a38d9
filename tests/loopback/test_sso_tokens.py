"""Tokens shared with the AWS CLI and boto3 both ways, renewed with rotating refresh tokens
under one lock across processes, and role credentials from the portal, with the portal's
and OIDC's refusals as one line each."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core.errors import ConfigError
from rolebar.core.sso import SignInNeeded, SsoConfig, Tokens, role_credentials, token
from tests.loopback.clients.awsdouble import SSO_DEV, device_sign_in, error_of, signed_client
from tests.loopback.clients.ssoworld import World, sso_setup

AWS = str(Path(sys.executable).parent / "aws")
BOTO3 = """\
import boto3, sys
print(boto3.Session(profile_name=sys.argv[1]).client("sts").get_caller_identity()["Arn"])
"""
RENEW = """\
from rolebar.core.sso import SsoConfig, token
print(token(SsoConfig.load().session("corp")).expires)
"""


@pytest.fixture
def world(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from sso_setup(home, monkeypatch)


def refresh_grants(world: World) -> int:
    return world.sso.double.services.oidc.grants_issued["refresh_token"]


def run(world: World, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=world.env, capture_output=True, text=True, timeout=60)


def identity_with(credentials: object, world: World) -> str:
    keys = {"AccessKeyId": credentials.access_key_id,  # type: ignore[attr-defined]
            "SecretAccessKey": credentials.secret_access_key,  # type: ignore[attr-defined]
            "SessionToken": credentials.session_token}  # type: ignore[attr-defined]
    return str(signed_client("sts", world.sso.endpoint, keys).get_caller_identity()["Arn"])


def test_boto3_and_the_aws_cli_use_rolebars_sign_in(world: World) -> None:
    assert world.run("login", "sso-dev").returncode == 0
    assert world.run("login", "old-style").returncode == 0
    for profile, role in (("sso-dev", "Developer"), ("old-style", "ReadOnly")):
        sdk = run(world, [sys.executable, "-c", BOTO3, profile])
        assert sdk.returncode == 0, sdk.stderr
        assert f":assumed-role/AWSReservedSSO_{role}_" in sdk.stdout
        cli = run(world, [AWS, "sts", "get-caller-identity", "--profile", profile,
                          "--output", "json"])
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["Account"] == SSO_DEV
    assert world.sso.double.counts["GetRoleCredentials"] == 4
    assert world.sso.double.counts["RegisterClient"] == 2  # rolebar's own: code and device
    assert refresh_grants(world) == 0  # nobody signed in or renewed on their own


def test_a_token_the_cli_wrote_serves_rolebar(world: World) -> None:
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() + 3600)
    role = SsoConfig.load().role("sso-dev")
    credentials = role_credentials(role.session, role.account_id, role.role_name,
                                   profile=role.profile)
    assert ":assumed-role/AWSReservedSSO_Developer_" in identity_with(credentials, world)
    assert credentials.expires - time.time() > 3000
    assert world.sso.double.counts.get("RegisterClient") == 1  # the test's own, as the CLI's
    assert world.sso.token_calls() == ["OK"] and refresh_grants(world) == 0


def test_rolebar_renews_a_cli_token_and_the_cli_uses_the_renewal(world: World) -> None:
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() - 60)  # expired
    session = SsoConfig.load().session("corp")
    bearer = token(session)
    assert bearer.value != signed["accessToken"] and bearer.expires > time.time() + 3000
    saved = world.token()
    assert saved["accessToken"] == bearer.value
    assert saved["refreshToken"] != signed["refreshToken"]  # rotated, and kept
    assert saved["clientId"] == client["clientId"]  # the CLI's registration, as it was
    assert refresh_grants(world) == 1
    cli = run(world, [AWS, "sts", "get-caller-identity", "--profile", "sso-dev"])
    assert cli.returncode == 0, cli.stderr
    assert refresh_grants(world) == 1  # the AWS CLI took rolebar's renewal as is


def test_refresh_tokens_rotate_and_one_process_renews_for_all(world: World) -> None:
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() - 60)
    procs = [subprocess.Popen([sys.executable, "-c", RENEW], env=world.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(6)]
    answers = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in answers]
    assert len({out for out, _ in answers}) == 1  # all got the same token
    assert refresh_grants(world) == 1
    first = world.token()
    session = SsoConfig.load().session("corp")
    second = Tokens().token(session, window=7200)  # nearer its end than asked: renewed
    assert second.value != first["accessToken"] and refresh_grants(world) == 2
    assert world.token()["refreshToken"] not in (first["refreshToken"], signed["refreshToken"])
    for spent in (signed["refreshToken"], first["refreshToken"]):
        assert error_of(lambda spent=spent: world.sso.refresh(client, spent))[0] == (
            "InvalidGrantException")


def test_sign_in_needed_when_renewal_cannot_work(world: World) -> None:
    session = SsoConfig.load().session("corp")
    with pytest.raises(SignInNeeded) as caught:
        token(session)
    assert caught.value.reason == "not-signed-in"
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() + 3600, start_url="https://other/start")
    with pytest.raises(SignInNeeded) as caught:
        token(session)
    assert caught.value.reason == "other-start-url"  # the session's start URL was changed
    stale = dict(client, clientSecretExpiresAt=int(time.time()) - 1)
    world.write_cli_token(stale, signed, time.time() - 60)
    with pytest.raises(SignInNeeded) as caught:
        token(session)
    assert str(caught.value) == (
        "sso-session corp: sign-in needed: the client registration has expired; "
        "run `rolebar login --sso-session corp`")
    assert caught.value.exit_code == 1 and world.sso.token_calls() == ["OK"]  # none tried
    world.write_cli_token(client, signed, time.time() - 60)
    world.sso.double.services.revoke()  # the refresh token, at IAM Identity Center
    with pytest.raises(SignInNeeded) as caught:
        token(session)
    assert caught.value.reason == "refresh-refused"
    assert "InvalidGrantException" in world.sso.token_calls()
    legacy = SsoConfig.load().for_profile("old-style")
    world.write_cli_token(client, {"accessToken": signed["accessToken"]}, time.time() - 60,
                          key=legacy.cache_key, start_url=legacy.start_url)
    with pytest.raises(SignInNeeded, match=r"profile old-style: sign-in needed: the sign-in "
                       r"has expired; run `rolebar login old-style`"):
        token(legacy)


def test_a_registration_that_ended_early_needs_a_sign_in(world: World) -> None:
    world.sso.double.services.sso.registration_lifetime = 1
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(dict(client, clientSecretExpiresAt=time.time() + 86400), signed,
                          time.time() - 60)
    time.sleep(1.1)
    with pytest.raises(SignInNeeded) as caught:
        token(SsoConfig.load().session("corp"))
    assert caught.value.reason == "registration-expired"
    assert world.sso.token_calls()[-1] == "InvalidClientException"


def test_portal_refusals(world: World) -> None:
    assert world.run("login", "sso-dev").returncode == 0
    role = SsoConfig.load().role("sso-dev")
    with pytest.raises(ConfigError) as caught:
        role_credentials(role.session, SSO_DEV, "Admin", profile="sso-dev")
    assert str(caught.value) == ("profile sso-dev: IAM Identity Center gives no access to role "
                                 f"Admin in account {SSO_DEV} (ForbiddenException)")
    # Signed out elsewhere (the access token refused): renewed once, and used again.
    world.sso.portal.logout(accessToken=world.token()["accessToken"])
    with pytest.raises(SignInNeeded) as gone:
        role_credentials(role.session, role.account_id, role.role_name, profile="sso-dev")
    assert gone.value.reason == "signed-out"
    assert world.sso.token_calls()[-1] == "InvalidGrantException"  # the renewal was tried


def test_a_refused_access_token_is_renewed_once(world: World) -> None:
    assert world.run("login", "sso-dev").returncode == 0
    role = SsoConfig.load().role("sso-dev")
    saved = world.token()
    with world.sso.double._lock:  # the portal forgets this access token, the sign-in lives
        del world.sso.double.services.tokens.access[saved["accessToken"]]
    credentials = role_credentials(role.session, role.account_id, role.role_name)
    assert ":assumed-role/AWSReservedSSO_Developer_" in identity_with(credentials, world)
    assert refresh_grants(world) == 1 and world.token()["accessToken"] != saved["accessToken"]
