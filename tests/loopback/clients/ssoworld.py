"""An IAM Identity Center setup for `rolebar login` tests: the double's SSO world, a config
with an `[sso-session]` (two profiles on it), an older per-profile sign-in and broken
entries, every endpoint variable pointing at the double, and a `$BROWSER` stand-in."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.loopback.clients.awsdouble import SSO_DEV, START_URL, Sso, sso_world
from tests.loopback.conftest import ROLEBAR, assert_no_secret

CLIENTS = Path(__file__).parent
OLD_START_URL = "https://d-1111111111.awsapps.com/start"
CONFIG = f"""\
[profile sso-dev]
sso_session = corp
sso_account_id = {SSO_DEV}
sso_role_name = Developer
region = eu-west-1

[profile old-style]
sso_start_url = {OLD_START_URL}
sso_region = us-east-1
sso_account_id = {SSO_DEV}
sso_role_name = ReadOnly
region = us-east-1

[profile broken]
sso_session = nope
sso_account_id = {SSO_DEV}
sso_role_name = Developer

[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session noregion]
sso_start_url = {START_URL}
"""


@dataclass
class World:
    sso: Sso
    home: Path
    env: dict[str, str]

    @property
    def browser_log(self) -> Path:
        return self.home / "browser.log"

    def opened(self) -> list[str]:
        """What the `$BROWSER` stand-in was asked to open (scheme, host and path)."""
        if not self.browser_log.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.browser_log.read_text().splitlines()]

    def token_file(self, key: str = "corp") -> Path:
        name = hashlib.sha1(key.encode()).hexdigest()
        return self.home / ".aws" / "sso" / "cache" / f"{name}.json"

    def token(self, key: str = "corp") -> dict[str, Any]:
        return dict(json.loads(self.token_file(key).read_text()))

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([ROLEBAR, *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, start_new_session=True)
        assert_no_secret(done.stderr, self.sso.double.secrets())
        return done

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen([ROLEBAR, *args], env={**self.env, **(env or {})},
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def write_cli_token(self, client: dict[str, Any], token: dict[str, Any],
                        expires: float, key: str = "corp", start_url: str = START_URL) -> Path:
        """A token file exactly as the AWS CLI v2 writes one."""
        path = self.token_file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "startUrl": start_url, "region": "us-east-1", "accessToken": token["accessToken"],
            "expiresAt": stamp(expires), "clientId": client["clientId"],
            "clientSecret": client["clientSecret"],
            "registrationExpiresAt": stamp(client["clientSecretExpiresAt"]),
            **({"refreshToken": token["refreshToken"]} if "refreshToken" in token else {})}))
        return path


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_line_error(stderr: str) -> str:
    """The `rolebar:` failure line, which ends stderr (instructions may come before it)."""
    last = stderr.splitlines()[-1]
    assert last.startswith("rolebar: "), stderr
    return last


def sso_setup(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The body of a fixture: a running double, the files, the environment."""
    worlds = sso_world()
    sso = next(worlds)
    (home / ".aws" / "config").write_text(CONFIG)
    browser = home / "browser"
    browser.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                       f'"{CLIENTS / "browser_standin.py"}" "$@"\n')
    browser.chmod(0o755)
    for name in ("STS", "SSO", "SSO_OIDC"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{name}", sso.endpoint)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(home / "browser.log"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield World(sso, home, dict(os.environ))
    next(worlds, None)  # stops the double
