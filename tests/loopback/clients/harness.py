"""Helpers for the tests that run `rolebar keep` as a real process."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

import botocore.session
from botocore.config import Config

from tests.loopback.conftest import ROLEBAR, Aws, assert_no_secret

CLIENTS = Path(__file__).parent
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float, interval: float = 0.1,
             what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Keep:
    """`rolebar keep ARGS...` in its own process group, stderr to a file."""

    def __init__(self, aws: Aws, *args: str, env: dict[str, str] | None = None) -> None:
        self.aws = aws
        self.log = aws.home / f"keep-{time.monotonic_ns()}.stderr"
        self._err: IO[bytes] = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [ROLEBAR, *args], env={**aws.env, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._err, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.log.read_text()

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)  # its threads' stacks, into the log
            time.sleep(1)
            tail = self.stderr()[-6000:]
            assert_no_secret(tail, self.aws.secrets())
            raise AssertionError(f"keep did not stop in {timeout:g} s; its stderr ends:\n"
                                 f"{tail}") from None
        finally:
            self.kill()
        assert_no_secret(self.stderr(), self.aws.secrets())
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._err.close()

    def __enter__(self) -> Keep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def section(aws: Aws, name: str = "tray-managed") -> dict[str, str] | None:
    parser = configparser.RawConfigParser()
    parser.read_string(aws.credentials.read_text())
    return dict(parser.items(name)) if parser.has_section(name) else None


def expires(values: dict[str, str]) -> float:
    return datetime.strptime(values["rolebar_expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()


def identity(values: dict[str, str]) -> str:
    """GetCallerIdentity with the keys of a section (the endpoint from the environment)."""
    client = botocore.session.Session().create_client(
        "sts", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}),
        aws_access_key_id=values["aws_access_key_id"],
        aws_secret_access_key=values["aws_secret_access_key"],
        aws_session_token=values["aws_session_token"])
    return str(client.get_caller_identity()["Arn"])


def fresh_keys(aws: Aws, name: str = "tray-managed", at_least: float = 0.0
               ) -> dict[str, str] | None:
    """The section's keys if it holds keys with at least `at_least` seconds left."""
    values = section(aws, name)
    if not values or "aws_access_key_id" not in values:
        return None
    return values if expires(values) - time.time() >= at_least else None


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, str(CLIENTS / script), *args]


def start(argv: Sequence[str], aws: Aws, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(list(argv), env={**aws.env, **(env or {})}, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{proc.args!r} did not finish; stderr: {err[-2000:]}") from None
    return out, err


def lines(out: str) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
