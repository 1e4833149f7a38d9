"""The headline with every default (issue 15): pick a role, then exactly
`AWS_PROFILE=tray-managed pnpm dev`, changing no setting.

`pnpm` comes from npm (tests/js devDependencies); its `dev` script is tests/js/dev.mjs, a
Node.js server on the AWS SDK v3 that calls GetCallerIdentity every second. Role
credentials live 25 s, so the run spans several lifetimes: with `keys` as the default the
SDK read the keys once and failed from the 25th second on (ExpiredToken); with `process`
it refreshes in-process from the engine's cache.
"""

from __future__ import annotations

import json

import pytest

from tests.loopback.clients.harness import CLIENTS, Keep, finish, lines, start, wait_for
from tests.loopback.conftest import Aws

ROLE_LIFETIME = 25
SECONDS = 100  # four role lifetimes
JS = CLIENTS.parent.parent / "js"


@pytest.mark.slow
def test_pnpm_dev_keeps_working_across_credential_lifetimes_with_every_default(
        aws: Aws) -> None:
    aws.double.role_lifetime = ROLE_LIFETIME
    pnpm = JS / "node_modules" / ".bin" / "pnpm"
    assert pnpm.is_file(), "run scripts/setup (npm ci in tests/js)"
    with Keep(aws, "keep") as keep:
        wait_for(lambda: '"kind": "keep"' in aws.run("status", "--json").stdout, 20,
                 what="the engine")
        assert aws.run("select", "project-dev").returncode == 0
        wait_for(lambda: json.loads(aws.run("status", "--json").stdout)["sections"][0]
                 ["health"] == "fresh", 30, what="project-dev kept")
        env = {"PATH": f"{pnpm.parent}:{aws.env['PATH']}", "DEV_SECONDS": str(SECONDS)}
        dev = start(["bash", "-c", "AWS_PROFILE=tray-managed pnpm dev"], aws, env=env, cwd=JS)
        out, err = finish(dev, SECONDS + 120)
        assert dev.returncode == 0, err[-2000:]
        assert keep.stop() == 0
    calls = lines(out)
    assert len(calls) >= SECONDS * 0.8, err[-2000:]
    assert [c for c in calls if "error" in c] == []
    assert {c["arn"].split("/")[1] for c in calls} == {"developer"}
    assert calls[-1]["t"] - calls[0]["t"] >= 3 * ROLE_LIFETIME
    assert aws.double.counts["AssumeRole"] >= SECONDS // ROLE_LIFETIME
