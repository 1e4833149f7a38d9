"""Desktop notifications: one ``notify(key, title, body)``, at most once per state.

``key`` names the state that warrants the notification ("code_needed <device>"); a repeat
with the same key is dropped until ``settle()`` says that state is over. Every
notification is also logged, and so is a notifier that failed: a notification that never
showed must leave a trace. Notifications are optional: when the service is missing or
cannot start, the log says so once, with D-Bus's own error (and again only after it
worked in between); the tray goes on without them.

Why not plyer on Linux: plyer's Linux notifier is dbus-python (not installed here; it needs
libdbus headers to build) or else ``notify-send`` run with its exit status ignored, so a
session with no notification service swallows every message without a word. On Linux we
make the same ``org.freedesktop.Notifications.Notify`` call through Gio (PyGObject, which
the tray's menu needs anyway) and check the reply: no service, a daemon that failed to
start, or a timeout all raise. Elsewhere plyer is the sender, and any exception it raises
is caught and logged.
"""

from __future__ import annotations

import functools
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

APP_NAME = "rolebar"
DBUS_NAME = "org.freedesktop.Notifications"
DBUS_PATH = "/org/freedesktop/Notifications"
EXPIRE_MS = 15_000
# Long enough for the bus to start an activatable daemon (dunst takes ~1 s under Xvfb).
CALL_TIMEOUT_MS = 10_000


class NotifyError(Exception):
    """The notifier could not show a notification; the message says why (no secrets)."""


class Sender(Protocol):
    def send(self, title: str, body: str) -> None:
        """Show one notification; raise NotifyError if that failed."""


@runtime_checkable
class Checks(Protocol):
    def check(self) -> str:
        """Which notification service answers (name and version); NotifyError if none."""


class DbusSender:
    """Linux and the BSDs: the freedesktop Notify call over the session bus, checked."""

    def __init__(self, icon: str = "") -> None:
        self._icon = icon
        self._bus: object | None = None

    def send(self, title: str, body: str) -> None:
        from gi.repository import GLib

        self._call("Notify", GLib.Variant(
            "(susssasa{sv}i)", (APP_NAME, 0, self._icon, title, body, [], {}, EXPIRE_MS)), "(u)")

    def check(self) -> str:
        name, _vendor, version, _spec = self._call("GetServerInformation", None, "(ssss)")
        return f"{name} {version}"

    def _call(self, method: str, args: object, reply: str) -> tuple[object, ...]:
        from gi.repository import Gio, GLib

        try:
            if self._bus is None:
                self._bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            bus: Gio.DBusConnection = self._bus
            answer = bus.call_sync(DBUS_NAME, DBUS_PATH, DBUS_NAME, method, args,
                                   GLib.VariantType(reply), Gio.DBusCallFlags.NONE,
                                   CALL_TIMEOUT_MS, None)
        except GLib.Error as exc:
            # D-Bus's error name and message, e.g. "org.freedesktop.DBus.Error.ServiceUnknown:
            # The name org.freedesktop.Notifications was not provided by any .service files"
            raise NotifyError(exc.message.removeprefix("GDBus.Error:")) from None
        return tuple(answer.unpack())


class PlyerSender:
    """macOS and Windows: plyer's notifier; its exceptions are the only failure signal."""

    def __init__(self, icon: str = "") -> None:
        self._icon = icon

    def send(self, title: str, body: str) -> None:
        try:
            from plyer import notification

            notification.notify(title=title, message=body, app_name=APP_NAME,
                                app_icon=self._icon, timeout=EXPIRE_MS // 1000)
        except Exception as exc:  # plyer raises whatever its backend raises
            raise NotifyError(f"{type(exc).__name__}: {exc}") from None


def default_sender(icon: str = "", platform: str = sys.platform) -> Sender:
    if platform in ("darwin", "win32"):
        return PlyerSender(icon)
    try:
        import gi  # noqa: F401
    except ImportError:
        return PlyerSender(icon)
    return DbusSender(icon)


class Notifier:
    """Drops repeats per state key, logs, and sends on one background thread.

    Sending can take a second (the bus may have to start the daemon), and the tray must
    not stall its menu meanwhile; `background=False` sends inline (tests).
    """

    def __init__(self, sender: Sender, *, background: bool = True) -> None:
        self._sender = sender
        self._shown: set[str] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Callable[[], None] | None] | None = None
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.unavailable = False  # the last attempt failed (and the log said why)
        if background:
            self._queue = queue.Queue()

    def check(self) -> None:
        """Ask the service whether it is there (it starts it, if it can), and log the
        answer; at start, so the log tells early that notifications will not show."""
        if isinstance(self._sender, Checks):
            self._do(self._check)

    def notify(self, key: str, title: str, body: str) -> bool:
        """Show `title`/`body` unless `key` was shown and not settled since; True if sent."""
        with self._lock:
            if key in self._shown:
                log.debug("notify: %s already shown", key)
                return False
            self._shown.add(key)
        log.info("notify: %s: %s", title, body)
        self._do(functools.partial(self._send, title, body))
        return True

    def settle(self, active: Iterable[str]) -> None:
        """Forget every key not in `active`: those states ended, and may notify again."""
        keep = set(active)
        with self._lock:
            self._shown &= keep

    def close(self, timeout: float = 2.0) -> None:
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rolebar-notify",
                                            daemon=True)
            self._thread.start()

    def _do(self, work: Callable[[], None]) -> None:
        if self._queue is None:
            work()
        else:
            self._ensure_thread()
            self._queue.put(work)

    def _run(self) -> None:
        assert self._queue is not None
        while (work := self._queue.get()) is not None:
            work()

    def _check(self) -> None:
        assert isinstance(self._sender, Checks)
        try:
            service = self._sender.check()
        except NotifyError as exc:
            self._failed(exc)
        else:
            log.info("notify: notifications go to %s", service)
            self._worked()

    def _send(self, title: str, body: str) -> None:
        try:
            self._sender.send(title, body)
        except NotifyError as exc:
            self.failures += 1
            log.debug("notify: could not show %r", title)
            self._failed(exc)
        else:
            self._worked()

    def _failed(self, exc: NotifyError) -> None:
        if not self.unavailable:
            self.unavailable = True
            log.warning("notify: notifications are unavailable (%s); the menu and the code "
                        "prompt work without them", exc)

    def _worked(self) -> None:
        if self.unavailable:
            self.unavailable = False
            log.info("notify: notifications work again")
