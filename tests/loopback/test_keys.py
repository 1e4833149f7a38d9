"""`rolebar keys` against a real Secret Service (gnome-keyring-daemon on a private bus) and
the STS/IAM double: import, roles from the keyring, export, rotate, list, and faults."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import keyringd
from tests.loopback.conftest import Aws

pytestmark = pytest.mark.slow


@pytest.fixture
def keyring(aws: Aws, tmp_path: Path) -> Iterator[keyringd.SecretService]:
    service = keyringd.start(tmp_path / "keyring", aws.env)
    aws.env.update(service.env)
    aws.env["AWS_ENDPOINT_URL_IAM"] = aws.double.endpoint
    yield service
    service.stop()


def creds_text(aws: Aws) -> str:
    return aws.credentials.read_text()


def long_term_secrets(aws: Aws) -> list[str]:
    """Every secret access key the double's IAM knows for the user, and the first one."""
    return [aws.user.secret_access_key, *aws.double.secrets()]


def ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr


def test_import_then_roles_from_the_keyring_then_export(aws: Aws,
                                                        keyring: keyringd.SecretService) -> None:
    before = creds_text(aws)
    aws.credentials.write_text("# mine\n" + before + "\n[other]\nregion = x\n")
    done = aws.run("keys", "import", "my-company")
    ok(done)
    assert "moved to the OS keyring" in done.stdout
    text = creds_text(aws)
    assert aws.user.secret_access_key not in text and aws.user.access_key_id not in text
    assert text == ("# mine\n[my-company]\nrolebar_keys = keyring\n\n[other]\nregion = x\n")
    assert os.stat(aws.credentials).st_mode & 0o777 == 0o600
    # a role works with the keys from the keyring (GetSessionToken signed with them)
    done = aws.run("-j", "project-dev")
    ok(done)
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
    assert aws.double.counts["GetSessionToken"] == 1
    listed = aws.run("keys", "list")
    ok(listed)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("my-company"))
    assert "keyring" in row and aws.user.access_key_id[-4:] in row
    assert aws.user.access_key_id not in listed.stdout
    ok(aws.run("keys", "export", "my-company"))
    assert creds_text(aws) == "# mine\n" + before + "\n[other]\nregion = x\n"
    # the keyring item is gone: a second export is refused, nothing changes
    again = aws.run("keys", "export", "my-company")
    assert again.returncode == 2 and again.stderr.startswith("rolebar: profile my-company:")


def test_the_mfa_session_and_role_credentials_survive_import_and_export(
        aws: Aws, keyring: keyringd.SecretService) -> None:
    first = aws.run("-j", "project-dev")
    ok(first)
    ok(aws.run("keys", "import", "my-company"))
    again = aws.run("-j", "project-dev")  # the same cached credentials, no code
    ok(again)
    assert json.loads(again.stdout)["AccessKeyId"] == json.loads(first.stdout)["AccessKeyId"]
    ok(aws.run("-j", "project-ops"))  # a new role, signed by the session: no code
    ok(aws.run("keys", "export", "my-company"))
    ok(aws.run("-j", "project-ops"))
    assert aws.double.counts["GetSessionToken"] == 1
    assert aws.double.counts["AssumeRole"] == 2


def test_doctor_says_where_keys_live(aws: Aws, keyring: keyringd.SecretService) -> None:
    done = aws.run("doctor", "--no-tray")
    assert f"warn  keys my-company: AKIA…{aws.user.access_key_id[-4:]} in plaintext" in (
        done.stdout)
    ok(aws.run("keys", "import", "my-company"))
    done = aws.run("doctor", "--no-tray")
    assert (f"ok    keys my-company: AKIA…{aws.user.access_key_id[-4:]} in the OS keyring"
            in done.stdout)
    keyring.lock()
    done = aws.run("doctor", "--no-tray")
    assert done.returncode == 1
    assert "fail  keys my-company: in the OS keyring, unreadable: the OS keyring is locked" in (
        done.stdout)


def test_rotate_keys_in_the_keyring(aws: Aws, keyring: keyringd.SecretService) -> None:
    ok(aws.run("keys", "import", "my-company"))
    old = aws.user.access_key_id
    aws.double.services.iam.consistency_calls = 2  # the new key works on the third try
    done = aws.run("keys", "rotate", "my-company")
    ok(done)
    assert aws.double.counts["CreateAccessKey"] == 1
    assert aws.double.counts["DeleteAccessKey"] == 1
    assert "new key AKIA" in done.stdout and "stored in the keyring" in done.stdout
    assert old[-4:] in done.stdout and old not in done.stdout
    item = keyring.item("my-company")
    assert item is not None and item["AccessKeyId"] != old
    assert _works(aws, item) == "OK" and _works(aws, {"AccessKeyId": old, "SecretAccessKey":
                                                      aws.user.secret_access_key}) == (
        "InvalidClientTokenId")
    assert all(s not in creds_text(aws) for s in long_term_secrets(aws))
    assert "rolebar_keys = keyring" in creds_text(aws)
    listed = aws.run("keys", "list", "--iam")  # the age from IAM, signed by the new key
    ok(listed)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("my-company"))
    assert row.split()[1:] == ["keyring", f"AKIA…{item['AccessKeyId'][-4:]}", "0", "days"]


def test_rotate_keys_in_the_file(aws: Aws, keyring: keyringd.SecretService) -> None:
    old = aws.user.access_key_id
    done = aws.run("keys", "rotate", "my-company")
    ok(done)
    text = creds_text(aws)
    assert old not in text and "aws_secret_access_key = " in text
    new_id = text.split("aws_access_key_id = ")[1].split()[0]
    new_secret = text.split("aws_secret_access_key = ")[1].split()[0]
    assert new_id != old and new_id.startswith("AKIA")
    assert _works(aws, {"AccessKeyId": new_id, "SecretAccessKey": new_secret}) == "OK"
    assert _works(aws, {"AccessKeyId": old, "SecretAccessKey":
                        aws.user.secret_access_key}) == "InvalidClientTokenId"


def test_two_key_limit_is_a_clear_error(aws: Aws, keyring: keyringd.SecretService) -> None:
    ok(aws.run("keys", "import", "my-company"))
    session = aws.double  # a second key made outside rolebar fills the user's two
    extra = _second_key(aws)
    done = aws.run("keys", "rotate", "my-company")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "two access keys" in done.stderr
    assert session.counts.get("DeleteAccessKey", 0) == 0
    assert extra not in done.stderr
    ok(aws.run("-j", "project-dev"))  # the old key still stored and working


def test_locked_keyring_is_one_line(aws: Aws, keyring: keyringd.SecretService) -> None:
    ok(aws.run("keys", "import", "my-company"))
    keyring.lock()
    done = aws.run("-j", "project-dev")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("rolebar: profile my-company: the OS keyring is locked; unlock it "
                           "(its own prompt, or the desktop's keyring app) and try again\n")
    assert aws.user.secret_access_key not in creds_text(aws)  # no fallback to the file


def test_daemon_gone_is_one_line(aws: Aws, keyring: keyringd.SecretService) -> None:
    ok(aws.run("keys", "import", "my-company"))
    keyring.kill_daemon()
    done = aws.run("-j", "project-dev")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("rolebar: profile my-company: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "no OS keyring is available" in done.stderr  # nothing owns the name any more


def _second_key(aws: Aws) -> str:
    """A key made outside rolebar (the double lets long-term keys make it, for once)."""
    from tests.loopback.clients.awsdouble import signed_client

    keys = {"AccessKeyId": aws.user.access_key_id,
            "SecretAccessKey": aws.user.secret_access_key}
    iam = aws.double.services.iam
    actions, iam.mfa_actions = iam.mfa_actions, set()
    try:
        made = signed_client("iam", aws.double.endpoint, keys).create_access_key()
    finally:
        iam.mfa_actions = actions
    return str(made["AccessKey"]["AccessKeyId"])


def _works(aws: Aws, keys: dict[str, str]) -> str:
    """"OK", or the error code STS gives GetCallerIdentity signed with `keys`."""
    from tests.loopback.clients.awsdouble import error_of, signed_client

    sts = signed_client("sts", aws.double.endpoint, keys)
    try:
        sts.get_caller_identity()
    except Exception:  # noqa: BLE001 - error_of below names it
        return str(error_of(sts.get_caller_identity)[0])
    return "OK"
