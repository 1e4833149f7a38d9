"""A tiny pystray app the desktop harness tests drive (a test fixture, not product code).

    PYSTRAY_BACKEND=appindicator|gtk|xorg python probe_icon.py --out CLICKS --ready READY

Menu: First (default), "Status: idle" (insensitive), Second, Third, More > (Check [checkbox],
Deep), separator, Quit. Activating First/Second/Third/Deep appends the item's text and a newline
to CLICKS; Check appends "Check on" / "Check off". READY is written once SIGINT and SIGTERM go
through the GLib loop (so the test may signal from then on). The first line on stdout names the
backend and HAS_MENU.

Exit status: 0 after Quit, SIGINT or SIGTERM, also with no notification service on the bus;
3 when the backend has no menu (the xorg fallback), as the tray refuses to run without one.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    args = parser.parse_args()

    import pystray
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((4, 4, 60, 60), fill=(220, 60, 20, 255))

    def record(icon: Any, item: Any) -> None:
        with args.out.open("a") as out:
            out.write(f"{item.text}\n")

    stopping = False

    def stop(icon: Any) -> None:
        nonlocal stopping
        stopping = True
        icon.stop()

    checked = False

    def toggle(icon: Any, item: Any) -> None:
        nonlocal checked
        checked = not checked
        with args.out.open("a") as out:
            out.write(f"Check {'on' if checked else 'off'}\n")

    menu = pystray.Menu(
        pystray.MenuItem("First", record, default=True),
        pystray.MenuItem("Status: idle", None, enabled=False),
        pystray.MenuItem("Second", record),
        pystray.MenuItem("Third", record),
        pystray.MenuItem("More", pystray.Menu(
            pystray.MenuItem("Check", toggle, checked=lambda _item: checked),
            pystray.MenuItem("Deep", record),
        )),
        pystray.Menu.SEPARATOR,
        pystray.MenuItem("Quit", lambda icon, _item: stop(icon)),
    )
    icon = pystray.Icon("probe", image, "Probe", menu)
    print(f"backend={type(icon).__module__} has_menu={icon.HAS_MENU}", flush=True)
    if not icon.HAS_MENU:
        print("probe_icon: this pystray backend has no menu; install PyGObject", file=sys.stderr)
        return 3

    from gi.repository import Gio, GLib

    def setup(icon: Any) -> None:
        # After icon.run() started the loop: pystray resets SIGINT to SIG_DFL in there, so
        # handlers installed earlier would be lost.
        def on_signal(signum: int) -> bool:
            print(f"signal {signal.Signals(signum).name}", flush=True)
            stop(icon)
            return GLib.SOURCE_REMOVE

        for signum in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, on_signal, signum)
        icon.visible = True
        args.ready.write_text("ready\n")

    try:
        icon.run(setup)
    except GLib.Error as exc:
        # pystray's GTK backends close "their" notification at stop; with no notification
        # service on the bus that call fails and the error escapes run().
        if not (stopping and exc.matches(Gio.dbus_error_quark(), Gio.DBusError.SERVICE_UNKNOWN)):
            raise
        print("no notification service at stop (ignored)", flush=True)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
