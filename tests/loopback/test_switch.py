"""A role switch never serves the old role (issue 15), read by a real AWS CLI.

[tray-managed] holds project-dev; the person selects a role that must wait for a code
(another MFA device, no generate_token, an engine with no one to ask) or whose fetch
fails. Until the new role's credentials arrive, `aws sts get-caller-identity` with
AWS_PROFILE=tray-managed must fail rather than answer as project-dev, and `status` says
what the section waits for.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from rolebar.core.stsdouble import User
from tests.loopback.clients.harness import Keep, section, wait_for
from tests.loopback.conftest import OPS_ROLE, VENV_BIN, Aws, assert_no_secret

AWS_CLI = str(VENV_BIN / "aws")


def add_other_device(aws: Aws) -> User:
    """[profile other-ops]: a role behind another user's MFA device, no generate_token."""
    other = aws.double.add_user("other", account="333333333333")
    with aws.credentials.open("a") as f:
        f.write(f"\n[other-company]\naws_access_key_id = {other.access_key_id}\n"
                f"aws_secret_access_key = {other.secret_access_key}\n")
    aws.write_config(extra=textwrap.dedent(f"""
        [profile other-company]
        region = us-east-1

        [profile other-ops]
        role_arn = {OPS_ROLE}
        mfa_serial = {other.mfa_serial}
        source_profile = other-company

        [profile broken]
        role_arn = arn:aws:iam::111111111111:role/no-such-role
        source_profile = my-company
        """))
    return other


def caller(aws: Aws) -> subprocess.CompletedProcess[str]:
    """The AWS CLI as a person runs it against the kept section."""
    done = subprocess.run([AWS_CLI, "sts", "get-caller-identity", "--output", "json"],
                          env={**aws.env, "AWS_PROFILE": "tray-managed"}, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          start_new_session=True)
    assert_no_secret(done.stdout + done.stderr, aws.secrets())
    return done


def tray_managed(aws: Aws) -> dict[str, object]:
    status = json.loads(aws.run("status", "--json").stdout)
    return next(s for s in status["sections"] if s["name"] == "tray-managed")


def switched_and_waiting(aws: Aws, style: str, profile: str, detail: str) -> None:
    wait_for(lambda: tray_managed(aws).get("switching"), 30, what="the switch")
    state = tray_managed(aws)
    assert (state["profile"], state["style"], state["expires"]) == (profile, style, None)
    assert state["problem"] == f"switching to {profile}: {detail}"
    text = aws.run("status").stdout
    assert f"section tray-managed: switching to {profile}: {detail} ({style}: " in text


@pytest.mark.parametrize("style", ["keys", "process"])
def test_a_switch_to_a_role_waiting_for_a_code_never_serves_the_old_one(
        aws: Aws, style: str) -> None:
    add_other_device(aws)
    assert aws.run("select", "project-dev", "--style", style).returncode == 0
    with Keep(aws, "keep") as keep:
        first = wait_for(lambda: (d := caller(aws)).returncode == 0 and d, 30,
                         what="project-dev through the section")
        assert "assumed-role/developer/" in json.loads(first.stdout)["Arn"]

        assert aws.run("select", "other-ops").returncode == 0
        switched_and_waiting(aws, style, "other-ops", "waiting for a one-time code")
        if style == "keys":
            assert section(aws) == {"rolebar_switching_to": "other-ops"}
        for _ in range(3):  # while it waits, every read fails; none acts as project-dev
            during = caller(aws)
            assert during.returncode != 0, during.stdout
            assert "developer" not in during.stdout + during.stderr
            if style == "keys":
                assert "Unable to locate credentials" in during.stderr
            else:
                assert "other-ops" in during.stderr  # rolebar's one line, via the CLI
        assert tray_managed(aws)["switching"]

        # Back to project-dev: its credentials are there at once, and so is the identity.
        assert aws.run("select", "project-dev").returncode == 0
        wait_for(lambda: not tray_managed(aws).get("switching"), 30, what="the switch back")
        back = caller(aws)
        assert back.returncode == 0 and "assumed-role/developer/" in back.stdout
        assert keep.stop() == 0


def test_a_switch_to_a_role_whose_fetch_fails_never_serves_the_old_one(aws: Aws) -> None:
    add_other_device(aws)
    assert aws.run("select", "project-dev", "--style", "keys").returncode == 0
    with Keep(aws, "keep") as keep:
        wait_for(lambda: caller(aws).returncode == 0, 30, what="project-dev in the section")
        assert aws.run("select", "broken").returncode == 0
        wait_for(lambda: tray_managed(aws).get("health") == "error", 30, what="the failure")
        state = tray_managed(aws)
        assert state["switching"] and str(state["problem"]).startswith("switching to broken: ")
        assert section(aws) == {"rolebar_switching_to": "broken"}
        during = caller(aws)
        assert during.returncode != 0 and "Unable to locate credentials" in during.stderr
        assert keep.stop() == 0


def test_a_switch_with_no_engine_running_clears_the_old_keys_too(aws: Aws) -> None:
    """`rolebar select` while no engine runs: the file held project-dev's keys."""
    add_other_device(aws)
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        wait_for(lambda: caller(aws).returncode == 0, 30, what="project-dev in the section")
        assert keep.stop() == 0
    assert caller(aws).returncode == 0  # no engine: the keys stay while they are selected
    assert aws.run("select", "other-ops").returncode == 0
    assert section(aws) == {"rolebar_switching_to": "other-ops"}
    assert "Unable to locate credentials" in caller(aws).stderr
    with Keep(aws, "keep") as keep:  # a keeper started later says what the section waits for
        switched_and_waiting(aws, "keys", "other-ops", "waiting for a one-time code")
        assert keep.stop() == 0
