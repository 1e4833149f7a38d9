"""The files misbehave: an unwritable cache, odd credentials files, a full disk.

We run as root in CI, where file modes do not stop writes; a read-only tmpfs and a full
tmpfs do (mounting needs root: those cases skip elsewhere).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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


# -- issue 9 item 7: odd credentials files, one clear line, nothing half done ----------------


def kept(aws: Aws) -> dict[str, object]:
    path = aws.home / ".config" / "rolebar" / "settings.json"
    return json.loads(path.read_text())["sections"] if path.exists() else {}


def keys_in_config(aws: Aws) -> None:
    """The source keys in the config file, so that plans need no credentials file."""
    keys = aws.credentials.read_text().replace("[my-company]", "")
    aws.config.write_text(aws.config.read_text().replace(
        "[profile my-company]\n", f"[profile my-company]\n{keys.strip()}\n"))


def test_credentials_file_that_is_a_symlink_loop(aws: Aws) -> None:
    aws.credentials.unlink()
    aws.credentials.symlink_to(aws.home / ".aws" / "loop")
    (aws.home / ".aws" / "loop").symlink_to(aws.credentials)
    line = assert_one_line(aws.run("process", "project-dev"), 2, "symbolic links")
    assert line == f"rolebar: {aws.credentials}: cannot be read (too many levels of " \
        "symbolic links)"


def test_select_with_a_dangling_credentials_symlink_records_nothing(aws: Aws) -> None:
    keys_in_config(aws)
    aws.credentials.unlink()
    aws.credentials.symlink_to(aws.home / "gone" / "credentials")
    line = assert_one_line(aws.run("select", "project-dev"), 2, "does not exist")
    assert str(aws.credentials) in line and "tray-managed" in line
    assert kept(aws) == {}
    assert not (aws.home / "gone").exists()


def test_select_whose_section_cannot_be_written_keeps_the_record_as_it_was(aws: Aws) -> None:
    assert aws.run("select", "project-dev").returncode == 0
    before = kept(aws)
    digest = hashlib.sha256(os.fsencode(os.path.realpath(aws.credentials))).hexdigest()[:32]
    lock = aws.home / ".local" / "state" / "rolebar" / "locks" / f"credfile-{digest}.lock"
    lock.unlink()
    lock.symlink_to(aws.home / "victim")
    line = assert_one_line(aws.run("select", "project-ops"), 2, "is a symlink")
    assert line == f"rolebar: lock {lock}: is a symlink; rolebar does not follow one there " \
        "(remove it)"
    assert kept(aws) == before == {"tray-managed": {"profile": "project-dev",
                                                    "style": "process"}}
    assert not (aws.home / "victim").exists()
