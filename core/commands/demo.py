"""`rolebar demo`: try the tray, the notification and the code prompt with no AWS account.

Everything runs against the built-in STS double on 127.0.0.1, in a temporary home that
the demo removes when it ends (see rolebar.core.demo). `--headless` runs the engine
without the tray, for servers and tests; `--code` prints the running demo's MFA code.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from rolebar.core import codes, demo
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.state import Event, KeeperState

TRAY_DEMO = "rolebar.tray.demo"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo", help="try rolebar against a built-in STS double (no AWS account needed)",
        description="Run rolebar against a built-in STS double on 127.0.0.1, in a "
        "temporary home with its own AWS config: your own ~/.aws files are never read or "
        "written. Profiles: project-dev (generate_token, silent refreshes) and project-prd "
        "(no generate_token: a notification and a code prompt).")
    parser.add_argument("--headless", action="store_true",
                        help="no tray: keep [tray-managed] fresh for project-dev and "
                        "say what happens")
    parser.add_argument("--seconds", type=float, metavar="N",
                        help="end after N seconds (default: at Quit or Ctrl-C)")
    parser.add_argument("--home", type=Path, metavar="DIR",
                        help="use DIR (empty, or an earlier demo's) as the demo home and "
                        "keep it afterwards; default: a temporary folder, removed at the end")
    parser.add_argument("--code", action="store_true",
                        help="print an MFA code of the running demo that it has not used "
                        "yet, to type into its prompt")
    parser.add_argument("--role-lifetime", type=int, default=900, metavar="SECONDS",
                        help="lifetime of the double's role credentials (default 900)")
    parser.add_argument("--session-lifetime", type=int, default=3600, metavar="SECONDS",
                        help="lifetime of its MFA sessions (default 3600)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.code:
        return print_code()
    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError("usage", "--seconds must be positive")
    tray = None
    if not args.headless:
        try:
            tray = importlib.import_module(TRAY_DEMO)
        except ImportError as exc:
            raise ConfigError("demo", f"cannot load the tray ({exc}); run `bash scripts/setup`"
                              ", or try `rolebar demo --headless`") from exc
        if problem := tray.backend_problem():
            raise ConfigError("demo", f"{problem}; or try `rolebar demo --headless`")
    with demo.running(args.home, role_lifetime=args.role_lifetime,
                      session_lifetime=args.session_lifetime) as running:
        kept = "removed at the end" if running.temporary else "kept afterwards"
        say(f"demo: STS double at {running.endpoint}; demo home {running.home.root} ({kept})")
        say("demo: your own ~/.aws files are not read or written")
        if tray is None:
            return headless(running, args.seconds)
        say("demo: click the rolebar icon and choose project-dev (refreshes by itself) or "
            f"project-prd (asks for a code: get it with `{rolebar()} demo --code`)")
        say(f"demo: then try it from another terminal: {running.try_line()}")
        say("demo: \"Open console\" in the menu opens the double's sign-in page in your "
            "browser, which says where a real console would open")
        status: int = tray.main(demo.BANNER, seconds=args.seconds)
        return status


def say(line: str) -> None:
    print(f"rolebar: {line}", file=sys.stderr, flush=True)


def rolebar() -> str:
    """`rolebar` as another terminal can run it (the setup's venv is not on PATH)."""
    return demo.how_to_run("rolebar") or "rolebar"


def print_code() -> int:
    """A code the running demo has not used: its prompt refuses one it used itself."""
    for _ in range(3):
        found = demo.current_code()
        if found is not None:
            code, wait = found
            if wait:
                say(f"demo: the current code was already used; this is the next one (the "
                    f"current code in {wait} s; the demo accepts it already)")
            print(code)
            return 0
        left = codes.STEP - time.time() % codes.STEP + 0.5
        say(f"demo: the current and the next code were already used; waiting {left:.0f} s")
        time.sleep(left)
    raise RolebarError("demo", "no unused code; try again in a minute")


class Refreshes:
    """Says each refresh as it happens: which section, which profile, until when."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def __call__(self, state: KeeperState, event: Event) -> None:
        for sec in state.sections:
            if sec.profile is None or sec.expires is None:
                continue
            if self._seen.get(sec.name) != sec.expires:
                self._seen[sec.name] = sec.expires
                until = time.strftime("%H:%M:%S", time.localtime(sec.expires))
                say(f"demo: [{sec.name}] refreshed for {sec.profile}; expires at {until}")


def headless(running: demo.Demo, seconds: float | None) -> int:
    from rolebar.core.client import Choice, serve

    engine = serve("demo")
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    refreshes = Refreshes()

    def notice(state: KeeperState, event: Event) -> None:
        if event.kind != "state":
            say(f"demo: {event.subject}: {event.message}")
        refreshes(state, event)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    engine.subscribe(notice)
    engine.start(Choice("project-dev"))
    try:
        say(f"demo: keeping [tray-managed] in {running.home.credentials} fresh for "
            "project-dev; Ctrl-C ends the demo")
        say(f"demo: try it from another terminal: {running.try_line()}")
        demo.wait(seconds, done)
    finally:
        engine.stop()
    return 0
