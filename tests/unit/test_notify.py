"""Notifications: once per state key, always logged, failures detected and logged."""

from __future__ import annotations

import logging
import threading

import pytest

from rolebar.tray import notify
from rolebar.tray.notify import Notifier, NotifyError


class Recorder:
    def __init__(self, fail: str | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail
        self.done = threading.Event()

    def send(self, title: str, body: str) -> None:
        self.sent.append((title, body))
        self.done.set()
        if self.fail:
            raise NotifyError(self.fail)


def test_repeats_are_dropped_until_the_state_settles() -> None:
    sender = Recorder()
    notifier = Notifier(sender, background=False)
    assert notifier.notify("code_needed dev-mfa", "rolebar", "code for dev")
    assert not notifier.notify("code_needed dev-mfa", "rolebar", "code for dev, again")
    assert notifier.notify("refresh_failed profile dev", "rolebar", "refresh failed")
    notifier.settle({"refresh_failed profile dev"})  # the code need was met
    assert not notifier.notify("refresh_failed profile dev", "rolebar", "still failing")
    assert notifier.notify("code_needed dev-mfa", "rolebar", "a new need")
    assert [body for _, body in sender.sent] == ["code for dev", "refresh failed", "a new need"]


def test_every_notification_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolebar")
    Notifier(Recorder(), background=False).notify("k", "rolebar: MFA code needed", "for dev")
    assert "notify: rolebar: MFA code needed: for dev" in caplog.text


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_failing_notifier_is_logged_once_with_its_cause(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolebar")
    sender = Recorder(fail="org.freedesktop.DBus.Error.ServiceUnknown: no such name")
    notifier = Notifier(sender, background=False)
    notifier.notify("a", "rolebar", "body")
    notifier.notify("b", "rolebar", "another")
    assert notifier.failures == 2 and notifier.unavailable
    assert warnings(caplog) == [
        "notify: notifications are unavailable (org.freedesktop.DBus.Error.ServiceUnknown: "
        "no such name); the menu and the code prompt work without them"]
    # Each notification still leaves its own line.
    assert "notify: rolebar: another" in caplog.text
    sender.fail = None
    notifier.notify("c", "rolebar", "shown")
    assert not notifier.unavailable and "notify: notifications work again" in caplog.text
    sender.fail = "org.freedesktop.DBus.Error.Spawn.ChildExited: exited with status 1"
    notifier.notify("d", "rolebar", "lost")
    assert len(warnings(caplog)) == 2 and "ChildExited" in warnings(caplog)[1]


class Checked(Recorder):
    def __init__(self, fail: str | None = None, service: str = "dunst 1.9.0") -> None:
        super().__init__(fail)
        self.service = service
        self.checks = 0

    def check(self) -> str:
        self.checks += 1
        if self.fail:
            raise NotifyError(self.fail)
        return self.service


def test_check_says_at_start_which_service_answers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolebar")
    sender = Checked()
    Notifier(sender, background=False).check()
    assert sender.checks == 1 and sender.sent == []
    assert "notify: notifications go to dunst 1.9.0" in caplog.text
    Notifier(Recorder(), background=False).check()  # a sender that cannot check: no-op


def test_check_says_once_that_notifications_are_unavailable(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolebar")
    notifier = Notifier(Checked(fail="org.freedesktop.DBus.Error.Spawn.ChildSignaled: "
                                     "Process org.freedesktop.Notifications received "
                                     "signal 5"))
    notifier.check()
    notifier.notify("k", "rolebar: MFA code needed", "for dev")
    notifier.close()
    assert len(warnings(caplog)) == 1
    assert "Spawn.ChildSignaled: Process org.freedesktop.Notifications received signal 5" \
        in warnings(caplog)[0]
    assert notifier.failures == 1


def test_background_sending_does_not_block_the_caller() -> None:
    gate = threading.Event()

    class Slow(Recorder):
        def send(self, title: str, body: str) -> None:
            gate.wait(5)
            super().send(title, body)

    sender = Slow()
    notifier = Notifier(sender)
    assert notifier.notify("k", "t", "b")  # returns before the sender finished
    assert sender.sent == []
    gate.set()
    assert sender.done.wait(5)
    notifier.close()
    assert sender.sent == [("t", "b")]


def test_plyer_exceptions_become_notify_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    plyer = pytest.importorskip("plyer")

    def broken(**kwargs: object) -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(plyer.notification, "notify", broken)
    with pytest.raises(NotifyError, match="RuntimeError: no backend"):
        notify.PlyerSender().send("t", "b")


def test_sender_per_platform() -> None:
    assert isinstance(notify.default_sender(platform="darwin"), notify.PlyerSender)
    assert isinstance(notify.default_sender(platform="win32"), notify.PlyerSender)
    try:
        import gi  # noqa: F401
    except ImportError:
        pytest.skip("no PyGObject")
    assert isinstance(notify.default_sender(platform="linux"), notify.DbusSender)

