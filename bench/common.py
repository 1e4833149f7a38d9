"""Shared pieces of the benchmarks: bench venvs, an STS double with AWS files, timing.

Only ratios measured side by side in one run mean anything on a noisy machine, so
`interleaved` runs every candidate once per round, round after round, and reports medians.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ROLE_ARN = "arn:aws:iam::111111111111:role/bench-dev"
ROLE_ARNS = [f"arn:aws:iam::111111111111:role/bench-{n}" for n in ("dev", "ops", "data")]
# The interpreter behind the project's venv; every bench venv is made from it, so that
# `python -c pass` and the tools under test start the very same binary.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


VENV_BIN = ROOT / ".venv" / "bin"
Row = dict[str, Any]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def row(name: str, value: float, unit: str, note: str) -> Row:
    return {"name": name, "value": round(value, 4), "unit": unit, "note": note}


# -- bench venvs ------------------------------------------------------------------------------


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", *args], check=True)


def venv(name: str, requirements: Sequence[str]) -> Path:
    """bench/.venv-NAME with `requirements`, made once and reused while they are unchanged."""
    path = BENCH / f".venv-{name}"
    stamp = path / ".bench-requirements"
    wanted = "\n".join([BASE_PYTHON, *requirements])
    if stamp.exists() and stamp.read_text() == wanted:
        return path
    log(f"making {path.name} ({', '.join(requirements) or 'no packages'})")
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([BASE_PYTHON, "-m", "venv", str(path)], check=True)
    if requirements:
        _pip(path, *requirements)
    stamp.write_text(wanted)
    return path


def _dependencies() -> list[str]:
    """rolebar's own requirements, as pyproject.toml lists them (the wheel goes in alone)."""
    import tomllib

    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def rolebar_venv() -> Path:
    """rolebar from a freshly built wheel, not editable: an editable install's import hook
    runs at every interpreter start and would add its cost to the floor and to rolebar."""
    path = venv("rolebar", _dependencies())
    build = Path(tempfile.mkdtemp(prefix="rolebar-wheel-"))
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                               "-w", str(build), str(ROOT)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the wheel failed: {done.stderr.strip()[-500:]}")
        wheel = next(build.glob("rolebar-*.whl"))
        _pip(path, "--no-deps", "--force-reinstall", str(wheel))
    finally:
        shutil.rmtree(build, ignore_errors=True)
    # Built in a scratch dir, so setuptools' build/ and egg-info may still appear in ROOT.
    return path


def awsume_venv() -> Path:
    return venv("awsume", ["awsume==4.5.4"])


# -- an STS double and AWS files --------------------------------------------------------------


TOKEN_SCRIPT = """\
import sys
from rolebar.core.stsdouble import totp
print(totp(open(sys.argv[1]).read().strip()))
"""


@dataclass
class Setup:
    """A private HOME whose AWS files point at a running double."""

    home: Path
    endpoint: str
    users: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def code(self, user: str, ahead: int = 0) -> str:
        from rolebar.core.stsdouble import totp

        secret = self.users[user].totp_secret  # type: ignore[attr-defined]
        return str(totp(secret, time.time() + 30 * ahead))


def scrubbed_env(home: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "XDG_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "AWS_ENDPOINT_URL_STS": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@contextlib.contextmanager
def aws_setup(double: object, users: Sequence[str], *, roles: Sequence[str] = (ROLE_ARN,),
              token_python: str | None = None) -> Iterator[Setup]:
    """One source profile `src-USER` and role profiles `USER-N` per user, in a temp HOME.

    With `token_python`, role profiles get a `generate_token` that prints the current code
    (the TOTP secret is read from a 0600 file, never put in argv)."""
    home = Path(tempfile.mkdtemp(prefix="rolebar-bench-"))
    try:
        (home / ".aws").mkdir()
        setup = Setup(home, double.endpoint)  # type: ignore[attr-defined]
        config, creds = [], []
        for name in users:
            user = double.add_user(name, account="000000000000")  # type: ignore[attr-defined]
            setup.users[name] = user
            creds.append(f"[src-{name}]\naws_access_key_id = {user.access_key_id}\n"
                         f"aws_secret_access_key = {user.secret_access_key}\n")
            token = ""
            if token_python:
                secret_file = home / f".totp-{name}"
                secret_file.write_text(user.totp_secret)
                secret_file.chmod(0o600)
                script = home / "print_code.py"  # not token.py: that shadows the stdlib module
                script.write_text(TOKEN_SCRIPT)
                token = f"generate_token = {token_python} {script} {secret_file}\n"
            config.append(f"[profile src-{name}]\nregion = us-east-1\n")
            for index, arn in enumerate(roles):
                config.append(textwrap.dedent(f"""\
                    [profile {name}-{index}]
                    role_arn = {arn}
                    source_profile = src-{name}
                    mfa_serial = {user.mfa_serial}
                    """) + token)
        (home / ".aws" / "config").write_text("\n".join(config))
        (home / ".aws" / "credentials").write_text("\n".join(creds))
        (home / ".aws" / "credentials").chmod(0o600)
        setup.env = scrubbed_env(home, setup.endpoint)
        yield setup
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def sts_double(roles: Sequence[str] = ROLE_ARNS, **lifetimes: int) -> Iterator[object]:
    from rolebar.core.stsdouble import StsDouble

    double = StsDouble(**lifetimes)
    for arn in roles:
        double.add_role(arn, require_mfa=True)
    double.start()
    try:
        yield double
    finally:
        double.stop()


# -- timing -----------------------------------------------------------------------------------


def interleaved(candidates: Mapping[str, tuple[Sequence[str], Mapping[str, str]]],
                rounds: int, warmup: int = 3, every: Mapping[str, int] | None = None
                ) -> dict[str, float]:
    """Median wall time (seconds) of each command, run round-robin `rounds` times.

    A candidate in `every` runs only every Nth round: slow tools get fewer samples, but
    still spread over the whole run, so they see the same noise as the others."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    every = every or {}
    for round_ in range(warmup + rounds):
        for name, (argv, env) in candidates.items():
            if round_ >= warmup and (round_ - warmup) % every.get(name, 1):
                continue
            started = time.perf_counter()
            done = subprocess.run(argv, env=dict(env), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{name} exited {done.returncode}: "
                                   f"{done.stderr.decode(errors='replace')[-300:]}")
            if round_ >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def run(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """A command's stdout; RuntimeError with the end of its stderr if it failed."""
    done = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
