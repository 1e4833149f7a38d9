"""rolebar's file locks: filelock, on lock files in rolebar's own private folders.

Those folders are 0700, so only the user (or root) can put anything else there. A
symlink or a folder where a lock file belongs was planted, or is a leftover of something
that went wrong: rolebar refuses it with one line naming the path, rather than follow it
(taking the lock on whatever it points at) or remove it (a lock file removed while
another process holds it would let two processes in at once).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from rolebar.core.errors import ConfigError, RolebarError

log = logging.getLogger(__name__)


def check(path: Path) -> None:
    """Raise ConfigError unless ``path`` is missing or a regular file (not a symlink)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise _refused(path, err) from err
    if stat.S_ISLNK(st.st_mode):
        raise ConfigError(f"lock {path}", "is a symlink; rolebar does not follow one there "
                          "(remove it)")
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"lock {path}", "is not a regular file (remove it)")


def acquire(path: Path, timeout: float) -> FileLock:
    """A FileLock on ``path``, held. Raises filelock's Timeout, or ConfigError."""
    check(path)
    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise
    except OSError as err:  # a symlink planted between the check and the open (O_NOFOLLOW)
        raise _refused(path, err) from err
    return lock


@contextlib.contextmanager
def held(path: Path, timeout: float, busy: Callable[[], RolebarError]) -> Iterator[None]:
    """Hold the lock at ``path``; ``busy()`` is raised when it stays taken ``timeout`` s.

    A wait is logged as it starts: a process that seems stuck is often just second in line
    (another one is asking for a code, say).
    """
    try:
        lock = acquire(path, 0)
    except Timeout:
        if timeout <= 0:
            raise busy() from None
        log.info("lock %s: held by another rolebar process; waiting up to %.0f s", path,
                 timeout)
        try:
            lock = acquire(path, timeout)
        except Timeout:
            raise busy() from None
    try:
        yield
    finally:
        lock.release()


def _refused(path: Path, err: OSError) -> ConfigError:
    if err.errno == errno.ELOOP:
        return ConfigError(f"lock {path}", "is a symlink; rolebar does not follow one there "
                           "(remove it)")
    cause = (err.strerror or type(err).__name__).lower()
    return ConfigError(f"lock {path}", f"cannot be taken ({cause})")
