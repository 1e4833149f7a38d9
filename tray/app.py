"""The tray: the engine, run in this process, plus a pystray icon whose menu mirrors its
state. The tray talks to the engine through the engine client (rolebar.core.client), as
the commands do; its client is the one that can be subscribed to (`LiveEngine`).

Threads (STYLE.md guideline 13):
- the main thread runs pystray's loop (GLib on Linux) and owns every widget;
- pystray's setup thread is the dispatcher: it drains one queue of engine events, menu
  actions and clock ticks, talks to the engine, and hands each new look of the icon to
  the main thread (`on_icon_thread`);
- the keeper's threads only put (state, event) pairs on that queue;
- "Open console" (tray/consoles.py), the key items (tray/keymenu.py) and "Sign in to
  NAME..." (tray/signins.py) each run on a thread of their own, which puts only a
  notification (and, after a sign-in, "Refresh now") on that queue.

`main()` is `rolebar tray` and the `rolebar-tray` gui script. On Linux it refuses to run
with pystray's xorg backend, which has no menu (PyGObject missing), rather than showing an
icon that cannot do anything.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rolebar.core import console, logs
from rolebar.core.autostart import AutoStart
from rolebar.core.client import LiveEngine
from rolebar.core.errors import RolebarError
from rolebar.core.state import Event, KeeperState
from rolebar.tray import keymenu
from rolebar.tray import menu as menus
from rolebar.tray.backend import (
    check_backend,
    install_glib_signals,
    is_glib,
    on_icon_thread,
    open_path,
)
from rolebar.tray.consoles import Consoles
from rolebar.tray.notices import TITLES, active_keys, event_key  # noqa: F401 - API too
from rolebar.tray.notify import Notifier, default_sender
from rolebar.tray.picker import Picker
from rolebar.tray.prompts import Prompts
from rolebar.tray.signins import SignIns, browser_sign_in
from rolebar.tray.widgets import relabel_first_item, to_pystray

log = logging.getLogger(__name__)

TICK = 15.0  # seconds between clock ticks: the status line counts minutes
ICON_SIZE = 32


@dataclass(frozen=True)
class Look:
    """Everything the icon shows; applied on the icon thread only when it changed."""

    items: tuple[menus.Item, ...]
    tooltip: str
    icon: str


_STOP = ("stop",)

# -- the app ---------------------------------------------------------------------------------


class TrayApp:
    def __init__(
        self,
        engine: LiveEngine,
        *,
        autostart: AutoStart | None,
        notifier: Notifier,
        prompts: Prompts | None = None,
        clock: Callable[[], float] = time.time,
        open_file: Callable[[str], None] | None = None,
        sign_in: Callable[[str], str] | None = None,
        open_url: Callable[[str, str], None] = console.open_in_browser,
        sso_sign_in: Callable[[str], str] = browser_sign_in,
    ) -> None:
        self.engine = engine
        self.autostart = autostart
        self.notifier = notifier
        self.prompts = prompts or Prompts(engine.submit_code)
        self.clock = clock
        self.open_file = open_file or open_path
        self.consoles = Consoles(
            sign_in or (lambda profile: console.sign_in(engine.engine, profile)), open_url,
            lambda key, title, body: self._queue.put(("notify", key, title, body)))
        self.keys = keymenu.KeyActions(lambda: engine.engine, self.consoles.report)
        self.picker = Picker(lambda action: self._queue.put(("action", action)))
        self.signins = SignIns(self.consoles.report,
                               lambda: self._queue.put(("action", ("refresh",))), sso_sign_in)
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._state: KeeperState | None = None
        self._look: Look | None = None
        self._status = ""
        self._stopping = threading.Event()
        self._icon: Any = None
        self.applied = 0  # how many looks reached the icon thread (for tests and bench)

    # -- running -------------------------------------------------------------------------

    def run(self) -> int:
        """pystray's loop on this (the main) thread until Quit or a signal; the exit status."""
        import pystray

        from rolebar.tray import backend, icons

        self._icons = {state: icons.load(state, ICON_SIZE) for state in icons.STATES}
        self._icon = backend.icon_class()(
            "rolebar", icon=self._icons["idle"], title="rolebar",
            menu=pystray.Menu(pystray.MenuItem("rolebar", None, enabled=False)))
        if is_glib():
            install_glib_signals(self.quit)
        else:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: self.quit())
        try:
            self._icon.run(self._setup)
        except Exception as exc:
            # A backend's own clean-up failing after a requested stop is no error (pystray's
            # GTK notifier did, with no notification service; backend.py replaces it).
            if not self._stopping.is_set():
                raise
            log.debug("tray: ignored %s from the icon's shutdown", type(exc).__name__)
        self.quit()
        return 0

    def quit(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("tray: quitting")
        self._queue.put(_STOP)
        self.prompts.close_all()
        self.picker.close()
        if self._icon is not None:
            self._icon.stop()

    def _setup(self, icon: Any) -> None:
        """pystray's setup thread (a daemon, see backend.py): the dispatcher, until Quit."""
        on_icon_thread(lambda: setattr(icon, "visible", True))
        try:
            self._state = self.engine.state()
            # Only now that events can be handled: the keeper hands a late subscriber the
            # current state and what it announced before (a code needed at start-up)
            # as if it had just happened, so the engine may run long before the icon.
            self.engine.subscribe(self._on_keeper)
            self._apply()
            self._dispatch()
        except Exception:
            log.exception("tray: the dispatcher failed")
            on_icon_thread(self.quit)

    def _dispatch(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=TICK)
            except queue.Empty:
                item = ("tick",)
            if item[0] == "stop":
                return
            self._handle(item)
            # A burst of keeper events becomes one menu rebuild.
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self._queue.get_nowait()
                    if item[0] == "stop":
                        return
                    self._handle(item)
            self._apply()

    # -- inputs ------------------------------------------------------------------------

    def _on_keeper(self, state: KeeperState, event: Event) -> None:
        """Called on the keeper's thread: only queue."""
        self._queue.put(("event", state, event))

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "event":
            self._on_event(item[1], item[2])
        elif kind == "action":
            self._act(item[1])
        elif kind == "notify":
            self.notifier.notify(*item[1:])

    def _on_event(self, state: KeeperState, event: Event) -> None:
        self._state = state
        self.notifier.settle(active_keys(state))
        if event.kind in TITLES:
            self.notifier.notify(event_key(state, event), TITLES[event.kind], event.message)
        if event.kind == "code_needed":
            for need in state.needs:
                if need.device == event.subject:
                    self.prompts.ask(need.device, need.profile, need.reason)

    def _act(self, action: menus.Action) -> None:
        kind, *rest = action
        section = menus.TRAY_SECTION
        log.info("tray: %s %s", kind, " ".join(rest))
        try:
            if kind == "select":
                self.engine.select(rest[0], section)
                self.picker.used(rest[0])
            elif kind in ("choose", "pin"):
                self.picker.act(kind, rest, self._state.profiles if self._state else ())
            elif kind == "unselect":
                self.engine.unselect(section)
            elif kind == "style":
                self.engine.set_style(section, rest[0])  # type: ignore[arg-type]
            elif kind == "keep" and rest[1] == "on":
                self.engine.select(rest[0], menus.keep_section(rest[0]))
            elif kind == "keep":
                self.engine.unselect(menus.keep_section(rest[0]))
            elif kind == "refresh":
                self.engine.refresh_now()
            elif kind == "console" or kind in keymenu.KINDS:  # each on a thread of its own
                self.keys.act(kind, rest[0]) if kind != "console" else self.consoles.open(rest[0])
            elif kind == "signin":  # asked for by the person: the browser may open
                self.signins.start(rest[0])
            elif kind == "code":
                needs = self._state.needs if self._state is not None else ()
                reason = next((n.reason for n in needs if n.device == rest[0]), None)
                self.prompts.ask(rest[0], rest[1], reason)
            elif kind == "autostart" and self.autostart is not None:
                self.autostart.enable() if rest[0] == "on" else self.autostart.disable()
            elif kind == "log":
                self.open_file(logs.log_file())
        except RolebarError as exc:
            log.warning("tray: %s: %s", kind, exc)
            self.notifier.notify(f"action {kind} {exc}", "rolebar", str(exc))
        # A clicked radio or check item toggles itself in GTK; pystray rebuilds the menu
        # from its (still true) descriptor after every click, so nothing to undo here.
        self._state = self.engine.state()

    def click(self, action: menus.Action) -> None:
        """A menu item was activated (icon thread): Quit at once, the rest via the queue."""
        if action == ("quit",):
            self.quit()
        else:
            self._queue.put(("action", action))

    # -- output ------------------------------------------------------------------------

    def look(self) -> Look:
        assert self._state is not None
        now = self.clock()
        enabled: bool | None = None
        if self.autostart is not None:
            try:
                enabled = self.autostart.enabled
            except (OSError, RolebarError):
                enabled = None
        return Look(menus.build(self._state, now, enabled, self.keys.items(),
                                self.picker.choices(self._state)),
                    menus.tooltip(self._state, now), menus.icon_state(self._state))

    def _apply(self) -> None:
        look = self.look()
        old, self._look = self._look, look
        if look == old:
            return
        # Only the status line changed (the minutes ticking down): relabel that one item
        # rather than rebuild every widget, which takes a second with 2,000 profiles.
        status_only = old is not None and old.items[1:] == look.items[1:]
        self._status = look.items[0].text
        new_menu = None if status_only else to_pystray(look.items, self.click, self.status)
        image = self._icons[look.icon] if old is None or old.icon != look.icon else None
        icon = self._icon

        def apply() -> None:
            if image is not None:
                icon.icon = image
            icon.title = look.tooltip
            if new_menu is not None:
                icon.menu = new_menu
            elif not relabel_first_item(icon, look.items[0].text):
                icon.update_menu()
            self.applied += 1

        on_icon_thread(apply)

    def status(self) -> str:
        return self._status


# -- pystray and the platform ---------------------------------------------------------------


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rolebar tray", description="The rolebar tray icon.")
    parser.add_argument("--debug", action="store_true", help="log to stderr, show tracebacks")
    args = parser.parse_args(argv)
    logs.setup(debug=args.debug)
    if problem := check_backend():
        sys.stderr.write(f"rolebar: {problem}\n")
        return 2
    try:
        from rolebar.core.client import serve

        # answers_codes: this process answers code_needed events (notification + prompt),
        # so a `rolebar process` from an IDE gets its code through the tray.
        engine = serve("tray", answers_codes=True)
        engine.start()
        try:
            return run_tray(engine)
        finally:
            engine.stop()
    except RolebarError as exc:
        log.info("tray: %s", exc)
        sys.stderr.write(f"rolebar: {exc}\n")
        return exc.exit_code


def run_tray(engine: LiveEngine) -> int:
    from rolebar.core.autostart import pick
    from rolebar.tray import icons

    with icons.app_icon_file() as icon_path:
        notifier = Notifier(default_sender(str(icon_path)))
        notifier.check()  # the log says at once if notifications will not show
        try:
            return TrayApp(engine, autostart=pick(), notifier=notifier).run()
        finally:
            notifier.close()


if __name__ == "__main__":
    raise SystemExit(main())
