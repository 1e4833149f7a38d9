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


def test_a_failing_notifier_is_logged_not_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolebar")
    notifier = Notifier(Recorder(fail="ServiceUnknown: no notification service"),
                        background=False)
    notifier.notify("k", "rolebar", "body")
    assert notifier.failures == 1
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1
    assert "could not show 'rolebar': ServiceUnknown" in warning[0].getMessage()


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

