"""AWS calls made in a short-lived child (core/sdkchild.py), as `rolebar keep` and the tray
make them so that botocore never stays loaded beside the icon (issue 13).

The same calls against the strict double must give what the in-process SDK gives: the
credentials, a refused code as InvalidCode, a 5xx retried only where no code rides on
it. A child that hangs, dies or answers nonsense is a failed call that may have reached
STS (CallFailed: its code is spent), in one line that quotes nothing it carried.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolebar.core import sdk, sdkchild
from rolebar.core.credentials import Keys
from rolebar.core.profiles import Catalog
from rolebar.core.sts import CallFailed, InvalidCode, Sts
from tests.loopback.conftest import Aws


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk, "_isolated", True)
    monkeypatch.setattr(sdk, "_SDKS", {})


def keys(aws: Aws) -> Keys:
    return Keys("my-company", aws.user.access_key_id, aws.user.secret_access_key)


def sts(profile: str = "project-dev") -> Sts:
    return Sts(profile, None, lambda: sdk.sdk(Catalog.load()))


def test_a_role_through_the_child_as_in_process(aws: Aws, isolated: None) -> None:
    dev = sts()
    dev.check()
    assert isinstance(sdk.sdk(Catalog.load()), sdkchild.ChildSdk)
    code = aws.code()
    session = dev.get_session_token(keys(aws), aws.user.mfa_serial, code, 3600)
    assert session.access_key_id.startswith("ASIA")
    assert 3000 < session.expires - time.time() <= 3601
    with pytest.raises(InvalidCode):  # the double refuses a code twice, as STS does
        dev.get_session_token(keys(aws), aws.user.mfa_serial, code, 3600)
    step = Catalog.load().plan("project-dev").roles[-1]
    role = dev.assume_role(session, step, session=True)
    assert role.access_key_id != session.access_key_id
    assert aws.double.counts == {"GetSessionToken": 1, "AssumeRole": 1, "GetCallerIdentity": 0}


def test_a_5xx_is_retried_only_without_a_code(aws: Aws, isolated: None) -> None:
    dev = sts()
    session = dev.get_session_token(keys(aws), aws.user.mfa_serial, aws.code(), 3600)
    step = Catalog.load().plan("project-dev").roles[-1]
    aws.double.inject("500", count=1)
    dev.assume_role(session, step, session=True)  # the child's SDK tried twice
    aws.double.inject("500", count=1)
    with pytest.raises(CallFailed, match=r"STS failed; try again shortly \(InternalFailure\)"):
        dev.assume_role(keys(aws), step, device=aws.user.mfa_serial, code=aws.code())
    assert aws.double.counts["AssumeRole"] == 1


def test_an_invalid_region_is_found_before_a_code_and_checked_once(
        aws: Aws, isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Exception, match="invalid region 'not_a_region'") as caught:
        Sts("project-dev", "not_a_region", lambda: sdk.sdk(Catalog.load())).check()
    assert getattr(caught.value, "exit_code", None) == 2
    runs: list[str] = []
    real = sdkchild.ChildSdk.run
    monkeypatch.setattr(sdkchild.ChildSdk, "run",
                        lambda self, *a: runs.append(a[1]) or real(self, *a))
    sts().check()
    sts().check()
    assert runs == [""]


@pytest.mark.parametrize(("command", "cause"), [
    ("import time; time.sleep(30)",
     "STS did not answer in time (no answer from rolebar's AWS call helper in 3 s)"),
    ("import sys; sys.stderr.write('Traceback\\nKeyError: s3cr3t\\n'); sys.exit(3)",
     "the connection to STS failed (rolebar's AWS call helper failed (exit 3, KeyError))"),
    ("print('nonsense')",
     "the connection to STS failed (rolebar's AWS call helper failed (no answer))"),
])
def test_a_child_that_hangs_dies_or_babbles_is_a_spent_call(
        aws: Aws, isolated: None, monkeypatch: pytest.MonkeyPatch, command: str,
        cause: str) -> None:
    monkeypatch.setattr(sdkchild, "STARTUP", 1.0)
    monkeypatch.setattr(sdkchild, "deadline_of", lambda spec: 3.0)
    monkeypatch.setattr(sdkchild.ChildSdk, "command", (sys.executable, "-c", command))
    monkeypatch.setattr(sdkchild.ChildSdk, "check", lambda self, spec: None)
    started = time.monotonic()
    with pytest.raises(CallFailed) as caught:
        sts().get_session_token(keys(aws), aws.user.mfa_serial, aws.code(), 3600)
    assert time.monotonic() - started < 10
    assert str(caught.value) == f"profile project-dev: {cause}"
    assert "s3cr3t" not in str(caught.value)


SCRIPT = """
import json, sys
from rolebar.core import sdk
from rolebar.core.credentials import Keys
from rolebar.core.profiles import Catalog
from rolebar.core.sts import Sts
sdk.isolate()
ask = json.loads(sys.stdin.read())
keys = Keys("my-company", ask["id"], ask["secret"])
dev = Sts("project-dev", None)
dev.check()
session = dev.get_session_token(keys, ask["serial"], ask["code"], 3600)
dev.assume_role(session, Catalog.load().plan("project-dev").roles[-1], session=True)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "urllib3", "s3transfer")
               or m in ("botocore.session", "botocore.utils", "botocore.client"))
print(json.dumps({"heavy": heavy, "expires": session.expires}))
"""


def test_an_isolated_process_never_loads_botocore(aws: Aws) -> None:
    ask = {"id": aws.user.access_key_id, "secret": aws.user.secret_access_key,
           "serial": aws.user.mfa_serial, "code": aws.code()}
    done = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(ask), text=True,
                          capture_output=True, timeout=60, env=aws.env, check=True,
                          cwd=Path(__file__).parents[2])
    assert json.loads(done.stdout)["heavy"] == []
    assert aws.double.counts == {"GetSessionToken": 1, "AssumeRole": 1, "GetCallerIdentity": 0}
