"""An IAM Identity Center sign-in that cannot be renewed: the keeper's "sign-in needed"
state, announced once ahead of time, replayed to late subscribers, and cleared."""

from __future__ import annotations

from rolebar.core.errors import ConfigError
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.errors import SignInNeeded
from rolebar.core.state import Event, KeeperState, SignInNeed
from tests.unit.test_keeper import Rig, rig  # noqa: F401 - the fixture

CORP = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1", (), "dev")
NEED = SignInNeed("sso-session corp", "corp", "dev", "rolebar login --sso-session corp")


def test_announced_ahead_once_while_the_keys_still_serve(rig: Rig) -> None:  # noqa: F811
    rig.engine.routes = {"dev": "none", "ops": "none"}
    rig.engine.signin = SignInNeeded(CORP, "refresh-refused")
    rig.settings.select("dev", style="keys")
    rig.tick()
    state = rig.keeper.state()
    assert state.signins == (NEED,) and state.sections[0].health == "fresh"
    assert rig.key() is not None
    assert rig.kinds() == ["signin_needed"] and rig.events[0].subject == "sso-session corp"
    assert "refused to renew" in rig.events[0].message
    late: list[Event] = []
    rig.keeper.subscribe(lambda state, event: late.append(event))
    assert [e.kind for e in late] == ["state", "signin_needed"]
    rig.keeper.refresh_now()
    rig.tick()
    assert rig.kinds() == ["signin_needed"]  # the same need: not announced again
    rig.engine.signin = None  # signed in meanwhile
    rig.keeper.refresh_now()
    rig.tick()
    assert rig.keeper.state().signins == ()
    late.clear()
    rig.keeper.subscribe(lambda state, event: late.append(event))
    assert [e.kind for e in late] == ["state"]  # over: not replayed


def test_a_refresh_failing_for_a_sign_in_is_the_need_not_a_refresh_failure(
        rig: Rig) -> None:  # noqa: F811
    rig.engine.routes = {"dev": "none", "ops": "none"}
    rig.engine.fail = SignInNeeded(CORP, "signed-out")
    rig.settings.select("dev", style="keys")
    rig.tick()
    state = rig.keeper.state()
    assert state.signins == (NEED,) and rig.kinds() == ["signin_needed"]
    assert state.sections[0].problem == (
        "profile dev: sign-in needed: the sign-in has ended or was revoked; "
        "run `rolebar login --sso-session corp`")
    rig.engine.fail = ConfigError("profile dev", "broken")  # another failure meanwhile
    rig.clock.advance(600)
    rig.tick()
    assert rig.keeper.state().signins == (NEED,)  # kept until a refresh succeeds


def test_state_round_trip_keeps_the_sign_ins() -> None:
    state = KeeperState((), ("dev",), (), (), (NEED,))
    assert KeeperState.from_dict(state.to_dict()) == state
    assert KeeperState.from_dict({**state.to_dict(), "signins": []}).signins == ()
