"""`rolebar select PROFILE [--section NAME] [--style keys|process]` and
`rolebar select --none [--section NAME]`.

Records the choice in rolebar's settings; a running engine (keep or tray) applies it at
once (told over ipc; it also notices the settings file changing). With no engine running,
a `process` section is written at once (it needs no credentials: `rolebar process
--section NAME` fetches them itself), a dropped section is removed, and one line on stderr
says how to start an engine.
"""

from __future__ import annotations

import argparse
import sys

from rolebar.core import ipc, paths
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError
from rolebar.core.settings import DEFAULT_SECTION, STYLES, Settings, check_section

NO_ENGINE = ("rolebar: no engine is running; start one with `rolebar keep` (or `rolebar tray`)"
             " to keep [{section}] fresh")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("select", help="choose the profile a section keeps")
    parser.add_argument("profile", nargs="?")
    parser.add_argument("--none", action="store_true", help="stop keeping the section")
    parser.add_argument("--section", default=DEFAULT_SECTION, metavar="NAME",
                        help=f"default {DEFAULT_SECTION}")
    parser.add_argument("--style", choices=STYLES, help="keys or process (default: as before, "
                        "else keys)")
    parser.set_defaults(func=run)


def check_selectable(engine: Engine, profile: str, section: str) -> None:
    """The profile can be planned and the section is rolebar's (or missing)."""
    from rolebar.core.credfile import MARKER, SectionWriter

    check_section(section)
    engine.plan(profile)
    path = paths.aws_credentials_file(engine.env)
    if SectionWriter(path).status(section) == "unmanaged":
        raise ConfigError(f"section {section}", f"[{section}] in {path} has no '{MARKER}' "
                          "marker; rolebar leaves it alone (rename or delete it first)")


def run(args: argparse.Namespace) -> int:
    if args.none == bool(args.profile):
        raise ConfigError("usage", "select takes a PROFILE or --none")
    if args.none and args.style:
        raise ConfigError("usage", "--style goes with a PROFILE, not --none")
    check_section(args.section)
    settings = Settings()
    engine = Engine(interactive=False, extra_sources=())
    if args.none:
        removed = settings.unselect(args.section)
        if not _tell_engine():
            _remove(engine, args.section)
        print(f"section {args.section}: no longer kept" if removed else
              f"section {args.section}: was not kept")
        return 0
    check_selectable(engine, args.profile, args.section)
    chosen = settings.select(args.profile, args.section, args.style)
    print(f"section {chosen.name}: profile {chosen.profile} ({chosen.style})")
    if not _tell_engine():
        if chosen.style == "process":
            _write_process(engine, chosen.name, chosen.profile)
        print(NO_ENGINE.format(section=chosen.name), file=sys.stderr)
    return 0


def _tell_engine() -> bool:
    reply = ipc.call("reload")
    return bool(reply and reply.get("ok"))


def _write_process(engine: Engine, section: str, profile: str) -> None:
    from rolebar.core.credfile import SectionWriter
    from rolebar.core.sections import section_values

    values = section_values("process", section, None, engine.plan(profile).region)
    assert values is not None
    SectionWriter(paths.aws_credentials_file(engine.env)).write(section, values)


def _remove(engine: Engine, section: str) -> None:
    from rolebar.core.credfile import SectionWriter, UnmanagedSectionError

    try:
        SectionWriter(paths.aws_credentials_file(engine.env)).remove(section)
    except UnmanagedSectionError:
        pass  # not rolebar's: it was never written by rolebar, and stays as it is
