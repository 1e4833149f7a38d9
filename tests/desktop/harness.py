"""Headless desktop harness: Xvfb, a private session bus, trayer, dunst, and X helpers.

The fixtures in ``tests/desktop/conftest.py`` wrap the functions here. The helpers (``click``,
``screenshot``, ``wait_for_menu`` ...) can be called from a test directly: they find the display
through ``DISPLAY``, which the ``desktop_env`` fixture sets for the test. Every process the harness
starts has its pid recorded and is ended by that pid (:func:`end_pid`), never by name.

What pystray 0.19.5 does here, as measured by ``test_harness.py`` (Debian bookworm, Xvfb
1024x600x24 without a window manager, trayer 1.1.8, dunst 1.9.0, GTK 3.24 with its default
Adwaita theme, Ayatana AppIndicator 0.5.92, PyGObject 3.50):

Backends
  * ``PYSTRAY_BACKEND`` unset picks ``appindicator`` when PyGObject and the
    ``gir1.2-ayatanaappindicator3-0.1`` typelib are there, else ``gtk``, else ``xorg``.
  * ``appindicator``: with no StatusNotifierWatcher on the bus (our private bus has none),
    libayatana falls back to an XEmbed status icon that trayer docks. **Left click (button 1)
    opens the menu, and so does right click (button 3)**; middle click does nothing.
    ``HAS_DEFAULT_ACTION`` is False: the default item is only drawn in bold. The docked window
    is named after the icon *title* with WM_CLASS ``(name, name)`` of ``pystray.Icon(name,
    ...)``, e.g. ``"Probe": ("probe" "probe")``. On a desktop with a StatusNotifier host (KDE,
    GNOME with the extension) it registers over D-Bus instead and does *not* dock in trayer.
    It logs a ``Gdk-CRITICAL ... gdk_window_thaw_toplevel_updates`` at start: the library's
    fallback names its GtkStatusIcon after creating it, which hides and re-shows the icon
    (``rolebar tray`` uses the gtk backend where no StatusNotifier host runs: tray/backend.py).
  * ``gtk``: a ``GtkStatusIcon`` that trayer docks. **Right click (button 3) opens the menu;
    left click (button 1) runs the default item** (``MenuItem(..., default=True)``) and opens
    nothing. The docked window is named after the program (``probe_icon.py``), WM_CLASS
    ``(prgname, Prgname)``.
  * So button 3 opens the menu with either backend.
  * ``xorg``: ``Icon.HAS_MENU`` is False, there is no menu at all. It docks too, as a 24x30
    window with WM_CLASS ``("<name>SystemTrayIcon", "<name>")``. To tell this fallback: that
    class, ``type(icon).__module__ == "pystray._xorg"``, or ``HAS_MENU`` being false. It runs
    no GLib loop, so GLib signal sources never fire there.
  * The appindicator and gtk icons end up 32x30 inside trayer's 32 px high ``panel`` (one icon
    on a 1024 px screen: panel 34x32 at +990+0, icon at +991+1, center (1007, 16)). While
    docking, the icon is 16 px wide for a moment: :func:`wait_for_docked_icon` waits until the
    geometry holds still. Icons dock 0.5-1 s after the process starts (more on a loaded box).

Menus (both backends show a GtkMenu)
  * The open menu is a mapped, override-redirect top-level window with
    ``_NET_WM_WINDOW_TYPE_POPUP_MENU`` and the program's WM_CLASS. :func:`popup_menus` and
    :func:`wait_for_menu` find it; it is mapped 0.1-0.3 s after the click, right-aligned under
    the icon (the probe's menu: 135x159 at +888+31). GTK also maps a 10x10 window at -100,-100
    with no window type; ignore it. A submenu is another POPUP_MENU window stacked on top
    (``popup_menus()[-1]``); at the right screen edge it opens to the *left* of its parent,
    level with its item.
  * Geometry: 4 px padding at the top and bottom, every item 25 px high (insensitive ones too),
    a separator 1 px. The i-th item (0-based, separators not counted) is centred at
    ``menu.y + 4 + 25 * i + 12 + (separators above it)``; any x inside the menu works.
    Rather than hard-coding that, :func:`menu_item_centers` finds each label row on a
    screenshot (pixels darker than 160; separators are light grey and never match, insensitive
    labels are mid grey and do) and :func:`click_menu_item` clicks the N-th one.
  * The keyboard needs no geometry: with the menu open and nothing selected, ``key("Down")``
    N times selects the N-th *sensitive* item (separators and insensitive items are skipped),
    ``key("Up")`` once selects the last item, ``Return`` activates, ``Right`` opens a submenu,
    ``Escape`` closes. Keys go to the menu because GTK grabs the keyboard while it is open.
  * Activating an item runs the pystray callback, then pystray rebuilds the menu; the popup
    window is unmapped (wait for ``popup_menus() == []`` before opening it again).

Exit status and signals
  * In the gtk and appindicator backends ``icon.run()`` resets SIGINT to SIG_DFL as the loop
    starts, so handlers set before ``run()`` are lost. Install SIGINT and SIGTERM with
    ``GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, callback)`` from the setup callback and
    call ``icon.stop()`` there. A signal that arrives earlier kills the process (-15, -2) or
    raises KeyboardInterrupt: wait until the app says it is ready (the probe writes a file).
  * **With no notification service on the bus both backends exit with status 1 at stop**, even
    if nothing was notified: ``_finalize`` calls ``Notifier.hide()``, whose
    ``CloseNotification`` call raises ``GLib.Error`` ``org.freedesktop.DBus.Error.ServiceUnknown``
    out of ``icon.run()``. The probe catches exactly that error, once a stop was asked for, and
    exits 0 in both cases (``probe_icon.py``).
  * With dunst activatable, the icon *activates dunst at start-up* (pystray's Notifier makes a
    ``Gio.DBusProxy`` that auto-starts the name), before anything is notified.
  * ``icon.notify()`` with no service fails silently (pystray's ``mainloop`` decorator swallows
    the error; from reading the code).

Notifications
  * Our bus config lists only our own service dir: with ``notification_service`` it holds a
    service file that runs dunst with the harness' dunstrc (popups bottom-left, so they never
    cover the menu under the tray at the top right; 10 s), otherwise it is empty. Nothing else
    (portals, dconf, a11y) can be activated. dunst inherits the bus's environment, so the bus
    is started with DISPLAY set.
  * ``notification_service=BROKEN``: the same service file on a bus started *without* DISPLAY
    (a desktop whose session bus came up before the X session exported it). The name is
    activatable but every activation dies (dunst aborts with SIGTRAP): calls to it fail at
    once with ``org.freedesktop.DBus.Error.Spawn.ChildSignaled``, and a ``Gio.DBusProxy`` made
    with auto-start (pystray 0.19.5's notifier) raises while it is being built.
  * dbus-daemon double-forks activated services: dunst's parent is pid 1, not the bus. Find it
    with ``GetConnectionUnixProcessID`` (:meth:`SessionBus.owner_pid`).
  * ``dbus-monitor`` prints strings unescaped (quotes and newlines verbatim); the parser splits
    on the line layout of a Notify call, which is fine for test texts.
  * On the no-service bus ``notify-send`` exits 1 with ``ServiceUnknown`` and never sends
    ``Notify`` (libnotify asks ``GetServerInformation`` first), so the capture sees no
    notification; :meth:`NotificationCapture.unanswered` counts the refused calls instead.

Gotchas
  * ``xdotool mousemove --sync`` hangs when the pointer is already there: :func:`click` does not
    use ``--sync``.
  * There is no window manager: keyboard focus is PointerRoot, so keys go to the window under
    the pointer. :func:`xdotool_type` with a window (or :func:`focus`) moves the pointer onto it
    and sets the input focus. A Tk window appears at +0+0, a zenity dialog centred.
  * ``xwininfo -tree`` fails when a window goes away mid-walk: :func:`window_tree` retries.
  * Xvfb resets itself when its last client leaves, and a client connecting during the reset
    gets "cannot open display": the harness runs it with ``-noreset``.
  * PID 1 in the container does not reap orphans, so processes that ``--fork`` (dbus-daemon)
    linger as zombies after they end: :func:`pid_alive` counts state ``Z`` as gone.
  * Others may run their own Xvfb: the harness skips displays that have ``/tmp/.X11-unix/X<n>``
    or ``/tmp/.X<n>-lock`` and tries the next number if Xvfb still loses a race (xdist).
  * With DISPLAY set and ``DBUS_SESSION_BUS_ADDRESS`` unset, GIO autolaunches another bus: the
    harness always sets it. ``NO_AT_BRIDGE=1`` keeps GTK from starting the at-spi bus,
    ``GSETTINGS_BACKEND=memory`` keeps it off dconf and ``GDK_BACKEND=x11`` off a Wayland
    display leaked from a developer's session.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "desktop"

SCREEN = "1024x600x24"

#: Programs the harness runs, with the Debian package that ships each.
TOOLS = {
    "Xvfb": "xvfb",
    "trayer": "trayer",
    "dunst": "dunst",
    "dbus-daemon": "dbus-daemon",
    "dbus-monitor": "dbus-bin",
    "dbus-send": "dbus-bin",
    "xwininfo": "x11-utils",
    "xdotool": "xdotool",
    "import": "imagemagick",
    "notify-send": "libnotify-bin",
}

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# processes


def missing_tools() -> list[str]:
    """The Debian packages to install for the programs that are not on PATH."""
    return sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (nobody reaped it) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def end_pid(pid: int, timeout: float = 5.0, popen: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL it. Reaps it if it is our child."""

    def gone() -> bool:
        if popen is not None:
            return popen.poll() is not None
        return not pid_alive(pid)

    if gone():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone():
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if popen is not None:
        popen.wait(timeout=5)


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; TimeoutError if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what or predicate!r}")
        time.sleep(interval)


@dataclass
class Started:
    """A process the harness started: its name, pid and (if it is our child) Popen."""

    name: str
    pid: int
    popen: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def end(self, timeout: float = 5.0) -> None:
        end_pid(self.pid, timeout, self.popen)

    def tail(self, lines: int = 20) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def spawn(
    argv: list[str], env: Mapping[str, str], log: Path, name: str | None = None
) -> Started:
    """Start ``argv`` in its own session with stdout and stderr going to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(name or Path(argv[0]).name, popen.pid, popen, log)


def _x_env(display: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if display is not None:
        env["DISPLAY"] = display
    if not env.get("DISPLAY"):
        raise RuntimeError("no DISPLAY: use the desktop_env fixture or pass display=")
    return env


def _run(argv: list[str], display: str | None = None, timeout: float = 10.0) -> str:
    result = subprocess.run(
        argv, env=_x_env(display), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


# --------------------------------------------------------------------------------------------
# Xvfb


def _display_free(n: int) -> bool:
    return not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists()


def x_answers(display: str) -> bool:
    result = subprocess.run(
        ["xwininfo", "-root", "-display", display], capture_output=True, timeout=5
    )
    return result.returncode == 0


def start_xvfb(
    log_dir: Path, first: int | None = None, timeout: float = 10.0
) -> tuple[str, Started]:
    """Start Xvfb on a free display number; return ``(":N", process)`` once ``xwininfo`` answers."""
    start = first if first is not None else 100 + (os.getpid() % 200) * 3
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for n in range(start, start + 200):
        if not _display_free(n):
            continue
        display = f":{n}"
        proc = spawn(
            ["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp", "-noreset"], env,
            log_dir / f"xvfb{n}.log",
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen is not None and proc.popen.poll() is not None:
                break  # lost the race for this number: try the next one
            if x_answers(display):
                return display, proc
            time.sleep(0.05)
        proc.end()
    raise RuntimeError("could not start Xvfb on any display number")


# --------------------------------------------------------------------------------------------
# session bus and notification daemon

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{servicedir}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_DUNST_SERVICE = """[D-BUS Service]
Name=org.freedesktop.Notifications
Exec={dunst} -config {dunstrc}
"""

# Popups at the bottom left, far from the tray menu at the top right; shown for 10 s.
_DUNSTRC = """[global]
    follow = none
    width = 300
    height = 300
    origin = bottom-left
    offset = 10x10
    font = Monospace 8
    format = "<b>%s</b>\\n%b"
    show_indicators = no
[urgency_low]
    timeout = 10
[urgency_normal]
    timeout = 10
[urgency_critical]
    timeout = 10
"""

NOTIFICATIONS = "org.freedesktop.Notifications"
SERVICE_UNKNOWN = "org.freedesktop.DBus.Error.ServiceUnknown"
#: ``notification_service`` value for a bus whose notification service cannot start.
BROKEN = "broken"
NotificationService = bool | Literal["broken"]


@dataclass
class SessionBus:
    """A private dbus-daemon; ``notification_service``: dunst is activatable (True), nothing
    is (False), or dunst is activatable but dies at every start (:data:`BROKEN`)."""

    address: str
    pid: int
    notification_service: NotificationService
    workdir: Path

    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def owner_pid(self, name: str) -> int | None:
        """The pid of the process owning ``name`` on this bus, None if nobody owns it."""
        try:
            reply = bus_call(self.address, "GetConnectionUnixProcessID", f"string:{name}")
        except subprocess.CalledProcessError:
            return None
        return int(reply.split()[-1])

    def activated_pids(self) -> list[int]:
        """The running services this bus activated (dunst, once something called
        org.freedesktop.Notifications). dbus-daemon double-forks them, so they are not its
        children: ask the bus who owns each activatable name."""
        names = re.findall(r'string "([^"]+)"', bus_call(self.address, "ListActivatableNames"))
        pids = [self.owner_pid(name) for name in names if name != "org.freedesktop.DBus"]
        return [pid for pid in pids if pid is not None]

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            for pid in self.activated_pids():
                end_pid(pid)
        end_pid(self.pid)


def start_session_bus(
    workdir: Path, env: Mapping[str, str], notification_service: NotificationService = True
) -> SessionBus:
    """``dbus-daemon --fork`` with only our service dir: dunst in it, or nothing at all.

    ``env`` must hold DISPLAY: activated services (dunst) inherit the bus's environment. With
    :data:`BROKEN` the bus itself is started without DISPLAY, so the dunst it activates dies.
    """
    if not env.get("DISPLAY"):
        raise ValueError("start the bus with DISPLAY set, dunst needs it when activated")
    if notification_service not in (True, False, BROKEN):
        raise ValueError(f"notification_service: True, False or {BROKEN!r}, not "
                         f"{notification_service!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    servicedir = workdir / "services"
    servicedir.mkdir(exist_ok=True)
    if notification_service:
        dunstrc = workdir / "dunstrc"
        dunstrc.write_text(_DUNSTRC)
        dunst = shutil.which("dunst") or "/usr/bin/dunst"
        (servicedir / "org.freedesktop.Notifications.service").write_text(
            _DUNST_SERVICE.format(dunst=dunst, dunstrc=dunstrc)
        )
    config = workdir / "bus.conf"
    config.write_text(_BUS_CONFIG.format(servicedir=servicedir))
    printed = workdir / "bus.txt"
    drop = {"DBUS_SESSION_BUS_ADDRESS"}
    if notification_service == BROKEN:
        drop |= {"DISPLAY", "WAYLAND_DISPLAY"}
    bus_env = {k: v for k, v in env.items() if k not in drop}
    with open(printed, "wb") as out, open(workdir / "bus.log", "ab") as err:
        subprocess.run(
            ["dbus-daemon", f"--config-file={config}", "--fork", "--print-address=1",
             "--print-pid=1"],
            env=bus_env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=True, timeout=10,
        )
    address, pid = printed.read_text().split()[:2]
    return SessionBus(address, int(pid), notification_service, workdir)


def bus_call(bus_address: str, method: str, *args: str) -> str:
    """``dbus-send`` a method of org.freedesktop.DBus on the bus; return the printed reply."""
    result = subprocess.run(
        ["dbus-send", f"--bus={bus_address}", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", f"org.freedesktop.DBus.{method}", *args],
        capture_output=True, text=True, timeout=10, check=True,
    )
    return result.stdout


@dataclass(frozen=True)
class Notification:
    app_name: str
    summary: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.summary}\n{self.body}"


_CALL_START = re.compile(r"^method call .*member=Notify$", re.MULTILINE)


def parse_notify_calls(monitor_output: str) -> list[Notification]:
    """Notify calls out of ``dbus-monitor`` text (it prints strings unescaped)."""
    found = []
    starts = [m.end() for m in _CALL_START.finditer(monitor_output)]
    for start in starts:
        block = monitor_output[start:]
        match = re.match(
            r'\n   string "(?P<app>.*?)"\n   uint32 \d+\n   string "(?P<strings>.*?)"\n   array \[',
            block, re.DOTALL,
        )
        if match is None:
            continue  # not complete yet
        parts = match["strings"].split('"\n   string "')
        if len(parts) < 3:
            continue
        icon_and_summary, body = parts[:-1], parts[-1]
        summary = '"\n   string "'.join(icon_and_summary[1:])
        found.append(Notification(match["app"], summary, body))
    return found


@dataclass
class NotificationCapture:
    """``dbus-monitor`` watching Notify calls on one bus."""

    process: Started
    bus: SessionBus

    def notifications(self) -> list[Notification]:
        assert self.process.log is not None
        return parse_notify_calls(self.process.log.read_text(errors="replace"))

    def wait_for_notification(self, text_substring: str, timeout: float = 10.0) -> str:
        """Wait for a Notify whose summary or body contains the text; return ``summary\\nbody``."""

        def match() -> str | None:
            for note in self.notifications():
                if text_substring in note.summary or text_substring in note.body:
                    return note.text
            return None

        return wait_until(match, timeout, what=f"a notification containing {text_substring!r}")

    def unanswered(self) -> int:
        """How many calls to org.freedesktop.Notifications the bus refused because no service
        provides it (the no-daemon bus: notify-send's GetServerInformation fails this way and it
        never sends Notify)."""
        assert self.process.log is not None
        text = self.process.log.read_text(errors="replace")
        return len(re.findall(
            rf"error_name={re.escape(SERVICE_UNKNOWN)} .*\n.*{re.escape(NOTIFICATIONS)}", text
        ))

    def daemon_pid(self) -> int | None:
        """dunst's pid once it was activated, else None."""
        return self.bus.owner_pid(NOTIFICATIONS)

    def stop(self) -> None:
        self.process.end()


def start_notification_capture(
    bus: SessionBus, log: Path, env: Mapping[str, str]
) -> NotificationCapture:
    """Start ``dbus-monitor`` for Notify calls and wait until it is attached to the bus."""
    mon_env = {**env, **bus.env()}
    proc = spawn(
        ["dbus-monitor", "--address", bus.address,
         f"interface='{NOTIFICATIONS}',member='Notify'",
         "type='error',sender='org.freedesktop.DBus'"],
        mon_env, log,
    )

    def attached() -> bool:
        # It prints its own NameAcquired/NameLost once it became a monitor.
        if proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"dbus-monitor exited {proc.popen.returncode}:\n{proc.tail()}")
        return log.exists() and "NameLost" in log.read_text(errors="replace")

    try:
        wait_until(attached, 10, what="dbus-monitor to attach")
    except TimeoutError:
        proc.end()
        raise
    return NotificationCapture(proc, bus)


# --------------------------------------------------------------------------------------------
# tray host


def tray_selection_owner(display: str, screen: int = 0) -> int:
    """The window owning ``_NET_SYSTEM_TRAY_S<screen>``, 0 if none."""
    from Xlib import display as xdisplay

    conn = xdisplay.Display(display)
    try:
        owner = conn.get_selection_owner(conn.intern_atom(f"_NET_SYSTEM_TRAY_S{screen}"))
        return int(getattr(owner, "id", owner) or 0)
    finally:
        conn.close()


def start_trayer(env: Mapping[str, str], log: Path, timeout: float = 10.0) -> Started:
    """trayer at the top right, 32 px high; returns once it owns the tray selection."""
    display = env["DISPLAY"]
    proc = spawn(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
         "--height", "32"], env, log,
    )
    try:
        wait_until(lambda: tray_selection_owner(display) != 0, timeout,
                   what="trayer to own _NET_SYSTEM_TRAY_S0")
    except TimeoutError:
        proc.end()
        raise
    return proc


# --------------------------------------------------------------------------------------------
# windows


@dataclass(frozen=True)
class Window:
    id: int
    name: str | None
    wm_class: tuple[str, ...]
    x: int  # absolute position on the screen
    y: int
    width: int
    height: int
    depth: int = 0  # nesting in the tree, root children are 0
    parent: int = 0

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


_TREE_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<id>0x[0-9a-f]+) (?:"(?P<name>.*)"|\(has no name\)): '
    r"\((?P<cls>.*)\)\s+(?P<w>\d+)x(?P<h>\d+)\+-?\d+\+-?\d+\s+\+(?P<x>-?\d+)\+(?P<y>-?\d+)$"
)


def window_tree(display: str | None = None) -> list[Window]:
    """Every window below the root, in ``xwininfo -root -tree`` order (parents before children)."""
    for attempt in range(10):
        try:
            out = _run(["xwininfo", "-root", "-tree"], display)
            break
        except RuntimeError:  # a window went away while xwininfo walked the tree: walk again
            if attempt == 9:
                raise
            time.sleep(0.02)
    windows: list[Window] = []
    stack: list[tuple[int, int]] = []  # (indent, id)
    for line in out.splitlines():
        m = _TREE_LINE.match(line)
        if m is None:
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else 0
        wid = int(m["id"], 16)
        windows.append(Window(
            wid, m["name"], tuple(re.findall(r'"([^"]*)"', m["cls"])), int(m["x"]), int(m["y"]),
            int(m["w"]), int(m["h"]), len(stack), parent,
        ))
        stack.append((indent, wid))
    return windows


def docked_icons(display: str | None = None) -> list[Window]:
    """The client windows docked under trayer's ``panel`` (the deepest windows bigger than 1x1)."""
    tree = window_tree(display)
    panels = {w.id for w in tree if w.name == "panel" and w.wm_class[-1:] == ("trayer",)}
    inside: set[int] = set()
    for w in tree:  # parents come before children
        if w.parent in panels or w.parent in inside:
            inside.add(w.id)
    big = [w for w in tree if w.id in inside and w.width > 1 and w.height > 1]
    parents_of_big = {w.parent for w in big}
    return [w for w in big if w.id not in parents_of_big]


def find_docked_icon(display: str | None = None) -> Window | None:
    """The icon docked in trayer (the first one if several), or None."""
    icons = docked_icons(display)
    return icons[0] if icons else None


def wait_for_docked_icon(
    timeout: float = 10.0, display: str | None = None, settle: float = 0.3
) -> Window:
    """The docked icon once its geometry stayed the same for ``settle`` s (it grows while docking:
    trayer first gives it 16 px, then 32)."""
    last: list[Window | None] = [None]
    since = [time.monotonic()]

    def stable() -> Window | None:
        icon = find_docked_icon(display)
        if icon != last[0]:
            last[0], since[0] = icon, time.monotonic()
            return None
        return icon if icon is not None and time.monotonic() - since[0] >= settle else None

    return wait_until(stable, timeout, what="an icon docked in trayer, its size settled")


def popup_menus(display: str | None = None) -> list[Window]:
    """Mapped override-redirect POPUP_MENU / DROPDOWN_MENU windows, bottom to top."""
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.error import XError

    conn = xdisplay.Display(_x_env(display)["DISPLAY"])
    try:
        wm_type = conn.intern_atom("_NET_WM_WINDOW_TYPE")
        menu_types = {conn.intern_atom("_NET_WM_WINDOW_TYPE_POPUP_MENU"),
                      conn.intern_atom("_NET_WM_WINDOW_TYPE_DROPDOWN_MENU")}
        root = conn.screen().root
        menus = []
        for child in root.query_tree().children:
            try:
                attrs = child.get_attributes()
                if attrs.map_state != X.IsViewable or not attrs.override_redirect:
                    continue
                prop = child.get_full_property(wm_type, X.AnyPropertyType)
                if prop is None or not menu_types.intersection(prop.value):
                    continue
                geo = child.get_geometry()
                wm_class = child.get_wm_class() or ()
                name = child.get_wm_name()
            except XError:
                continue  # went away meanwhile
            if geo.width > 1 and geo.height > 1:
                menus.append(Window(child.id, name if isinstance(name, str) else None,
                                    tuple(wm_class), geo.x, geo.y, geo.width, geo.height))
        return menus
    finally:
        conn.close()


def wait_for_menu(timeout: float = 5.0, display: str | None = None) -> Window:
    """The topmost open popup menu."""
    return wait_until(lambda: (popup_menus(display) or [None])[-1], timeout, what="a popup menu")


def wait_for_window(name_regex: str, timeout: float = 10.0, display: str | None = None) -> Window:
    """A visible window whose name matches (``xdotool search --onlyvisible --name``)."""

    def search() -> Window | None:
        result = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", name_regex],
            env=_x_env(display), capture_output=True, text=True, timeout=10,
        )
        for wid in result.stdout.split():
            window = window_geometry(int(wid), display)
            if window is not None:
                return window
        return None

    return wait_until(search, timeout, what=f"a window named /{name_regex}/")


def window_geometry(wid: int, display: str | None = None) -> Window | None:
    try:
        out = _run(["xdotool", "getwindowgeometry", "--shell", str(wid)], display)
        name = _run(["xdotool", "getwindowname", str(wid)], display).rstrip("\n")
    except RuntimeError:
        return None
    vals = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Window(wid, name, (), int(vals["X"]), int(vals["Y"]), int(vals["WIDTH"]),
                  int(vals["HEIGHT"]))


# --------------------------------------------------------------------------------------------
# input and pictures


def click(x: int, y: int, button: int = 1, display: str | None = None) -> None:
    _run(["xdotool", "mousemove", str(x), str(y), "click", str(button)], display)


def move(x: int, y: int, display: str | None = None) -> None:
    _run(["xdotool", "mousemove", str(x), str(y)], display)


def focus(window: Window, display: str | None = None) -> None:
    """Give ``window`` the keyboard. There is no window manager: focus is PointerRoot, keys go to
    the window under the pointer, so move the pointer there and also set the input focus."""
    move(*window.center, display=display)
    with contextlib.suppress(RuntimeError):
        _run(["xdotool", "windowfocus", "--sync", str(window.id)], display)


def xdotool_type(text: str, window: Window | None = None, display: str | None = None) -> None:
    """Type ``text`` with XTEST (to ``window`` after :func:`focus`, if given)."""
    if window is not None:
        focus(window, display)
    _run(["xdotool", "type", "--delay", "20", "--", text], display, timeout=30)


def key(name: str, display: str | None = None) -> None:
    """``xdotool key``: ``Return``, ``Escape``, ``Down``, ``ctrl+a`` ..."""
    _run(["xdotool", "key", "--", name], display)


def screenshot(path: Path | str, display: str | None = None) -> Path:
    """``import -window root`` into ``path``; a relative path goes under ``artifacts/desktop/``."""
    target = Path(path)
    if not target.is_absolute():
        target = ARTIFACTS / target
    target.parent.mkdir(parents=True, exist_ok=True)
    _run(["import", "-window", "root", str(target)], display, timeout=20)
    return target


def menu_item_centers(
    menu: Window, shot: Path | None = None, display: str | None = None, ink: int = 160
) -> list[tuple[int, int]]:
    """Click points of a GTK menu's items, top to bottom, found on a screenshot.

    Rows holding a pixel darker than ``ink`` (labels, check boxes, a highlighted row) are grouped
    into bands, bands closer than 4 px are merged (the dot of an "i"); each band is one item.
    Separators are light grey and never reach ``ink``; insensitive (grey) labels do and count.
    """
    from PIL import Image

    own = shot is None
    if shot is None:
        shot = screenshot(ARTIFACTS / f".menu-{os.getpid()}.png", display)
    try:
        with Image.open(shot) as img:
            crop = img.convert("L").crop(
                (menu.x + 1, menu.y + 1, menu.x + menu.width - 1, menu.y + menu.height - 1)
            )
            width, height = crop.size
            pixels = crop.load()
            assert pixels is not None
            inked = [any(int(pixels[x, y]) < ink for x in range(width)) for y in range(height)]  # type: ignore[arg-type]
    finally:
        if own:
            shot.unlink(missing_ok=True)
    bands: list[list[int]] = []
    for y, dark in enumerate(inked):
        if not dark:
            continue
        if bands and y - bands[-1][1] <= 4:
            bands[-1][1] = y
        else:
            bands.append([y, y])
    cx = menu.x + menu.width // 2
    return [(cx, menu.y + 1 + (top + bottom) // 2) for top, bottom in bands]


def click_menu_item(index: int, menu: Window | None = None, display: str | None = None) -> None:
    """Click the ``index``-th item (0-based, insensitive items count, separators do not; -1 is
    the last) of ``menu``, by default the topmost open popup menu."""
    menu = menu or wait_for_menu(display=display)
    items = menu_item_centers(menu, display=display)
    click(*items[index], display=display)


# --------------------------------------------------------------------------------------------
# environment


def desktop_environment(
    base: Mapping[str, str], display: str, bus: SessionBus
) -> dict[str, str]:
    """What a tray subprocess needs: the test's HOME/XDG plus our display and bus."""
    drop = ("WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_PID", "SESSION_MANAGER",
            "DESKTOP_SESSION", "XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE", "PYSTRAY_BACKEND")
    env = {k: v for k, v in base.items() if k not in drop}
    env.update({
        "DISPLAY": display,
        "DBUS_SESSION_BUS_ADDRESS": bus.address,
        "NO_AT_BRIDGE": "1",
        "GDK_BACKEND": "x11",
        "GSETTINGS_BACKEND": "memory",
        "PYTHONUNBUFFERED": "1",
    })
    return env
