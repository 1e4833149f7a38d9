"""`rolebar keep [PROFILE [--section NAME] [--style keys|process]]`: the headless engine.

Selects first (when PROFILE is given), then keeps every selected section fresh in the
foreground until SIGINT or SIGTERM, then exits 0. One engine per user: a second one says
which is running and exits 2. Notices (a code is needed, refreshing fails, a section is
refused) are one `rolebar:` line each on stderr; details go to the log.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from rolebar.core import interactive
from rolebar.core.client import Choice, serve
from rolebar.core.codes import TerminalPrompt
from rolebar.core.errors import printable
from rolebar.core.settings import DEFAULT_SECTION, STYLES
from rolebar.core.state import Event, KeeperState


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keep", help="keep the selected sections fresh (foreground)")
    parser.add_argument("profile", nargs="?", help="select this profile first")
    parser.add_argument("--section", default=DEFAULT_SECTION, metavar="NAME",
                        help=f"the section to select it for (default {DEFAULT_SECTION})")
    parser.add_argument("--style", choices=STYLES,
                        help="process or keys (default: as before, else process)")
    parser.set_defaults(func=run)


def notice(state: KeeperState, event: Event) -> None:
    if event.kind != "state":
        line = printable(f"{event.subject}: {event.message}")
        print(f"rolebar: {line}", file=sys.stderr, flush=True)


def has_terminal() -> bool:
    """A terminal to prompt on, which is also where this command was started from."""
    return interactive.has_terminal() and sys.stdin is not None and sys.stdin.isatty()


def run(args: argparse.Namespace) -> int:
    prompt = TerminalPrompt().get if has_terminal() else None
    engine = serve("keep", prompt=prompt)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    engine.subscribe(notice)
    engine.start(Choice(args.profile, args.section, args.style) if args.profile else None)
    kept = engine.kept()
    if kept:
        listed = ", ".join(f"[{name}]" for name in kept)
        print(f"rolebar: keeping {listed} fresh; Ctrl-C stops", file=sys.stderr, flush=True)
    else:
        print("rolebar: no section selected yet; run `rolebar select PROFILE`",
              file=sys.stderr, flush=True)
    try:
        while not done.wait(3600):
            pass
    finally:
        engine.stop()
    return 0
