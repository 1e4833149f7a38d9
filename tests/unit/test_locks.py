"""Lock files in rolebar's private folders: a planted symlink is refused with one line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from rolebar.core import locks, paths
from rolebar.core.cache import Cache
from rolebar.core.credfile import SectionWriter
from rolebar.core.errors import ConfigError, RolebarError

KEYS = {"aws_access_key_id": "ASIAEXAMPLE"}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text("precious\n")
    return path


def refused(lock: Path) -> str:
    return f"lock {lock}: is a symlink; rolebar does not follow one there (remove it)"


def test_a_symlink_at_a_cache_lock_is_refused(victim: Path) -> None:
    cache = Cache()
    with cache.lock("role-x"):
        pass
    lock = cache.root / "locks" / "role-x.lock"
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(ConfigError) as caught, cache.lock("role-x"):
        pass
    assert str(caught.value) == refused(lock)
    assert victim.read_text() == "precious\n"


def test_a_dangling_symlink_at_a_cache_lock_is_refused(tmp_path: Path) -> None:
    cache = Cache()
    lock = paths.private_dir(cache.root / "locks") / "role-y.lock"
    lock.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="is a symlink"), cache.lock("role-y"):
        pass
    assert not (tmp_path / "nowhere").exists()


def test_a_symlink_at_the_credentials_file_lock_is_refused(home: Path, victim: Path) -> None:
    creds = home / ".aws" / "credentials"
    SectionWriter(creds).write("tray-managed", KEYS)
    (lock,) = (paths.state_dir() / "locks").iterdir()
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(ConfigError) as caught:
        SectionWriter(creds).write("tray-managed", {"aws_access_key_id": "ASIANEW"})
    assert str(caught.value) == refused(lock)
    assert victim.read_text() == "precious\n"
    assert "ASIAEXAMPLE" in creds.read_text()


def test_a_folder_at_a_lock_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.lock").mkdir()
    with pytest.raises(ConfigError) as caught:
        locks.acquire(tmp_path / "x.lock", 1)
    assert str(caught.value) == f"lock {tmp_path / 'x.lock'}: is not a regular file (remove it)"


def test_a_plain_lock_file_is_taken_and_released(tmp_path: Path) -> None:
    lock = locks.acquire(tmp_path / "ok.lock", 1)
    assert lock.is_locked
    lock.release()
    assert not lock.is_locked


def test_a_symlink_at_the_engine_lock_is_refused(victim: Path) -> None:
    from rolebar.core.instance import LOCK, Instance

    lock = paths.private_dir(paths.state_dir()) / LOCK
    lock.symlink_to(victim)
    with pytest.raises(ConfigError) as caught:
        Instance("keep").acquire()
    assert str(caught.value) == refused(lock)
    assert victim.read_text() == "precious\n"


def test_a_wait_behind_another_holder_is_logged_and_ends_in_busy(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    other = subprocess.Popen(  # another process holds it, as another rolebar would
        [sys.executable, "-c", "import sys, time; from filelock import FileLock;"
         f" lock = FileLock({str(tmp_path / 'x.lock')!r}); lock.acquire();"
         " print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        with caplog.at_level(logging.INFO, logger="rolebar.core.locks"), \
                pytest.raises(RolebarError, match="busy"), \
                locks.held(tmp_path / "x.lock", 0.2, lambda: RolebarError("x", "busy")):
            pass
        assert f"lock {tmp_path / 'x.lock'}: held by another rolebar process" in caplog.text
    finally:
        other.kill()
        other.wait()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rolebar.core.locks"), \
            locks.held(tmp_path / "x.lock", 0.2, lambda: RolebarError("x", "busy")):
        pass  # free: taken at once, nothing said
    assert caplog.text == ""
