"""`rolebar process (PROFILE | --section NAME)`: the `credential_process` helper.

`cli.main` answers cache hits through `fastpath` before this module is imported; this is
the full path: plan, cache under a lock, codes, STS.
"""

from __future__ import annotations

import argparse

from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError
from rolebar.core.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("process", help="print credential_process JSON (cache first)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("profile", nargs="?")
    which.add_argument("--section", metavar="NAME", help="the profile selected for a section")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    setting = None if args.profile else Settings().get(args.section)
    profile = args.profile or (setting.profile if setting else None)
    if not profile:
        raise ConfigError(f"section {args.section}",
                          f"no profile selected; run `rolebar select PROFILE --section "
                          f"{args.section}`")
    print(Engine().credentials(profile).process_json())
    return 0
