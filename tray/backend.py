"""pystray's icon as the tray needs it (pystray 0.19.5, the release pyproject.toml pins),
and the platform around it: whether a backend with a menu loaded, the icon's thread,
signals through the GLib loop, opening a file.

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
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from rolebar.core.interactive import has_display

log = logging.getLogger(__name__)

SETUP_HINT = "bash scripts/setup"

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
        from rolebar.tray.widgets import LazyMenus

        mixins = (LeftClickMenu, LazyMenus, Quiet)
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


# -- the platform's loop ----------------------------------------------------------------


def import_pystray() -> Any:
    """pystray, whose import starts GTK on Linux, with GDK's OpenGL off meanwhile.

    GDK probes OpenGL when it opens the X display: Mesa's driver and LLVM, about 55 MiB of
    the tray's resident memory, for an icon and a menu that never draw with it. GDK reads
    GDK_GL then only, so it is set for the import alone: the processes the tray starts
    (dialogs, the browser) get the environment as it was.
    """
    own = is_glib() and "GDK_GL" not in os.environ
    if own:
        os.environ["GDK_GL"] = "disable"
    try:
        import pystray
    finally:
        if own:
            os.environ.pop("GDK_GL", None)
    return pystray


def check_backend() -> str | None:
    """None if pystray has a menu here; otherwise the one line to print."""
    try:
        pystray = import_pystray()
    except Exception as exc:  # pystray raises ImportError, Xlib display errors, ...
        if is_glib() and not has_display():
            return "tray: no display (DISPLAY is not set); use `rolebar keep` without one"
        return f"tray: cannot load a tray backend ({type(exc).__name__}: {exc})"
    if not pystray.Icon.HAS_MENU:
        backend = pystray.Icon.__module__.rsplit(".", 1)[-1].lstrip("_")
        return (f"tray: pystray's {backend} backend has no menu: PyGObject is missing "
                f"(pystray needs it for its AppIndicator and GTK backends); install it "
                f"with `{SETUP_HINT}` (see the README)")
    return None


def is_glib() -> bool:
    return sys.platform not in ("darwin", "win32")


def on_icon_thread(fn: Callable[[], None]) -> None:
    """Run `fn` on the thread that runs the icon's loop."""
    if is_glib():
        from gi.repository import GLib

        def once() -> bool:
            try:
                fn()
            except Exception:
                log.exception("tray: updating the icon failed")
            return False

        GLib.idle_add(once)
    elif sys.platform == "darwin":
        from PyObjCTools import AppHelper  # type: ignore[import-not-found]

        AppHelper.callAfter(fn)
    else:
        # pystray's win32 backend posts its own messages to the icon's window thread.
        fn()


def install_glib_signals(stop: Callable[[], None]) -> None:
    """SIGINT and SIGTERM through the GLib loop, from before it runs until the end.

    Python's own SIGINT handler goes first: while it is installed, PyGObject's loop puts
    its own in place of GLib's and raises KeyboardInterrupt after the loop returns.
    """
    from gi.repository import GLib

    signal.signal(signal.SIGINT, signal.SIG_DFL)

    def handler(signum: int) -> bool:
        log.info("tray: signal %d", signum)
        stop()
        return True  # stay: a second signal while quitting must not kill it (status 143)

    for signum in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, handler, signum)


def open_path(path: str) -> None:
    """Open a file in the desktop's default application."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.Popen([opener, path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        log.warning("tray: cannot open %s with %s (%s)", path, opener, exc.strerror or exc)
