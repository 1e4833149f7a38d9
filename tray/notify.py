"""Desktop notifications: one ``notify(key, title, body)``, at most once per state.

``key`` names the state that warrants the notification ("code_needed <device>"); a repeat
with the same key is dropped until ``settle()`` says that state is over. Every
notification is also logged, and so is a notifier that failed: a notification that never
showed must leave a trace.

Why not plyer on Linux: plyer's Linux notifier is dbus-python (not installed here; it needs
libdbus headers to build) or else ``notify-send`` run with its exit status ignored, so a
session with no notification service swallows every message without a word. On Linux we
make the same ``org.freedesktop.Notifications.Notify`` call through Gio (PyGObject, which
the tray's menu needs anyway) and check the reply: no service, a daemon that failed to
start, or a timeout all raise. Elsewhere plyer is the sender, and any exception it raises
is caught and logged.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Iterable
from typing import Protocol

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


class DbusSender:
    """Linux and the BSDs: the freedesktop Notify call over the session bus, checked."""

    def __init__(self, icon: str = "") -> None:
        self._icon = icon
        self._bus: object | None = None

    def send(self, title: str, body: str) -> None:
        from gi.repository import Gio, GLib

        try:
            if self._bus is None:
                self._bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            bus: Gio.DBusConnection = self._bus  # type: ignore[assignment]
            bus.call_sync(
                DBUS_NAME, DBUS_PATH, DBUS_NAME, "Notify",
                GLib.Variant("(susssasa{sv}i)",
                             (APP_NAME, 0, self._icon, title, body, [], {}, EXPIRE_MS)),
                GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, CALL_TIMEOUT_MS, None,
            )
        except GLib.Error as exc:
            # e.g. "org.freedesktop.DBus.Error.ServiceUnknown: The name ... was not provided"
            raise NotifyError(exc.message) from None


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
        self._queue: queue.Queue[tuple[str, str] | None] | None = None
        self._thread: threading.Thread | None = None
        self.failures = 0
        if background:
            self._queue = queue.Queue()

    def notify(self, key: str, title: str, body: str) -> bool:
        """Show `title`/`body` unless `key` was shown and not settled since; True if sent."""
        with self._lock:
            if key in self._shown:
                log.debug("notify: %s already shown", key)
                return False
            self._shown.add(key)
        log.info("notify: %s: %s", title, body)
        if self._queue is None:
            self._send(title, body)
        else:
            self._ensure_thread()
            self._queue.put((title, body))
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

    def _run(self) -> None:
        assert self._queue is not None
        while (item := self._queue.get()) is not None:
            self._send(*item)

    def _send(self, title: str, body: str) -> None:
        try:
            self._sender.send(title, body)
        except NotifyError as exc:
            self.failures += 1
            log.warning("notify: could not show %r: %s", title, exc)
