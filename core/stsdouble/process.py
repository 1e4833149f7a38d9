"""The double as a process, for soak tests and the demo: serve until SIGTERM or SIGINT.

It writes a 0600 JSON state file (endpoint, the user's keys, MFA serial and TOTP secret),
then prints the endpoint on stdout. Tests read counters and inject faults through the
unsigned admin paths under ``/_double/`` (loopback only):

    GET  /_double/counts | codes_seen | calls | secrets
    POST /_double/inject?fault=500|throttle|stall|reset|reset-after[&count=N][&seconds=S]
    POST /_double/clear
    POST /_double/config?role_lifetime=N&session_lifetime=N&stall_seconds=S

and those of the other services (``serviceopts``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from . import serviceopts
from .double import StsDouble
from .model import Role, User


def write_private(path: Path, text: str) -> None:
    """Write a 0600 file atomically: it holds keys and the TOTP secret."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def state(double: StsDouble, user: User, roles: list[Role]) -> dict[str, Any]:
    return {
        "endpoint": double.endpoint,
        "admin": f"{double.endpoint}/_double/",
        "region": "us-east-1",
        "pid": os.getpid(),
        "user": {
            "name": user.name, "account": user.account, "arn": user.arn,
            "access_key_id": user.access_key_id, "secret_access_key": user.secret_access_key,
            "mfa_serial": user.mfa_serial, "totp_secret": user.totp_secret,
        },
        "roles": [{"arn": role.arn, "require_mfa": role.require_mfa} for role in roles],
        "role_lifetime": double.role_lifetime,
        "session_lifetime": double.session_lifetime,
        **serviceopts.state(double),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rolebar.core.stsdouble",
                                     description="A strict AWS STS double on 127.0.0.1.")
    parser.add_argument("--state", required=True, type=Path,
                        help="JSON file (0600) for the endpoint, keys and TOTP secret")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--role-lifetime", type=int, default=3600, metavar="SECONDS")
    parser.add_argument("--session-lifetime", type=int, default=43200, metavar="SECONDS")
    parser.add_argument("--role", action="append", default=[], metavar="ARN",
                        help="a role that requires MFA (repeatable)")
    parser.add_argument("--open-role", action="append", default=[], metavar="ARN",
                        help="a role that needs no MFA (repeatable)")
    parser.add_argument("--user", default="member", help="IAM user name (default: member)")
    parser.add_argument("--account", default="000000000000", help="the user's account")
    serviceopts.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    double = StsDouble(role_lifetime=args.role_lifetime,
                       session_lifetime=args.session_lifetime, port=args.port)
    user = double.add_user(args.user, account=args.account)
    try:
        roles = [double.add_role(arn) for arn in args.role]
        roles += [double.add_role(arn, require_mfa=False) for arn in args.open_role]
        serviceopts.configure(double, args)
    except ValueError as exc:
        parser.error(str(exc))

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    endpoint = double.start()
    write_private(args.state, json.dumps(state(double, user, roles), indent=2) + "\n")
    sys.stdout.write(endpoint + "\n")
    sys.stdout.flush()
    while not done.wait(0.5):  # a timed wait keeps the main thread responsive to signals
        pass
    double.stop()
    return 0
