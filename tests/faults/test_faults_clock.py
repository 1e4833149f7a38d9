"""The clock jumps (suspend and resume, NTP steps): the engine with an injected clock.

Only the engine's clock moves; the double keeps real time, so these cases test the
engine's freshness and reuse decisions, not STS's expiry (credentials it fetches after a
forward jump are real and valid). Processes cannot be given a fake clock here (no
faketime), so the CLI is covered by the real-time cases of the other fault modules.
"""

from __future__ import annotations

import time

from rolebar.core.engine import Engine
from tests.loopback.conftest import Aws


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _engine(clock: Clock) -> Engine:
    return Engine(clock=clock, interactive=False, sleep=lambda _: None)


def _prime(aws: Aws, engine: Engine) -> str:
    # The next step's code: still good if a slow call crosses into the next step.
    creds = engine.credentials("project-dev", code=aws.user.code(time.time() + 30))
    assert aws.double.counts["GetSessionToken"] == 1
    return creds.access_key_id


def _another_code(aws: Aws) -> str:
    """A valid code other than the one _prime spent."""
    spent = aws.double.codes_seen[str(aws.user.mfa_serial)][-1]
    ahead = aws.user.code(time.time() + 30)
    return ahead if ahead != spent else aws.user.code(time.time())


def test_forward_jump_within_the_session_reuses_it(aws: Aws) -> None:
    clock = Clock()
    engine = _engine(clock)
    first = _prime(aws, engine)
    clock.offset = 2 * 3600  # the laptop slept two hours
    again = engine.credentials("project-dev")
    assert again.access_key_id != first  # the role credentials were stale: refetched
    assert aws.double.counts == {"GetSessionToken": 1, "AssumeRole": 2, "GetCallerIdentity": 0}


def test_forward_jump_past_the_session_opens_a_new_one(aws: Aws) -> None:
    clock = Clock()
    engine = _engine(clock)
    _prime(aws, engine)
    clock.offset = 13 * 3600  # past the 12-hour MFA session
    assert engine.needs_code("project-dev") is False  # generate_token would supply it
    engine.credentials("project-dev", code=_another_code(aws))
    assert aws.double.counts["GetSessionToken"] == 2
    codes = aws.double.codes_seen[str(aws.user.mfa_serial)]
    assert len(codes) == len(set(codes)) == 2  # never the same code twice


def test_backward_jump_serves_the_cache_and_recovers(aws: Aws) -> None:
    clock = Clock()
    engine = _engine(clock)
    first = _prime(aws, engine)
    clock.offset = -2 * 3600  # the clock was stepped back: credentials "issued in the future"
    assert engine.credentials("project-dev").access_key_id == first
    assert engine.cached("project-dev") is not None
    clock.offset = 0.0
    assert engine.credentials("project-dev").access_key_id == first
    assert aws.double.counts["AssumeRole"] == 1


def test_jump_to_just_before_the_freshness_margin(aws: Aws) -> None:
    clock = Clock()
    engine = _engine(clock)
    creds = engine.credentials("project-dev", code=aws.user.code(time.time() + 30))
    margin = creds.margin
    clock.offset = creds.expires - margin - time.time() - 5  # 5 s before the margin
    assert engine.credentials("project-dev").access_key_id == creds.access_key_id
    clock.offset += 10  # 5 s inside it: a reader must get fresh ones now
    fresh = engine.credentials("project-dev")
    assert fresh.access_key_id != creds.access_key_id
    assert aws.double.counts["GetSessionToken"] == 1  # no code needed for that
