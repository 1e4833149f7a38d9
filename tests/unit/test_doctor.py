"""`rolebar doctor`: one line per check, a fix hint, and the exit status of DESIGN.md
section 5 when something failed: 2 for a setup problem, 1 when only a code was not to be had.

The AWS files, generate_token scripts and permissions are real; the tray probe and the
bus queries go through a fake runner (the desktop suite sees the real ones).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rolebar.core.commands import dispatch
from rolebar.core.doctor import TRAY_PROBE, Check, Doctor, exit_status

DEVICE = "arn:aws:iam::000000000000:mfa/member"
CODE = "492039"


def write_files(home: Path, token: str | None = None, extra: str = "") -> None:
    (home / ".aws" / "credentials").write_text(
        "[my-company]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\n"
        "aws_secret_access_key = abcdefghijabcdefghijabcdefghijabcdefghij\n")
    os.chmod(home / ".aws" / "credentials", 0o600)
    generate = f"generate_token = {token}\n" if token else ""
    (home / ".aws" / "config").write_text(
        "[profile my-company]\nregion = ap-northeast-1\n"
        "[profile project-dev]\nrole_arn = arn:aws:iam::111111111111:role/developer\n"
        f"mfa_serial = {DEVICE}\nsource_profile = my-company\n{generate}{extra}")


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "token.sh"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def headless(**env: str) -> Doctor:
    return Doctor({**os.environ, **env}, tray=False)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_good_setup_is_all_ok_and_never_shows_the_code(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(home, script(tmp_path, f"echo {CODE}"))
    assert dispatch(["doctor", "--no-tray"], ["doctor"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert CODE not in out
    lines = out.splitlines()
    # Plaintext long-term keys are the one warning (`rolebar keys import` moves them).
    plaintext = [line for line in lines if line.startswith("warn  keys my-company: AKIA…")]
    assert len(plaintext) == 1 and "rolebar keys import my-company" in plaintext[0]
    assert all(line.startswith("ok ") for line in lines if line not in plaintext), out
    assert any("generate_token project-dev:" in line and "6-digit code (not used)" in line
               for line in lines)
    assert any(line.startswith("ok    profile project-dev: arn:aws:iam::111111111111:role/"
                               "developer") for line in lines)


def test_json_output(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_files(home)
    assert dispatch(["doctor", "--no-tray", "--json"], ["doctor"]) == 0
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert {"name", "status", "detail", "hint"} <= set(checks[0])


@pytest.mark.parametrize(("body", "detail", "status"), [
    # The command is right but gave no code just now (a signed-out `op`, a locked
    # password manager): could not get a code, exit 1.
    ("exit 3", "exited with status 3", 1),
    ("sleep 5; echo 123456", "no answer within 1 s", 1),
    # It prints something else: the command in generate_token is wrong, exit 2.
    ("echo 'not a code'", "printed no 6-digit code", 2),
    ("echo 1234567", "printed no 6-digit code", 2),
])
def test_a_broken_generate_token_fails_with_a_hint(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    body: str, detail: str, status: int,
) -> None:
    monkeypatch.setenv("ROLEBAR_TOKEN_TIMEOUT", "1")
    write_files(home, script(tmp_path, body))
    assert dispatch(["doctor", "--no-tray"], ["doctor"]) == status
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "generate_token project-dev" in line)
    assert line.startswith("fail") and detail in line and " -> " in line


def test_a_missing_generate_token_program(home: Path) -> None:
    write_files(home, "no-such-token-program --otp")
    check = by_name(list(headless().checks()))["generate_token project-dev"]
    assert check.status == "fail"
    assert "'no-such-token-program' not found" in check.detail
    assert dispatch(["doctor", "--no-tray"], ["doctor"]) == 2


@pytest.mark.parametrize("setup", ["no files", "unparseable", "broken profile", "open creds"])
def test_a_configuration_problem_exits_2_as_the_readme_says(
    home: Path, capsys: pytest.CaptureFixture[str], setup: str,
) -> None:
    if setup == "unparseable":
        (home / ".aws" / "config").write_text("[profile x\nrole_arn = y\n")
    elif setup == "broken profile":
        write_files(home, extra="[profile broken]\nrole_arn = not-an-arn\n"
                                "source_profile = my-company\n")
    elif setup == "open creds":
        write_files(home)
        (home / ".aws" / "credentials").chmod(0o644)
    assert dispatch(["doctor", "--no-tray"], ["doctor"]) == 2
    assert any(line.startswith("fail  ") for line in capsys.readouterr().out.splitlines())
    assert dispatch(["doctor", "--no-tray", "--json"], ["doctor"]) == 2
    assert json.loads(capsys.readouterr().out)["exit_code"] == 2


def test_exit_status_is_the_worst_failure() -> None:
    code_now = Check("generate_token p", "fail", "x", exit_code=1)
    setup = Check("config file", "fail", "x")
    assert exit_status([Check("a", "ok", "x"), Check("b", "warn", "x")]) == 0
    assert exit_status([Check("a", "ok", "x"), code_now]) == 1
    assert exit_status([code_now, setup]) == 2
    assert exit_status([Check("b", "warn", "x", exit_code=1), setup]) == 2


def test_generate_token_runs_once_per_command(home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    token = script(tmp_path, f"echo x >> {counter}; echo {CODE}")
    write_files(home, token, extra=(
        "[profile project-prd]\nrole_arn = arn:aws:iam::222222222222:role/developer\n"
        f"mfa_serial = {DEVICE}\nsource_profile = my-company\ngenerate_token = {token}\n"))
    checks = by_name(list(headless().checks()))
    assert counter.read_text().count("x") == 1
    assert checks["generate_token project-prd"].detail == "same command as profile project-dev"


def test_no_generate_token_is_fine(home: Path) -> None:
    write_files(home)
    check = by_name(list(headless().checks()))["generate_token project-dev"]
    assert check.status == "ok" and "asks for codes" in check.detail


def test_missing_config_fails_and_suggests_the_demo(home: Path) -> None:
    checks = list(headless().checks())
    config = by_name(checks)["config file"]
    assert config.status == "fail" and "rolebar demo" in (config.hint or "")
    assert by_name(checks)["profiles"].status == "fail"


def test_a_broken_profile_names_it(home: Path) -> None:
    write_files(home, extra="[profile broken]\nrole_arn = not-an-arn\n"
                            "source_profile = my-company\n")
    check = by_name(list(headless().checks()))["profile broken"]
    assert check.status == "fail" and "malformed role_arn" in check.detail


def test_an_unparseable_config_fails(home: Path) -> None:
    (home / ".aws" / "config").write_text("[profile x\nrole_arn = y\n")
    checks = list(headless().checks())
    assert any(c.name == "aws files" and c.status == "fail" for c in checks)


def test_credentials_file_open_to_others(home: Path) -> None:
    write_files(home)
    creds = home / ".aws" / "credentials"
    creds.chmod(0o644)
    check = by_name(list(headless().checks()))["credentials file"]
    assert check.status == "fail" and check.hint == f"chmod 600 {creds}"


def test_cache_permissions(home: Path) -> None:
    write_files(home)
    cache = home / ".cache" / "rolebar"
    cache.mkdir(parents=True, mode=0o700)
    cache.chmod(0o700)
    entry = cache / "role-x.json"
    entry.write_text("{}")
    entry.chmod(0o600)
    assert by_name(list(headless().checks()))["cache"].status == "ok"
    entry.chmod(0o644)
    assert by_name(list(headless().checks()))["cache"].status == "fail"
    cache.chmod(0o755)
    check = by_name(list(headless().checks()))["cache dir"]
    assert check.status == "fail" and check.hint == f"chmod 700 {cache}"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755  # doctor reports, never fixes


# -- desktop checks through a fake runner ----------------------------------------------


class FakeRun:
    def __init__(self, probe: dict[str, Any] | None = None, bus: str = "(true,)") -> None:
        self.probe, self.bus = probe, bus
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append(argv)
        if argv[1:2] == ["-c"]:
            out = json.dumps(self.probe).encode()
        elif "NameHasOwner" in " ".join(argv):
            out = self.bus.encode()
        else:
            out = b"(['org.freedesktop.DBus'],)"
        return subprocess.CompletedProcess(argv, 0, out + b"\n", b"")


def desktop(run: FakeRun, **env: str) -> Doctor:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "DISPLAY": ":9",
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    return Doctor({**base, **env}, run=run, platform="linux")


def test_tray_backend_with_a_menu() -> None:
    run = FakeRun({"backend": "appindicator", "has_menu": True})
    check = desktop(run).tray_backend()
    assert check.status == "ok" and "appindicator" in check.detail
    assert run.calls == [[sys.executable, "-c", TRAY_PROBE]]


def test_xorg_fallback_is_a_failure_naming_the_packages() -> None:
    check = desktop(FakeRun({"backend": "xorg", "has_menu": False})).tray_backend()
    assert check.status == "fail" and "has no menu" in check.detail
    assert "gir1.2-ayatanaappindicator3-0.1" in (check.hint or "")


def test_pystray_missing() -> None:
    check = desktop(FakeRun({"error": "ModuleNotFoundError: No module named 'pystray'"})
                    ).tray_backend()
    # Not `pip install 'rolebar[tray]'`: rolebar is not on PyPI yet (README: Install).
    assert check.status == "fail" and "tray extra (README: Install)" in (check.hint or "")
    assert "rolebar[tray]" not in (check.hint or "")


def test_no_display() -> None:
    check = Doctor({"PATH": os.environ["PATH"]}, run=FakeRun(), platform="linux").tray_backend()
    assert check.status == "fail" and "--no-tray" in (check.hint or "")


@pytest.mark.skipif(not __import__("shutil").which("notify-send"), reason="no notify-send")
@pytest.mark.skipif(not (__import__("shutil").which("gdbus") or __import__("shutil").which(
    "dbus-send")), reason="no gdbus or dbus-send")
def test_notification_service_on_the_bus() -> None:
    assert desktop(FakeRun(bus="(true,)")).notifications().status == "ok"
    missing = desktop(FakeRun(bus="(false,)")).notifications()
    assert missing.status == "fail" and "notification daemon" in (missing.hint or "")


def test_the_probe_really_reports_pystray() -> None:
    """The probe itself, run for real: it answers one JSON line whatever happens."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-c", TRAY_PROBE], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" in answer or {"backend", "has_menu"} <= set(answer)


def test_autostart_state_is_reported(home: Path) -> None:
    check = Doctor(dict(os.environ), platform="linux").autostart()
    assert check.status == "ok" and check.detail.startswith("disabled")
