"""The real `rolebar tray` under Xvfb with an IAM Identity Center profile whose refresh
token was revoked: one "sign-in needed" notification ahead of time, no browser opened
before the person asks, and the "Sign in to corp..." item signs in again in the browser.

Menu order (tray/menu.py `build()`): status | [Enter MFA code...] [Sign in to NAME...] |
None <profiles...> | Refresh now ... Quit; Down x1 is the sign-in item.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.loopback.clients.awsdouble import SSO_DEV, Sso, device_sign_in, sso_world
from tests.loopback.clients.ssoworld import CLIENTS, CONFIG, stamp

from . import harness
from .harness import NotificationCapture

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(90)]

ROLEBAR = str(Path(sys.executable).with_name("rolebar"))


@pytest.fixture
def sso() -> Iterator[Sso]:
    yield from sso_world()


def test_a_revoked_sign_in_is_announced_and_the_menu_item_signs_in_again(
        launch: Callable[..., harness.Started], tray_host: harness.Started, home: Path, sso: Sso,
        notifications: NotificationCapture, desktop_env: dict[str, str],
        artifacts: Path) -> None:
    (home / ".aws" / "config").write_text(CONFIG)
    browser = home / "browser"
    browser.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                       f'"{CLIENTS / "browser_standin.py"}" "$@"\n')
    browser.chmod(0o755)
    opened = home / "browser.log"
    env = {"AWS_ENDPOINT_URL_STS": sso.endpoint, "AWS_ENDPOINT_URL_SSO": sso.endpoint,
           "AWS_ENDPOINT_URL_SSO_OIDC": sso.endpoint, "BROWSER": str(browser),
           "FAKE_BROWSER_LOG": str(opened)}
    # Signed in (as the AWS CLI leaves it) with two minutes left, then revoked at IAM
    # Identity Center: the keys still come, the renewal cannot.
    client, signed = device_sign_in(sso.double, sso.oidc)
    token = home / ".aws" / "sso" / "cache"
    token.mkdir(parents=True)
    (token / f"{hashlib.sha1(b'corp').hexdigest()}.json").write_text(json.dumps({  # noqa: S324
        "startUrl": "https://d-0000000000.awsapps.com/start", "region": "us-east-1",
        "accessToken": signed["accessToken"], "expiresAt": stamp(time.time() + 120),
        "clientId": client["clientId"], "clientSecret": client["clientSecret"],
        "registrationExpiresAt": stamp(client["clientSecretExpiresAt"]),
        "refreshToken": signed["refreshToken"]}))
    sso.double.services.revoke()
    chosen = subprocess.run([ROLEBAR, "select", "sso-dev", "--style", "keys"],
                            env={**desktop_env, **env}, capture_output=True, text=True,
                            timeout=30, stdin=subprocess.DEVNULL)
    assert chosen.returncode == 0, chosen.stderr
    tray = launch([ROLEBAR, "tray"], env=env, name="tray")
    note = notifications.wait_for_notification("sign-in needed", 30)
    assert "sso-session corp" in note and "Sign in to corp..." in note
    harness.wait_for_docked_icon(20)
    assert not opened.exists()  # never a browser unasked
    icon = harness.wait_for_docked_icon(5)
    harness.click(*icon.center, button=1)
    harness.wait_for_menu(5)
    harness.screenshot(artifacts / "menu-signin-needed.png")
    harness.key("Down")  # Sign in to corp...
    harness.key("Return")
    harness.wait_until(lambda: opened.exists() and opened.read_text(), 30,
                       what="the browser asked to sign in")
    assert opened.read_text().splitlines() == [f"opened {sso.endpoint}/authorize"]
    harness.wait_until(lambda: "signed in" in "".join(
        n.body for n in notifications.notifications()), 30, what="the signed-in notice")
    renewed = json.loads(next(token.glob("*.json")).read_text())
    assert renewed["accessToken"] != signed["accessToken"]

    def status() -> str | None:
        done = subprocess.run([ROLEBAR, "status"], env={**desktop_env, **env},
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        return done.stdout if "sign-in needed" not in done.stdout else None

    after = harness.wait_until(status, 30, what="the need cleared (Refresh now)")
    assert "sso-session corp: signed in" in after and f"Developer in {SSO_DEV}" in after
    assert sum("sign-in needed" in n.summary for n in notifications.notifications()) == 1
    assert tray.popen is not None and tray.popen.poll() is None
