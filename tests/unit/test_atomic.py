"""The one whole-file writer (core/atomic.py write_private) and the file stamp, as every
writer uses them: settings, cache, runtime files, the engine's note, the demo, autostart.
(The credentials file's checked replace is tested in test_credfile*.py.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rolebar.core import atomic, demo

posix = pytest.mark.skipif(os.name != "posix", reason="file modes and symlinks are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@posix
def test_a_private_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        atomic.write_private(tmp_path / "f", "a\r\nb\n")
    finally:
        os.umask(old)
    assert mode(tmp_path / "f") == 0o600
    assert (tmp_path / "f").read_bytes() == b"a\r\nb\n"  # no newline translation
    assert leftovers(tmp_path) == []


@posix
def test_a_symlink_at_the_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "f"
    link.symlink_to(victim)
    atomic.write_private(link, b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new"
    assert victim.read_text() == "precious\n"


@posix
def test_follow_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "entry"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "entry"
    link.symlink_to(real)
    atomic.write_private(link, "new", mode=0o644, follow=True)
    assert link.is_symlink() and real.read_text() == "new"
    assert mode(real) == 0o644
    assert leftovers(real.parent) == []


def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.mkdir()  # a folder where the file belongs: the rename fails
    with pytest.raises(OSError):
        atomic.write_private(target, "x")
    assert target.is_dir() and leftovers(tmp_path) == []


def test_stamp_of_tells_a_change_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert atomic.stamp_of(path) is None
    atomic.write_private(path, "one")
    first = atomic.stamp_of(path)
    atomic.write_private(path, "one")  # same bytes, a new file: a change all the same
    assert first is not None and atomic.stamp_of(path) not in (None, first)


@posix
def test_the_demo_never_writes_through_a_symlink_planted_after_its_check(
        tmp_path: Path) -> None:
    victim = tmp_path / "real-credentials"
    victim.write_text("[default]\n")
    planted = tmp_path / "demo-home" / ".aws" / "credentials"
    planted.parent.mkdir(parents=True)
    planted.symlink_to(victim)
    demo.write_private(planted, "[demo-source]\n")
    assert victim.read_text() == "[default]\n"
    assert planted.read_text() == "[demo-source]\n" and mode(planted) == 0o600
