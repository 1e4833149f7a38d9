"""A role switch never serves the old role (issue 15): the keeper with a fake engine.

With [tray-managed] holding dev, selecting ops that must wait for a code (or whose fetch
fails) clears the section at once (keys) and says so in the state, until ops arrives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rolebar.core.credfile import SectionWriter
from rolebar.core.errors import StsError
from rolebar.core.sections import SWITCHING_KEY, found_style, style_in_file, switching_values
from rolebar.core.state import SectionState
from tests.unit.test_keeper import DEVICE, Rig


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path)
    rig.engine.routes["ops"] = "direct"  # its own MFA call: no session to share with dev
    return rig


def tray(rig: Rig) -> SectionState:
    (state,) = rig.keeper.state().sections
    return state


def test_a_switch_to_a_role_waiting_for_a_code_clears_keys_before_any_sts_call(
        rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    assert rig.key() is not None and not tray(rig).switching
    seen: list[dict[str, str] | None] = []
    fetch = rig.engine.credentials

    def watched(profile: str, **kwargs: object) -> object:
        if profile == "ops":
            seen.append(rig.section())  # what a tool reads while ops is being fetched
        return fetch(profile, **kwargs)  # type: ignore[arg-type]

    rig.engine.credentials = watched  # type: ignore[method-assign]
    rig.engine.no_code = True
    rig.keeper.select("ops")  # the recorded style (keys) stays
    rig.tick()
    assert seen and seen[0] == {SWITCHING_KEY: "ops"}
    assert rig.section() == {SWITCHING_KEY: "ops"} and rig.key() is None
    state = tray(rig)
    assert (state.profile, state.style, state.health, state.switching, state.expires) == \
        ("ops", "keys", "needs_code", True, None)
    assert state.problem == "switching to ops: waiting for a one-time code"

    rig.keeper.submit_code(DEVICE, "123456")
    rig.tick()
    assert rig.key() is not None
    state = tray(rig)
    assert (state.health, state.switching, state.problem) == ("fresh", False, None)


def test_a_switch_to_a_role_whose_fetch_fails_clears_keys_and_says_why(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    rig.engine.fail = StsError("profile ops", "STS refused: AccessDenied")
    rig.keeper.select("ops")
    for _ in range(3):
        rig.tick()
        rig.clock.advance(60)
        assert rig.section() == {SWITCHING_KEY: "ops"}
    assert tray(rig).switching
    assert tray(rig).problem == "switching to ops: STS refused: AccessDenied"
    rig.engine.fail = None
    rig.clock.advance(600)
    rig.tick()
    assert rig.key() is not None and not tray(rig).switching


def test_a_process_section_is_flagged_until_the_new_role_is_fetched(rig: Rig) -> None:
    rig.settings.select("dev")
    rig.tick()
    assert rig.section() == {"credential_process": "/opt/rolebar process --section "
                             "tray-managed", "region": "eu-west-1"}
    rig.engine.no_code = True
    rig.keeper.select("ops")
    rig.tick()
    assert tray(rig).style == "process" and tray(rig).switching
    assert tray(rig).problem == "switching to ops: waiting for a one-time code"
    rig.keeper.submit_code(DEVICE, "123456")
    rig.tick()
    assert not tray(rig).switching and tray(rig).health == "fresh"


def test_the_same_role_keeps_its_old_keys_while_a_refresh_waits(rig: Rig) -> None:
    """Only another role's keys go: a refresh of the selected role is no switch."""
    rig.engine.routes["dev"] = "direct"
    rig.settings.select("dev", style="keys")
    rig.tick()
    first = rig.key()
    rig.engine.no_code = True
    rig.keeper.refresh_now()
    rig.tick()
    assert rig.key() == first and not tray(rig).switching


def test_a_switch_cleared_while_no_engine_ran_is_still_reported(rig: Rig) -> None:
    """`rolebar select ops` (no engine) clears the section; a keeper started later says so."""
    rig.writer.write("tray-managed", switching_values("ops"))
    rig.settings.select("ops", style="keys")
    rig.engine.no_code = True
    rig.tick()
    assert tray(rig).switching and rig.section() == {SWITCHING_KEY: "ops"}


def test_the_style_a_section_is_written_in(tmp_path: Path) -> None:
    assert style_in_file({"aws_access_key_id": "A", "region": "r"}) == "keys"
    assert style_in_file({SWITCHING_KEY: "ops"}) == "keys"
    assert style_in_file({"credential_process": "x"}) == "process"
    assert style_in_file({"region": "r"}) is None and style_in_file(None) is None
    path = tmp_path / "credentials"
    path.write_text("[mine]\naws_access_key_id = A\n")
    assert found_style(path, "mine") is None  # not rolebar's
    assert found_style(path, "tray-managed") is None
    SectionWriter(path).write("tray-managed", {"aws_access_key_id": "A"})
    assert found_style(path, "tray-managed") == "keys"
