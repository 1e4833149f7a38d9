"""`rolebar profiles [--json]`: the profiles rolebar can assume.

stdout stays a plain list (or JSON) for scripts, empty when there are none; a person
reading an empty answer learns on stderr why, and what to try.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from rolebar.core.client import connect
from rolebar.core.profiles import none_found


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("profiles", help="list the profiles rolebar can assume")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    engine = connect().engine
    found = engine.profiles()
    if not found:
        print(f"rolebar: {'; '.join(none_found(engine.env))}", file=sys.stderr)
    if args.json:
        print(json.dumps([asdict(p) for p in found], indent=2))
        return 0
    for p in found:
        mfa = f"mfa {p.device}" if p.device else "no mfa"
        token = ", generate_token" if p.has_code_command else ""
        target = p.role_arn or (f"(SSO {p.sso})" if p.sso else "(MFA session)")
        print(f"{p.name}\t{target}\t{mfa}{token}\t{p.route}")
    return 0
