"""The PyInstaller one-folder app, built on Linux from packaging/rolebar.spec.

Beyond `rolebar --version`, the frozen program starts the STS double as
`rolebar -m rolebar.core.stsdouble` (the way rolebar starts its helpers) and assumes a
role through it, which proves the trimmed botocore data still holds what STS needs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolebar.core import __version__
from rolebar.core.stsdouble import totp

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::111111111111:role/developer"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyinstaller")
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"),
         str(ROOT / "packaging" / "rolebar.spec")],
        capture_output=True, text=True, timeout=900, check=False, cwd=out,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out / "dist" / "rolebar"


def test_the_folder_has_both_programs_the_entry_and_the_icon(app: Path) -> None:
    for name in ("rolebar", "rolebar-tray", "install-linux.sh"):
        assert os.access(app / name, os.X_OK), name
    assert (app / "rolebar.desktop").is_file()
    assert (app / "rolebar.png").is_file()
    data = app / "_internal" / "botocore" / "data"
    assert (data / "sts").is_dir() and not (data / "ec2").exists()


def test_version(app: Path, home: Path) -> None:
    done = subprocess.run([str(app / "rolebar"), "--version"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == f"rolebar {__version__}\n"


def test_assume_a_role_through_the_double(app: Path, home: Path, tmp_path: Path) -> None:
    state = tmp_path / "double.json"
    double = subprocess.Popen([str(app / "rolebar"), "-m", "rolebar.core.stsdouble",
                               "--state", str(state), "--role", ROLE],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not state.exists() and time.monotonic() < deadline:
            assert double.poll() is None, double.stderr.read() if double.stderr else ""
            time.sleep(0.1)
        info = json.loads(state.read_text())
        user = info["user"]
        (home / ".aws" / "credentials").write_text(
            f"[my-company]\naws_access_key_id = {user['access_key_id']}\n"
            f"aws_secret_access_key = {user['secret_access_key']}\n")
        (home / ".aws" / "config").write_text(
            "[profile my-company]\nregion = us-east-1\n"
            f"[profile project-dev]\nrole_arn = {ROLE}\nsource_profile = my-company\n"
            f"mfa_serial = {user['mfa_serial']}\n")
        env = {**os.environ, "AWS_ENDPOINT_URL_STS": info["endpoint"]}
        done = subprocess.run(
            [str(app / "rolebar"), "-t", totp(user["totp_secret"]), "-j", "project-dev"],
            capture_output=True, text=True, timeout=60, check=False, env=env)
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["Version"] == 1 and answer["AccessKeyId"].startswith("ASIA")
    finally:
        double.send_signal(signal.SIGTERM)
        double.wait(timeout=30)


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-utils not installed")
def test_install_linux_writes_a_valid_entry(app: Path, home: Path) -> None:
    subprocess.run([str(app / "install-linux.sh")], check=True, timeout=120,
                   capture_output=True)
    entry = home / ".local" / "share" / "applications" / "rolebar.desktop"
    opt = home / ".local" / "opt" / "rolebar"
    assert f"Exec={opt}/rolebar-tray\n" in entry.read_text()
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([str(home / ".local" / "bin" / "rolebar"), "--version"],
                             capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout == f"rolebar {__version__}\n"
    subprocess.run([str(opt / "install-linux.sh"), "--remove"], check=True, timeout=60)
    assert not entry.exists() and not opt.exists()


def test_headless_demo_in_the_frozen_app(app: Path, home: Path, tmp_path: Path) -> None:
    """generate_token in the demo is `<frozen rolebar> -m rolebar.core.demo token ...`."""
    demo_home = tmp_path / "demo"
    done = subprocess.run([str(app / "rolebar"), "demo", "--headless", "--seconds", "8",
                           "--home", str(demo_home)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    text = (demo_home / ".aws" / "credentials").read_text()
    # The default style: the section runs the frozen rolebar, which answered the keeper.
    assert "[tray-managed]" in text
    assert f"credential_process = {app / 'rolebar'} process --section tray-managed" in text
    assert "[tray-managed] refreshed for project-dev" in done.stderr
