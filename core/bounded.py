"""Run a short command with bounded output and a timeout it cannot escape.

For `generate_token` (swrole's code command) and the like: a hostile or unlucky command
may flood its output (`yes 123456`, a password prompt repeated because stdin is not a
terminal), hang, or leave a detached child (`setsid`, a password manager's agent) that
holds the pipe for hours. None of that may cost memory or stall the caller.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# A code needs 7 bytes; a command printing more is not printing a code (`yes 123456`, a
# password prompt in a loop) and is stopped rather than buffered.
MAX_OUTPUT = 4096
_POLL = 0.05  # how often a running command is checked for its exit
_REAP = 5.0  # the longest wait for a killed command to go


@dataclass(frozen=True)
class Output:
    """What a bounded run left: its exit status and at most `limit` bytes of stdout."""

    returncode: int
    stdout: bytes
    overflow: bool  # it printed more than `limit`: not a code, and it was stopped


def run_bounded(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                limit: int = MAX_OUTPUT) -> Output:
    """Run `argv` with no stdin and stderr discarded, reading at most `limit` bytes of stdout.

    Raises subprocess.TimeoutExpired once `timeout` seconds have passed. The timeout and
    an overflow end the whole process group; the command's own exit ends the wait even
    when a detached grandchild (`setsid`, a password manager's agent) still holds stdout.
    """
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env,
                            start_new_session=os.name == "posix")
    assert proc.stdout is not None
    try:
        read = _read_posix if os.name == "posix" else _read_thread
        out = read(proc, proc.stdout.fileno(), deadline, limit)
        timed_out = proc.returncode is None and len(out) <= limit
        if proc.returncode is None:
            _kill(proc)
        if timed_out or proc.returncode is None:
            raise subprocess.TimeoutExpired(list(argv), timeout)
    except BaseException:
        _kill(proc)
        raise
    finally:
        if os.name == "posix":
            proc.stdout.close()
    return Output(proc.returncode, out[:limit], len(out) > limit)


def _read_posix(proc: subprocess.Popen[bytes], fd: int, deadline: float, limit: int) -> bytes:
    """Read until the command exits, the deadline passes or more than `limit` arrived.

    Non-blocking reads behind select(): a pipe kept open by someone else never blocks us.
    """
    os.set_blocking(fd, False)
    out = bytearray()
    eof = False
    while len(out) <= limit:
        if proc.poll() is not None:  # take what it left in the pipe, and no more
            if not eof:
                out += _read_some(fd, limit + 1 - len(out)) or b""
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if eof:  # it closed stdout but runs on: wait for its exit only
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(min(left, _POLL))
            continue
        if select.select([fd], [], [], min(left, _POLL))[0]:
            data = _read_some(fd, limit + 1 - len(out))
            eof = data == b""
            out += data or b""
    return bytes(out)


def _read_some(fd: int, size: int) -> bytes | None:
    """Up to `size` bytes; b"" at end of file; None when nothing is there yet."""
    try:
        return os.read(fd, size)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _read_thread(proc: subprocess.Popen[bytes], fd: int, deadline: float, limit: int) -> bytes:
    """Windows has no select() on pipes: a daemon thread reads, we wait with the deadline.

    A pipe held open by a grandchild leaves that thread blocked, never us.
    """
    out = bytearray()

    def pump() -> None:
        while len(out) <= limit and (data := os.read(fd, limit + 1 - len(out))):
            out.extend(data)

    reader = threading.Thread(target=pump, name="rolebar-token-output", daemon=True)
    reader.start()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(max(0.0, deadline - time.monotonic()))
    reader.join(max(0.0, min(_POLL, deadline - time.monotonic())))
    return bytes(out)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End the command and everything still in its process group; never wait long."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(_REAP)
