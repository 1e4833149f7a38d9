"""The leak hunt's own checks: it finds what it must, and stays quiet otherwise.

The end-to-end cases run pytest on a small test file in a subprocess with only the plugin
loaded, so a deliberate leak fails that inner run, not this suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rolebar.core.stsdouble import StsDouble
from tests.leaks.plugin import SECRETS, Secrets, describe, scan_tree

ROOT = Path(__file__).resolve().parents[2]


def test_secrets_found_whole_truncated_and_inside_text() -> None:
    secrets = Secrets()
    key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    token = "IQoJb3JpZ2luX2VjE" + "A1b2C3d4E5f6G7h8I9j0" * 10
    secrets.add([key, token, None, "short"])
    assert len(secrets) == 2
    assert secrets.find(f"x={key}\n".encode()) == [describe(key)]
    assert secrets.find(key[:30].encode()) == [describe(key)]  # head of a cut copy
    assert secrets.find(f'"{token[-50:]}"'.encode()) == [describe(token)]
    assert secrets.find(b"ASIA...WXYZ [redacted] nothing here") == []


def test_doubles_are_registered_with_their_users_and_issued_keys() -> None:
    double = StsDouble()
    user = double.add_user("leaky")
    assert SECRETS.find(user.secret_access_key.encode())
    assert user.totp_secret and SECRETS.find(user.totp_secret.encode())


def test_scan_tree_flags_logs_and_loose_rolebar_files() -> None:
    # Not tmp_path: the hunt scans that at teardown and would (rightly) flag these files.
    with tempfile.TemporaryDirectory() as scratch:
        _scan_tree_case(Path(scratch))


def _scan_tree_case(tmp_path: Path) -> None:
    double = StsDouble()
    user = double.add_user("leaky")
    secret = user.secret_access_key
    log = tmp_path / "home/.local/state/rolebar/log/rolebar.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"oops {secret}\n")
    cache = tmp_path / "home/.cache/rolebar/role-x.json"
    cache.parent.mkdir(parents=True)
    cache.write_text(secret)
    cache.chmod(0o644)
    safe = tmp_path / "home/.cache/rolebar/role-y.json"
    safe.write_text(secret)
    safe.chmod(0o600)
    (tmp_path / "home/.aws").mkdir()
    (tmp_path / "home/.aws/credentials").write_text(f"aws_secret_access_key = {secret}\n")
    (tmp_path / "home/.aws/moved").write_text(
        f"[a]\nrolebar_keys = keyring\n[b]\nrolebar_keys = keyring\naws_secret_access_key = "
        f"{secret}\n")
    problems = scan_tree(tmp_path)
    assert len(problems) == 3, problems
    assert any("[b] of home/.aws/moved" in p for p in problems)
    assert any("rolebar.log" in p for p in problems)
    assert any("role-x.json" in p and "0644" in p for p in problems)
    assert not any(secret[:8] in p for p in problems)  # the report never shows a secret


INNER = """\
from __future__ import annotations
import subprocess, sys
from rolebar.core.stsdouble import StsDouble

def test_clean(tmp_path):
    double = StsDouble()
    double.add_user("quiet")
    (tmp_path / "app.log").write_text("nothing to see\\n")

def test_log(tmp_path):
    user = StsDouble().add_user("leaky")
    (tmp_path / "app.log").write_text(user.secret_access_key)

def test_stderr(tmp_path):
    user = StsDouble().add_user("leaky")
    print("key", user.secret_access_key, file=sys.stderr)

def test_child_stderr(tmp_path):
    user = StsDouble().add_user("leaky")
    subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write(sys.stdin.read())"],
                   input=user.secret_access_key, capture_output=True, text=True)

def test_own_child_argv(tmp_path):
    # The test's own choice (say, a shell script with export lines): not rolebar's leak.
    user = StsDouble().add_user("leaky")
    subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3)",
                    user.secret_access_key])

def test_grandchild_argv(tmp_path):
    user = StsDouble().add_user("leaky")
    # The child starts a grandchild with the secret in argv; only /proc sampling sees it.
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import time; time.sleep(0.5)', sys.stdin.read()])")
    subprocess.run([sys.executable, "-c", code], input=user.secret_access_key, text=True)
"""


@pytest.mark.secret_output
def test_plugin_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.leaks.plugin", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    out = done.stdout
    summary = out.split("short test summary")[-1]
    for name, where in [("test_log", "output file app.log"), ("test_stderr", "Captured stderr"),
                        ("test_child_stderr", "stderr of child python"),
                        ("test_grandchild_argv", "in the argv of a process")]:
        assert f"test_inner.py::{name}" in summary, out[-3000:]
        assert where in out, (name, out[-3000:])
    assert "test_inner.py::test_clean" not in summary, out[-3000:]
    assert "test_inner.py::test_own_child_argv" not in summary, out[-3000:]
