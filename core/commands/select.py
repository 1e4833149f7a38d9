"""`rolebar select PROFILE [--section NAME] [--style keys|process]` and
`rolebar select --none [--section NAME]`.

Records the choice in rolebar's settings through the engine client (client.py): a running
engine (keep or tray) applies it at once. With no engine running, a `process` section is
written at once (it needs no credentials: `rolebar process --section NAME` fetches them
itself), a `keys` section switched to another profile is cleared (never another role's
keys), a dropped section is removed, and one line on stderr says how to start an engine.
"""

from __future__ import annotations

import argparse
import sys

from rolebar.core.client import connect
from rolebar.core.errors import ConfigError
from rolebar.core.sections import check_section
from rolebar.core.settings import DEFAULT_SECTION, STYLES

NO_ENGINE = ("rolebar: no engine is running; start one with `rolebar keep` (or `rolebar tray`)"
             " to keep [{section}] fresh")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("select", help="choose the profile a section keeps")
    parser.add_argument("profile", nargs="?")
    parser.add_argument("--none", action="store_true", help="stop keeping the section")
    parser.add_argument("--section", default=DEFAULT_SECTION, metavar="NAME",
                        help=f"default {DEFAULT_SECTION}")
    parser.add_argument("--style", choices=STYLES, help="process or keys (default: as before, "
                        "else as the section in the file, else process)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.none == bool(args.profile):
        raise ConfigError("usage", "select takes a PROFILE or --none")
    if args.none and args.style:
        raise ConfigError("usage", "--style goes with a PROFILE, not --none")
    check_section(args.section)
    client = connect()
    if args.none:
        removed = client.unselect(args.section)
        print(f"section {args.section}: no longer kept" if removed else
              f"section {args.section}: was not kept")
        return 0
    chosen = client.select(args.profile, args.section, args.style)
    print(f"section {chosen.name}: profile {chosen.profile} ({chosen.style})")
    if client.info is None:
        print(NO_ENGINE.format(section=chosen.name), file=sys.stderr)
    return 0
