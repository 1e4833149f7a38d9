"""`rolebar doctor`: checks a setup and says, one line per check, what to fix.

Each check returns `Check`s with a status ("ok", "warn" or "fail"), a detail and a fix
hint. Only "fail" makes the command exit non-zero, with the status of DESIGN.md section 5
(`exit_status`): 2 for a setup or configuration problem, 1 when the setup is right but no
code could be had just now. Nothing here prints (the command module does), nothing
sends a code anywhere, and no output of `generate_token` is ever shown: the check only
says whether it printed six digits.

The tray checks run in a subprocess: core never imports pystray, and pystray chooses
its backend when it is imported, which is exactly what is checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rolebar.core import paths
from rolebar.core.codes import CommandCode, command_timeout
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.interactive import has_display
from rolebar.core.profiles import Catalog

if TYPE_CHECKING:
    from rolebar.core.sso.config import SsoSession

Status = Literal["ok", "warn", "fail"]

# What the README's Linux install line brings; named in hints.
APT_TRAY = ("libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 "
            "gir1.2-ayatanaappindicator3-0.1 libnotify-bin zenity")
# What to do when generate_token fails, by the kind of failure.
TOKEN_HINTS = {
    "timeout": "unlock the password manager, or raise ROLEBAR_TOKEN_TIMEOUT",
    "missing": "install it or put its absolute path in generate_token",
    "cannot-run": "check the command in generate_token",
    "status": "run it yourself to see why (for 1Password: `op signin` first)",
    "garbage": "it must print the current code and nothing else",
}

# Run as `python -c`: which backend pystray picks and whether it has a menu. One JSON line.
TRAY_PROBE = """
import importlib, json
try:
    pystray = importlib.import_module("pystray")
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__ + ": " + str(exc)[:200]}))
else:
    icon = pystray.Icon
    print(json.dumps({"backend": icon.__module__.rsplit("._", 1)[-1],
                      "has_menu": bool(icon.HAS_MENU)}))
"""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    hint: str | None = None
    # The exit status a failure of this check means: 2 the setup or configuration needs a
    # fix; 1 it is right, but credentials (a code) could not be had just now.
    exit_code: int = 2

    def line(self) -> str:
        fix = f" -> {self.hint}" if self.hint else ""
        return f"{self.status:<4}  {self.name}: {self.detail}{fix}"


Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


@dataclass
class Doctor:
    """The checks, with the environment and the process runner injectable for tests."""

    env: Mapping[str, str]
    tray: bool = True
    run: Runner = subprocess.run
    platform: str = sys.platform
    python: str = sys.executable

    def checks(self) -> Iterator[Check]:
        catalog = None
        yield from self.aws_files()
        try:
            catalog = Catalog.load(self.env)
        except ConfigError as exc:
            yield Check("aws files", "fail", f"{exc.subject}: {exc.cause}",
                        "fix the file; `aws configure list-profiles` shows what the CLI reads")
        if catalog is not None:
            yield from self.profiles(catalog)
            yield from self.token_commands(catalog)
            yield from self.key_sources(catalog)
            yield from self.sso_sessions()
        yield from self.sections()
        yield from self.permissions()
        if self.tray:
            yield self.tray_backend()
            yield self.notifications()
            yield self.autostart()

    # -- AWS files ----------------------------------------------------------------------

    def aws_files(self) -> Iterator[Check]:
        config = paths.aws_config_file(self.env)
        creds = paths.aws_credentials_file(self.env)
        if config.is_file():
            yield Check("config file", "ok", f"{config} found")
        else:
            yield Check("config file", "fail", f"{config} not found",
                        "create it with your role profiles (README: Quick start), "
                        "or try `rolebar demo`")
        if creds.is_file():
            if os.name == "posix":
                target = Path(os.path.realpath(creds))  # a symlink's own mode means nothing
                yield self.mode_check("credentials file", target, 0o600, f"chmod 600 {target}")
            else:
                yield Check("credentials file", "ok", f"{creds} found")
        else:
            yield Check("credentials file", "warn", f"{creds} not found",
                        "put the source profile's long-term keys there "
                        "(`aws configure --profile NAME`)")

    def profiles(self, catalog: Catalog) -> Iterator[Check]:
        found = 0
        for name in catalog.names:
            values = catalog.values(name)
            if not {"role_arn", "mfa_serial", "sso_session", "sso_start_url"} & set(values):
                continue
            try:
                plan = catalog.plan(name)
            except ConfigError as exc:
                yield Check(f"profile {name}", "fail", exc.cause,
                            "fix it in the AWS files (README: Configuration keys)")
                continue
            found += 1
            target = plan.roles[-1].role_arn if plan.roles else \
                f"IAM Identity Center role {plan.sso.label}" if plan.sso else "MFA session only"
            mfa = f", MFA {plan.device}" if plan.device else ", no MFA"
            yield Check(f"profile {name}", "ok", f"{target}{mfa} ({plan.reason})")
        if not found:
            yield Check("profiles", "fail", "no profile with role_arn or mfa_serial to assume",
                        "add one (README: Quick start)")

    def sso_sessions(self) -> Iterator[Check]:
        """Each IAM Identity Center sign-in: its configuration, and whether it is signed in."""
        from rolebar.core.sso.config import SsoConfig
        from rolebar.core.sso.overview import sign_ins

        config = SsoConfig.load(self.env)
        for exc in config.problems():
            yield Check(exc.subject, "fail", exc.cause, "fix it in the AWS config file "
                        "(README: IAM Identity Center)")
        now = time.time()
        for session, found in zip(config.sessions(), sign_ins(self.env, config=config),
                                  strict=True):
            usable = found.expires is not None and (found.expires > now or found.renewable)
            yield Check(found.session, "ok" if usable else "warn", found.describe(now),
                        None if usable else f"run `{found.command}`")
            if usable:
                yield self.portal(session)

    @staticmethod
    def portal(session: SsoSession) -> Check:
        """Whether the portal answers for a sign-in (one ListAccounts; never a secret)."""
        from rolebar.core.sso.portal import answers

        name = f"portal {session.subject}"
        try:
            count = answers(session)
        except RolebarError as exc:
            return Check(name, "warn", exc.cause, f"run `{session.login_command}` if it persists",
                         exit_code=1)
        return Check(name, "ok", f"answers: {count} account(s) for this sign-in")

    def token_commands(self, catalog: Catalog) -> Iterator[Check]:
        """Run each distinct generate_token once; say whether it printed 6 digits."""
        done: dict[tuple[str, ...], str] = {}
        for info in catalog.assumable():
            plan = catalog.plan(info.name)
            if plan.device is None:
                continue
            if plan.code_command is None:
                yield Check(f"generate_token {info.name}", "ok",
                            "not set: the tray notifies and asks for codes")
                continue
            if plan.code_command in done:
                yield Check(f"generate_token {info.name}", "ok",
                            f"same command as profile {done[plan.code_command]}")
                continue
            done[plan.code_command] = info.name
            yield self.token_command(info.name, plan.code_command)

    def key_sources(self, catalog: Catalog) -> Iterator[Check]:
        """Where each source profile's long-term keys live; plaintext keys are a warning."""
        from rolebar.core import keyops

        for name in keyops.source_profiles(catalog):
            found = keyops.describe(catalog, name)
            subject = f"keys {name}"
            if found.where == "keyring":
                if found.problem:
                    yield Check(subject, "fail", f"in the OS keyring, unreadable: "
                                f"{found.problem}", "unlock or start the keyring, or `rolebar "
                                f"keys export {name}` puts them back in the file", 1)
                else:
                    yield Check(subject, "ok", f"{found.key_id} in the OS keyring")
            elif found.where in ("file", "config"):
                where = catalog.files[1] if found.where == "file" else catalog.files[0]
                yield Check(subject, "warn", f"{found.key_id} in plaintext in {where}",
                            f"`rolebar keys import {name}` moves them to the OS keyring"
                            if found.where == "file" else
                            f"move them to [{name}] in {catalog.files[1]}, then `rolebar "
                            f"keys import {name}`")

    def token_command(self, profile: str, argv: Sequence[str]) -> Check:
        name = f"generate_token {profile}"
        try:
            command = CommandCode(argv, command_timeout(self.env))
        except ConfigError as exc:
            return Check(name, "fail", str(exc), "set it to seconds, e.g. 120")
        # The code itself is dropped here: never shown, never sent.
        result = command.attempt(env=dict(self.env))
        if result.code is not None:
            return Check(name, "ok", f"{argv[0]!r} printed a 6-digit code (not used)")
        assert result.failure is not None
        # A locked password manager or a signed-out `op` is no configuration problem.
        now_only = result.failure in ("timeout", "status")
        return Check(name, "fail", f"{argv[0]!r}: {result.detail}", TOKEN_HINTS[result.failure],
                     exit_code=1 if now_only else 2)

    # -- kept sections ------------------------------------------------------------------

    def sections(self) -> Iterator[Check]:
        """Which style each kept section uses, and when the other one is the right one."""
        from rolebar.core.settings import Settings

        kept = Settings().sections()
        if not kept:
            yield Check("sections", "ok", "none kept yet",
                        "`rolebar select PROFILE` or the tray keeps [tray-managed] "
                        "(style process: `AWS_PROFILE=tray-managed pnpm dev` works all day)")
        for name, setting in sorted(kept.items()):
            other = f"rolebar select {setting.profile} --section {name} --style"
            if setting.style == "process":
                yield Check(f"section {name}", "ok", f"profile {setting.profile}, style "
                            "process: SDKs refresh in-process, dev servers keep working",
                            f"for a container that mounts ~/.aws or a tool without "
                            f"credential_process: `{other} keys`")
            else:
                yield Check(f"section {name}", "ok", f"profile {setting.profile}, style "
                            "keys: read once per process, so a long-running process (pnpm "
                            "dev) fails when they expire",
                            f"unless a container mounts ~/.aws or a tool lacks "
                            f"credential_process: `{other} process`")

    # -- permissions --------------------------------------------------------------------

    def permissions(self) -> Iterator[Check]:
        if os.name != "posix":
            yield Check("cache", "ok", "permissions not checked on Windows (profile ACLs)")
            return
        cache = paths.cache_dir()
        if not cache.is_dir():
            yield Check("cache", "ok", f"{cache} not created yet")
            return
        check = self.mode_check("cache dir", cache, 0o700, f"chmod 700 {cache}")
        if check.status != "ok":
            yield check
            return
        loose = [p for p in cache.iterdir()
                 if p.is_file() and stat.S_IMODE(p.stat().st_mode) & 0o077]
        if loose:
            yield Check("cache", "fail", f"{len(loose)} file(s) in {cache} readable by others",
                        f"chmod 600 {cache}/*, or `rolebar forget` to drop them")
        else:
            yield Check("cache", "ok", f"{cache} is 0700, its files 0600")

    @staticmethod
    def mode_check(name: str, path: Path, wanted: int, fix: str) -> Check:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return Check(name, "fail", f"{path} is {mode:04o}, open to other users", fix)
        if mode & ~wanted & 0o777:
            return Check(name, "warn", f"{path} is {mode:04o}", fix)
        return Check(name, "ok", f"{path} ({mode:04o})")

    # -- desktop ------------------------------------------------------------------------

    def tray_backend(self) -> Check:
        hint_linux = (f"sudo apt-get install {APT_TRAY}, then "
                      "reinstall rolebar with its tray extra (README: Install)")
        if not has_display(self.env, self.platform):
            return Check("tray", "fail", "no display (DISPLAY and WAYLAND_DISPLAY unset)",
                         "run doctor inside your desktop session, or `rolebar doctor "
                         "--no-tray` on a server (use `rolebar keep` there)")
        try:
            done = self.run([self.python, "-c", TRAY_PROBE], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=30, check=False, env=dict(self.env))
            answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            return Check("tray", "fail", "the pystray probe did not answer",
                         "run `rolebar --debug tray` to see why")
        if "error" in answer:
            hint = hint_linux if self.platform.startswith("linux") else \
                "reinstall rolebar with its tray extra (README: Install)"
            return Check("tray", "fail", f"pystray cannot load ({answer['error']})", hint)
        backend = answer.get("backend")
        if not answer.get("has_menu"):
            return Check("tray", "fail", f"pystray backend {backend} has no menu",
                         hint_linux if backend == "xorg" else "install a menu-capable backend")
        return Check("tray", "ok", f"pystray backend {backend}, with a menu")

    def notifications(self) -> Check:
        if not self.platform.startswith("linux"):
            return Check("notifications", "ok", "the system's notification centre (plyer)")
        if not self.env.get("DBUS_SESSION_BUS_ADDRESS") and not self.env.get("XDG_RUNTIME_DIR"):
            return Check("notifications", "fail", "no session D-Bus",
                         "run doctor inside your desktop session")
        if not shutil.which("notify-send", path=self.env.get("PATH")):
            return Check("notifications", "fail", "notify-send not found",
                         "sudo apt-get install libnotify-bin")
        owner = self.bus_has("org.freedesktop.Notifications")
        if owner is None:
            return Check("notifications", "warn", "could not ask the session bus "
                         "(no gdbus or dbus-send)", "sudo apt-get install libglib2.0-bin")
        if not owner:
            return Check("notifications", "fail",
                         "no notification service on the session bus",
                         "start your desktop's notification daemon (e.g. dunst, mako)")
        return Check("notifications", "ok", "org.freedesktop.Notifications on the session bus")

    def bus_has(self, name: str) -> bool | None:
        """Whether `name` is owned or activatable on the session bus; None: cannot ask."""
        env = dict(self.env)
        for method in ("NameHasOwner", "ListActivatableNames"):
            args = [name] if method == "NameHasOwner" else []
            if shutil.which("gdbus", path=env.get("PATH")):
                argv = ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
                        "--object-path", "/org/freedesktop/DBus",
                        "--method", f"org.freedesktop.DBus.{method}", *args]
            elif shutil.which("dbus-send", path=env.get("PATH")):
                argv = ["dbus-send", "--session", "--print-reply",
                        "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                        f"org.freedesktop.DBus.{method}", *[f"string:{a}" for a in args]]
            else:
                return None
            try:
                done = self.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=10, check=False, env=env)
            except (OSError, subprocess.TimeoutExpired):
                return None
            if done.returncode != 0:
                return False
            out = done.stdout.decode("utf-8", "replace")
            if method == "NameHasOwner" and re.search(r"\btrue\b", out):
                return True
            if method == "ListActivatableNames" and (f"'{name}'" in out or f'"{name}"' in out):
                return True
        return False

    def autostart(self) -> Check:
        from rolebar.core.autostart import pick

        adapter = pick()
        try:
            enabled = adapter.enabled
            where = adapter.describe()
        except ConfigError as exc:
            return Check("autostart", "warn", exc.cause)
        if enabled:
            return Check("autostart", "ok", f"enabled ({where})")
        return Check("autostart", "ok", f"disabled ({where})",
                     "`rolebar autostart enable` starts the tray at login")


def exit_status(checks: Sequence[Check]) -> int:
    """0 when nothing failed; else 2 if any failure is a setup problem, 1 if none is."""
    return max((c.exit_code for c in checks if c.status == "fail"), default=0)


def run_checks(env: Mapping[str, str] | None = None, *, tray: bool = True) -> list[Check]:
    return list(Doctor(os.environ if env is None else env, tray=tray).checks())
