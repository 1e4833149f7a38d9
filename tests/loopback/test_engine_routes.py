"""The engine's routes through rolebar against the strict STS double: a role that refuses
MFA-session credentials is served by the direct route, and rolebar says so; a keeper
refresh parses the AWS config once (and not at all while the files stay as they were)."""

from __future__ import annotations

import json
import sys
import threading

import boto3
import pytest

from rolebar.core.engine import Engine
from rolebar.core.service import EngineService
from tests.aging import settle
from tests.loopback.clients.harness import fresh_keys, wait_for
from tests.loopback.conftest import Aws

STRICT = "arn:aws:iam::111111111111:role/strict"
REASON = "the role refused the MFA session (AccessDenied): direct AssumeRole with a code"

# A phone read at a later step each time: the direct call needs a code other than the one
# the MFA session took, and the double accepts the next step's code too.
STEPPING_TOKEN = """\
import sys, time
from pathlib import Path
from rolebar.core.stsdouble import totp
count = Path(sys.argv[2])
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
print(totp(open(sys.argv[1]).read().strip(), time.time() + 30 * n))
"""


def strict_profile(aws: Aws) -> None:
    """[profile strict]: a role whose trust policy wants the code in the call itself."""
    aws.double.add_role(STRICT, require_mfa=True, allow_session_route=False)
    script = aws.home / "stepping_token.py"
    script.write_text(STEPPING_TOKEN)
    secret = aws.home / ".totp-secret"
    command = f"{sys.executable} {script} {secret} {aws.home / '.token-count'}"
    aws.write_config(generate_token=False, extra=(
        f"\n[profile strict]\nrole_arn = {STRICT}\nmfa_serial = {aws.user.mfa_serial}\n"
        f"source_profile = my-company\ngenerate_token = {command}\n"))


def sts_calls(aws: Aws) -> list[tuple[str, str]]:
    """What rolebar asked the double, and the answer's code (the test's own calls left out)."""
    return [(c.action, c.code) for c in aws.double.calls if c.action != "GetCallerIdentity"]


def arn(creds: dict[str, str], endpoint: str) -> str:
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint,
                       aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    return str(sts.get_caller_identity()["Arn"])


def test_a_role_refusing_the_session_route_is_served_directly_and_rolebar_says_so(
        aws: Aws) -> None:
    strict_profile(aws)
    done = aws.run("-j", "strict")
    assert (done.returncode, done.stderr) == (0, "")
    assert arn(json.loads(done.stdout), aws.double.endpoint).startswith(
        "arn:aws:sts::111111111111:assumed-role/strict/")
    # The session was opened, the role refused it, the direct call carried a new code.
    assert sts_calls(aws) == [
        ("GetSessionToken", "OK"), ("AssumeRole", "AccessDenied"), ("AssumeRole", "OK")]
    assert len(set(aws.double.codes_seen[str(aws.user.mfa_serial)])) == 2

    log = aws.home / ".local" / "state" / "rolebar" / "log" / "rolebar.log"
    assert f"profile strict: {REASON}" in log.read_text()
    status = json.loads(aws.run("status", "--json").stdout)
    [strict] = [p for p in status["profiles"] if p["profile"] == "strict"]
    assert (strict["route"], strict["reason"], strict["needs_code"]) == ("direct", REASON, False)
    assert f"({REASON})" in aws.run("status").stdout

    # Another role behind the same device still takes the session route: no new code.
    other = aws.run("-j", "project-dev")
    assert other.returncode == 0, other.stderr
    assert sts_calls(aws)[3:] == [("AssumeRole", "OK")]
    assert len(aws.double.codes_seen[str(aws.user.mfa_serial)]) == 2
    [dev] = [p for p in json.loads(aws.run("status", "--json").stdout)["profiles"]
             if p["profile"] == "project-dev"]
    assert dev["route"] == "session"


@pytest.fixture
def config_parses(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> list[str]:
    """Every botocore loader call on the AWS config file, in this process."""
    import botocore.configloader

    calls: list[str] = []
    real = botocore.configloader.load_config

    def counted(path: str, *args: object, **kwargs: object) -> object:
        if path == str(aws.config):
            calls.append(threading.current_thread().name)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(botocore.configloader, "load_config", counted)
    return calls


def test_one_parse_of_the_aws_config_per_keeper_refresh(aws: Aws, config_parses: list[str]) -> None:
    assert aws.run("select", "project-dev", "--style", "keys").returncode == 0
    settle(aws.config, ago=60)
    service = EngineService("keep", engine=Engine(interactive=False, extra_sources=()))
    service.start()
    try:
        first = wait_for(lambda: fresh_keys(aws), 30, what="the section")
        assert len(config_parses) == 1, config_parses  # start-up and the first refresh
        service.keeper.refresh_now()
        second = wait_for(lambda: (k := fresh_keys(aws)) != first and k, 30, what="a refresh")
        assert len(config_parses) == 1  # the files stayed as they were: no parse at all
        aws.config.write_text(aws.config.read_text() + "\n# changed\n")
        settle(aws.config, ago=30)
        service.keeper.refresh_now()
        wait_for(lambda: (k := fresh_keys(aws)) not in (first, second) and k, 30,
                 what="a refresh after the change")
    finally:
        service.stop()
    assert len(config_parses) == 2, config_parses  # the change: one parse, for everyone
    assert aws.double.counts["GetSessionToken"] == 1


def test_the_status_route_note_is_per_profile(aws: Aws) -> None:
    """A profile fetched by the session route has no note, so status keeps the plan's."""
    done = aws.run("-j", "project-dev")
    assert done.returncode == 0, done.stderr
    [dev] = [p for p in json.loads(aws.run("status", "--json").stdout)["profiles"]
             if p["profile"] == "project-dev"]
    assert dev["route"] == "session"
    assert dev["reason"] == "MFA session: GetSessionToken once, then AssumeRole with no code"
