"""`rolebar status [--json]`: profiles, expiry and MFA sessions."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from rolebar.core.engine import Engine


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="show cached credentials and MFA sessions")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def left(expires: float | None, now: float) -> str:
    if expires is None:
        return "none"
    minutes = int(max(0.0, expires - now) // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m left" if minutes >= 60 else f"{minutes}m left"


def run(args: argparse.Namespace) -> int:
    found = Engine().status()
    if args.json:
        print(json.dumps({"profiles": [asdict(s) for s in found]}, indent=2))
        return 0
    now = time.time()
    for s in found:
        session = f", MFA session {left(s.session_expires, now)}" if s.device else ""
        code = ", needs a code" if s.needs_code else ""
        print(f"profile {s.profile}: credentials {left(s.expires, now)}{session}{code}"
              f" ({s.reason})")
    return 0
