"""The keeper and a locked keyring: a person is needed at once (one notification naming
the keyring, no code prompt), the old credentials stay, and unlocking ends it."""

from __future__ import annotations

from pathlib import Path

from rolebar.core.keystore import KeyringLocked
from rolebar.core.timing import FAILS_BEFORE_NOTICE, deadlines
from tests.unit.test_keeper import T0, Rig

LOCKED = KeyringLocked("profile my-company", "the OS keyring is locked; unlock it (its own "
                       "prompt, or the desktop's keyring app) and try again")


def test_a_locked_keyring_is_said_at_the_first_failure(tmp_path: Path) -> None:
    assert FAILS_BEFORE_NOTICE > 1  # otherwise this test shows nothing
    rig = Rig(tmp_path)
    rig.settings.select("dev", style="keys")
    rig.tick()
    first = rig.key()
    rig.engine.fail = LOCKED
    rig.clock.advance(deadlines(T0, T0 + 1200)[0] - T0 + 1)
    rig.tick()
    failed = [e for e in rig.events if e.kind == "refresh_failed"]
    assert len(failed) == 1
    assert failed[0].message == ("refreshing profile dev waits for you: the OS keyring is "
                                 "locked; unlock it (its own prompt, or the desktop's keyring "
                                 "app) and try again")
    assert "code_needed" not in rig.kinds() and rig.key() == first
    rig.engine.fail = None  # unlocked
    rig.clock.advance(120)
    rig.tick()
    assert rig.key() != first
