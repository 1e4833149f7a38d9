"""The role picker with 2,000 profiles across 400 accounts: the real `rolebar tray` under
Xvfb + trayer, driven with xdotool (see test_tray.py for the harness and the keyboard).

With more than 15 roles the menu reads (tray/menu.py, tray/picker.py):
    None  [roles on top...]  Accounts >  Choose role...  [Pin ROLE]  Refresh now ...
and Accounts > ACCOUNT > ROLE, each submenu made when it is first highlighted.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from rolebar.core.settings import Settings
from rolebar.core.stsdouble import StsDouble

from . import harness
from .test_tray import ROLEBAR, Aws, Tray, start_tray  # noqa: F401 - a fixture
from .test_tray import aws as aws  # noqa: F401 - a fixture

pytestmark = [pytest.mark.desktop, pytest.mark.slow, pytest.mark.timeout(180)]

ACCOUNTS = 400
ROLES = 5  # per account: 2,000 profiles


def arn(account: int, role: int) -> str:
    return f"arn:aws:iam::{100000000000 + account}:role/role{role}"


def name(account: int, role: int) -> str:
    return f"acct{account:03d}-role{role}"


@pytest.fixture
def double() -> Iterator[StsDouble]:
    d = StsDouble()
    for account in range(ACCOUNTS):
        for role in range(ROLES):
            d.add_role(arn(account, role), require_mfa=True)
    d.start()
    yield d
    d.stop()


@pytest.fixture
def big(aws: Aws) -> Aws:  # noqa: F811 - the fixture imported above
    """HOME's config: 2,000 role profiles behind [my-company]'s keys and one MFA device."""
    lines = ["[profile my-company]", "region = us-east-1", ""]
    for account in range(ACCOUNTS):
        for role in range(ROLES):
            lines += [f"[profile {name(account, role)}]", f"role_arn = {arn(account, role)}",
                      "source_profile = my-company", f"mfa_serial = {aws.user.mfa_serial}",
                      f"generate_token = {aws.token_command}", ""]
        if account % 50 == 0:
            lines.insert(-1, f"rolebar_account_name = team-{account}")
    (aws.home / ".aws" / "config").write_text("\n".join(lines))
    return aws


def status(aws: Aws) -> dict[str, object]:
    done = subprocess.run([ROLEBAR, "status", "--json"], env={**os.environ, **aws.env},
                          capture_output=True, text=True, timeout=60, check=True,
                          stdin=subprocess.DEVNULL)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def tray_profile(aws: Aws) -> str | None:
    sections = status(aws)["sections"]
    assert isinstance(sections, list)
    return next((s["profile"] for s in sections if s["name"] == "tray-managed"), None)


def reaches_tray_managed(aws: Aws, profile: str) -> None:
    """The choice is [tray-managed]'s: its credential_process line, the engine's status and
    the role the AWS CLI gets through it."""
    section = harness.wait_until(aws.section, 30, what="[tray-managed] written")
    assert section["credential_process"] == f"{ROLEBAR} process --section tray-managed"
    harness.wait_until(lambda: tray_profile(aws) == profile, 30,
                       what=f"status --json: tray-managed is {profile}")
    role = profile.rsplit("-", 1)[1]
    harness.wait_until(lambda: f"assumed-role/{role}/" in (aws.identity() or ""), 60,
                       what=f"{profile} through [tray-managed]")


def picker_menu(tray: Tray) -> harness.Window | None:
    """The open menu once it lists the roles: until the engine has read the 2,000 profiles
    (a moment after the icon docks) it is a one-line placeholder, then says that none was
    found in a line wider than the picker's menu."""
    menu = tray.open_menu()
    if menu.width < 600 and menu.height > 200:
        return menu
    harness.key("Escape")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")
    return None


def choosers() -> list[harness.Window]:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "rolebar-chooser"],
                           capture_output=True, text=True, timeout=10).stdout.split()
    windows = [harness.window_geometry(int(w)) for w in found]
    return [w for w in windows if w is not None and w.width > 100]


def test_a_role_in_an_account_group_and_one_from_the_search_window_reach_tray_managed(
        start_tray: Callable[..., Tray], big: Aws) -> None:  # noqa: F811
    tray = start_tray()
    tray.wait_docked(60)
    menu = harness.wait_until(lambda: picker_menu(tray), 60, what="the menu over 2,000 roles")
    assert menu.height < 500  # 2,000 roles, and still a short menu
    harness.screenshot(tray.artifacts / "picker-menu.png")
    # None, Accounts > first account > second role.
    for key in ("Down", "Down", "Right"):
        harness.key(key)
    harness.wait_until(lambda: len(harness.popup_menus()) == 2, 10, what="the accounts")
    harness.key("Right")
    harness.wait_until(lambda: len(harness.popup_menus()) == 3, 10, what="an account's roles")
    harness.screenshot(tray.artifacts / "picker-groups.png")
    harness.key("Down")
    harness.key("Return")
    reaches_tray_managed(big, name(0, 1))
    assert Settings().picks()[0] == (name(0, 1),)

    # Now on top: None, acct000-role1 (chosen), Accounts, Choose role...
    tray.choose("Down", "Down", "Down", "Down")
    window = harness.wait_until(lambda: (choosers() or [None])[0], 20, what="the chooser")
    harness.move(*window.center)
    harness.xdotool_type("acct399 ROLE3")
    harness.screenshot(tray.artifacts / "picker-search.png")
    harness.key("Return")
    harness.wait_until(lambda: not choosers(), 10, what="the chooser closed")
    reaches_tray_managed(big, name(399, 3))
    assert Settings().picks()[0] == (name(399, 3), name(0, 1))
    tray.quit_by_menu()
    assert tray.status() == 0
