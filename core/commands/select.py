"""`rolebar select PROFILE [--section NAME] [--style keys|process]` and
`rolebar select --none [--section NAME]`.

Records the choice in rolebar's settings; a running engine (keep or tray) applies it at
once (told over ipc; it also notices the settings file changing). With no engine running,
a `process` section is written at once (it needs no credentials: `rolebar process
--section NAME` fetches them itself), a `keys` section switched to another profile is
cleared (never another role's keys), a dropped section is removed, and one line on stderr
says how to start an engine.
"""

from __future__ import annotations

import argparse
import sys

from rolebar.core import ipc, paths
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError
from rolebar.core.sections import check_section, found_style, switching_values
from rolebar.core.settings import DEFAULT_SECTION, STYLES, SectionSetting, Settings
from rolebar.core.state import Style

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


def check_selectable(engine: Engine, profile: str, section: str) -> None:
    """The profile can be planned and the section is rolebar's (or missing), no profile."""
    check_section(section)
    engine.plan(profile)
    check_section(section, engine.env)


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
    before, chosen = record(engine, settings, args.profile, args.section, args.style)
    print(f"section {chosen.name}: profile {chosen.profile} ({chosen.style})")
    if not _tell_engine():
        apply_without_engine(engine, before, chosen)
        print(NO_ENGINE.format(section=chosen.name), file=sys.stderr)
    return 0


def record(engine: Engine, settings: Settings, profile: str, section: str,
           style: Style | None) -> tuple[SectionSetting | None, SectionSetting]:
    """Select `profile` for `section`: (what was selected before, what is now).

    With no style given and none recorded, a section already in the file keeps the style
    it is written in (a container may read its keys); a new one gets DEFAULT_STYLE.
    """
    found = found_style(paths.aws_credentials_file(engine.env), section)
    before = settings.get(section)
    return before, settings.select(profile, section, style, found)


def apply_without_engine(engine: Engine, before: SectionSetting | None,
                         chosen: SectionSetting) -> None:
    """Make the file match the choice where no engine runs to do it.

    A `process` section is complete at once. A `keys` section that held another role's
    keys (or keys of unknown origin) is cleared until an engine writes the new role's:
    it must never serve a role other than the selected one.
    """
    if chosen.style == "process":
        _write_process(engine, chosen.name, chosen.profile)
    elif before is None or before.profile != chosen.profile:
        from rolebar.core.credfile import SectionWriter

        writer = SectionWriter(paths.aws_credentials_file(engine.env))
        if writer.status(chosen.name) == "managed":
            writer.write(chosen.name, switching_values(chosen.profile))


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
