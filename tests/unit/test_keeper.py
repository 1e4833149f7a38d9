"""The keeper with a fake engine and a fake clock: deadlines, retries, codes, sections."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from rolebar.core.codes import REUSED, WRONG, CodeRequest
from rolebar.core.credentials import Credentials
from rolebar.core.credfile import MARKER_LINE, SectionWriter
from rolebar.core.errors import CodeReusedError, NoCodeError, ProfileNotFound, StsError
from rolebar.core.keeper import Keeper
from rolebar.core.sections import section_values
from rolebar.core.settings import Settings, tray_section
from rolebar.core.state import CodeNeed, Event, KeeperState
from rolebar.core.sts import InvalidCode
from rolebar.core.timing import (
    FAILS_BEFORE_NOTICE,
    MIN_WAIT,
    deadlines,
    session_lead,
)

DEVICE = "arn:aws:iam::000000000000:mfa/member"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.wall = T0
        self.mono = 1000.0

    def advance(self, seconds: float, *, wall_only: bool = False) -> None:
        self.wall += seconds
        if not wall_only:
            self.mono += seconds


class FakeEngine:
    """The Engine methods the keeper uses; STS is a counter."""

    def __init__(self, clock: Clock, env: dict[str, str]) -> None:
        self.clock = clock
        self.env = env
        self.lifetime = 1200.0
        self.session_lifetime = 3600.0
        self.calls: list[tuple[object, ...]] = []
        self.fail: Exception | None = None
        self.no_code = False  # generate_token gives nothing
        self.session_creds: Credentials | None = None
        self.routes = {"dev": "session", "ops": "session"}
        self.n = 0
        self.code_from: list[str] = []  # where each code handed in came from
        self.restamped: list[str] = []  # profiles whose cache entry was re-stamped
        self.signin: Exception | None = None  # what signin_ahead answers

    def _creds(self, lifetime: float) -> Credentials:
        self.n += 1
        now = self.clock.wall
        return Credentials(f"ASIAFAKE{self.n:012d}", "s" * 40, "t" * 100, now, now + lifetime)

    def profiles(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=p) for p in sorted(self.routes)]

    def plan(self, profile: str) -> SimpleNamespace:
        if profile not in self.routes:
            raise ProfileNotFound(f"profile {profile}", "not found")
        return SimpleNamespace(device=DEVICE, route=self.routes[profile], region="eu-west-1")

    def _session(self, code: str | None) -> None:
        if self.session_creds and self.session_creds.usable(self.clock.wall):
            return
        if code is None and self.no_code:
            raise NoCodeError("profile dev", "no one-time code")
        self.session_creds = self._creds(self.session_lifetime)
        self.calls.append(("session", code))

    def credentials(self, profile: str, *, code: str | None = None, force: bool = False,
                    interactive: bool | None = None, code_from: str = "-t") -> Credentials:
        assert interactive is False
        self.plan(profile)
        self.calls.append(("role", profile, code, force))
        if code is not None:
            self.code_from.append(code_from)
        if self.fail:
            raise self.fail
        if self.routes[profile] == "session":
            self._session(code)
        elif code is None and self.no_code:
            raise NoCodeError(f"profile {profile}", "no one-time code")
        return self._creds(self.lifetime)

    def session(self, profile: str) -> Credentials | None:
        s = self.session_creds
        return s if s and s.usable(self.clock.wall) else None

    def renew_session(self, profile: str, *, code: str | None = None,
                      interactive: bool | None = None, code_from: str = "-t") -> Credentials:
        self.calls.append(("renew", profile, code))
        if code is not None:
            self.code_from.append(code_from)
        if self.fail:
            raise self.fail
        if code is None and self.no_code:
            raise NoCodeError(f"profile {profile}", "no one-time code")
        self.session_creds = self._creds(self.session_lifetime)
        return self.session_creds

    def signin_ahead(self, profile: str) -> Exception | None:
        return self.signin

    def restamp(self, profile: str) -> bool:
        self.restamped.append(profile)
        return True

    def roles(self) -> list[tuple[object, ...]]:
        return [c for c in self.calls if c[0] == "role"]


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.clock = Clock()
        self.creds_file = tmp / "credentials"
        self.creds_file.write_text("# my keys\n[my-company]\naws_access_key_id = AKIAX\n")
        env = {"AWS_CONFIG_FILE": str(tmp / "config"),
               "AWS_SHARED_CREDENTIALS_FILE": str(self.creds_file)}
        (tmp / "config").write_text("")
        self.engine = FakeEngine(self.clock, env)
        self.settings = Settings(tmp / "settings.json")
        self.writer = SectionWriter(self.creds_file)
        self.events: list[Event] = []
        self.states: list[KeeperState] = []
        self.keeper = Keeper(self.engine, self.settings,  # type: ignore[arg-type]
                             clock=lambda: self.clock.wall, monotonic=lambda: self.clock.mono,
                             writer=self.writer, rnd=lambda: 0.5, command="/opt/rolebar")
        self.keeper.subscribe(self.listen)

    def listen(self, state: KeeperState, event: Event) -> None:
        self.states.append(state)
        if event.kind != "state":
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def section(self, name: str = "tray-managed") -> dict[str, str] | None:
        return self.writer.read(name)

    def key(self, name: str = "tray-managed") -> str | None:
        values = self.section(name)
        return values.get("aws_access_key_id") if values else None

    def tick(self) -> float:
        return self.keeper.tick()


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


# -- section contents -----------------------------------------------------------------------


def test_section_values_for_both_styles() -> None:
    creds = Credentials("ASIAEXAMPLE0000001", "s" * 40, "t" * 60, T0, T0 + 3600)
    assert section_values("process", "tray-managed", None, "eu-west-1", "/opt/rolebar") == {
        "credential_process": "/opt/rolebar process --section tray-managed",
        "region": "eu-west-1"}
    keys = section_values("keys", "x", creds, None, "/opt/rolebar")
    assert keys is not None and set(keys) == {
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "rolebar_expiration"}
    assert section_values("keys", "x", None, None, "/opt/rolebar") is None


# -- refreshing -----------------------------------------------------------------------------


def test_select_writes_keys_then_refreshes_at_the_soft_deadline(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    wait = rig.tick()
    first = rig.key()
    assert first is not None and rig.section()["region"] == "eu-west-1"  # type: ignore[index]
    assert rig.engine.roles() == [("role", "dev", None, False)]
    assert rig.engine.restamped == ["dev"]  # our write moved the file: the fast path's entry too
    assert rig.creds_file.read_text().startswith("# my keys\n[my-company]\n")
    assert MARKER_LINE in rig.creds_file.read_text()
    soft, _ = deadlines(T0, T0 + 1200)
    assert 0 < wait <= 10
    while rig.clock.wall < soft - 1:
        rig.clock.advance(min(wait, soft - 1 - rig.clock.wall))
        wait = rig.tick()
    assert rig.key() == first and len(rig.engine.roles()) == 1
    rig.clock.advance(2)
    rig.tick()
    assert rig.key() != first
    assert rig.engine.roles()[-1] == ("role", "dev", None, True)
    state = rig.keeper.state()
    assert state.sections[0].health == "fresh" and state.profiles == ("dev", "ops")


def test_failures_keep_old_credentials_until_they_expire_then_recover(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    first = rig.key()
    rig.engine.fail = StsError("profile dev", "STS failed; try again shortly (InternalFailure)")
    end = T0 + 1200
    rig.clock.advance(deadlines(T0, end)[0] - T0)
    healths = set()
    while rig.clock.wall < end + 60:
        rig.tick()
        assert rig.key() == first  # never replaced by nothing
        healths.add(rig.keeper.state().sections[0].health)
        rig.clock.advance(5)
    assert rig.kinds().count("refresh_failed") == 1  # once per streak
    assert len(rig.engine.roles()) > FAILS_BEFORE_NOTICE
    assert healths == {"refreshing", "error"}
    assert "InternalFailure" in (rig.keeper.state().sections[0].problem or "")
    rig.engine.fail = None
    rig.clock.advance(300)
    rig.tick()
    assert rig.key() != first and rig.keeper.state().sections[0].health == "fresh"
    assert rig.keeper.state().sections[0].problem is None


def test_a_missing_profile_is_a_problem_not_a_crash(rig: Rig) -> None:
    rig.settings.select("gone")
    rig.tick()
    section = rig.keeper.state().sections[0]
    assert section.health == "error" and "not found" in (section.problem or "")
    assert rig.section() is None


def test_a_clock_jump_refreshes_at_once(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    rig.clock.advance(60, wall_only=True)  # suspended: monotonic time stood still
    rig.tick()
    assert rig.engine.roles()[-1] == ("role", "dev", None, True)
    assert len(rig.engine.roles()) == 2


def test_public_methods_post_commands_that_the_keepers_tick_applies(rig: Rig) -> None:
    """Callers on other threads never touch the keeper's records: a tick applies what
    they asked, in order."""
    rig.settings.select("dev", style="keys")
    rig.tick()
    kept = rig.keeper._books.kept["dev"]
    due, calls = kept.due, len(rig.engine.roles())
    rig.keeper.refresh_now()
    rig.keeper.unselect("tray-managed")
    assert kept.due == due and rig.key() is not None  # nothing applied yet
    rig.tick()
    assert len(rig.engine.roles()) == calls  # unselected right after: nothing to refresh
    assert rig.key() is None and rig.keeper.state().sections == ()


@pytest.mark.parametrize("fails", [True, False])
def test_refresh_now_sent_while_a_refresh_is_under_way_is_never_lost(
        rig: Rig, fails: bool) -> None:
    """The tray's "Refresh now" arrives while the due refresh's STS call runs: whatever that
    call ends with (a failure sets a backoff), one more refresh, forced, follows at once."""
    rig.settings.select("dev", style="keys")
    rig.tick()
    first = rig.key()
    rig.clock.advance(deadlines(T0, T0 + 1200)[0] - T0)  # the soft deadline
    fetch = rig.engine.credentials

    def under_way(profile: str, **kwargs: object) -> Credentials:
        rig.keeper.refresh_now()  # from another thread, while this call is under way
        rig.engine.credentials = fetch  # type: ignore[method-assign]
        if fails:
            raise StsError("profile dev", "STS failed; try again shortly (InternalFailure)")
        return fetch(profile, **kwargs)  # type: ignore[arg-type]

    rig.engine.credentials = under_way  # type: ignore[method-assign]
    calls = len(rig.engine.roles())
    assert rig.tick() == MIN_WAIT  # due again at once, not after a backoff
    rig.tick()  # the clock has not moved
    assert rig.engine.roles()[-1] == ("role", "dev", None, True)
    assert len(rig.engine.roles()) == calls + (1 if fails else 2)
    assert rig.key() != first and rig.keeper.state().sections[0].health == "fresh"


# -- codes and MFA sessions -----------------------------------------------------------------


def test_a_code_need_is_announced_once_and_a_submitted_code_is_used(rig: Rig) -> None:
    rig.engine.no_code = True
    rig.settings.select("dev", style="keys")
    for _ in range(4):
        rig.tick()
        rig.clock.advance(10)
    assert rig.kinds() == ["code_needed"]
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)
    assert rig.keeper.state().sections[0].health == "needs_code"
    rig.keeper.submit_code(DEVICE, "123456")
    rig.tick()
    rig.tick()
    assert ("renew", "dev", "123456") in rig.engine.calls
    assert rig.key() is not None
    assert rig.keeper.state().needs == ()
    assert rig.keeper.state().sections[0].health == "fresh"


@pytest.mark.parametrize(("route", "refusal", "reason"), [
    ("session", InvalidCode("profile dev", "STS rejected the one-time code"), WRONG),
    ("direct", InvalidCode("profile dev", "STS rejected the one-time code"), WRONG),
    ("session", CodeReusedError("profile dev", "that one-time code was already used"), REUSED),
])
def test_a_typed_code_is_named_as_typed_and_a_refused_one_is_asked_again_with_why(
    rig: Rig, route: str, refusal: Exception, reason: str,
) -> None:
    rig.engine.routes["dev"] = route
    rig.engine.no_code = True
    rig.settings.select("dev", style="keys")
    rig.tick()
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)
    rig.engine.fail = refusal
    rig.keeper.submit_code(DEVICE, "123456")
    rig.tick()
    assert rig.engine.code_from == ["the prompt"]  # not "-t": nobody typed -t
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev", reason),)
    assert rig.kinds() == ["code_needed", "code_needed"]  # announced again
    rig.engine.fail = None
    rig.keeper.submit_code(DEVICE, "654321")
    rig.tick()
    rig.tick()
    assert rig.keeper.state().needs == ()
    assert rig.engine.code_from == ["the prompt", "the prompt"]


def wait_until(check: object, timeout: float = 10.0) -> None:
    """For the keeper's prompt thread (the one thing here not run by `tick`)."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_keeps_own_prompt_is_told_why_it_asks_again(tmp_path: Path) -> None:
    """`rolebar keep` in a terminal: its prompt gets the reason too."""
    asked: list[CodeRequest] = []
    rig = Rig(tmp_path)
    rig.keeper = Keeper(rig.engine, rig.settings,  # type: ignore[arg-type]
                        clock=lambda: rig.clock.wall, monotonic=lambda: rig.clock.mono,
                        writer=rig.writer, rnd=lambda: 0.5, command="/opt/rolebar",
                        prompt=lambda request: asked.append(request) and None)
    rig.engine.no_code = True
    rig.settings.select("dev", style="keys")
    rig.keeper.tick()
    wait_until(lambda: asked and not rig.keeper._needs.prompting())
    rig.engine.fail = InvalidCode("profile dev", "STS rejected the one-time code")
    rig.keeper.submit_code(DEVICE, "123456")
    rig.keeper.tick()
    wait_until(lambda: len(asked) == 2)
    assert [r.reason for r in asked] == [None, WRONG]
    assert asked[1].message.startswith("That code was wrong. One-time code for ")


def test_the_mfa_session_is_renewed_silently_ahead_of_its_end(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    session = rig.engine.session_creds
    assert session is not None
    assert rig.keeper.state().sessions == ((DEVICE, session.expires),)
    rig.clock.advance(session.expires - session_lead(session.issued, session.expires)
                      - rig.clock.wall + 1)
    rig.tick()
    assert ("renew", "dev", None) in rig.engine.calls
    assert rig.engine.session_creds is not session
    assert [c for c in rig.engine.calls if c[0] == "session"] == [("session", None)]
    assert "session_ending" not in rig.kinds()


def test_a_session_that_needs_a_code_is_announced_ahead_of_time(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    session = rig.engine.session_creds
    assert session is not None
    rig.engine.no_code = True
    rig.clock.advance(session.expires - 900 - rig.clock.wall + 1)
    for _ in range(3):
        rig.tick()
        rig.clock.advance(20)
    assert rig.kinds() == ["session_ending"]
    assert "ends in 15 min;" in rig.events[0].message
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)
    rig.keeper.submit_code(DEVICE, "654321")
    rig.tick()
    assert ("renew", "dev", "654321") in rig.engine.calls
    assert rig.keeper.state().needs == ()


def test_two_code_requests_share_one_need_and_both_get_the_code(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    answers: list[str | None] = []
    threads = [threading.Thread(target=lambda: answers.append(
        rig.keeper.request_code(DEVICE, "dev", 10))) for _ in range(2)]
    for t in threads:
        t.start()
    wait_until(lambda: rig.tick() and waiters(rig) == 2)  # each request is applied by a tick
    assert rig.kinds() == ["code_needed"]
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)
    rig.keeper.submit_code(DEVICE, "111222")
    rig.tick()
    for t in threads:
        t.join(5)
    assert answers == ["111222", "111222"]
    rig.tick()
    assert rig.keeper.state().needs == ()


def waiters(rig: Rig) -> int:
    """The requests waiting for a code, as the keeper counts them (once each)."""
    return sum(len(need.waiters) for need in rig.keeper._books.needs.values())


def test_a_code_request_times_out_with_none(rig: Rig) -> None:
    assert rig.keeper.request_code(DEVICE, "dev", 0.05) is None
    rig.tick()
    assert rig.keeper.state().needs == ()


def test_a_need_met_while_a_request_waits_goes_when_the_request_ends(rig: Rig) -> None:
    """Counted once: the keeper's own need, met while an ipc request also waited, does not
    outlive that request (the section said "needs_code" while fresh)."""
    rig.engine.no_code = True
    rig.settings.select("dev", style="keys")
    rig.tick()
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)
    answers: list[str | None] = []
    request = threading.Thread(target=lambda: answers.append(
        rig.keeper.request_code(DEVICE, "dev", 3)))
    request.start()
    wait_until(lambda: rig.tick() and waiters(rig) == 1)
    rig.engine.no_code = False  # generate_token works again
    rig.clock.advance(60)
    rig.tick()
    assert rig.key() is not None
    assert rig.keeper.state().needs == (CodeNeed(DEVICE, "dev"),)  # the request still waits
    request.join(10)
    assert answers == [None]
    rig.tick()
    assert rig.keeper.state().needs == ()
    assert rig.keeper.state().sections[0].health == "fresh"


def test_a_code_request_gets_none_when_the_keeper_stops(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.keeper = Keeper(rig.engine, rig.settings, writer=rig.writer,  # type: ignore[arg-type]
                        command="/opt/rolebar")
    rig.keeper.start()
    answers: list[str | None] = []
    request = threading.Thread(target=lambda: answers.append(
        rig.keeper.request_code(DEVICE, "dev", 300)))
    request.start()
    try:
        wait_until(lambda: rig.keeper.state().needs)
    finally:
        rig.keeper.stop()
    request.join(30)
    assert answers == [None]
    assert rig.keeper.request_code(DEVICE, "dev", 300) is None  # stopped: no wait at all


# -- sections -------------------------------------------------------------------------------


def test_an_unmarked_section_is_refused_once_and_others_are_served(rig: Rig) -> None:
    original = rig.creds_file.read_text() + "\n[tray-managed]\naws_access_key_id = MINE\n"
    rig.creds_file.write_text(original)
    rig.settings.select("dev", style="keys")
    rig.settings.select("ops", "other", "keys")
    for _ in range(3):
        rig.tick()
        rig.clock.advance(5)
    assert rig.kinds() == ["section_refused"]
    assert rig.events[0].subject == "section tray-managed"
    assert rig.key() == "MINE" and rig.key("other") is not None
    assert rig.creds_file.read_text().startswith(original)
    states = {s.name: s for s in rig.keeper.state().sections}
    assert states["tray-managed"].health == "error"
    assert "marker" in (states["tray-managed"].problem or "")
    assert states["other"].health == "fresh"


def test_stale_content_put_back_by_another_writer_is_restored(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    stale = rig.creds_file.read_text()
    rig.clock.advance(deadlines(T0, T0 + 1200)[0] - T0 + 1)
    rig.tick()
    current = rig.key()
    rig.creds_file.write_text(stale + "[added]\nx = 1\n")  # another program, no lock
    assert rig.key() != current
    rig.tick()
    assert rig.key() == current
    assert rig.section("added") == {"x": "1"}


def test_switching_style_and_role_rewrites_at_once(rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    rig.keeper.set_style("tray-managed", "process")
    rig.tick()
    assert rig.section() == {"credential_process": "/opt/rolebar process --section tray-managed",
                             "region": "eu-west-1"}
    rig.keeper.select("ops", "tray-managed", "keys")
    rig.tick()
    assert rig.key() is not None
    assert rig.engine.roles()[-1][1] == "ops"
    assert [s.profile for s in rig.keeper.state().sections] == ["ops"]


def test_unselect_removes_the_section_and_keeps_the_rest(rig: Rig) -> None:
    before = rig.creds_file.read_text()
    rig.keeper.select("dev", tray_section("dev"), "keys")
    rig.tick()
    assert rig.key("tray-managed-dev") is not None
    rig.keeper.unselect("tray-managed-dev")
    rig.tick()
    # The writer may leave the blank line it put before the section it appended.
    assert rig.creds_file.read_text().rstrip("\n") == before.rstrip("\n")
    assert rig.keeper.state().sections == ()


def test_a_settings_change_by_another_process_is_noticed(rig: Rig, tmp_path: Path) -> None:
    rig.tick()
    Settings(tmp_path / "settings.json").select("ops", "tray-managed", "keys")
    rig.tick()
    assert rig.key() is not None


# -- late subscribers ----------------------------------------------------------------------


class Late:
    """A subscriber that joins after the keeper started (the tray, a moment after its engine)."""

    def __init__(self, rig: Rig) -> None:
        self.got: list[tuple[KeeperState, Event]] = []
        self.unsubscribe = rig.keeper.subscribe(lambda s, e: self.got.append((s, e)))

    def kinds(self) -> list[str]:
        return [e.kind for _, e in self.got]

    def events(self) -> list[Event]:
        return [e for _, e in self.got if e.kind != "state"]


def test_a_late_subscriber_gets_the_state_and_a_need_as_if_it_had_just_happened(
        rig: Rig) -> None:
    assert Late(rig).got == []  # nothing published yet: nothing to hand over
    rig.engine.no_code = True
    rig.settings.select("dev", style="keys")
    for _ in range(3):
        rig.tick()
        rig.clock.advance(10)
    assert rig.kinds() == ["code_needed"]  # the one-time event, long gone by now
    late = Late(rig)
    assert late.kinds() == ["state", "code_needed"]
    assert late.got[0][0] == rig.keeper.state()
    assert late.events() == rig.events  # the same subject and sentence
    assert late.got[1][0].sections[0].health == "needs_code"
    for _ in range(3):  # and not again, to either subscriber
        rig.tick()
        rig.clock.advance(10)
    assert late.kinds().count("code_needed") == 1 and rig.kinds() == ["code_needed"]
    rig.keeper.submit_code(DEVICE, "123456")
    rig.tick()
    rig.tick()
    assert rig.keeper.state().needs == ()
    assert Late(rig).kinds() == ["state"]  # met: nothing to announce to a newcomer


def test_a_replayed_session_ending_tells_the_time_left_now_and_a_need_once_it_ended(
        rig: Rig) -> None:
    rig.settings.select("dev", style="keys")
    rig.tick()
    session = rig.engine.session_creds
    assert session is not None
    rig.engine.no_code = True
    rig.clock.advance(session.expires - 900 - rig.clock.wall + 1)
    rig.tick()
    assert rig.kinds() == ["session_ending"]
    assert "ends in 15 min;" in rig.events[0].message
    rig.clock.advance(300)
    rig.tick()
    ending = Late(rig).events()
    assert [(e.kind, e.subject) for e in ending] == [("session_ending", DEVICE)]
    assert "ends in 10 min;" in ending[0].message
    rig.clock.advance(session.expires - rig.clock.wall + 1)  # nobody typed a code
    rig.tick()
    needed = Late(rig).events()
    assert [(e.kind, e.subject) for e in needed] == [("code_needed", DEVICE)]
    assert needed[0].message == f"profile dev needs a one-time code for {DEVICE}"


def test_a_late_subscriber_hears_of_errors_that_still_hold_only(rig: Rig) -> None:
    original = rig.creds_file.read_text() + "\n[tray-managed]\naws_access_key_id = MINE\n"
    rig.creds_file.write_text(original)
    rig.settings.select("ops", style="keys")  # refused: the section is not rolebar's
    rig.settings.select("ops", "other", "keys")
    rig.tick()
    rig.engine.fail = StsError("profile ops", "STS failed; try again shortly (InternalFailure)")
    rig.clock.advance(deadlines(T0, T0 + 1200)[0] - T0)
    while "refresh_failed" not in rig.kinds():
        rig.tick()
        rig.clock.advance(5)
    assert rig.kinds() == ["section_refused", "refresh_failed"]
    assert Late(rig).events() == rig.events
    rig.engine.fail = None
    rig.clock.advance(300)
    rig.tick()
    assert [(e.kind, e.subject) for e in Late(rig).events()] == [
        ("section_refused", "section tray-managed")]
    rig.settings.unselect("tray-managed")
    rig.tick()
    assert Late(rig).kinds() == ["state"]


def test_an_unsubscribed_listener_hears_nothing_more(rig: Rig) -> None:
    rig.engine.no_code = True
    late = Late(rig)
    late.unsubscribe()
    rig.settings.select("dev", style="keys")
    rig.tick()
    assert late.got == [] and rig.kinds() == ["code_needed"]


def test_a_subscriber_joining_while_the_keeper_runs_hears_of_a_need_once(
        tmp_path: Path) -> None:
    """Any order of start, the need and subscribe: exactly one code_needed per subscriber."""
    rig = Rig(tmp_path)
    rig.keeper = Keeper(rig.engine, rig.settings, writer=rig.writer,  # type: ignore[arg-type]
                        command="/opt/rolebar")
    rig.engine.clock = SimpleNamespace(wall=time.time())  # type: ignore[assignment]
    rig.engine.no_code = True
    rig.keeper.select("dev", style="keys")
    rig.keeper.start()
    lates = []
    try:
        deadline = time.monotonic() + 5
        while not rig.keeper.state().needs or len(lates) < 20:
            assert time.monotonic() < deadline
            lates.append(Late(rig))  # before, while and after the need arises
            time.sleep(0.005)
        time.sleep(0.2)
    finally:
        rig.keeper.stop()
    assert [late.kinds().count("code_needed") for late in lates] == [1] * len(lates)


# -- the loop -------------------------------------------------------------------------------


def test_a_failing_listener_does_not_stop_the_keeper(rig: Rig) -> None:
    def broken(state: KeeperState, event: Event) -> None:
        raise RuntimeError("listener bug")

    rig.keeper.subscribe(broken)
    rig.settings.select("dev", style="keys")
    rig.tick()
    assert rig.key() is not None


def test_the_worker_thread_is_named_and_stops_promptly(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.keeper = Keeper(rig.engine, rig.settings, writer=rig.writer,  # type: ignore[arg-type]
                        command="/opt/rolebar")
    rig.engine.clock = SimpleNamespace(wall=time.time())  # type: ignore[assignment]
    rig.keeper.select("dev", style="keys")
    rig.keeper.start()
    try:
        assert "rolebar-keeper" in [t.name for t in threading.enumerate()]
        deadline = time.monotonic() + 5
        while rig.key() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        rig.keeper.stop()
    assert time.monotonic() - started < 2
    assert "rolebar-keeper" not in [t.name for t in threading.enumerate()]
