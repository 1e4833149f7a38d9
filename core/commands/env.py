"""`rolebar env (PROFILE | --section NAME) [--format sh|dotenv|json] [--token-file]`.

Prints the variables that point an SDK at the running engine's credentials endpoint
(endpoint.py): `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`
(or `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, the engine's 0600 token file). With no engine
running: exit 2, saying how to start one.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from rolebar.core import endpoint, paths
from rolebar.core.client import START_ONE, EngineClient, connect
from rolebar.core.commands.assume import STALE
from rolebar.core.errors import ConfigError

FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
AUTH_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
AUTH_FILE_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
# Every variable of the container protocol: the SDKs prefer the relative URI to the full
# one and a token file to a token, so a leftover one would win over ours.
CONTAINER_VARS = (FULL_URI, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", AUTH_VAR, AUTH_FILE_VAR)
FORMATS = ("sh", "dotenv", "json")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("env", help="print the variables for the running engine's "
                            "credentials endpoint")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("profile", nargs="?")
    which.add_argument("--section", metavar="NAME", help="a kept section (follows switches)")
    parser.add_argument("--format", choices=FORMATS, default="sh",
                        help="sh (export lines, the default), dotenv or json")
    parser.add_argument("--token-file", action="store_true",
                        help=f"print {AUTH_FILE_VAR} (the engine's 0600 file) instead of the token")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    client = connect()
    if args.section is not None:
        if client.setting(args.section) is None:
            raise ConfigError(f"section {args.section}", "is not kept; run `rolebar select "
                              f"PROFILE --section {args.section}`")
        kind, name = "section", args.section
    else:
        client.engine.plan(args.profile)  # a typo or a profile rolebar cannot serve: exit 2
        kind, name = "profile", args.profile
    print(render(endpoint_vars(client, kind, name, token_file=args.token_file), args.format))
    return 0


def endpoint_vars(client: EngineClient, kind: str, name: str, *, token_file: bool = False
                  ) -> dict[str, str]:
    """The variables for `/kind/name` on the running engine's endpoint."""
    port = running_port(client, f"{kind} {name}")
    found = {FULL_URI: endpoint.url(port, kind, name)}
    path = paths.endpoint_token_file()
    if token_file:
        found[AUTH_FILE_VAR] = str(path)
        return found
    try:
        found[AUTH_VAR] = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"file {path}", f"cannot read the endpoint's token ({exc.strerror})"
                          ) from None
    return found


def running_port(client: EngineClient, subject: str) -> int:
    """The running engine's endpoint port; exit 2 with how to start one if none runs."""
    running = client.info
    if running is None:
        raise ConfigError(subject, f"no engine is running; {START_ONE}")
    recorded = _recorded()
    port = recorded.get("port")
    if recorded.get("pid") != running.pid or not isinstance(port, int):
        raise ConfigError(subject, f"the running {running.kind} (pid {running.pid}) serves "
                          "no credentials endpoint; restart it with this rolebar (its log "
                          "says why)")
    return port


def _recorded() -> dict[str, Any]:
    try:
        data = json.loads(paths.endpoint_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def render(variables: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(variables)
    if fmt == "dotenv":  # as `docker run --env-file` reads it: no quotes
        return "\n".join(f"{key}={value}" for key, value in variables.items())
    # A shell: also drop what the SDKs would take before the endpoint (a profile, keys, a
    # leftover container variable), as `rolebar exec` does for its command.
    dropped = [key for key in (*STALE, *CONTAINER_VARS) if key not in variables]
    lines = [f"unset {' '.join(dropped)}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in variables.items()]
    return "\n".join(lines)
