"""The double's IAM access keys, with boto3 `iam` and `sts` (and the AWS CLI through
AWS_ENDPOINT_URL_IAM): MFA required to create and delete, two keys at most, eventual
consistency for new keys, deleted keys dead at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rolebar.core.stsdouble import StsDouble, User
from tests.loopback.clients.awsdouble import error_of, signed_client

READER = "arn:aws:iam::000000000000:role/reader"


@dataclass
class World:
    double: StsDouble
    user: User
    other: User

    @property
    def endpoint(self) -> str:
        return self.double.endpoint

    def keys_of(self, user: User) -> dict[str, str]:
        return {"AccessKeyId": user.access_key_id, "SecretAccessKey": user.secret_access_key}

    def client(self, service: str, credentials: dict[str, Any], **config: Any) -> Any:
        return signed_client(service, self.endpoint, credentials, **config)

    def mfa_session(self) -> dict[str, Any]:
        return dict(self.client("sts", self.keys_of(self.user)).get_session_token(
            SerialNumber=self.user.mfa_serial, TokenCode=self.user.code())["Credentials"])

    def key_ids(self) -> list[str]:
        listed = self.client("iam", self.keys_of(self.user)).list_access_keys()
        return [key["AccessKeyId"] for key in listed["AccessKeyMetadata"]]


@pytest.fixture
def world() -> Iterator[World]:
    double = StsDouble()
    user = double.add_user("member")
    other = double.add_user("someone")
    double.add_role(READER, require_mfa=False)
    double.start()
    yield World(double, user, other)
    double.stop()


def test_create_access_key_needs_the_mfa_session(world: World) -> None:
    as_user = world.client("iam", world.keys_of(world.user))
    code, message, status = error_of(as_user.create_access_key)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f"User: {world.user.arn} is not authorized to perform: "
                       "iam:CreateAccessKey on resource: user member with an explicit deny in "
                       "an identity-based policy")
    no_code = dict(world.client("sts", world.keys_of(world.user)).get_session_token()[
        "Credentials"])
    assert error_of(world.client("iam", no_code).create_access_key)[0] == "AccessDenied"
    created = world.client("iam", world.mfa_session()).create_access_key()["AccessKey"]
    assert created["UserName"] == "member" and created["Status"] == "Active"
    assert created["AccessKeyId"].startswith("AKIA") and len(created["SecretAccessKey"]) == 40
    identity = world.client("sts", created).get_caller_identity()
    assert identity["Arn"] == world.user.arn
    assert world.key_ids() == [world.user.access_key_id, created["AccessKeyId"]]
    assert world.double.counts["CreateAccessKey"] == 1
    assert [c.code for c in world.double.calls if c.action == "CreateAccessKey"] == [
        "AccessDenied", "AccessDenied", "OK"]


def test_a_user_holds_two_keys_at_most(world: World) -> None:
    iam = world.client("iam", world.mfa_session())
    iam.create_access_key()
    assert error_of(iam.create_access_key) == (
        "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    assert len(world.key_ids()) == 2


def test_a_deleted_key_stops_working_at_once(world: World) -> None:
    old = world.keys_of(world.user)
    session = world.mfa_session()
    iam = world.client("iam", session)
    new = iam.create_access_key()["AccessKey"]
    assert error_of(lambda: world.client("iam", old).delete_access_key(
        AccessKeyId=old["AccessKeyId"]))[0] == "AccessDenied"  # long-term keys: no MFA
    iam.delete_access_key(AccessKeyId=old["AccessKeyId"])
    assert error_of(world.client("sts", old).get_caller_identity) == (
        "InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    assert world.client("sts", new).get_caller_identity()["Arn"] == world.user.arn
    listed = world.client("iam", new).list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [new["AccessKeyId"]]
    assert error_of(lambda: iam.delete_access_key(AccessKeyId=old["AccessKeyId"])) == (
        "NoSuchEntity", f"The Access Key with id {old['AccessKeyId']} cannot be found.", 404)
    assert error_of(lambda: iam.delete_access_key(  # another user's key
        AccessKeyId=world.other.access_key_id))[0] == "NoSuchEntity"


def test_a_new_key_works_only_after_the_consistency_delay(world: World) -> None:
    iam_knobs = world.double.services.iam
    iam_knobs.consistency_calls = 2
    iam = world.client("iam", world.mfa_session())
    new = iam.create_access_key()["AccessKey"]
    assert new["AccessKeyId"] in world.key_ids()  # IAM knows it at once
    sts = world.client("sts", new)
    for _ in range(2):
        assert error_of(sts.get_caller_identity)[0] == "InvalidClientTokenId"
    assert sts.get_caller_identity()["Arn"] == world.user.arn
    iam.delete_access_key(AccessKeyId=new["AccessKeyId"])
    # A key deleted before it settled never works (this one would on its second try).
    iam_knobs.consistency_calls = 1
    doomed = iam.create_access_key()["AccessKey"]
    iam.delete_access_key(AccessKeyId=doomed["AccessKeyId"])
    for _ in range(2):
        assert error_of(world.client("sts", doomed).get_caller_identity)[0] == (
            "InvalidClientTokenId")
    # By time: 3 s, ample for the first call to come early even on a loaded machine.
    iam_knobs.consistency_calls, iam_knobs.consistency_delay = 0, 3.0
    later = iam.create_access_key()["AccessKey"]
    assert error_of(world.client("sts", later).get_caller_identity)[0] == "InvalidClientTokenId"
    time.sleep(3.1)
    assert world.client("sts", later).get_caller_identity()["Arn"] == world.user.arn


def test_iam_checks_the_signature_and_the_caller(world: World) -> None:
    tampered = {**world.keys_of(world.user), "SecretAccessKey": "x" * 40}
    assert error_of(world.client("iam", tampered).list_access_keys)[::2] == (
        "SignatureDoesNotMatch", 403)
    as_user = world.client("iam", world.keys_of(world.user))
    code, message, _ = error_of(lambda: as_user.list_access_keys(UserName="someone"))
    assert code == "AccessDenied" and "iam:ListAccessKeys on resource: user someone" in message
    role = dict(world.client("sts", world.keys_of(world.user)).assume_role(
        RoleArn=READER, RoleSessionName="r1")["Credentials"])
    assert error_of(world.client("iam", role).list_access_keys) == (
        "ValidationError", "Must specify userName when calling with non-User credentials", 400)
    lax = world.client("iam", world.keys_of(world.user), parameter_validation=False)
    code, message, _ = error_of(lambda: lax.list_access_keys(UserName="no spaces"))
    assert code == "ValidationError" and "userName" in message
    # IAM signatures are scoped to "iam": an STS-scoped signature is refused.
    sts_scoped = world.client("sts", world.keys_of(world.user))
    sts_scoped.meta.events.register(
        "before-sign.sts.GetCallerIdentity",
        lambda request, **_: request.data.update({"Version": "2010-05-08"})
        if isinstance(request.data, dict) else None)
    code, message, _ = error_of(sts_scoped.get_caller_identity)
    assert code == "SignatureDoesNotMatch" and "'iam'" in message


def test_aws_cli_reaches_iam_through_its_endpoint_variable(world: World, home: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_IAM": world.endpoint,
           "AWS_ACCESS_KEY_ID": world.user.access_key_id,
           "AWS_SECRET_ACCESS_KEY": world.user.secret_access_key}
    aws = str(Path(sys.executable).parent / "aws")
    done = subprocess.run([aws, "iam", "list-access-keys", "--output", "json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [world.user.access_key_id]
