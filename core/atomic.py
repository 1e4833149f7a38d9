"""Whole-file writes that a crash can never leave half done, readable by the user only.

rolebar's one file-system helper, with ``locks`` (the lock files): every writer of a
whole file goes through here, and a file's change is told by ``stamp``.

``write_private`` replaces one of rolebar's own files (settings, cache, runtime files,
tokens, the engine's note, the demo's files, an autostart entry). ``replace_unless_changed``
replaces a file that other programs write too, without a lock (the shared credentials
file: the AWS CLI truncates it, then writes it in place): only while it is as it was
read, and without losing a write that lands in the old copy while the new one takes its
place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_READ_TRIES = 5
# Holding the replaced copy open is how a write landing in it is seen; Windows cannot
# replace a file that is open, and its writers cannot write a file being replaced.
_HOLD = os.name == "posix"
_LEASES = sys.platform.startswith("linux")
if _LEASES:
    import fcntl

Stamp = tuple[int, int, int]  # inode, size, mtime_ns


def write_private(path: Path, data: str | bytes, *, mode: int = 0o600,
                  follow: bool = False) -> None:
    """Replace `path` with `data`: temporary file in the same folder, fsync, rename.

    The file is 0600 whatever the umask; `mode` opens it only for a file that other
    programs read and that holds nothing secret (an autostart entry). Text goes out as
    UTF-8 with no newline translation (the sections index names its settings.json by
    their hash). A symlink at `path` is replaced, never written through, unless `follow`:
    then the file it points to is replaced (a dotfiles manager's link stays a link).
    Raises OSError; the old file stays.
    """
    target = Path(os.path.realpath(path)) if follow else path
    raw = data.encode("utf-8") if isinstance(data, str) else data
    temp, _ = _write_temp(target, raw, prefix=f".{target.name}.", mode=mode)
    try:
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def stamp(st: os.stat_result) -> Stamp:
    """What tells a file's change without reading it: inode, size, mtime."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def stamp_of(path: Path) -> Stamp | None:
    """The stamp of the file at `path`; None if there is none."""
    try:
        return stamp(os.stat(path))
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Snapshot:
    data: bytes  # what a new version is built on
    stamp: Stamp | None  # the file's as read; None: the file does not exist
    expect: bytes | None = None  # what the file holds, when not ``data`` (see _landed)

    @property
    def current(self) -> bytes:
        return self.data if self.expect is None else self.expect


def read_whole(path: Path) -> Snapshot:
    """Read the file whole, again if it changed while being read."""
    snap = Snapshot(b"", None)
    for _ in range(_READ_TRIES):
        try:
            with open(path, "rb") as f:
                before = os.fstat(f.fileno())
                data = f.read()
                after = os.fstat(f.fileno())
        except FileNotFoundError:
            return Snapshot(b"", None)
        snap = Snapshot(data, stamp(after))
        if stamp(before) == stamp(after):
            break
    return snap


def temp_prefix(target: Path) -> str:
    """How the temporary files of ``replace_unless_changed`` beside ``target`` begin."""
    return f".{target.name}.rolebar-"


@dataclass(frozen=True)
class Landing:
    """What to do when another program's write lands in the copy being replaced."""

    complete: Callable[[bytes], bool]  # does this content look like a finished write?
    sleep: Callable[[float], None]
    pauses: Sequence[float]


def replace_unless_changed(target: Path, data: bytes, snap: Snapshot,
                           landing: Landing) -> bool | Snapshot:
    """Atomically replace ``target`` with ``data`` (0600, fsynced) if it is as in ``snap``.

    True when done; False if the file changed since ``snap`` (start over); or what to
    build on instead (see ``_landed``). The file as read is held open, leased where the
    system has leases, and given a second name, until the new one is in place: another
    program that opened it just before the rename (to truncate and write it, as the AWS
    CLI does) writes into that copy, and this is how that write is found and kept.
    Raises OSError; the old file then stays.
    """
    temp: Path | None
    temp, written = _write_temp(target, data)
    held = _hold(target)
    aside = None
    try:
        leased = _lease(held)
        aside = _link_aside(target, held) if leased is not None else None
        if leased is None or _waiting(held, leased):
            log.debug("%s: another program has it open to write; starting over", target)
            return False
        if not _unchanged(target, snap, held):
            return False
        os.replace(temp, target)
        temp = None
        waiting = _waiting(held, leased)
        if leased and held is not None and (not waiting or aside is None):
            _release(held)  # before waiting for a write (nothing to wait for otherwise)
        if held is not None and (waiting or _touched(held, snap)):
            return _landed(target, held, aside, Snapshot(data, written), landing)
        _fsync_folder(target.parent)
        return True
    finally:
        for leftover in (temp, aside):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
        if held is not None:
            os.close(held)  # also ends a lease: a writer held back goes on, in the old copy


def _lease(held: int | None) -> bool | None:
    """Have the kernel hold back other programs opening the held file for writing.

    True when it does (Linux: a read lease); None when one has it open for writing
    right now; False where leases are not to be had (another system, a network file
    system, a file of another user). The kernel tells the holder of a waiting opener
    with a signal: SIGURG here, which is ignored unless the program handles it (then no
    lease is taken).
    """
    if held is None or not _LEASES:
        return False
    if signal.getsignal(signal.SIGURG) not in (signal.SIG_DFL, signal.SIG_IGN):
        return False
    try:
        fcntl.fcntl(held, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(held, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except BlockingIOError:
        return None
    except OSError:
        return False
    return True


def _waiting(held: int | None, leased: bool | None) -> bool:
    """True if another program waits to open the leased file for writing."""
    return bool(leased and held is not None
                and fcntl.fcntl(held, fcntl.F_GETLEASE) != fcntl.F_RDLCK)


def _release(held: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.fcntl(held, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _landed(target: Path, held: int, aside: Path | None, ours: Snapshot,
            landing: Landing) -> bool | Snapshot:
    """Another program wrote into the copy just replaced. Keep its write.

    If the new file is still as written, the old copy goes back in its place (its second
    name makes that possible), with whatever that program wrote or is still writing, and
    the caller starts over from there. Without a second name (no hard links here) the
    caller builds on what landed, once it looks complete: the snapshot returned.
    """
    log.info("%s: another program wrote it in place during rolebar's replace; "
             "keeping that write", target)  # or is about to: it waits for the lease
    if stamp_of(target) != ours.stamp:  # no re-read: every moment here counts
        log.warning("%s: changed twice during one of rolebar's writes; another program's "
                    "write may be lost", target)
        return False
    if aside is not None:
        os.replace(aside, target)
        return False
    # Every pause leaves the file without that write for others to read: none if the
    # write is over already, as the AWS CLI's truncate-then-write usually is.
    for pause in (0.0, *landing.pauses):
        if pause:
            landing.sleep(pause)
        landed = _contents(held)
        if landing.complete(landed):
            return Snapshot(landed, ours.stamp, expect=ours.data)
    log.warning("%s: another program's write in progress did not settle; it may be lost",
                target)
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_temp(target: Path, data: bytes, prefix: str | None = None,
                mode: int = 0o600) -> tuple[Path, Stamp]:
    """``data`` in a new file (0600, or ``mode``) beside ``target``, on disk; its name and
    stamp."""
    fd, temp = tempfile.mkstemp(prefix=prefix or temp_prefix(target), suffix=".tmp",
                                dir=target.parent)
    try:
        try:
            _write_all(fd, data)
            if os.name == "posix":
                os.fchmod(fd, mode)  # mkstemp makes 0600 already; say it anyway
            os.fsync(fd)
            written = stamp(os.fstat(fd))
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return Path(temp), written


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; best effort (not possible everywhere)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _hold(target: Path) -> int | None:
    """The file as it is now, open for reading; None if it does not exist (or on Windows)."""
    if not _HOLD:
        return None
    try:
        return os.open(target, os.O_RDONLY)
    except FileNotFoundError:
        return None


def _link_aside(target: Path, held: int | None) -> Path | None:
    """A second name for the held file, so that it can be put back; None if impossible."""
    if held is None:
        return None
    aside = target.parent / f"{temp_prefix(target)}{os.urandom(6).hex()}.old.tmp"
    try:
        os.link(target, aside)
    except OSError as err:
        log.debug("%s: no hard link beside it (%s)", target, err.strerror)
        return None
    if os.stat(aside).st_ino != os.fstat(held).st_ino:  # replaced meanwhile: not ours
        os.unlink(aside)
        return None
    return aside


def _contents(fd: int) -> bytes:
    """Everything the open file holds now."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _unchanged(target: Path, snap: Snapshot, held: int | None) -> bool:
    """True if ``target`` is as it was read: same inode, size, mtime and bytes.

    The bytes are compared too because some file systems keep mtime coarsely.
    """
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return snap.stamp is None
    if stamp(st) != snap.stamp:
        return False
    if held is None:  # not held open (Windows): read it by its name
        try:
            return read_whole(target).data == snap.current
        except OSError:
            return False
    return os.fstat(held).st_ino == st.st_ino and _contents(held) == snap.current


def _touched(held: int, snap: Snapshot) -> bool:
    """True if the held file was written to since ``snap`` was read."""
    return stamp(os.fstat(held)) != snap.stamp or _contents(held) != snap.current
