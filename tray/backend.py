"""pystray's icon as the tray needs it (pystray 0.19.5, the release pyproject.toml pins).

Three things its GTK-based backends do (AppIndicator and GTK, the ones with a menu) are
changed here:

1. The notifier. When their loop starts they build a D-Bus proxy for
   org.freedesktop.Notifications, which starts the notification daemon; where it cannot
   start (a session bus that came up without DISPLAY, so the daemon dies) building it
   raises out of `icon.run()` before the icon is ready, and at stop they close their
   notification, which raises where no service exists. rolebar never uses pystray's
   notifications (notify.py sends its own, and says once when they are unavailable), so
   the icon gets a notifier that does nothing and touches no bus.
2. The setup thread. pystray's is not a daemon and waits for "ready": when the loop failed
   to start, it kept the process alive for ever. Ours is a daemon thread.
3. The backend where no StatusNotifier host runs (a plain X tray such as trayer, or a
   panel with an XEmbed tray). There the AppIndicator library falls back to a
   GtkStatusIcon and names it right after creating it, and GTK names an icon that is
   already realized by hiding, unrealizing and showing it again. GDK then finds the
   re-shown tray icon's map unbalanced and prints "Gdk-CRITICAL ...
   gdk_window_thaw_toplevel_updates: assertion ... failed" at every start (any
   GtkStatusIcon hidden and shown again does the same). There the GtkStatusIcon is made
   directly, through pystray's gtk backend, and never renamed or hidden; its left click
   opens the menu, as the AppIndicator fallback's does. With a StatusNotifier host (KDE,
   GNOME with the AppIndicator extension) the AppIndicator backend is used as before, and
   PYSTRAY_BACKEND, when set, is always obeyed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

WATCHER = "org.kde.StatusNotifierWatcher"  # the StatusNotifier host's name on the bus
GTK_BACKENDS = ("pystray._appindicator", "pystray._gtk")


def icon_class() -> type[Any]:
    """The pystray Icon class to use here (pystray's own choice, adjusted as above)."""
    import pystray

    base: type[Any] = pystray.Icon
    if base.__module__ == "pystray._appindicator" and not os.environ.get("PYSTRAY_BACKEND") \
            and not status_notifier_host():
        from pystray import _gtk

        log.info("tray: no StatusNotifier host on the session bus; a GtkStatusIcon (XEmbed)")
        base = _gtk.Icon
    if base.__module__ not in GTK_BACKENDS:
        return base  # xorg (refused by app.check_backend), macOS, Windows: as they are
    mixins: tuple[type, ...] = (Quiet,)
    if base.__module__ == "pystray._gtk":
        mixins = (LeftClickMenu, Quiet)
    return type("Icon", (*mixins, base), {})


def status_notifier_host() -> bool:
    """Whether a StatusNotifier host owns its name on the session bus now (the test the
    AppIndicator library makes before it falls back to an XEmbed icon)."""
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "NameHasOwner",
                              GLib.Variant("(s)", (WATCHER,)), GLib.VariantType("(b)"),
                              Gio.DBusCallFlags.NONE, 2000, None)
    except Exception as exc:  # no bus, or gi without Gio: the library would fall back too
        log.debug("tray: cannot ask the session bus for %s: %s", WATCHER, exc)
        return False
    return bool(reply.unpack()[0])


class NoNotifier:
    """Stands in for pystray's notifier: the tray's notifications go through notify.py."""

    def notify(self, title: str, message: str, icon: str | None) -> None:
        pass

    def hide(self) -> None:
        pass


class Quiet:
    """Mixin for pystray's GTK-based icons: no notifier of its own, a daemon setup thread."""

    _ready: threading.Event
    _notifier: object
    _setup_thread: threading.Thread
    _mark_ready: Callable[[], None]

    def _start_setup(self, setup: Callable[[Any], None] | None) -> None:
        self._ready = threading.Event()

        def run() -> None:
            self._ready.wait()
            if setup is not None:
                setup(self)
            else:
                self.visible = True

        self._setup_thread = threading.Thread(target=run, name="rolebar-tray-setup",
                                              daemon=True)
        self._setup_thread.start()

    def _initialize(self) -> None:
        # pystray's also resets SIGINT to SIG_DFL; the tray installs its own handling
        # (app.install_glib_signals) before the loop starts.
        self._notifier = NoNotifier()
        self._mark_ready()
        self._ready.set()


class LeftClickMenu:
    """Mixin for pystray's gtk icon: a left click opens the menu too."""

    _on_status_icon_popup_menu: Callable[[Any, int, int], None]

    def _on_status_icon_activate(self, status_icon: Any) -> None:
        # pystray's handler pops the menu up at the current event's time itself.
        self._on_status_icon_popup_menu(status_icon, 1, 0)
