"""`rolebar assume [-t CODE] [-j | -o] PROFILE` (and the swrole form).

No flag: start $SHELL with AWS_* set; `-o`: print export lines; `-j`: print JSON.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence

from rolebar.core.client import connect
from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError

# Dropped from the child's environment before the new keys go in (aws-vault's createEnv):
# a stale profile or key would win over, or mix with, the credentials we hand over.
STALE = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_FILE",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION",
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("assume", help="assume a role: a shell, export lines or JSON")
    add_code_option(parser)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-j", "--json", action="store_true", help="print credential_process JSON")
    out.add_argument("-o", "--export", action="store_true", help="print export lines")
    parser.add_argument("profile")
    parser.set_defaults(func=run)


def add_code_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--token", metavar="CODE", help="the current one-time code")


def run(args: argparse.Namespace) -> int:
    engine = connect(interactive=True).engine
    creds = engine.credentials(args.profile, code=args.token)
    if args.json:
        print(creds.process_json())
        return 0
    region = engine.plan(args.profile).region
    if args.export:
        for key, value in credential_vars(creds, region).items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    shell = os.environ.get("SHELL") or ("cmd.exe" if os.name == "nt" else "/bin/sh")
    return run_child([shell], child_env(os.environ, creds, region), args.profile)


# The variables a credential set goes into, in the SDKs' names.
CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                   "AWS_CREDENTIAL_EXPIRATION")


def credential_vars(creds: Credentials, region: str | None) -> dict[str, str]:
    values = (creds.access_key_id, creds.secret_access_key, creds.session_token,
              creds.expiration)
    found = dict(zip(CREDENTIAL_VARS, values, strict=True))
    if region:
        found["AWS_REGION"] = found["AWS_DEFAULT_REGION"] = region
    return found


def child_env(base: Mapping[str, str], creds: Credentials, region: str | None
              ) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in STALE}
    env.update(credential_vars(creds, region))
    return env


def run_child(argv: Sequence[str], env: dict[str, str], profile: str) -> int:
    """Run the child in our place (its exit status becomes ours)."""
    sys.stdout.flush()
    if os.name == "posix":
        try:
            os.execvpe(argv[0], list(argv), env)  # noqa: S606 - the user's own command
        except OSError as exc:
            raise ConfigError(f"profile {profile}", f"cannot run {argv[0]!r} ({exc.strerror})"
                              ) from None
    try:
        return subprocess.run(list(argv), env=env, check=False).returncode
    except OSError as exc:
        raise ConfigError(f"profile {profile}", f"cannot run {argv[0]!r} ({exc.strerror})"
                          ) from None
