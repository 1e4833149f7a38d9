"""A long-running boto3 service: one client, GetCallerIdentity every INTERVAL seconds.

Credentials come from the default chain (AWS_PROFILE -> credential_process), which
botocore refreshes inside the process. One JSON line per call on stdout: when it
started (`t`) and, for an answer, when it ended (`done`).
"""

from __future__ import annotations

import json
import sys
import time

import boto3

duration = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
client = boto3.client("sts")
end = time.time() + duration
while time.time() < end:
    started = time.time()
    try:
        arn = client.get_caller_identity()["Arn"]
        print(json.dumps({"t": started, "done": time.time(), "arn": arn}), flush=True)
    except Exception as exc:  # noqa: BLE001 - every failure is a finding
        print(json.dumps({"t": started, "error": f"{type(exc).__name__}: {exc}"[:300]}),
              flush=True)
    time.sleep(max(0.0, interval - (time.time() - started)))
