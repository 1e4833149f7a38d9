"""The baseline: what swrole 1.1 does, in Python. No cache: every call is one AssumeRole
with a fresh one-time code, from `-t` or from `generate_token` run through a shell with
no timeout, exactly as swrole's `eval` runs it.

    python swrole_like.py [-t CODE] [-j] PROFILE

Like swrole it reads only `[profile NAME]` sections of ~/.aws/config. It uses botocore
directly where swrole runs the AWS CLI, which only makes the baseline faster.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any


def _files(env: Mapping[str, str]) -> tuple[str, str]:
    return (os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config"),
            os.path.expanduser(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"))


def profile(name: str, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    config_file, creds_file = _files(env)
    config = configparser.RawConfigParser()
    config.read(config_file)
    section = f"profile {name}"
    if not config.has_section(section):
        raise SystemExit(f"swrole: no profile {name}")
    values = dict(config.items(section))
    creds = configparser.RawConfigParser()
    creds.read(creds_file)
    source = values.get("source_profile", "default")
    values["aws_access_key_id"] = creds.get(source, "aws_access_key_id")
    values["aws_secret_access_key"] = creds.get(source, "aws_secret_access_key")
    return values


def assume(name: str, code: str | None = None, env: Mapping[str, str] = os.environ,
           ask: Callable[[], str] | None = None) -> dict[str, Any]:
    """One AssumeRole with a code; returns STS's Credentials. `ask` stands for the user."""
    import botocore.session

    values = profile(name, env)
    if code is None and values.get("generate_token"):
        code = subprocess.run(values["generate_token"], shell=True, capture_output=True,
                              text=True).stdout.strip()
    if code is None:
        code = ask() if ask else input("MFA code: ")
    session = botocore.session.get_session()
    client = session.create_client(
        "sts", region_name=env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=env.get("AWS_ENDPOINT_URL_STS") or None,
        aws_access_key_id=values["aws_access_key_id"],
        aws_secret_access_key=values["aws_secret_access_key"],
    )
    answer = client.assume_role(RoleArn=values["role_arn"], RoleSessionName="swrole",
                                SerialNumber=values["mfa_serial"], TokenCode=code)
    credentials: dict[str, Any] = answer["Credentials"]
    return credentials


def main() -> int:
    parser = argparse.ArgumentParser(prog="swrole")
    parser.add_argument("-t", dest="code")
    parser.add_argument("-j", dest="json", action="store_true")
    parser.add_argument("profile")
    args = parser.parse_args()
    try:
        creds = assume(args.profile, args.code)
    except Exception as exc:  # noqa: BLE001 - swrole prints the CLI's error and exits 255
        print(f"swrole: {exc}", file=sys.stderr)
        return 255
    if args.json:
        print(json.dumps({"Version": 1, "AccessKeyId": creds["AccessKeyId"],
                          "SecretAccessKey": creds["SecretAccessKey"],
                          "SessionToken": creds["SessionToken"],
                          "Expiration": creds["Expiration"].isoformat()}))
    else:
        for key, var in (("AccessKeyId", "AWS_ACCESS_KEY_ID"),
                         ("SecretAccessKey", "AWS_SECRET_ACCESS_KEY"),
                         ("SessionToken", "AWS_SESSION_TOKEN")):
            print(f"export {var}={creds[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
