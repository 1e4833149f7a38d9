"""STS misbehaves: 500s, throttling, resets, refused connections and stalls.

The real `rolebar process` runs against the double with faults injected. Every case ends
in a recovery or in one `rolebar:` line with exit 1, and never costs the cached
credentials of another profile. The MFA session is opened first (through project-ops),
so that faults hit the AssumeRole of project-dev and recovery needs no new code: a code
that went out in a failed call is never sent again, which would make a test wait for the
next 30-second step.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.helpers import answer, assert_one_line
from tests.loopback.conftest import Aws

CAUSES = {
    "500": "STS failed; try again shortly (InternalFailure)",
    "throttle": "STS is throttling requests",
    "reset": "the connection to STS failed",
}


def _prime(aws: Aws) -> dict[str, str]:
    ops = answer(aws.run("process", "project-ops"))
    assert aws.double.counts["GetSessionToken"] == 1
    return ops


@pytest.mark.parametrize("fault", ["500", "throttle", "reset"])
def test_one_bad_answer_is_retried(aws: Aws, fault: str) -> None:
    _prime(aws)
    aws.double.inject(fault, count=1)
    answer(aws.run("process", "project-dev"))
    assert [c.code for c in aws.double.calls[-2:]] != ["OK", "OK"]  # the fault did happen
    assert aws.double.counts == {"GetSessionToken": 1, "AssumeRole": 2, "GetCallerIdentity": 0}


@pytest.mark.parametrize("fault", ["500", "throttle", "reset"])
def test_a_lasting_fault_gives_one_line_and_keeps_other_profiles(aws: Aws, fault: str) -> None:
    ops = _prime(aws)
    aws.double.inject(fault)
    line = assert_one_line(aws.run("process", "project-dev"), 1, CAUSES[fault])
    assert line.startswith("rolebar: profile project-dev: ")
    # project-ops still answers from the cache, STS down or not.
    assert answer(aws.run("process", "project-ops"))["AccessKeyId"] == ops["AccessKeyId"]
    aws.double.clear()
    dev = answer(aws.run("process", "project-dev"))
    assert dev["AccessKeyId"] != ops["AccessKeyId"]
    assert aws.double.counts["GetSessionToken"] == 1  # the session outlived the outage


def test_a_lasting_fault_before_the_session_is_one_line(aws: Aws) -> None:
    aws.double.inject("500")
    assert_one_line(aws.run("process", "project-dev"), 1, CAUSES["500"])
    assert aws.double.counts["GetSessionToken"] == 0
    cache = aws.home / ".cache" / "rolebar"
    assert not [p for p in cache.glob("role-*")], "a failure cached something"


def test_refused_connection_then_recovery(aws: Aws) -> None:
    ops = _prime(aws)
    aws.double.stop()
    try:
        line = assert_one_line(aws.run("process", "project-dev"), 1, "cannot reach STS")
        assert aws.double.endpoint in line  # names where it tried
        assert answer(aws.run("process", "project-ops"))["AccessKeyId"] == ops["AccessKeyId"]
    finally:
        aws.double.start()
    answer(aws.run("process", "project-dev"))


@pytest.mark.slow
def test_a_stalled_sts_times_out_with_one_line(aws: Aws) -> None:
    """Every request stalls 30 s: rolebar gives up after its read timeouts (10 s, two tries)."""
    _prime(aws)
    aws.double.inject("stall", seconds=30)
    started = time.monotonic()
    done = aws.run("process", "project-dev", timeout=120)
    elapsed = time.monotonic() - started
    aws.double.clear()
    assert_one_line(done, 1, "STS did not answer in time")
    # 3 tries of 15 s (botocore's standard retries) plus backoff and start-up.
    assert 14 < elapsed < 75, elapsed


@pytest.mark.slow
def test_one_stall_is_outlasted(aws: Aws) -> None:
    """One request stalls 30 s: the read timeout ends it and the retry succeeds."""
    _prime(aws)
    aws.double.inject("stall", count=1, seconds=30)
    started = time.monotonic()
    answer(aws.run("process", "project-dev", timeout=120))
    assert time.monotonic() - started < 45
