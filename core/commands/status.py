"""`rolebar status [--json]`: the kept sections, profiles, expiry and MFA sessions.

Sections come from the running engine when one answers (with its health and problems),
else from the settings and the cache.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from rolebar.core import ipc
from rolebar.core.engine import Engine
from rolebar.core.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="show kept sections, cached credentials, MFA sessions")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def left(expires: float | None, now: float) -> str:
    if expires is None:
        return "none"
    minutes = int(max(0.0, expires - now) // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m left" if minutes >= 60 else f"{minutes}m left"


def sections(engine: Engine) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the running engine, if any; the kept sections as plain dicts)."""
    reply = ipc.call("status")
    if reply and reply.get("ok") and isinstance(reply.get("state"), dict):
        found = reply["state"].get("sections", [])
        return {"pid": reply.get("pid"), "kind": reply.get("kind")}, list(found)
    found = []
    for setting in Settings().sections().values():
        try:
            cached = engine.cached(setting.profile)
        except Exception:  # noqa: BLE001 - status shows what it can
            cached = None
        found.append({"name": setting.name, "profile": setting.profile, "style": setting.style,
                      "health": "idle", "expires": cached.expires if cached else None,
                      "problem": "no engine running"})
    return None, found


# What a section serves between a role switch and the new role's credentials.
MEANWHILE = {"keys": "it holds no credentials until then",
             "process": "its credential_process answers for the new role only"}


def section_line(s: dict[str, Any], now: float) -> str:
    if s.get("switching") and s.get("problem"):  # never the old role meanwhile: say so
        meanwhile = MEANWHILE.get(s["style"], "")
        return f"section {s['name']}: {s['problem']} ({s['style']}: {meanwhile})"
    problem = f"; {s['problem']}" if s.get("problem") else ""
    return (f"section {s['name']}: profile {s['profile']} ({s['style']}), {s['health']}, "
            f"credentials {left(s.get('expires'), now)}{problem}")


def run(args: argparse.Namespace) -> int:
    engine = Engine(interactive=False, extra_sources=())
    running, kept = sections(engine)
    found = engine.status()
    if args.json:
        print(json.dumps({"engine": running, "sections": kept,
                          "profiles": [asdict(s) for s in found]}, indent=2))
        return 0
    now = time.time()
    if running:
        print(f"engine: rolebar {running['kind']} (pid {running['pid']})")
    else:
        print("engine: none running (start one with `rolebar keep` or `rolebar tray`)")
    for s in kept:
        print(section_line(s, now))
    for p in found:
        session = f", MFA session {left(p.session_expires, now)}" if p.device else ""
        code = ", needs a code" if p.needs_code else ""
        print(f"profile {p.profile}: credentials {left(p.expires, now)}{session}{code}"
              f" ({p.reason})")
    return 0
