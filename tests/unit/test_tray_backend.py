"""tray/backend.py without a display: the backend choice, and pystray's start-up with the
mixins, on a stand-in for pystray 0.19.5's Icon (its run/_start_setup/_mark_ready flow)."""

from __future__ import annotations

import queue
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rolebar.tray import backend


class FakeIcon:
    """pystray._base.Icon's start-up: run() starts the setup thread, which waits until the
    backend's loop marks the icon ready; stop() joins it."""

    fail_before_ready: Exception | None = None

    def __init__(self, name: str = "rolebar") -> None:
        self.name = name
        self.visible = False
        self.__queue: queue.Queue[bool] = queue.Queue()
        self._setup_thread: threading.Thread | None = None
        self._notifier: Any = "pystray's"
        self.popups: list[int] = []

    def run(self, setup: Callable[[Any], None] | None = None) -> None:
        self._start_setup(setup)
        self._run()

    def _start_setup(self, setup: Callable[[Any], None] | None) -> None:
        def handler() -> None:
            self.__queue.get()
            if setup:
                setup(self)

        self._setup_thread = threading.Thread(target=handler)  # not a daemon, as pystray's
        self._setup_thread.start()

    def _run(self) -> None:
        if self.fail_before_ready is not None:  # pystray's notifier proxy on a broken bus
            raise self.fail_before_ready
        self._initialize()

    def _initialize(self) -> None:
        self._notifier = "pystray's"  # pystray builds its D-Bus proxy here
        self._mark_ready()

    def _mark_ready(self) -> None:
        self.__queue.put(True)

    def _on_status_icon_popup_menu(self, status_icon: Any, button: int, time: int) -> None:
        self.popups.append(button)

    def _on_status_icon_activate(self, status_icon: Any) -> None:
        raise AssertionError("pystray's own left click runs the default item")


def fake_backend(module: str) -> type[FakeIcon]:
    return type("Icon", (FakeIcon,), {"__module__": module})


@pytest.fixture
def pystray(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    fake = types.ModuleType("pystray")
    gtk = types.ModuleType("pystray._gtk")
    gtk.Icon = fake_backend("pystray._gtk")  # type: ignore[attr-defined]
    fake.Icon = fake_backend("pystray._appindicator")  # type: ignore[attr-defined]
    fake._gtk = gtk  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pystray", fake)
    monkeypatch.setitem(sys.modules, "pystray._gtk", gtk)
    monkeypatch.delenv("PYSTRAY_BACKEND", raising=False)
    yield fake


def test_appindicator_where_a_status_notifier_host_runs(
        pystray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "status_notifier_host", lambda: True)
    cls = backend.icon_class()
    assert issubclass(cls, pystray.Icon) and issubclass(cls, backend.Quiet)
    assert not issubclass(cls, backend.LeftClickMenu)


def test_a_plain_status_icon_where_none_runs_with_the_menu_on_left_click(
        pystray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "status_notifier_host", lambda: False)
    cls = backend.icon_class()
    assert issubclass(cls, pystray._gtk.Icon) and issubclass(cls, backend.Quiet)
    icon = cls()
    icon._on_status_icon_activate(object())
    assert icon.popups == [1]


def test_pystray_backend_set_by_hand_is_obeyed(
        pystray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSTRAY_BACKEND", "appindicator")
    monkeypatch.setattr(backend, "status_notifier_host", lambda: False)
    assert issubclass(backend.icon_class(), pystray.Icon)
    pystray.Icon = fake_backend("pystray._xorg")
    assert backend.icon_class() is pystray.Icon  # no menu: app.check_backend refuses it


def test_the_icon_starts_with_no_notifier_of_its_own_and_a_daemon_setup_thread(
        pystray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "status_notifier_host", lambda: True)
    icon = backend.icon_class()()
    ran = threading.Event()
    icon.run(lambda i: ran.set())
    assert ran.wait(5)
    assert isinstance(icon._notifier, backend.NoNotifier)
    assert icon._setup_thread.daemon and icon._setup_thread.name == "rolebar-tray-setup"


def test_a_loop_that_never_starts_leaves_no_thread_that_blocks_exit(
        pystray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "status_notifier_host", lambda: True)
    cls = backend.icon_class()
    cls.fail_before_ready = RuntimeError("GLib.Error: Spawn.ChildSignaled")
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError):
        cls().run(lambda i: None)
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left and all(t.daemon for t in left)  # waiting for "ready" for ever, harmlessly
    # pystray's own flow, for contrast: its setup thread would keep the process alive.
    plain = pystray.Icon()
    plain.fail_before_ready = RuntimeError("GLib.Error")
    with pytest.raises(RuntimeError):
        plain.run(lambda i: None)
    assert plain._setup_thread is not None and not plain._setup_thread.daemon
    plain._mark_ready()  # let it end
    plain._setup_thread.join(5)
