"""`rolebar exec PROFILE -- COMMAND [ARG...]`: run a command with AWS_* set.

`--endpoint`: the command gets the running engine's credentials endpoint for PROFILE
instead of keys (`rolebar env`), so its SDKs refresh from the engine for as long as it runs.
"""

from __future__ import annotations

import argparse
import os

from rolebar.core.client import EngineClient, connect
from rolebar.core.commands.assume import STALE, add_code_option, child_env, run_child
from rolebar.core.commands.env import CONTAINER_VARS, endpoint_vars
from rolebar.core.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("exec", help="run a command with the profile's credentials")
    add_code_option(parser)
    parser.add_argument("--endpoint", action="store_true",
                        help="point the command at the running engine's credentials endpoint")
    parser.add_argument("profile")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ConfigError("usage", "exec needs a command after --")
    client = connect(interactive=True)
    if args.endpoint:
        return run_with_endpoint(client, args.profile, command, args.token)
    engine = client.engine
    creds = engine.credentials(args.profile, code=args.token)
    env = child_env(os.environ, creds, engine.plan(args.profile).region)
    return run_child(command, env, args.profile)


def run_with_endpoint(client: EngineClient, profile: str, command: list[str],
                      code: str | None) -> int:
    region = client.engine.plan(profile).region
    # No engine: say so before asking for a code.
    variables = endpoint_vars(client, "profile", profile)
    # Fetched here, where a person can type a code: the endpoint's first answer is then a
    # cache hit, and its later refreshes ride on the MFA session this may open.
    client.engine.credentials(profile, code=code)
    env = {k: v for k, v in os.environ.items() if k not in (*STALE, *CONTAINER_VARS)}
    env.update(variables)
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    return run_child(command, env, profile)
