"""The soak: one `rolebar keep` serving, at the same time, for several credential lifetimes,

- a reader re-reading [tray-managed] (keys) every 0.2 s and calling STS with what it read;
- fresh boto3 processes started every few seconds with AWS_PROFILE=tray-managed;
- another program editing its own section of the same file in a loop;
- a Node.js service (AWS SDK v3) and a boto3 service with AWS_PROFILE=live (process
  style), calling GetCallerIdentity every second, with a role switch mid-run;

against an STS double issuing 30 s role credentials and 2-minute MFA sessions, with a
generate_token command (so exactly one code per MFA session).
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time

import pytest

from tests.loopback.clients.harness import (
    CLIENTS,
    Keep,
    fresh_keys,
    lines,
    python,
    start,
    wait_for,
)
from tests.loopback.conftest import Aws

ROLE_LIFETIME = 30
SESSION_LIFETIME = 120
DURATION = 150.0  # five role lifetimes
NODE = "node"

FRESH_PROCESS = """\
import boto3, json
print(json.dumps(boto3.client("sts").get_caller_identity()["Arn"]))
"""


@pytest.mark.slow
def test_soak(aws: Aws) -> None:
    aws.double.role_lifetime = ROLE_LIFETIME
    aws.double.session_lifetime = SESSION_LIFETIME
    assert aws.run("select", "project-dev", "--style", "keys").returncode == 0
    assert aws.run("select", "project-dev", "--section", "live", "--style",
                   "process").returncode == 0
    with Keep(aws, "keep") as keep:
        wait_for(lambda: fresh_keys(aws), 30, what="the section")
        started = time.time()
        reader = start(python("reader.py", "--duration", str(DURATION), "--lifetime",
                              str(ROLE_LIFETIME), "--expect", "my-company",
                              "--expect", "live"), aws)
        editor = start(python("editor.py", "--duration", str(DURATION)), aws)
        clients_env = {"AWS_PROFILE": "live", "AWS_REGION": "us-east-1"}
        node = start([NODE, str(CLIENTS / "sts_client.mjs"), str(DURATION)], aws,
                     env=clients_env)
        boto = start(python("sts_client.py", str(DURATION)), aws, env=clients_env)

        spawned: list[tuple[float, int, str]] = []

        def spawn() -> None:
            while time.time() < started + DURATION - 5:
                moment = time.time()
                proc = start([sys.executable, "-c", FRESH_PROCESS], aws,
                             env={"AWS_PROFILE": "tray-managed"})
                out, err = proc.communicate(timeout=60)
                spawned.append((moment, proc.returncode, out + err[-300:]))
                time.sleep(4)

        spawner = threading.Thread(target=spawn, name="spawner")
        spawner.start()
        time.sleep(DURATION / 2)
        switched = time.time()
        assert aws.run("select", "project-ops", "--section", "live").returncode == 0
        results = {name: proc.communicate(timeout=DURATION + 60)
                   for name, proc in [("reader", reader), ("editor", editor), ("node", node),
                                      ("boto3", boto)]}
        spawner.join(60)
        assert keep.stop() == 0

    for name, (_, err) in results.items():
        assert "Traceback" not in err, f"{name}: {err[-2000:]}"

    # The reader: never torn, never missing, never expired, always the margin left.
    read = json.loads(results["reader"][0])
    assert read["reads"] >= DURATION / 0.2 * 0.7
    assert (read["torn"], read["missing"], read["errors"]) == (0, 0, 0), read["problems"]
    assert read["keys_seen"] >= DURATION / ROLE_LIFETIME
    assert read["min_left_fraction"] >= 0.5 - 1 / ROLE_LIFETIME, read

    # The other program: none of its edits lost.
    edited = json.loads(results["editor"][0])
    assert edited["edits"] >= DURATION / 0.2 * 0.5
    assert edited["lost"] == 0, edited["problems"]
    assert f"counter = {edited['last']}\n" in aws.credentials.read_text()

    # Fresh processes started at any moment got valid keys.
    assert len(spawned) >= DURATION / 10
    assert [s for s in spawned if s[1] != 0] == []

    # Long-running SDK clients: zero errors, and the role switch shows up in their next
    # refresh (they re-run credential_process on every call this close to expiry).
    for name in ("node", "boto3"):
        calls = lines(results[name][0])
        assert len(calls) >= DURATION * 0.8, name
        assert [c for c in calls if "error" in c] == [], name
        # A call that began before the switch may take its credentials after it: judge
        # "before" by when the answer came.
        before = {c["arn"].split("/")[1] for c in calls if c["done"] < switched}
        after = {c["arn"].split("/")[1] for c in calls if c["t"] > switched + 5}
        assert (before, after) == ({"developer"}, {"operator"}), name
        assert calls[-1]["t"] - calls[0]["t"] >= 4 * ROLE_LIFETIME

    # Exactly one code per MFA session, and sessions renewed ahead of their end.
    codes = aws.double.codes_seen[str(aws.user.mfa_serial)]
    sessions = aws.double.counts["GetSessionToken"]
    assert len(codes) == sessions == len(set(codes))
    renew_every = SESSION_LIFETIME - SESSION_LIFETIME / 4
    assert 2 <= sessions <= math.ceil((time.time() - started) / renew_every) + 1
    # STS calls: refreshed at a quarter of the lifetime, two profiles at most at once.
    assert aws.double.counts["AssumeRole"] <= 3 * (DURATION + 60) / (ROLE_LIFETIME / 4)
