"""`rolebar demo --headless`: the whole engine against the in-process STS double.

Run as a real process, the way a person runs it. It must write a fresh [tray-managed]
in its own home, answer `--code`, leave the user's (here: the test's) AWS files and
rolebar settings alone, and clean up after SIGTERM.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from rolebar.core import demo
from rolebar.core.cache import Cache
from rolebar.core.codes import Guard
from rolebar.core.stsdouble import totp
from tests.loopback.clients.awsdouble import visit


def rolebar(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from rolebar.core.cli import "
                           "main; sys.exit(main())", *args], capture_output=True, text=True,
                          timeout=60, check=False, **kwargs)  # type: ignore[call-overload]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from rolebar.core.cli import main; "
         "sys.exit(main())", "demo", "--headless", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_section(credentials: Path, proc: subprocess.Popen[str], timeout: float = 60
                     ) -> configparser.SectionProxy:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"demo ended early: {proc.stderr.read() if proc.stderr else ''}")
        parsed = configparser.ConfigParser()
        try:
            parsed.read_string(credentials.read_text())
        except (OSError, configparser.Error):
            pass
        else:
            if parsed.has_section("tray-managed"):
                return parsed["tray-managed"]
        time.sleep(0.2)
    pytest.fail("no [tray-managed] section within the time limit")


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


@pytest.fixture
def real_files(home: Path) -> dict[Path, bytes]:
    """The test's own AWS files, standing for the user's: the demo must not touch them."""
    files = {
        home / ".aws" / "config": b"[profile mine]\nregion = eu-west-1\n",
        home / ".aws" / "credentials": b"[mine]\naws_access_key_id = AKIAREALREALREAL1234\n",
    }
    for path, data in files.items():
        path.write_bytes(data)
    return files


def test_headless_demo_keeps_a_section_fresh_in_its_own_home(
    tmp_path: Path, home: Path, real_files: dict[Path, bytes]
) -> None:
    demo_home = tmp_path / "demo-home"
    proc = start("--home", str(demo_home), "--role-lifetime", "900")
    try:
        section = wait_for_section(demo_home / ".aws" / "credentials", proc)
        # The default style: the try line's AWS CLI runs rolebar for the credentials.
        assert section["credential_process"].endswith(" process --section tray-managed")
        assert section["region"] == demo.REGION
        code = rolebar("demo", "--code")
        assert code.returncode == 0, code.stderr
        assert re.fullmatch(r"\d{6}\n", code.stdout)
        mode = (demo_home / ".aws" / "credentials").stat().st_mode & 0o777
        assert mode == 0o600
    finally:
        status, err = stop(proc)
    assert status == 0, err
    assert "your own ~/.aws files are not read or written" in err
    assert "Traceback" not in err
    for path, data in real_files.items():
        assert path.read_bytes() == data, f"{path} was changed"
    assert not (home / ".config" / "rolebar" / "settings.json").exists()
    # --home is kept, so its files can be looked at afterwards; the pointer is gone.
    assert (demo_home / ".aws" / "credentials").exists()
    assert rolebar("demo", "--code").returncode == 2


def test_the_temporary_home_is_removed_at_the_end(home: Path) -> None:
    proc = start()
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        found = re.search(r"demo home (\S+) \(removed at the end\)", first)
        assert found, first
        root = Path(found.group(1))
        wait_for_section(root / ".aws" / "credentials", proc)
    finally:
        status, err = stop(proc)
    assert status == 0, err
    assert not root.exists()


def test_seconds_ends_the_demo_by_itself(tmp_path: Path) -> None:
    started = time.monotonic()
    done = rolebar("demo", "--headless", "--seconds", "3", "--home", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 45


def test_a_home_that_is_not_a_demo_home_is_refused(tmp_path: Path, home: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    done = rolebar("demo", "--headless", "--home", str(busy))
    assert done.returncode == 2
    assert done.stderr.startswith(f"rolebar: demo home {busy}: is not empty")
    assert rolebar("demo", "--headless", "--home", str(home)).returncode == 2


def test_a_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("mine\n")
    done = rolebar("demo", "--headless", "--home", str(path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"rolebar: demo home {path}: is not a folder; pick an empty folder\n"
    assert path.read_text() == "mine\n"


def test_an_earlier_demo_home_whose_aws_folder_is_a_symlink_is_refused(
        tmp_path: Path, home: Path) -> None:
    """It would have written the demo's AWS files over the user's own."""
    real = {p.name: p.read_bytes() for p in (home / ".aws").iterdir()}
    (home / ".aws" / "credentials").write_text("[mine]\naws_access_key_id = AKIAMINE\n")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / demo.MARK).touch()
    (earlier / ".aws").symlink_to(home / ".aws")
    done = rolebar("demo", "--headless", "--seconds", "1", "--home", str(earlier))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"rolebar: demo home {earlier}: holds a symlink, .aws; the demo "
                           "writes through none (remove it, or pick an empty folder)\n")
    assert (home / ".aws" / "credentials").read_text() == "[mine]\naws_access_key_id = AKIAMINE\n"
    assert sorted(p.name for p in (home / ".aws").iterdir()) == sorted({*real, "credentials"})


@pytest.mark.parametrize("where", ["home", "deep"])
def test_symlinks_at_or_in_the_demo_home_are_refused(tmp_path: Path, where: str) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    if where == "home":
        given = tmp_path / "link"
        given.symlink_to(target)
    else:
        given = tmp_path / "earlier"
        (given / ".config").mkdir(parents=True)
        (given / demo.MARK).touch()
        (given / ".config" / "rolebar").symlink_to(target)
    done = rolebar("demo", "--headless", "--seconds", "1", "--home", str(given))
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1 and "symlink" in done.stderr
    assert list(target.iterdir()) == []


def test_code_without_a_running_demo(home: Path) -> None:
    done = rolebar("demo", "--code")
    assert done.returncode == 2
    assert done.stderr == "rolebar: demo: no demo is running; start one with `rolebar demo`\n"


def test_the_demo_generate_token_prints_the_current_code(tmp_path: Path) -> None:
    state = tmp_path / "double.json"
    state.write_text(json.dumps({"user": {"totp_secret": "JBSWY3DPEHPK3PXP"}}))
    done = subprocess.run([sys.executable, "-m", "rolebar.core.demo", "token", str(state)],
                          capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 0
    assert re.fullmatch(r"\d{6}\n", done.stdout)


# -- the first ten minutes: --code, what --headless says, hints that work ----------------------


def read_lines(stream: IO[str], until: Callable[[list[str]], bool], timeout: float
               ) -> list[str]:
    """Lines of a running demo's stderr, as they come, until `until(lines)` holds."""
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        for line in stream:
            lines.append(line)
            if until(lines):
                found.set()
                return
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    assert found.wait(timeout) and until(lines), "".join(lines)
    return lines


def demo_guard(demo_home: Path) -> tuple[Guard, str, str]:
    user = json.loads((demo_home / "double.json").read_text())["user"]
    guard = Guard(Cache(demo_home / ".cache" / "rolebar"))
    return guard, str(user["mfa_serial"]), str(user["totp_secret"])


def test_code_never_prints_a_code_the_demo_already_used(tmp_path: Path, home: Path) -> None:
    """It printed the current code even when the demo's generate_token had just spent it."""
    demo_home = tmp_path / "demo-home"
    proc = start("--home", str(demo_home))
    try:
        wait_for_section(demo_home / ".aws" / "credentials", proc)
        guard, device, secret = demo_guard(demo_home)
        step = int(time.time() // 30)
        spent = totp(secret)
        guard.claim(device, spent)  # as the demo's generate_token or a typed code does
        done = rolebar("demo", "--code")
        assert done.returncode == 0, done.stderr
        printed = done.stdout.strip()
        assert re.fullmatch(r"\d{6}", printed) and printed != spent
        assert not guard.was_used(device, printed)
        if int(time.time() // 30) == step:  # still the step whose code was spent
            assert printed == totp(secret, time.time() + 30)
            assert re.fullmatch(r"rolebar: demo: the current code was already used; this is "
                                r"the next one \(the current code in \d+ s; the demo accepts "
                                r"it already\)\n", done.stderr), done.stderr
    finally:
        status, err = stop(proc)
    assert status == 0, err


def test_headless_says_each_refresh_as_it_happens(tmp_path: Path) -> None:
    """It printed four lines and then nothing while it kept refreshing."""
    proc = start("--home", str(tmp_path / "d"), "--role-lifetime", "20")
    refreshed = re.compile(r"rolebar: demo: \[tray-managed\] refreshed for project-dev; "
                           r"expires at (\d\d:\d\d:\d\d)\n")
    try:
        assert proc.stderr is not None
        lines = read_lines(proc.stderr, lambda lines: len(
            {m.group(1) for line in lines if (m := refreshed.fullmatch(line))}) >= 2, 60)
    finally:
        status, err = stop(proc)
    assert status == 0, err
    said = [m.group(1) for line in lines if (m := refreshed.fullmatch(line))]
    assert len(said) == len(set(said)) >= 2, lines  # one line per refresh, no repeats
    everything = "".join(lines) + err
    for secret in re.findall(r"= (\S+)", (tmp_path / "d" / ".aws" / "credentials")
                             .read_text()):
        if len(secret) >= 16 and not secret.startswith("/"):
            assert secret not in everything


def test_the_try_line_works_in_a_terminal_without_the_venv_on_path(tmp_path: Path) -> None:
    """It named `aws`, which `bash scripts/setup` does not put on PATH."""
    proc = start("--home", str(tmp_path / "d"))
    try:
        assert proc.stderr is not None
        lines = read_lines(proc.stderr, lambda lines: any(
            "try it from another terminal: " in line for line in lines), 60)
        wait_for_section(tmp_path / "d" / ".aws" / "credentials", proc)
        line = next(x for x in lines if "try it from another terminal: " in x)
        command = line.split("try it from another terminal: ", 1)[1].strip()
        aws = Path(sys.executable).parent / "aws"
        assert str(aws) in command  # by its path: not on this PATH
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=120, check=False,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)["Arn"].startswith(
            "arn:aws:sts::111111111111:assumed-role/developer/")
        # The same environment signs in to the console at the double (the tray's "Open
        # console" does this): its page says where a real console would open.
        console = command.replace(f"{aws} sts get-caller-identity",
                                  f"{aws.with_name('rolebar')} console project-dev --print")
        signed = subprocess.run(["bash", "-c", console], capture_output=True, text=True,
                                timeout=120, check=False,
                                env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert signed.returncode == 0, signed.stderr[-2000:]
        status, page, _ = visit(signed.stdout.strip())
        real = f"https://{demo.REGION}.console.aws.amazon.com/console/home?region={demo.REGION}"
        assert status == 200 and f"would open at {real}." in page, page
    finally:
        status, err = stop(proc)
    assert status == 0, err


def test_the_demo_signs_in_to_its_sso_profile_itself(tmp_path: Path, home: Path) -> None:
    """Next to the MFA profiles, an IAM Identity Center one that answers at once: the demo
    did the browser step of the sign-in, and filed the token where the AWS CLI would."""
    from rolebar.core import demosso
    from rolebar.core.sso import SsoConfig, TokenCache

    demo_home = tmp_path / "demo-home"
    proc = start("--home", str(demo_home), "--role-lifetime", "900")
    try:
        wait_for_section(demo_home / ".aws" / "credentials", proc)
        state = json.loads((demo_home / "double.json").read_text())
        env = {**os.environ, **demo.DemoHome(demo_home).environment(state["endpoint"])}
        listed = rolebar("profiles", env=env)
        assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
            "project-dev", "project-prd", demosso.PROFILE]
        answer = rolebar("-j", demosso.PROFILE, env=env)
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["Version"] == 1
        session = SsoConfig(
            {}, {demosso.SESSION: {"sso_start_url": demosso.START_URL,
                                   "sso_region": "us-east-1"}}, Path("config")).session(
            demosso.SESSION)
        token = TokenCache(demo_home / ".aws" / "sso" / "cache").load(session)
        assert token is not None and token.renewable
    finally:
        status, err = stop(proc)
    assert status == 0, err
    assert "Traceback" not in err
