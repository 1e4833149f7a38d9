"""The soak reader: reads a section of the credentials file every INTERVAL seconds, the way
botocore does (RawConfigParser), and calls GetCallerIdentity with what it read.

Counts reads that found the file torn (unparsable, or without the other sections),
the section or a key missing, and calls STS refused; records the smallest remaining
lifetime seen (from `rolebar_expiration`) as a fraction of LIFETIME. Prints one JSON
summary at the end.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import time
from datetime import datetime, timezone

import botocore.session
from botocore.config import Config

KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")

parser = argparse.ArgumentParser()
parser.add_argument("--section", default="tray-managed")
parser.add_argument("--duration", type=float, default=60)
parser.add_argument("--interval", type=float, default=0.2)
parser.add_argument("--lifetime", type=float, required=True)
parser.add_argument("--expect", action="append", default=[], help="other sections to find")
args = parser.parse_args()

path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.expanduser("~/.aws/credentials")
session = botocore.session.Session()
config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)
summary = {"reads": 0, "torn": 0, "missing": 0, "errors": 0, "min_left": None,
           "min_left_fraction": None, "keys_seen": 0, "arns": [], "problems": []}
seen_keys: set[str] = set()
clients: dict[str, object] = {}
end = time.time() + args.duration
while time.time() < end:
    started = time.time()
    summary["reads"] += 1
    parser_ = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser_.read_string(f.read())
    except (OSError, configparser.Error) as exc:
        summary["torn"] += 1
        summary["problems"].append(f"{started:.1f} torn: {type(exc).__name__}")
        time.sleep(args.interval)
        continue
    if any(not parser_.has_section(name) for name in args.expect):
        summary["torn"] += 1
        summary["problems"].append(f"{started:.1f} torn: other sections lost")
    if not parser_.has_section(args.section) or any(
            not parser_.get(args.section, k, fallback="") for k in KEYS):
        summary["missing"] += 1
        summary["problems"].append(f"{started:.1f} missing")
        time.sleep(args.interval)
        continue
    values = {k: parser_.get(args.section, k) for k in KEYS}
    expiration = parser_.get(args.section, "rolebar_expiration", fallback=None)
    if expiration:
        expires = datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc).timestamp()
        left = expires - time.time()
        if summary["min_left"] is None or left < summary["min_left"]:
            summary["min_left"] = left
            summary["min_left_fraction"] = left / args.lifetime
    seen_keys.add(values["aws_access_key_id"])
    key = values["aws_access_key_id"]
    if key not in clients:
        clients.clear()  # one client per key set, as a new process would make
        clients[key] = session.create_client(
            "sts", region_name="us-east-1", config=config,
            aws_access_key_id=key, aws_secret_access_key=values["aws_secret_access_key"],
            aws_session_token=values["aws_session_token"])
    try:
        arn = clients[key].get_caller_identity()["Arn"]  # type: ignore[attr-defined]
        if arn not in summary["arns"]:
            summary["arns"].append(arn)
    except Exception as exc:  # noqa: BLE001 - every failure is a finding
        summary["errors"] += 1
        summary["problems"].append(f"{started:.1f} {type(exc).__name__}: {str(exc)[:120]}")
    time.sleep(max(0.0, args.interval - (time.time() - started)))
summary["keys_seen"] = len(seen_keys)
summary["problems"] = summary["problems"][:50]
print(json.dumps(summary))
