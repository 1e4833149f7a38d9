"""The tray of `rolebar demo`: the real tray, with a banner saying what the demo is.

rolebar.core.demo has already moved HOME, the XDG directories and the AWS files into a
temporary home and started the STS double; this runs the same engine and icon as
`rolebar tray`, with two lines on top of the menu and no "Start at login" (a demo must
not install itself).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rolebar.tray import app, backend
from rolebar.tray import menu as menus


class DemoTray(app.TrayApp):
    def __init__(self, *args: Any, banner: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.banner = tuple(banner)
        self.keys.shown = False  # the double's keys have no place in the real keyring

    def look(self) -> app.Look:
        look = super().look()
        top = tuple(menus.Item(line, enabled=False) for line in self.banner)
        tooltip = "rolebar demo: " + look.tooltip.removeprefix("rolebar: ")
        return replace(look, items=(*top, menus.SEPARATOR, *look.items), tooltip=tooltip[:127])


def backend_problem() -> str | None:
    return backend.check_backend()


def main(banner: Sequence[str], seconds: float | None = None) -> int:
    from rolebar.core.client import serve
    from rolebar.tray import icons
    from rolebar.tray.notify import Notifier, default_sender

    engine = serve("tray", answers_codes=True)
    engine.start()
    try:
        with icons.app_icon_file() as icon_path:
            notifier = Notifier(default_sender(str(icon_path)))
            tray = DemoTray(engine, autostart=None, notifier=notifier, banner=banner)
            if seconds is not None:  # for tests and screenshots: quit by itself
                timer = threading.Timer(seconds, backend.on_icon_thread, (tray.quit,))
                timer.daemon = True
                timer.start()
            try:
                return tray.run()
            finally:
                notifier.close()
    finally:
        engine.stop()
