"""The double's faults for calls that carry a code: "reset-after" (STS acted, the answer
was lost) and "stall" past the client's read timeout; and codes STS would refuse."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from tests.loopback import test_stsdouble
from tests.loopback.test_stsdouble import World, error_of

world = test_stsdouble.world  # the fixture


def test_reset_after_carries_the_call_out_and_drops_the_answer(world: World) -> None:
    world.double.inject("reset-after", count=1)
    code = world.user.code()
    client = world.user_client()
    with pytest.raises(ConnectionClosedError):
        client.get_session_token(SerialNumber=world.user.mfa_serial, TokenCode=code)
    call = world.double.calls[-1]
    assert (call.action, call.code, call.answered) == ("GetSessionToken", "OK", False)
    assert world.double.counts["GetSessionToken"] == 1  # a session was opened
    # The code was spent: the same code again is refused, as by STS.
    code_again = error_of(lambda: client.get_session_token(
        SerialNumber=world.user.mfa_serial, TokenCode=code))
    assert code_again[0] == "AccessDenied"
    assert world.double.calls[-1].answered


def test_reset_before_the_call_spends_nothing(world: World) -> None:
    world.double.inject("reset", count=1)
    with pytest.raises(ConnectionClosedError):
        world.user_client().get_caller_identity()
    assert world.double.calls[-1].code == "reset"
    assert world.double.counts["GetCallerIdentity"] == 0


def test_a_stall_past_the_read_timeout_still_spends_the_code(world: World) -> None:
    world.double.inject("stall", count=1, seconds=2)
    with pytest.raises(ReadTimeoutError):
        world.user_client(read_timeout=0.5).get_session_token(
            SerialNumber=world.user.mfa_serial, TokenCode=world.user.code())
    deadline = time.monotonic() + 30
    while world.double.counts["GetSessionToken"] == 0:  # answered after the stall, to no one
        assert time.monotonic() < deadline, "the stalled call was never carried out"
        time.sleep(0.05)


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "12345a", "abcdef"])  # botocore checks length
def test_a_code_that_is_not_six_ascii_digits_is_a_validation_error(
        world: World, code: str) -> None:
    kind, message, status = error_of(lambda: world.user_client().get_session_token(
        SerialNumber=world.user.mfa_serial, TokenCode=code))
    assert (kind, status) == ("ValidationError", 400)
    assert code not in message
