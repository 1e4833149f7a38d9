"""`rolebar status [--json]`: the kept sections, profiles, expiry and MFA sessions.

Sections come from the engine client (client.py): the running engine's state when one
answers (with its health and problems), else the settings and the cache. The objects it
gives are printed as they are; `--json` is their fields.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from rolebar.core.client import connect
from rolebar.core.sso.overview import sign_ins
from rolebar.core.state import SectionState
from rolebar.core.timing import span


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="show kept sections, cached credentials, MFA sessions")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def left(expires: float | None, now: float) -> str:
    if expires is None:
        return "none"
    return f"{span(expires - now)} left" if expires > now else "expired"


# What a section serves between a role switch and the new role's credentials.
MEANWHILE = {"keys": "it holds no credentials until then",
             "process": "its credential_process answers for the new role only"}


def section_line(s: SectionState, now: float) -> str:
    if s.switching and s.problem:  # never the old role meanwhile: say so
        return f"section {s.name}: {s.problem} ({s.style}: {MEANWHILE.get(s.style, '')})"
    problem = f"; {s.problem}" if s.problem else ""
    return (f"section {s.name}: profile {s.profile} ({s.style}), {s.health}, "
            f"credentials {left(s.expires, now)}{problem}")


def run(args: argparse.Namespace) -> int:
    client = connect()
    status = client.status()
    running, kept = status.engine, status.state.sections
    found = client.engine.status()
    if args.json:
        engine = {"pid": running.pid, "kind": running.kind} if running else None
        print(json.dumps({"engine": engine, "sections": [asdict(s) for s in kept],
                          "profiles": [asdict(s) for s in found],
                          "sso": [asdict(s) for s in sign_ins()],
                          "signins": [asdict(n) for n in status.state.signins]}, indent=2))
        return 0
    now = time.time()
    if running:
        print(f"engine: rolebar {running.kind} (pid {running.pid})")
    else:
        print("engine: none running (start one with `rolebar keep` or `rolebar tray`)")
    for s in kept:
        print(section_line(s, now))
    for p in found:
        session = f", MFA session {left(p.session_expires, now)}" if p.device else ""
        code = ", needs a code" if p.needs_code else ""
        print(f"profile {p.profile}: credentials {left(p.expires, now)}{session}{code}"
              f" ({p.reason})")
    for need in status.state.signins:
        print(f"{need.session}: sign-in needed: the engine waits for it (run `{need.command}`)")
    for signin in sign_ins():
        print(f"{signin.session}: {signin.describe(now)}")
    return 0
