"""`rolebar exec PROFILE -- COMMAND [ARG...]`: run a command with AWS_* set."""

from __future__ import annotations

import argparse
import os

from rolebar.core.commands.assume import add_code_option, child_env, run_child
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("exec", help="run a command with the profile's credentials")
    add_code_option(parser)
    parser.add_argument("profile")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ConfigError("usage", "exec needs a command after --")
    engine = Engine()
    creds = engine.credentials(args.profile, code=args.token)
    env = child_env(os.environ, creds, engine.plan(args.profile).region)
    return run_child(command, env, args.profile)
