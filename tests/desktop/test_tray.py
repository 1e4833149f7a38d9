"""The real `rolebar tray` under Xvfb + trayer + dunst, against the STS double.

Each test starts `rolebar tray` as a subprocess with its own HOME and AWS files, drives it
with xdotool like a person would (click the docked icon, arrow keys in the menu, type into
the prompt) and checks the outcome in the credentials file, on the bus and in exit codes.

Menu navigation uses the keyboard (harness.py: Down selects the next *selectable* item;
separators and the grey status line are skipped; Up from nothing selected wraps to the
last item, Quit). The orders below follow tray/menu.py `build()`:
    [Enter MFA code...]  None  <profiles...>  [Refresh now]  [Open console for P]  Style >
    Keep fresh >  Start at login  Open log  Quit
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from rolebar.core.credfile import read_section, section_status
from rolebar.core.stsdouble import StsDouble, User
from tests.loopback.clients.awsdouble import visit
from tests.loopback.test_console import forgive_browser_argv

from . import harness
from .harness import NotificationCapture, Started

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(90)]

ROLEBAR = str(Path(sys.executable).with_name("rolebar"))
AWS_CLI = str(Path(sys.executable).with_name("aws"))
DEV_ROLE = "arn:aws:iam::111111111111:role/developer"
OPS_ROLE = "arn:aws:iam::111111111111:role/operator"
TOKEN_SCRIPT = """\
import sys
from rolebar.core.stsdouble import totp
print(totp(open(sys.argv[1]).read().strip()))
"""
# `rolebar ARGS...` in-process, then the threads that would keep the interpreter alive.
THREADS_AT_EXIT = """\
import sys, threading
from rolebar.core.cli import main
status = main(sys.argv[1:])
left = [t.name for t in threading.enumerate()
        if not t.daemon and t is not threading.main_thread()]
print(f"non-daemon threads at exit: {left}", flush=True)
sys.exit(status)
"""


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def double() -> Iterator[StsDouble]:
    d = StsDouble()
    d.add_role(DEV_ROLE, require_mfa=True)
    d.add_role(OPS_ROLE, require_mfa=True)
    d.start()
    yield d
    d.stop()


class Aws:
    """HOME's AWS files on the double: [my-company] keys, two roles behind one MFA device."""

    def __init__(self, home: Path, double: StsDouble) -> None:
        self.home = home
        self.double = double
        self.user: User = double.add_user("member", account="000000000000")
        secret = home / ".totp-secret"
        secret.write_text(str(self.user.totp_secret))
        secret.chmod(0o600)
        script = home / "print_code.py"
        script.write_text(TOKEN_SCRIPT)
        self.token_command = f"{sys.executable} {script} {secret}"
        self.credentials.write_text(
            f"[my-company]\naws_access_key_id = {self.user.access_key_id}\n"
            f"aws_secret_access_key = {self.user.secret_access_key}\n")
        self.credentials.chmod(0o600)
        self.env = {"AWS_ENDPOINT_URL_STS": double.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                    "ROLEBAR_PROMPT": "zenity"}

    @property
    def credentials(self) -> Path:
        return self.home / ".aws" / "credentials"

    def write_config(self, generate_token: bool, region: str | None = None) -> None:
        token = f"generate_token = {self.token_command}\n" if generate_token else ""
        token += f"region = {region}\n" if region else ""
        profiles = ""
        for name, arn in (("project-dev", DEV_ROLE), ("project-ops", OPS_ROLE)):
            profiles += (f"\n[profile {name}]\nrole_arn = {arn}\nsource_profile = my-company\n"
                         f"mfa_serial = {self.user.mfa_serial}\n{token}")
        (self.home / ".aws" / "config").write_text(
            "[profile my-company]\nregion = us-east-1\n" + profiles)

    def code(self) -> str:
        return self.user.code()

    def section(self, name: str = "tray-managed") -> dict[str, str] | None:
        """The keys of a managed section, or None while it is missing or unmarked."""
        if section_status(self.credentials, name) != "managed":
            return None
        return read_section(self.credentials, name)

    def identity(self, name: str = "tray-managed") -> str | None:
        """The ARN the real AWS CLI gets through [name] (process style by default: it runs
        `rolebar process --section NAME`), or None when it gets none."""
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        done = subprocess.run([AWS_CLI, "sts", "get-caller-identity", "--output", "json"],
                              env={**env, **self.env, "AWS_PROFILE": name},
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, start_new_session=True)
        return str(json.loads(done.stdout)["Arn"]) if done.returncode == 0 else None

    def log(self) -> str:
        path = self.home / ".local" / "state" / "rolebar" / "log" / "rolebar.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def aws(home: Path, double: StsDouble) -> Aws:
    aws = Aws(home, double)
    aws.write_config(generate_token=True)
    return aws


class Tray:
    """One `rolebar tray` process and the person clicking it."""

    def __init__(self, proc: Started, artifacts: Path) -> None:
        self.proc = proc
        self.artifacts = artifacts
        self.icon: harness.Window | None = None

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        assert self.proc.popen is not None
        return self.proc.popen

    def alive(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"the tray exited {self.popen.returncode}:\n{self.proc.tail()}")
        return True

    def wait_docked(self, timeout: float = 20.0) -> harness.Window:
        def docked() -> harness.Window | None:
            self.alive()
            icon = docked_icon()
            return icon if icon is not None and (icon.name or "").startswith("rolebar") else None

        harness.wait_until(docked, timeout, what="the rolebar icon docked in trayer")
        self.icon = harness.wait_for_docked_icon(timeout)
        return self.icon

    def open_menu(self) -> harness.Window:
        """Left click: pystray's AppIndicator backend (XEmbed fallback) opens the menu."""
        assert self.icon is not None
        harness.click(*self.icon.center, button=1)
        return harness.wait_for_menu(5)

    def choose(self, *keys: str) -> None:
        """Open the menu and press `keys` (then Return)."""
        self.open_menu()
        for name in keys:
            harness.key(name)
        harness.key("Return")
        harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")

    def quit_by_menu(self) -> None:
        self.choose("Up")  # from nothing selected, Up wraps to the last item: Quit

    def status(self, timeout: float = 15.0) -> int:
        return self.popen.wait(timeout=timeout)

    def output(self) -> str:
        """Everything the tray printed (stdout and stderr)."""
        assert self.proc.log is not None
        return self.proc.log.read_text(errors="replace")


@pytest.fixture
def start_tray(launch: Callable[..., Started], tray_host: Started, artifacts: Path, aws: Aws
               ) -> Callable[..., Tray]:
    """`start(**env)`: `rolebar tray`; `start(threads=True)` also prints, as its last line, the
    non-daemon threads left when `main()` returned."""

    def start(threads: bool = False, **env: str) -> Tray:
        argv = [sys.executable, "-c", THREADS_AT_EXIT, "tray"] if threads else [ROLEBAR, "tray"]
        return Tray(launch(argv, env={**aws.env, **env}, name="tray"), artifacts)

    return start


def docked_icon() -> harness.Window | None:
    """The docked icon; None also when a window vanished while xwininfo walked the tree."""
    try:
        return harness.find_docked_icon()
    except RuntimeError:
        return None


def visible_prompts() -> list[harness.Window]:
    """The open zenity dialogs (the 10x10 leader windows are not mapped)."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "zenity"],
                           capture_output=True, text=True, timeout=10).stdout.split()
    windows = [harness.window_geometry(int(w)) for w in found]
    return [w for w in windows if w is not None and w.width > 100]


def wait_for_prompt(timeout: float = 15.0) -> harness.Window:
    return harness.wait_until(lambda: (visible_prompts() or [None])[0], timeout,
                              what="the code prompt")


def type_into(prompt: harness.Window, text: str) -> None:
    """No window manager here: focus follows the pointer, so point at the dialog first."""
    harness.move(*prompt.center)
    time.sleep(0.2)
    harness.xdotool_type(text)
    harness.key("Return")


def assert_no_secret(aws: Aws, *texts: str) -> None:
    secrets = [s for s in aws.double.secrets() if s] + [aws.user.secret_access_key]
    for text in texts:
        assert not [s[:4] for s in secrets if s in text]


# -- docking, menu, choosing a profile -----------------------------------------------------------


def test_icon_docks_menu_opens_and_choosing_a_profile_writes_the_section(
        start_tray: Callable[..., Tray], aws: Aws) -> None:
    tray = start_tray()
    icon = tray.wait_docked()
    assert icon.name == "rolebar: No role selected"  # the tooltip names the state
    assert (icon.width, icon.height) == (32, 30)
    harness.screenshot(tray.artifacts / "docked.png")

    menu = tray.open_menu()
    assert menu.width > 100 and menu.height > 200
    harness.screenshot(tray.artifacts / "menu.png")
    harness.key("Escape")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")

    started = time.monotonic()
    tray.choose("Down", "Down")  # None, project-dev
    section = harness.wait_until(aws.section, 10, what="[tray-managed] written")
    elapsed = time.monotonic() - started
    # The default style: the SDKs and the CLI ask rolebar, which answers from the engine.
    assert section["credential_process"] == f"{ROLEBAR} process --section tray-managed"
    assert elapsed < 10
    dev = harness.wait_until(aws.identity, 30, what="project-dev through [tray-managed]")
    assert "assumed-role/developer/" in dev
    # The menu now shows the choice and the time left.
    menu = tray.open_menu()
    # GTK draws the rows a moment after the menu window maps.
    harness.wait_until(lambda: len(harness.menu_item_centers(menu)) >= 10, 5,
                       what="the menu's rows drawn")
    harness.screenshot(tray.artifacts / "menu-selected.png")
    harness.key("Escape")

    # Another profile: the same section now answers as the other role.
    tray.choose("Down", "Down", "Down")  # None, project-dev, project-ops
    harness.wait_until(lambda: "assumed-role/operator/" in (aws.identity() or ""), 30,
                       what="[tray-managed] answering for project-ops")
    tray.quit_by_menu()
    assert tray.status() == 0


def test_keep_fresh_checkbox_keeps_a_second_section(
        start_tray: Callable[..., Tray], aws: Aws) -> None:
    tray = start_tray()
    tray.wait_docked()
    # None, project-dev, project-ops, Style >, Keep fresh > (Refresh now is insensitive with
    # nothing kept); Right opens the submenu on its first entry, Down moves to project-ops.
    tray.open_menu()
    for name in ("Down",) * 5 + ("Right",):
        harness.key(name)
    harness.wait_until(lambda: len(harness.popup_menus()) == 2, 5, what="the submenu")
    harness.key("Down")
    harness.screenshot(tray.artifacts / "menu-keep-fresh.png")
    harness.key("Return")
    section = harness.wait_until(lambda: aws.section("tray-managed-project-ops"), 10,
                                 what="[tray-managed-project-ops] written")
    assert section["credential_process"].endswith(" --section tray-managed-project-ops")
    ops = harness.wait_until(lambda: aws.identity("tray-managed-project-ops"), 30,
                             what="project-ops through its own section")
    assert "assumed-role/operator/" in ops
    assert aws.section() is None  # [tray-managed] itself stays unselected
    tray.quit_by_menu()
    assert tray.status() == 0


# -- "Open console": the role's console in the browser, the URL nowhere else ---------------

RECORDER = """\
#!/bin/sh
# A browser that records the URL it was asked to open, in a file only its owner reads.
umask 077
cd "$(dirname "$0")" && printf '%s' "$1" > opening && mv opening opened
"""


def test_open_console_signs_in_as_the_role_and_only_the_browser_gets_the_url(
        start_tray: Callable[..., Tray], aws: Aws, home: Path) -> None:
    aws.write_config(generate_token=True, region="eu-west-2")
    browser = home / "browser"
    browser.mkdir(mode=0o700)
    (browser / "record").write_text(RECORDER)
    (browser / "record").chmod(0o700)
    tray = start_tray(BROWSER=str(browser / "record"),
                      AWS_ENDPOINT_URL_SIGNIN=aws.double.endpoint)
    tray.wait_docked()
    tray.choose("Down", "Down")  # None, project-dev
    harness.wait_until(aws.section, 10, what="[tray-managed] written")

    # None, project-dev, project-ops, Refresh now, Open console for project-dev
    tray.choose("Down", "Down", "Down", "Down", "Down")
    opened = browser / "opened"
    url = harness.wait_until(lambda: opened.exists() and opened.read_text(), 30,
                             what="the browser asked to open the console")
    assert stat.S_IMODE(opened.stat().st_mode) == 0o600
    forgive_browser_argv(browser / "record")  # the browser's argv holds the URL by design
    assert url.startswith(f"{aws.double.endpoint}/federation?")
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    regional = "https://eu-west-2.console.aws.amazon.com/console/home?region=eu-west-2"
    assert (fields["Action"], fields["Issuer"], fields["Destination"]) == (
        "login", "rolebar", regional)
    assert aws.double.counts.get("getSigninToken") == 1  # the double issued one token
    status, page, _ = visit(url)
    assert status == 200 and "would open" in page, page
    [login] = aws.double.services.federation.logins
    assert (login.role_arn, login.region) == (DEV_ROLE, "eu-west-2")
    harness.wait_until(lambda: "tray: console opened for profile project-dev" in aws.log(),
                       10, what="the console's log line")
    tray.quit_by_menu()
    assert tray.status() == 0
    # The URL (a console session for anyone holding it) went to the browser only.
    for text in (tray.output(), aws.log()):
        assert fields["SigninToken"] not in text and "SigninToken" not in text
    assert_no_secret(aws, tray.output(), aws.log())


# -- a code nobody can supply: notification, menu item, prompt -----------------------------


def test_code_needed_notifies_prompts_and_the_typed_code_writes_the_section(
        start_tray: Callable[..., Tray], aws: Aws, notifications: NotificationCapture) -> None:
    aws.write_config(generate_token=False)
    tray = start_tray()
    tray.wait_docked()
    tray.choose("Down", "Down")  # None, project-dev

    note = notifications.wait_for_notification("MFA code needed", 15)
    assert "project-dev" in note and aws.user.mfa_serial in note
    prompt = wait_for_prompt()
    harness.screenshot(tray.artifacts / "prompt.png")

    # Cancel: the need stays, and so does the menu item that reopens the prompt.
    harness.move(*prompt.center)
    time.sleep(0.2)
    harness.key("Escape")
    harness.wait_until(lambda: not visible_prompts(), 10, what="the prompt to close")
    assert tray.alive() and aws.double.counts.get("AssumeRole", 0) == 0
    tray.open_menu()
    harness.screenshot(tray.artifacts / "menu-code-needed.png")
    harness.key("Down")  # the first selectable item is "Enter MFA code..."
    harness.key("Return")
    prompt = wait_for_prompt()

    type_into(prompt, aws.code())
    harness.wait_until(lambda: aws.double.counts.get("AssumeRole"), 15,
                       what="project-dev fetched after the code")
    assert "assumed-role/developer/" in (aws.identity() or "")  # from the engine's cache
    assert not visible_prompts()
    assert aws.double.counts.get("GetSessionToken") == 1
    assert_no_secret(aws, note, aws.log())
    tray.quit_by_menu()
    assert tray.status() == 0


def test_process_without_a_terminal_gets_its_code_through_the_tray(
        start_tray: Callable[..., Tray], aws: Aws, notifications: NotificationCapture,
        desktop_env: dict[str, str]) -> None:
    aws.write_config(generate_token=False)
    tray = start_tray()
    tray.wait_docked()

    # An IDE's credential_process: no terminal, no display of its own; only the tray can ask.
    env = {k: v for k, v in desktop_env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(aws.env)
    callers = [subprocess.Popen([ROLEBAR, "process", profile], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
               for profile in ("project-dev", "project-ops")]
    try:
        notifications.wait_for_notification("MFA code needed", 20)
        prompt = wait_for_prompt()
        # The second caller is in line before the code is typed: on the engine too (the
        # keeper logs each waiter), or behind the first one's MFA-session lock (logged).
        # A second prompt, if one opened, would then be for a caller already there.
        harness.wait_until(lambda: "(2 waiting)" in aws.log() or "held by another rolebar "
                           "process" in aws.log(), 30, what="the second caller in line")
        harness.screenshot(tray.artifacts / "prompt-for-process.png")
        type_into(prompt, aws.code())
        outputs = [c.communicate(timeout=30) for c in callers]
    finally:
        for caller in callers:
            if caller.poll() is None:
                harness.end_pid(caller.pid, popen=caller)  # type: ignore[arg-type]
    for caller, (out, err) in zip(callers, outputs, strict=True):
        assert caller.returncode == 0, err.decode()
        answer = json.loads(out)
        assert answer["Version"] == 1 and answer["AccessKeyId"].startswith("ASIA")
    assert aws.double.counts.get("GetSessionToken") == 1
    assert len(notifications.notifications()) == 1
    opened = [line for line in aws.log().splitlines() if "asking for a code" in line]
    assert len(opened) == 1, opened  # one prompt served both callers
    tray.quit_by_menu()
    assert tray.status() == 0


# -- at login: a need the engine found before the tray listened ---------------------------


def keys_section(aws: Aws) -> dict[str, str] | None:
    """[tray-managed] once it holds role keys (not while it is missing, unmarked or cleared)."""
    section = aws.section()
    return section if section and section.get("aws_access_key_id", "").startswith("ASIA") \
        else None


def test_a_need_found_before_the_tray_listened_is_announced_and_prompted(
        start_tray: Callable[..., Tray], aws: Aws, notifications: NotificationCapture,
        desktop_env: dict[str, str]) -> None:
    # Autostart after the MFA session ended overnight: the role was selected earlier, no
    # generate_token, no session. The engine starts first and meets the need at once,
    # before the icon subscribes to it.
    aws.write_config(generate_token=False)
    chosen = subprocess.run([ROLEBAR, "select", "project-dev", "--style", "keys"],
                            env={**desktop_env, **aws.env}, capture_output=True, text=True,
                            timeout=30, stdin=subprocess.DEVNULL)
    assert chosen.returncode == 0, chosen.stderr
    tray = start_tray()
    note = notifications.wait_for_notification("MFA code needed", 30)
    assert "project-dev" in note and aws.user.mfa_serial in note
    prompt = wait_for_prompt(20)
    tray.wait_docked()
    harness.screenshot(tray.artifacts / "prompt-at-start.png")
    type_into(prompt, aws.code())
    harness.wait_until(lambda: keys_section(aws), 15, what="[tray-managed] written")
    assert aws.double.counts.get("GetSessionToken") == 1
    # Counted once all is done, not after a pause: one announcement, one prompt in all.
    assert len(notifications.notifications()) == 1
    opened = [line for line in aws.log().splitlines() if "asking for a code" in line]
    assert len(opened) == 1, opened
    tray.quit_by_menu()
    assert tray.status() == 0


# -- a broken desktop: notifications that cannot start, GTK's own messages ----------------


@pytest.mark.parametrize("notification_service", [harness.BROKEN], ids=["broken-notifyd"])
def test_a_notification_service_that_cannot_start_is_logged_once_and_the_tray_works(
        start_tray: Callable[..., Tray], aws: Aws, notification_service: str) -> None:
    aws.write_config(generate_token=False)
    tray = start_tray(threads=True)
    tray.wait_docked(30)
    tray.choose("Down", "Down")  # None, project-dev: it needs a code, so it notifies
    prompt = wait_for_prompt()
    type_into(prompt, aws.code())
    harness.wait_until(lambda: aws.double.counts.get("AssumeRole"), 15,
                       what="project-dev's credentials fetched")
    assert aws.section() is not None
    os.kill(tray.popen.pid, signal.SIGTERM)
    assert tray.status() == 0, tray.output()
    output = tray.output()
    assert "internal error" not in output
    assert output.splitlines()[-1] == "non-daemon threads at exit: []", output
    # Said once, with D-Bus's own error name and message, however often it failed.
    said = [line for line in aws.log().splitlines() if "notifications are unavailable" in line]
    assert len(said) == 1, said
    assert "org.freedesktop.DBus.Error.Spawn.ChildSignaled" in said[0]
    assert "org.freedesktop.Notifications received signal 5" in said[0]


def test_a_tray_session_prints_nothing(start_tray: Callable[..., Tray], aws: Aws) -> None:
    """No Gdk-CRITICAL (nor any GTK/GLib warning) from docking, menus, a choice or Quit."""
    tray = start_tray()
    tray.wait_docked()
    tray.open_menu()
    harness.key("Escape")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")
    tray.choose("Down", "Down")  # None, project-dev: a new icon, tooltip and menu
    harness.wait_until(lambda: keys_section(aws) or aws.section(), 15,
                       what="[tray-managed] written")
    tray.open_menu()
    harness.key("Escape")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")
    tray.quit_by_menu()
    assert tray.status() == 0
    output = tray.output()
    assert not [line for line in output.splitlines()
                if "CRITICAL" in line or "WARNING" in line or "Gtk-" in line], output
    assert output == ""


# -- quitting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "notification_service"), [
    ("menu", True), ("menu", False), ("SIGTERM", True), ("SIGTERM", False), ("SIGINT", False),
], ids=["menu", "menu-no-notifyd", "sigterm", "sigterm-no-notifyd", "sigint-no-notifyd"])
def test_quit_exits_0(start_tray: Callable[..., Tray], aws: Aws, how: str,
                      notification_service: bool) -> None:
    tray = start_tray()
    tray.wait_docked()
    if how == "menu":
        tray.quit_by_menu()
    else:
        os.kill(tray.popen.pid, getattr(signal, how))
    assert tray.status() == 0, tray.proc.tail()
    # trayer drops its socket for the icon a moment after the client is gone.
    harness.wait_until(lambda: not docked_icon(), 5, what="the icon to leave the tray")


@pytest.mark.parametrize("notification_service", [False], ids=["no-notifyd"])
def test_a_failing_notifier_is_logged_and_the_prompt_still_opens(
        start_tray: Callable[..., Tray], aws: Aws, notification_service: bool) -> None:
    aws.write_config(generate_token=False)
    tray = start_tray()
    tray.wait_docked()
    tray.choose("Down", "Down")
    prompt = wait_for_prompt()
    harness.wait_until(lambda: "rolebar: MFA code needed" in aws.log(), 15,
                       what="the notification in the log")
    type_into(prompt, aws.code())
    harness.wait_until(aws.section, 15, what="[tray-managed] written")
    tray.quit_by_menu()
    assert tray.status() == 0
    # Once (at start, when the tray asked who shows notifications), with D-Bus's error.
    said = [line for line in aws.log().splitlines() if "notifications are unavailable" in line]
    assert len(said) == 1 and "org.freedesktop.DBus.Error.ServiceUnknown" in said[0], said


# -- start at login, one engine, no silent fallback -------------------------------------


def test_start_at_login_checkbox_writes_and_removes_the_autostart_entry(
        start_tray: Callable[..., Tray], home: Path) -> None:
    entry = home / ".config" / "autostart" / "rolebar.desktop"
    tray = start_tray()
    tray.wait_docked()
    tray.choose("Up", "Up", "Up")  # Quit, Open log, Start at login
    harness.wait_until(entry.exists, 10, what="the autostart entry")
    assert "Exec=" in entry.read_text() and "rolebar-tray" in entry.read_text()
    tray.open_menu()
    harness.screenshot(tray.artifacts / "menu-autostart-on.png")
    harness.key("Escape")
    tray.choose("Up", "Up", "Up")
    harness.wait_until(lambda: not entry.exists(), 10, what="the autostart entry removed")
    tray.quit_by_menu()
    assert tray.status() == 0


def test_a_second_engine_is_refused(start_tray: Callable[..., Tray], aws: Aws,
                                    desktop_env: dict[str, str]) -> None:
    tray = start_tray()
    tray.wait_docked()
    second = subprocess.run([ROLEBAR, "tray"], env={**desktop_env, **aws.env},
                            capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert second.returncode == 2
    assert second.stderr == (f"rolebar: engine: rolebar tray (pid {tray.popen.pid}) is already "
                             "running; one engine per user\n")
    assert len(harness.docked_icons()) == 1
    tray.quit_by_menu()
    assert tray.status() == 0


def test_no_menu_backend_is_refused_not_used_silently(
        tray_host: Started, desktop_env: dict[str, str], aws: Aws) -> None:
    done = subprocess.run([ROLEBAR, "tray"], env={**desktop_env, **aws.env,
                                                  "PYSTRAY_BACKEND": "xorg"},
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rolebar: tray: pystray's xorg backend")
    assert "PyGObject" in lines[0] and "bash scripts/setup" in lines[0]
    assert not harness.docked_icons()


def test_no_display_is_one_line(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([ROLEBAR, "tray"], env=env, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.startswith("rolebar: tray: ") and done.stderr.count("\n") == 1


