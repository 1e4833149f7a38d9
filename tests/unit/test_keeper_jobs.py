"""The running keeper: one profile's slow fetch (a hung generate_token, a stalled STS, a
lock held elsewhere) never holds back the other sections (issue 9 item 2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from rolebar.core.credentials import Credentials
from rolebar.core.credfile import SectionWriter
from rolebar.core.errors import NoCodeError
from rolebar.core.keeper import Keeper
from rolebar.core.keeper.inbox import Inbox
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.settings import Settings

DEVICES = {"slow": "arn:aws:iam::000000000000:mfa/slow",
           "quick": "arn:aws:iam::000000000000:mfa/quick"}


class Engine:
    """The Engine methods the keeper uses; fetching `slow` blocks until released."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.release = threading.Event()
        self.entered = threading.Event()
        self.lock = threading.Lock()
        self.n = 0
        self.no_code = False

    def profiles(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=p) for p in sorted(DEVICES)]

    def plan(self, profile: str) -> SimpleNamespace:
        return SimpleNamespace(device=DEVICES[profile], route="session", region="eu-west-1")

    def credentials(self, profile: str, *, code: str | None = None, force: bool = False,
                    interactive: bool | None = None) -> Credentials:
        if profile == "slow":
            self.entered.set()
            if not self.release.wait(60) or self.no_code:
                raise NoCodeError("profile slow", "no one-time code")
        with self.lock:
            self.n += 1
            n = self.n
        now = time.time()
        return Credentials(f"ASIAFAKE{n:012d}", "s" * 40, "t" * 100, now, now + 3600)

    def session(self, profile: str) -> None:
        return None

    def renew_session(self, profile: str, **kwargs: object) -> Credentials:
        raise AssertionError("no session to renew")

    def restamp(self, profile: str) -> bool:
        return False

    def signin_ahead(self, profile: str) -> None:
        return None


def wait_until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.02)


def test_a_blocked_profile_does_not_hold_back_the_other_section(tmp_path: Path) -> None:
    creds_file = tmp_path / "credentials"
    creds_file.write_text("[my-company]\naws_access_key_id = AKIAX\n")
    (tmp_path / "config").write_text("")
    engine = Engine({"AWS_CONFIG_FILE": str(tmp_path / "config"),
                     "AWS_SHARED_CREDENTIALS_FILE": str(creds_file)})
    settings = Settings(tmp_path / "settings.json")
    settings.select("slow", "first", "keys")  # first in line: the old keeper waited on it
    settings.select("quick", "second", "keys")
    writer = SectionWriter(creds_file)
    keeper = Keeper(engine, settings, writer=writer, command="/opt/rolebar")  # type: ignore[arg-type]
    keeper.start()
    try:
        assert engine.entered.wait(30), "the slow profile was never fetched"
        wait_until(lambda: writer.read("second"), 30, "[second]")
        assert writer.read("first") is None
        state = {s.name: s.health for s in keeper.state().sections}
        assert state["first"] == "refreshing"
        engine.release.set()
        wait_until(lambda: writer.read("first"), 30, "[first] after the release")
    finally:
        engine.release.set()
        keeper.stop()


def test_a_refresh_that_ends_after_its_profile_was_unselected_is_dropped(
        tmp_path: Path) -> None:
    creds_file = tmp_path / "credentials"
    creds_file.write_text("")
    engine = Engine({"AWS_CONFIG_FILE": str(tmp_path / "config"),
                     "AWS_SHARED_CREDENTIALS_FILE": str(creds_file)})
    engine.no_code = True
    settings = Settings(tmp_path / "settings.json")
    keeper = Keeper(engine, settings, writer=SectionWriter(creds_file),  # type: ignore[arg-type]
                    command="/opt/rolebar")
    events: list[str] = []
    keeper.subscribe(lambda state, event: events.append(f"{event.kind} {event.subject}"))
    keeper.select("slow", "first", "keys")
    keeper.start()
    try:
        assert engine.entered.wait(30)
        keeper.select("quick", "first", "keys")  # a switch while slow's fetch waits
        engine.release.set()
        wait_until(lambda: SectionWriter(creds_file).read("first"), 30, "[first] for quick")
        keeper.refresh_now()
        wait_until(lambda: not keeper.state().needs and
                   keeper.state().sections[0].health == "fresh", 30, "a settled state")
    finally:
        engine.release.set()
        keeper.stop()
    assert not [e for e in events if e.startswith("code_needed")], events
    assert keeper.state().needs == ()


def test_jobs_run_one_per_key_and_apply_through_the_inbox() -> None:
    inbox = Inbox()
    jobs = Jobs(inbox.post, inbox.drain)
    jobs.inline = False
    gate = threading.Event()
    applied: list[tuple[object, object, str]] = []

    def apply(value: int | None, exc: Exception | None) -> None:
        applied.append((value, exc, threading.current_thread().name))

    assert jobs.start("k", lambda: gate.wait(30) and 1, apply)
    assert not jobs.start("k", lambda: 2, apply)  # one at a time per key
    assert jobs.busy("k")
    gate.set()
    inbox.wait(30)  # the outcome arrived: it wakes the keeper
    assert jobs.busy("k") and applied == []  # until it is applied on the keeper's thread
    inbox.drain()
    assert applied == [(1, None, threading.current_thread().name)]
    assert not jobs.busy("k")

    def fails() -> int:
        raise ValueError("boom")

    jobs.start("k", fails, apply)
    inbox.wait(30)
    inbox.drain()
    assert isinstance(applied[-1][1], ValueError) and applied[-1][0] is None


def test_inline_jobs_apply_at_once_after_the_commands_that_came_first() -> None:
    inbox = Inbox()
    jobs = Jobs(inbox.post, inbox.drain)
    order: list[object] = []

    def work() -> int:
        inbox.post(lambda: order.append("a command sent meanwhile"))
        return 7

    jobs.start("k", work, lambda value, exc: order.append(value))
    assert order == ["a command sent meanwhile", 7] and not jobs.busy("k")


def test_a_closed_inbox_runs_no_command_and_calls_each_ones_dropped() -> None:
    inbox = Inbox()
    ran: list[int] = []
    dropped: list[int] = []
    inbox.post(lambda: ran.append(1), lambda: dropped.append(1))
    inbox.close()
    inbox.post(lambda: ran.append(2), lambda: dropped.append(2))
    inbox.drain()
    assert ran == [] and dropped == [1, 2]
