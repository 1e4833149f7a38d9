"""The files misbehave: an unwritable cache, odd credentials files, a full disk.

We run as root in CI, where file modes do not stop writes; a read-only tmpfs and a full
tmpfs do (mounting needs root: those cases skip elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.helpers import answer, assert_one_line
from tests.loopback.conftest import Aws


@contextlib.contextmanager
def tmpfs(path: Path, *options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_cache_dir_is_one_line(aws: Aws, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro-cache", "ro", "size=64k") as cache:
        done = aws.run("process", "project-dev", env={"XDG_CACHE_HOME": str(cache)})
        line = assert_one_line(done, 1, "Read-only file system")
        assert str(cache) in line
    assert aws.double.counts["GetSessionToken"] == 0  # no code spent for nothing


def test_cache_dir_that_is_a_file_is_one_line(aws: Aws) -> None:
    (aws.home / ".cache").write_text("not a directory\n")
    assert_one_line(aws.run("process", "project-dev"), 1, "cache")


def test_credentials_file_that_is_a_directory(aws: Aws) -> None:
    aws.credentials.unlink()
    aws.credentials.mkdir()
    line = assert_one_line(aws.run("process", "project-dev"), 2, "not a regular file")
    assert str(aws.credentials) in line


def test_credentials_file_that_is_a_dangling_symlink(aws: Aws) -> None:
    aws.credentials.unlink()
    aws.credentials.symlink_to(aws.home / "gone" / "credentials")
    # As good as missing: the source profile has no keys then.
    assert_one_line(aws.run("process", "project-dev"), 2, "my-company")
    assert aws.credentials.is_symlink() and not aws.credentials.exists()


def test_credentials_file_of_another_owner(aws: Aws) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to chown")
    nobody = pwd.getpwnam("nobody")
    os.chown(aws.credentials, nobody.pw_uid, nobody.pw_gid)
    aws.credentials.chmod(0o600)
    before = aws.credentials.read_bytes()
    answer(aws.run("process", "project-dev"))  # root may read it: it is served
    assert aws.credentials.read_bytes() == before
    assert aws.credentials.stat().st_uid == nobody.pw_uid  # not taken over


def test_broken_cache_entries_are_misses(aws: Aws) -> None:
    first = answer(aws.run("process", "project-dev"))
    cache = aws.home / ".cache" / "rolebar"
    for entry in cache.glob("role-*"):  # the engine's JSON and the fast path's answer
        entry.write_text('{"AccessKeyId": ')  # torn write from some other tool
    again = answer(aws.run("process", "project-dev"))
    assert again["AccessKeyId"] != first["AccessKeyId"]  # refetched, with the cached session
    assert aws.double.counts["GetSessionToken"] == 1
    for entry in cache.glob("*-*"):
        assert entry.stat().st_mode & 0o777 == 0o600
