"""`rolebar doctor [--no-tray] [--json]`: check the setup, one line per check with a fix."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from rolebar.core.doctor import exit_status, run_checks


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check the AWS files, generate_token, the tray and permissions",
        description="Check the setup: AWS files, assumable profiles, generate_token (run "
        "once; the code is neither shown nor used), the tray backend, the notification "
        "service, autostart and file permissions. Exit 0 when nothing failed, 2 when the "
        "setup needs a fix, 1 when it is right but generate_token gave no code just now.",
    )
    parser.add_argument("--no-tray", action="store_true",
                        help="skip the desktop checks (servers, containers, CI)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks = run_checks(tray=not args.no_tray)
    if args.json:
        print(json.dumps({"checks": [asdict(c) for c in checks],
                          "exit_code": exit_status(checks)}, indent=2))
    else:
        for check in checks:
            print(check.line())
    return exit_status(checks)
