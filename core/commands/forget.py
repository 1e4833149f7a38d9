"""`rolebar forget [PROFILE]`: drop cached role credentials and MFA sessions."""

from __future__ import annotations

import argparse

from rolebar.core.client import connect


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("forget", help="drop cached credentials and MFA sessions")
    parser.add_argument("profile", nargs="?")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    count = connect().engine.forget(args.profile)
    print(f"forgot {count} cached entr{'y' if count == 1 else 'ies'}")
    return 0
