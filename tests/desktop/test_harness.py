"""Proof that the harness drives a real pystray icon: docking, menu, clicks, notifications, exit."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from . import harness
from .harness import NotificationCapture, SessionBus, Started

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(60)]

PROBE = Path(__file__).with_name("probe_icon.py")

# Which button opens the menu, per backend (see harness.py).
MENU_BUTTON = {"appindicator": 1, "gtk": 3}


def start_probe(
    launch: Callable[..., Started], tmp_path: Path, backend: str | None
) -> tuple[Started, Path, Path]:
    out, ready = tmp_path / "clicks.txt", tmp_path / "ready"
    env = {"PYSTRAY_BACKEND": backend} if backend else {}
    proc = launch([sys.executable, str(PROBE), "--out", str(out), "--ready", str(ready)],
                  env=env, name=f"probe-{backend or 'default'}")
    return proc, out, ready


def wait_ready(proc: Started, ready: Path, timeout: float = 15.0) -> None:
    def check() -> bool:
        assert proc.popen is not None
        if proc.popen.poll() is not None:
            raise AssertionError(f"probe exited {proc.popen.returncode}:\n{proc.tail()}")
        return ready.exists()

    harness.wait_until(check, timeout, what="the probe to be ready")


def exit_status(proc: Started, timeout: float = 10.0) -> int:
    assert proc.popen is not None
    return proc.popen.wait(timeout=timeout)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_fixtures_are_up(
    xvfb: str, session_bus: SessionBus, tray_host: Started, desktop_env: dict[str, str],
    home: Path,
) -> None:
    assert harness.x_answers(xvfb)
    assert harness.pid_alive(session_bus.pid) and harness.pid_alive(tray_host.pid)
    assert harness.tray_selection_owner(xvfb) != 0
    assert desktop_env["DISPLAY"] == xvfb
    assert desktop_env["DBUS_SESSION_BUS_ADDRESS"] == session_bus.address
    assert desktop_env["NO_AT_BRIDGE"] == "1"
    assert desktop_env["HOME"] == str(home)
    assert desktop_env["XDG_RUNTIME_DIR"].startswith(str(home.parent))
    names = harness.bus_call(session_bus.address, "ListActivatableNames")
    assert harness.NOTIFICATIONS in names
    assert harness.find_docked_icon() is None  # empty tray


@pytest.mark.parametrize("backend", ["appindicator", "gtk"])
def test_icon_docks_and_its_menu_works(
    backend: str, tray_host: Started, launch: Callable[..., Started], tmp_path: Path,
    artifacts: Path,
) -> None:
    proc, out, ready = start_probe(launch, tmp_path, backend)
    wait_ready(proc, ready)
    icon = harness.wait_for_docked_icon()
    assert (icon.width, icon.height) == (32, 30)
    assert harness.screenshot(artifacts / "1-docked.png").stat().st_size > 0
    assert harness.popup_menus() == []

    # Open the menu; click "Second" by the label positions found on a screenshot.
    harness.click(*icon.center, button=MENU_BUTTON[backend])
    menu = harness.wait_for_menu()
    assert menu.y >= icon.y + icon.height - 1  # below the icon at the top edge
    assert 80 <= menu.width <= 400 and 80 <= menu.height <= 300
    shot = harness.screenshot(artifacts / "2-menu.png")
    items = harness.menu_item_centers(menu, shot)
    # First, Status: idle (insensitive), Second, Third, More >, Quit; the separator is skipped
    assert len(items) == 6, items
    # 4 px padding, 25 px per item, 1 px separator (see harness.py)
    assert [y - menu.y for _x, y in items] == pytest.approx([16, 41, 66, 91, 116, 142], abs=2)
    harness.click(*items[2])
    harness.wait_until(lambda: lines(out) == ["Second"], 5, what="Second in the clicks file")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")

    # The keyboard way: Down x3 is Third (the insensitive status line is skipped).
    harness.click(*icon.center, button=MENU_BUTTON[backend])
    harness.wait_for_menu()
    for _ in range(3):
        harness.key("Down")
    harness.screenshot(artifacts / "3-menu-third-selected.png")
    harness.key("Return")
    harness.wait_until(lambda: lines(out)[-1:] == ["Third"], 5, what="Third")

    # A submenu is a second popup window on top; tick its checkbox.
    harness.click(*icon.center, button=MENU_BUTTON[backend])
    harness.click_menu_item(4)  # More >
    submenu = harness.wait_until(lambda: harness.popup_menus()[1:], 5, what="the submenu")[-1]
    assert submenu.x != menu.x
    harness.screenshot(artifacts / "4-submenu.png")
    harness.click_menu_item(0, submenu)
    harness.wait_until(lambda: lines(out)[-1:] == ["Check on"], 5, what="Check on")

    # Quit from the menu.
    harness.click(*icon.center, button=MENU_BUTTON[backend])
    harness.click_menu_item(-1)
    assert exit_status(proc) == 0
    harness.wait_until(lambda: harness.find_docked_icon() is None, 5, what="the icon to go")


def test_gtk_left_click_runs_the_default_item(
    tray_host: Started, launch: Callable[..., Started], tmp_path: Path
) -> None:
    proc, out, ready = start_probe(launch, tmp_path, "gtk")
    wait_ready(proc, ready)
    harness.click(*harness.wait_for_docked_icon().center, button=1)
    harness.wait_until(lambda: lines(out) == ["First"], 5, what="First in the clicks file")
    assert harness.popup_menus() == []


def test_appindicator_is_the_default_backend(
    tray_host: Started, launch: Callable[..., Started], tmp_path: Path
) -> None:
    proc, _out, ready = start_probe(launch, tmp_path, None)
    wait_ready(proc, ready)
    icon = harness.wait_for_docked_icon()
    assert icon.name == "Probe" and icon.wm_class == ("probe", "probe")
    harness.click(*icon.center, button=3)  # right click opens the menu here too
    harness.wait_for_menu()
    harness.key("Escape")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")
    proc.popen.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    assert exit_status(proc) == 0
    assert "backend=pystray._appindicator has_menu=True" in proc.tail()


def test_xorg_fallback_has_no_menu(
    tray_host: Started, launch: Callable[..., Started], tmp_path: Path
) -> None:
    proc, _out, ready = start_probe(launch, tmp_path, "xorg")
    assert exit_status(proc) == 3
    assert "backend=pystray._xorg has_menu=False" in proc.tail()
    assert not ready.exists()


def test_notify_send_is_seen_and_shown(
    notifications: NotificationCapture, desktop_env: dict[str, str], artifacts: Path
) -> None:
    assert notifications.daemon_pid() is None  # dunst is only activated by the first call
    subprocess.run(["notify-send", "rolebar probe", "Enter the MFA code for dev"],
                   env=desktop_env, check=True, timeout=10)
    seen = notifications.wait_for_notification("MFA code", timeout=5)
    assert seen == "rolebar probe\nEnter the MFA code for dev"
    assert notifications.notifications()[0].app_name == "notify-send"
    dunst = notifications.daemon_pid()
    assert dunst is not None and notifications.bus.activated_pids() == [dunst]
    assert notifications.unanswered() == 0
    popup = harness.wait_until(
        lambda: [w for w in harness.window_tree() if w.wm_class == ("Dunst", "Dunst")
                 and w.height > 1], 5, what="the dunst popup")
    assert popup[0].y > 300  # bottom-left, away from the tray menu
    harness.screenshot(artifacts / "notification.png")


@pytest.mark.parametrize("notification_service", [False])
def test_without_notification_service(
    notification_service: bool, notifications: NotificationCapture,
    desktop_env: dict[str, str],
) -> None:
    names = harness.bus_call(notifications.bus.address, "ListActivatableNames")
    assert harness.NOTIFICATIONS not in names
    result = subprocess.run(["notify-send", "nobody", "listens"], env=desktop_env,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode != 0 and "ServiceUnknown" in result.stderr
    # libnotify asks GetServerInformation first and gives up: no Notify call ever goes out.
    harness.wait_until(notifications.unanswered, 5, what="the refused call")
    assert notifications.notifications() == []
    assert notifications.bus.activated_pids() == []


@pytest.mark.parametrize("notification_service", [harness.BROKEN])
def test_a_notification_service_that_cannot_start(
    notification_service: str, notifications: NotificationCapture,
    desktop_env: dict[str, str],
) -> None:
    names = harness.bus_call(notifications.bus.address, "ListActivatableNames")
    assert harness.NOTIFICATIONS in names  # activatable ...
    call = ["dbus-send", f"--bus={notifications.bus.address}", "--print-reply",
            f"--dest={harness.NOTIFICATIONS}", "/org/freedesktop/Notifications",
            f"{harness.NOTIFICATIONS}.GetServerInformation"]
    for _ in range(2):  # ... but it dies at every start, and says so at once
        result = subprocess.run(call, env=desktop_env, capture_output=True, text=True,
                                timeout=10)
        assert result.returncode != 0, result.stdout
        # dunst without a display aborts (SIGTRAP from g_error).
        assert "org.freedesktop.DBus.Error.Spawn.Child" in result.stderr, result.stderr
    assert notifications.notifications() == []
    assert notifications.daemon_pid() is None


@pytest.mark.parametrize("notification_service", [True, False], ids=["notifyd", "no-notifyd"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("backend", ["appindicator", "gtk"])
def test_exits_0_on_signal(
    backend: str, signum: signal.Signals, notification_service: bool, tray_host: Started,
    session_bus: SessionBus, launch: Callable[..., Started], tmp_path: Path,
) -> None:
    proc, _out, ready = start_probe(launch, tmp_path, backend)
    wait_ready(proc, ready)
    harness.wait_for_docked_icon()
    # pystray's Notifier activates dunst at start-up when it can.
    assert (session_bus.owner_pid(harness.NOTIFICATIONS) is not None) is notification_service
    proc.popen.send_signal(signum)  # type: ignore[union-attr]
    assert exit_status(proc) == 0, proc.tail()
    log = proc.tail()
    assert f"signal {signum.name}" in log
    assert ("no notification service at stop" in log) is not notification_service


PROMPTS = {
    "zenity": ["zenity", "--entry", "--title", "Probe MFA", "--text", "Code for probe"],
    "tk": [sys.executable, "-c",
           "import tkinter as tk\n"
           "root = tk.Tk(); root.title('Probe MFA'); entry = tk.Entry(root); entry.pack()\n"
           "entry.focus_set()\n"
           "root.bind('<Return>', lambda _e: (print(entry.get(), flush=True), root.destroy()))\n"
           "root.mainloop()\n"],
}


@pytest.mark.parametrize("kind", sorted(PROMPTS))
def test_prompt_window_gets_typed_text(
    kind: str, launch: Callable[..., Started], artifacts: Path
) -> None:
    harness.move(5, 595)  # away from where the prompt appears: focus() must do the work
    proc = launch(PROMPTS[kind], name=f"prompt-{kind}")
    window = harness.wait_for_window(r"^Probe MFA$", timeout=10)
    assert window.width > 50 and window.height > 15
    harness.screenshot(artifacts / "prompt.png")
    harness.xdotool_type("123456", window)
    harness.key("Return")
    assert exit_status(proc) == 0
    assert "123456" in proc.tail().splitlines()
