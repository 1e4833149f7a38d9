"""`rolebar process (PROFILE | --section NAME)`: the `credential_process` helper.

`cli.main` answers cache hits through `fastpath` before this module is imported; this is
the full path: plan, cache under a lock, codes (the running engine's prompt among them,
through the engine client), STS.
"""

from __future__ import annotations

import argparse

from rolebar.core.client import connect
from rolebar.core.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("process", help="print credential_process JSON (cache first)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("profile", nargs="?")
    which.add_argument("--section", metavar="NAME", help="the profile selected for a section")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    client = connect(interactive=True)
    setting = None if args.profile else client.setting(args.section)
    profile = args.profile or (setting.profile if setting else None)
    if not profile:
        raise ConfigError(f"section {args.section}",
                          f"no profile selected; run `rolebar select PROFILE --section "
                          f"{args.section}`")
    print(client.engine.credentials(profile).process_json())
    return 0
