"""`rolebar profiles [--json]`: the profiles rolebar can assume."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from rolebar.core.engine import Engine


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("profiles", help="list the profiles rolebar can assume")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = Engine().profiles()
    if args.json:
        print(json.dumps([asdict(p) for p in found], indent=2))
        return 0
    for p in found:
        mfa = f"mfa {p.device}" if p.device else "no mfa"
        token = ", generate_token" if p.has_code_command else ""
        print(f"{p.name}\t{p.role_arn or '(MFA session)'}\t{mfa}{token}\t{p.route}")
    return 0
