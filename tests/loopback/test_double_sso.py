"""The double's IAM Identity Center portal (boto3 `sso`), its role credentials real to STS,
and the SDKs' own SSO providers (a boto3 `sso_session` profile and the AWS CLI in child
processes) signing in through the double."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest

from tests.loopback.clients.awsdouble import (
    CHAINED,
    GUARDED,
    START_URL,
    Sso,
    device_sign_in,
    error_of,
    portal_client,
    signed_client,
    sso_world,
)
from tests.loopback.clients.awsdouble import SSO_DEV as DEV
from tests.loopback.clients.awsdouble import SSO_PROD as PROD


@pytest.fixture
def sso() -> Iterator[Sso]:
    yield from sso_world()


# -- the portal -----------------------------------------------------------------------------------


def test_portal_role_credentials_are_real_to_sts(sso: Sso) -> None:
    sso.double.services.sso.role_lifetime = 1200
    _, token = device_sign_in(sso.double, sso.oidc)
    answer = sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId=DEV,
                                             roleName="Developer")["roleCredentials"]
    assert 0 < answer["expiration"] / 1000 - time.time() <= 1201  # epoch milliseconds
    sts = signed_client("sts", sso.endpoint, answer)
    identity = sts.get_caller_identity()
    assert identity["Account"] == DEV
    assert identity["Arn"].startswith(
        f"arn:aws:sts::{DEV}:assumed-role/AWSReservedSSO_Developer_")
    assert identity["Arn"].endswith("/member")
    chained = sts.assume_role(RoleArn=CHAINED, RoleSessionName="deploy")["Credentials"]
    assert signed_client("sts", sso.endpoint, chained).get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{DEV}:assumed-role/deployer/deploy")
    assert error_of(lambda: sts.assume_role(RoleArn=CHAINED, RoleSessionName="xx",
                                            DurationSeconds=7200))[0] == "ValidationError"
    assert error_of(lambda: sts.assume_role(RoleArn=GUARDED, RoleSessionName="xx"))[0] == (
        "AccessDenied")


def test_portal_role_credentials_expire(sso: Sso) -> None:
    sso.double.services.sso.role_lifetime = 1
    _, token = device_sign_in(sso.double, sso.oidc)
    answer = sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId=PROD,
                                             roleName="Admin")["roleCredentials"]
    time.sleep(answer["expiration"] / 1000 - time.time() + 0.1)  # whole seconds, rounded up
    assert error_of(signed_client("sts", sso.endpoint, answer).get_caller_identity)[0] == (
        "ExpiredToken")


def test_portal_refuses_unknown_tokens_and_unassigned_roles(sso: Sso) -> None:
    _, token = device_sign_in(sso.double, sso.oidc)
    access = token["accessToken"]
    assert error_of(lambda: sso.portal.get_role_credentials(
        accessToken="aoa" + "B" * 80, accountId=DEV, roleName="Developer")) == (
        "UnauthorizedException", "Session token not found or invalid", 401)
    for account, role in ((DEV, "Admin"), ("333333333333", "Developer")):
        assert error_of(partial(sso.portal.get_role_credentials, accessToken=access,
                                accountId=account, roleName=role)) == (
            "ForbiddenException", "No access", 403)
    assert error_of(lambda: sso.portal.list_account_roles(
        accessToken=access, accountId="333333333333"))[0] == "ForbiddenException"
    lax = portal_client(sso.endpoint, parameter_validation=False)
    assert error_of(lambda: lax.get_role_credentials(
        accessToken=access, accountId="not-an-id", roleName="Developer"))[::2] == (
        "InvalidRequestException", 400)


def test_portal_lists_pages_of_accounts_and_roles(sso: Sso) -> None:
    _, token = device_sign_in(sso.double, sso.oidc)
    access = token["accessToken"]
    first = sso.portal.list_account_roles(accessToken=access, accountId=DEV, maxResults=2)
    assert [r["roleName"] for r in first["roleList"]] == ["Billing", "Developer"]
    rest = sso.portal.list_account_roles(accessToken=access, accountId=DEV, maxResults=2,
                                         nextToken=first["nextToken"])
    assert [r["roleName"] for r in rest["roleList"]] == ["ReadOnly"] and "nextToken" not in rest
    pages = sso.portal.get_paginator("list_accounts").paginate(
        accessToken=access, PaginationConfig={"PageSize": 1})
    accounts = [a for page in pages for a in page["accountList"]]
    assert [(a["accountId"], a["accountName"]) for a in accounts] == [(DEV, "dev"),
                                                                     (PROD, "prod")]


def test_logout_ends_the_sign_in(sso: Sso) -> None:
    client, token = device_sign_in(sso.double, sso.oidc)
    renewed = sso.refresh(client, token["refreshToken"])
    sso.portal.logout(accessToken=renewed["accessToken"])
    for access in (token["accessToken"], renewed["accessToken"]):
        assert error_of(partial(sso.portal.list_accounts, accessToken=access))[0] == (
            "UnauthorizedException")
    assert error_of(lambda: sso.refresh(client, renewed["refreshToken"]))[0] == (
        "InvalidGrantException")
    assert error_of(lambda: sso.portal.logout(accessToken=renewed["accessToken"]))[0] == (
        "UnauthorizedException")
    assert sso.double.counts["Logout"] == 1


# -- the SDKs' own SSO providers ------------------------------------------------------------------

SDK_SCRIPT = """\
import boto3
print(boto3.Session(profile_name="sso-dev").client("sts").get_caller_identity()["Arn"])
"""


def test_boto3_and_the_aws_cli_use_an_sso_session_through_the_double(sso: Sso,
                                                                     home: Path) -> None:
    """A token cached the CLI's way, already expired: boto3's SSOTokenProvider renews it
    with the refresh grant (AWS_ENDPOINT_URL_SSO_OIDC), saves it, and its SSO provider
    takes role credentials from the portal (AWS_ENDPOINT_URL_SSO); the AWS CLI then uses
    the saved token as is."""
    client, token = device_sign_in(sso.double, sso.oidc)
    (home / ".aws" / "config").write_text(
        f"[profile sso-dev]\nsso_session = corp\nsso_account_id = {DEV}\n"
        f"sso_role_name = Developer\nregion = eu-west-1\n\n"
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n")
    cache = home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    cache.parent.mkdir(parents=True)
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    expires = datetime.fromtimestamp(client["clientSecretExpiresAt"], timezone.utc)
    cache.write_text(json.dumps({
        "startUrl": START_URL, "region": "us-east-1", "accessToken": token["accessToken"],
        "expiresAt": past.strftime("%Y-%m-%dT%H:%M:%SZ"), "clientId": client["clientId"],
        "clientSecret": client["clientSecret"], "refreshToken": token["refreshToken"],
        "registrationExpiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true",
           **{f"AWS_ENDPOINT_URL_{name}": sso.endpoint for name in ("STS", "SSO", "SSO_OIDC")}}
    done = subprocess.run([sys.executable, "-c", SDK_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ":assumed-role/AWSReservedSSO_Developer_" in done.stdout
    saved = json.loads(cache.read_text())
    assert saved["accessToken"] != token["accessToken"]
    assert saved["refreshToken"] != token["refreshToken"]  # rotated, and kept for next time
    assert sso.double.services.oidc.grants_issued["refresh_token"] == 1
    aws = str(Path(sys.executable).parent / "aws")
    cli = subprocess.run([aws, "sts", "get-caller-identity", "--profile", "sso-dev",
                          "--output", "json"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Account"] == DEV
    assert sso.double.services.oidc.grants_issued["refresh_token"] == 1  # no new sign-in
    assert sso.double.counts["GetRoleCredentials"] == 2
