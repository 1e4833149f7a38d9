"""Fixtures for tests under a real X server: see ``harness.py`` for what pystray does there.

Scopes: ``xvfb`` is per session (one X server per pytest process or xdist worker). The bus, the
notification capture, the tray host and the processes a test launches are per test, so each test
starts with an empty tray, a fresh dunst and its own HOME (from ``tests/conftest.py``).

To test "no notification daemon", override the ``notification_service`` fixture::

    @pytest.mark.parametrize("notification_service", [True, False], ids=["notifyd", "no-notifyd"])
    def test_x(desktop_env, tray_host, notification_service): ...

and ``harness.BROKEN`` for a notification service that is activatable but cannot start.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from . import harness
from .harness import NotificationCapture, SessionBus, Started

Launch = Callable[..., Started]


@pytest.fixture(scope="session")
def desktop_tools() -> None:
    """Fail early (naming the Debian packages) when the desktop programs are missing."""
    if not sys.platform.startswith("linux"):
        pytest.skip("desktop tests run on Linux (Xvfb, trayer, dunst)")
    missing = harness.missing_tools()
    if missing:
        pytest.fail(f"desktop tests need: apt-get install {' '.join(missing)}", pytrace=False)
    try:
        import Xlib  # noqa: F401
    except ImportError:
        pytest.fail("desktop tests need python-xlib (pip install -e '.[test]')", pytrace=False)


@pytest.fixture(scope="session")
def session_logs(desktop_tools: None) -> Path:
    """Logs of the session-wide processes (Xvfb): artifacts/desktop/_session-<xdist worker>/."""
    path = harness.ARTIFACTS / f"_session-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def x_server(session_logs: Path) -> Iterator[Started]:
    """The Xvfb process (``.name`` is the DISPLAY string); prefer ``xvfb``."""
    display, proc = harness.start_xvfb(session_logs)
    proc.name = display
    try:
        yield proc
    finally:
        proc.end()


@pytest.fixture(scope="session")
def xvfb(x_server: Started) -> str:
    """An Xvfb 1024x600x24 on a free display (one per session); the DISPLAY string ":N"."""
    return x_server.name


@pytest.fixture
def _x_alive(x_server: Started) -> None:
    if x_server.popen is not None and x_server.popen.poll() is not None:
        pytest.fail(f"Xvfb {x_server.name} died (exit {x_server.popen.returncode}):\n"
                    f"{x_server.tail()}", pytrace=False)


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's directory under artifacts/desktop/ (emptied first): screenshots and logs."""
    name = request.node.nodeid.removeprefix("tests/desktop/")
    path = harness.ARTIFACTS / re.sub(r"[^\w.\[\]-]+", "_", name).strip("_")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def notification_service() -> harness.NotificationService:
    """Whether the bus can activate dunst; parametrize it to False for "no daemon" tests, to
    ``harness.BROKEN`` for a daemon that dies whenever the bus starts it."""
    return True


@pytest.fixture
def session_bus(
    xvfb: str, _x_alive: None, notification_service: harness.NotificationService,
    artifacts: Path, home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SessionBus]:
    """A private dbus-daemon (dunst activatable, nothing, or a dunst that cannot start); sets
    DBUS_SESSION_BUS_ADDRESS."""
    env = {**os.environ, "DISPLAY": xvfb, "NO_AT_BRIDGE": "1"}
    env.pop("WAYLAND_DISPLAY", None)
    bus = harness.start_session_bus(artifacts / "bus", env, notification_service)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    try:
        yield bus
    finally:
        bus.stop()


@pytest.fixture
def desktop_env(
    xvfb: str, session_bus: SessionBus, home: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Env for a tray subprocess: DISPLAY, DBUS_SESSION_BUS_ADDRESS, NO_AT_BRIDGE=1, the test's
    HOME/XDG dirs. Also put into os.environ for this test, so the helpers find the display."""
    env = harness.desktop_environment(os.environ, xvfb, session_bus)
    for name in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "NO_AT_BRIDGE", "GDK_BACKEND",
                 "GSETTINGS_BACKEND"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return env


@pytest.fixture
def tray_host(desktop_env: dict[str, str], artifacts: Path) -> Iterator[Started]:
    """trayer at the top right; ready once it owns _NET_SYSTEM_TRAY_S0."""
    proc = harness.start_trayer(desktop_env, artifacts / "trayer.log")
    try:
        yield proc
    finally:
        proc.end()


@pytest.fixture
def notifications(
    session_bus: SessionBus, desktop_env: dict[str, str], artifacts: Path
) -> Iterator[NotificationCapture]:
    """dbus-monitor on Notify calls:
    ``.wait_for_notification(text, timeout) -> "summary\\nbody"``, ``.notifications()``,
    ``.unanswered()`` (calls refused for lack of a service), ``.daemon_pid()``."""
    capture = harness.start_notification_capture(
        session_bus, artifacts / "dbus-monitor.log", desktop_env
    )
    try:
        yield capture
    finally:
        capture.stop()


@pytest.fixture
def launch(desktop_env: dict[str, str], artifacts: Path) -> Iterator[Launch]:
    """``launch(argv, env=None, name=None) -> Started``: a subprocess with desktop_env (plus
    ``env``), output in artifacts/<test>/<name>.log; whatever still runs at teardown is ended
    by its pid."""
    started: list[Started] = []

    def start(argv: list[str], env: Mapping[str, str] | None = None,
              name: str | None = None) -> Started:
        label = name or Path(argv[1] if argv[0] == sys.executable else argv[0]).stem
        proc = harness.spawn(
            argv, {**desktop_env, **(env or {})}, artifacts / f"{label}.log", label
        )
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.end()
