"""Faults around a running `rolebar keep`: STS failing in every way, suspend/resume
(SIGSTOP past expiry), and `kill -9` in the middle of writes."""

from __future__ import annotations

import configparser
import random
import signal
import threading
import time

import pytest

from rolebar.core import ipc
from tests.loopback.clients.harness import Keep, expires, fresh_keys, identity, section, wait_for
from tests.loopback.conftest import Aws

MARGIN_30 = 15.0  # min(15 min, lifetime / 2) for 30 s credentials


def watch(aws: Aws, seconds: float, keys: dict[str, str]) -> list[str]:
    """Sample the section for `seconds`: it must keep `keys` (never lose them)."""
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = section(aws)
        assert now is not None and now.get("aws_access_key_id"), "the section lost its keys"
        seen.append(now["aws_access_key_id"])
        if time.time() < expires(keys) - 2:
            assert now == keys, "replaced while STS was failing?"
        time.sleep(0.5)
    return seen


@pytest.mark.slow
def test_sts_faults_keep_the_old_credentials_then_recover_by_themselves(aws: Aws) -> None:
    aws.double.role_lifetime = 30
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        # fault, how long it lasts (the last one outlives the credentials)
        phases: list[tuple[str, float]] = [("500", 12), ("throttle", 12), ("reset", 12),
                                           ("stall", 20), ("refused", 40)]
        for fault, seconds in phases:
            # Start right after a refresh, so the old credentials are as young as can be.
            old = wait_for(lambda: fresh_keys(aws, at_least=25), 40, interval=0.05,
                           what=f"fresh keys before {fault}")
            if fault == "refused":
                aws.double.stop()
            else:
                aws.double.inject(fault, seconds=20 if fault == "stall" else None)
            try:
                watch(aws, seconds, old)
            finally:
                if fault == "refused":
                    aws.double.start()
                else:
                    aws.double.clear()
            recovered = time.monotonic()
            keys = wait_for(lambda old=old: (k := fresh_keys(aws, at_least=MARGIN_30 - 1))
                            and k != old and k, 25, interval=0.2, what=f"recovery after {fault}")
            took = time.monotonic() - recovered
            assert "assumed-role/developer/" in identity(keys)
            # A stalled call ends with botocore's read timeout; the rest within a backoff.
            assert took < (16 if fault == "stall" else 8), (fault, took)
        assert keep.stop() == 0
    failed = [line for line in keep.stderr().splitlines() if "keeps failing" in line]
    assert 1 <= len(failed) <= len(phases)
    assert all(line.startswith("rolebar: profile project-dev: ") for line in failed)


@pytest.mark.slow
def test_suspend_past_expiry_then_resume_is_fresh_again_within_seconds(aws: Aws) -> None:
    aws.double.role_lifetime = 20
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        keys = wait_for(lambda: fresh_keys(aws, at_least=15), 30, what="fresh keys")
        keep.proc.send_signal(signal.SIGSTOP)
        time.sleep(max(0.0, expires(keys) - time.time()) + 3)
        assert fresh_keys(aws) is None  # expired while the keeper slept
        resumed = time.monotonic()
        keep.proc.send_signal(signal.SIGCONT)
        fresh = wait_for(lambda: fresh_keys(aws, at_least=10 - 1), 10, interval=0.05,
                         what="fresh keys after resume")
        assert time.monotonic() - resumed < 5
        assert "assumed-role/developer/" in identity(fresh)
        assert keep.stop() == 0


def _big_credentials(aws: Aws, count: int) -> str:
    others = "".join(f"\n# profile {i}\n[p{i}]\naws_access_key_id = AKIA{i:016d}\n"
                     f"aws_secret_access_key = {'s' * 40}\n" for i in range(count))
    text = aws.credentials.read_text() + others
    aws.credentials.write_text(text)
    return text


def _check_whole(aws: Aws, count: int, sections: list[str]) -> None:
    text = aws.credentials.read_text()
    parser = configparser.RawConfigParser()
    parser.read_string(text)  # a partial file would not parse or would lose sections
    assert all(parser.has_section(f"p{i}") for i in range(count))
    assert parser.has_section("my-company")
    for name in sections:
        if parser.has_section(name):
            values = dict(parser.items(name))
            assert set(values) >= {"aws_access_key_id", "aws_secret_access_key",
                                   "aws_session_token", "rolebar_expiration"}, name


@pytest.mark.slow
def test_kill_9_in_the_middle_of_writes_never_leaves_a_partial_file(aws: Aws) -> None:
    count = 500
    original = _big_credentials(aws, count)
    sections = ["tray-managed", "tray-managed-project-ops", "third"]
    aws.run("select", "project-dev", "--style", "keys")
    aws.run("select", "project-ops", "--section", sections[1], "--style", "keys")
    aws.run("select", "project-dev", "--section", sections[2], "--style", "keys")
    with Keep(aws, "keep") as keep:  # first a full round: the MFA session gets cached
        for name in sections:
            wait_for(lambda name=name: fresh_keys(aws, name), 60, what=name)
        assert keep.stop() == 0
    rng = random.Random(7)
    seen: set[str] = set()
    for _ in range(8):
        before = (section(aws) or {}).get("aws_access_key_id")
        with Keep(aws, "keep") as keep:
            wait_for(lambda: ipc.call("ping", timeout=0.5), 20, what="the engine")
            stop = threading.Event()

            def spam(stop: threading.Event) -> None:
                while not stop.is_set():
                    ipc.call("refresh", timeout=0.5)
                    time.sleep(0.05)

            spammer = threading.Thread(target=spam, args=(stop,))
            spammer.start()
            try:
                # Writes are under way (one landed), then it dies at a random moment.
                wait_for(lambda before=before: (section(aws) or {}).get("aws_access_key_id")
                         != before, 60, interval=0.02, what="a write")
                time.sleep(rng.uniform(0.0, 0.8))
                keep.kill()  # SIGKILL, wherever it is
            finally:
                stop.set()
                spammer.join()
        _check_whole(aws, count, sections)
        seen.add((section(aws) or {}).get("aws_access_key_id", ""))
    assert len(seen) == 8
    # A new keeper takes over (the engine lock died with the old one) and cleans up.
    with Keep(aws, "keep") as keep:
        for name in sections:
            keys = wait_for(lambda name=name: fresh_keys(aws, name), 30, what=name)
            identity(keys)
        time.sleep(1)
        assert keep.stop() == 0
    _check_whole(aws, count, sections)
    assert aws.credentials.read_text().startswith(original)
    leftovers = [p.name for p in aws.credentials.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
