"""``rolebar autostart enable|disable|status``: start the tray at login, or not."""

from __future__ import annotations

import argparse

from rolebar.core.autostart import AutoStart, pick
from rolebar.core.errors import ConfigError

ACTIONS = ("enable", "disable", "status")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "autostart",
        help="start the tray at login",
        description="Start the rolebar tray at login (enable), stop doing so (disable), "
        "or say whether it is started and where that is set (status).",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, autostart: AutoStart | None = None) -> int:
    """Do ``args.action`` and print one line; errors are raised for ``cli.main`` to print.

    ``autostart`` replaces the platform's adapter, for tests.
    """
    adapter = autostart if autostart is not None else pick()
    if args.action == "enable":
        adapter.enable()
        print(f"autostart enabled: {adapter.describe()}")
    elif args.action == "disable":
        adapter.disable()
        print("autostart disabled")
    elif args.action == "status":
        state = "enabled" if adapter.enabled else "disabled"
        print(f"autostart: {state} ({adapter.describe()})")
    else:
        raise ConfigError(
            "autostart", f"unknown action {args.action!r}; use enable, disable or status"
        )
    return 0
