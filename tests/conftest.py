"""Fixtures shared by every suite: each test gets its own HOME, XDG dirs and AWS files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core import sdk

# Leak hunt: every test is checked for secrets of the STS doubles (tests/leaks/plugin.py).
pytest_plugins = ["tests.leaks.plugin"]

# Variables that would let a developer's real setup leak into a test.
_SCRUB = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_CREDENTIAL_EXPIRATION", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR", "XDG_DATA_HOME",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME with ~/.aws and XDG directories; the AWS environment scrubbed."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    for var in _SCRUB:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A test that runs `keep` or the tray in-process isolates the SDK (sdk.isolate): not
    # beyond that test.
    monkeypatch.setattr(sdk, "_isolated", False)
    monkeypatch.setattr(sdk, "_SDKS", {})
    os.umask(0o022)
    yield home
