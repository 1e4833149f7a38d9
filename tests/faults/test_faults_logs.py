"""The log cannot be written: stderr still carries one `rolebar:` line on failure and
nothing on success (issue 9, item 5); a planted symlink is not followed (item 7).

A full file system is a small full tmpfs mounted on the log folder (root only, as in
test_faults_files; it skips elsewhere)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.faults.helpers import answer, assert_one_line
from tests.faults.test_faults_files import tmpfs
from tests.loopback.conftest import Aws


def log_dir(aws: Aws) -> Path:
    return aws.home / ".local" / "state" / "rolebar" / "log"


def assert_clean_success(aws: Aws, *args: str) -> dict[str, str]:
    done = aws.run(*args)
    assert done.stderr == "", done.stderr
    return answer(done)


@pytest.mark.parametrize("blocker", ["log folder is a file", "state home is a file"])
def test_an_unusable_log_folder_keeps_stderr_clean(aws: Aws, blocker: str) -> None:
    if blocker == "log folder is a file":
        log_dir(aws).parent.mkdir(parents=True)
        log_dir(aws).write_text("in the way\n")
    else:
        state = aws.home / "state-file"
        state.write_text("in the way\n")
        aws.env["XDG_STATE_HOME"] = str(state)
    assert_one_line(aws.run("-j", "-t", "000000", "project-dev"), 1)  # STS refuses it
    assert_one_line(aws.run("-j", "no-such-profile"), 2, "no-such-profile")
    assert_clean_success(aws, "-j", "project-dev")
    assert_clean_success(aws, "process", "project-dev")
    settings = aws.home / ".config" / "rolebar" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text("{")  # a warning for the log, nothing for stderr
    done = aws.run("status")
    assert (done.returncode, done.stderr) == (0, "")


def test_a_full_log_file_system_prints_no_logging_errors(aws: Aws) -> None:
    with tmpfs(log_dir(aws), "size=16k") as folder:
        filler = folder / "filler"
        with filler.open("wb", buffering=0) as f, pytest.raises(OSError):
            while True:
                f.write(b"x" * 1024)
        # The log's first line no longer fits anywhere.
        assert_clean_success(aws, "-j", "project-dev")
        assert_clean_success(aws, "process", "project-ops")
        assert_one_line(aws.run("-j", "no-such-profile"), 2, "no-such-profile")


def test_a_symlink_planted_at_the_log_is_not_followed(aws: Aws, tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    target.chmod(0o644)
    log_dir(aws).mkdir(parents=True)
    (log_dir(aws) / "rolebar.log").symlink_to(target)
    assert_clean_success(aws, "-j", "project-dev")
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_rotated_logs_stay_0600(aws: Aws) -> None:
    log_dir(aws).mkdir(parents=True)
    log = log_dir(aws) / "rolebar.log"
    log.write_bytes(b"x" * 999_999 + b"\n")
    log.chmod(0o600)
    assert_clean_success(aws, "-j", "project-dev")
    names = sorted(p.name for p in log_dir(aws).iterdir())
    assert names == ["rolebar.log", "rolebar.log.1"], names
    for path in log_dir(aws).iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert "project-dev" in log.read_text()


def test_control_characters_in_a_generate_token_failure_are_escaped(aws: Aws) -> None:
    script = aws.home / "evil-token"
    script.write_text("#!/bin/sh\nprintf 'bad\\033]0;title\\007\\033[2J' >&2\nexit 3\n")
    script.chmod(0o755)
    aws.write_config(extra=f"\n[profile evil\x1b[31m]\nrole_arn = "
                     "arn:aws:iam::111111111111:role/developer\n"
                     "mfa_serial = arn:aws:iam::000000000000:mfa/member\n"
                     f"source_profile = my-company\ngenerate_token = {script}\n")
    done = aws.run("-j", "evil\x1b[31m")
    line = done.stderr.rstrip("\n")
    assert done.returncode in (1, 2) and "\n" not in line and line.startswith("rolebar: ")
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in line), repr(line)
    assert "evil\\x1b[31m" in line
    assert json.dumps(done.stdout) == '""'
