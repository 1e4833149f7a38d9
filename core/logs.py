"""Logging: a rotating file in the platform log directory, and a redacting filter.

Log lines name the subject (`profile NAME:`, `section NAME:`) and never the secret; the
filter is a second safety net that masks anything shaped like an AWS key, secret or token.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import logging.handlers
import os
import re
import stat

from rolebar.core import paths

KEY_ID = re.compile(r"\b(A[SK]IA)[A-Z0-9]{8,}([A-Z0-9]{4})\b")
# Secret access keys are 40 base64 characters; session tokens run to hundreds.
SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40,}(?![A-Za-z0-9/+=])")


def redact(text: str) -> str:
    return SECRET.sub("[redacted]", KEY_ID.sub(r"\1…\2", text))


class Redactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def log_file() -> str:
    return str(paths.log_dir() / "rolebar.log")


class PrivateLog(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are 0600 and never a planted link, and which goes quiet
    on its first failure: a full disk must not print "--- Logging error ---" tracebacks to
    the stderr that carries rolebar's one line, or anything around `-j` JSON."""

    broken = False

    def _open(self) -> io.TextIOWrapper:
        # O_NOFOLLOW: a symlink planted at rolebar.log is refused, not written through;
        # O_NONBLOCK: a FIFO planted there fails at once instead of hanging the command.
        flags = (os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        fd = os.open(self.baseFilename, flags, 0o600)  # every new file, rotation too
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", self.baseFilename)
            if os.name == "posix" and info.st_mode & 0o077:
                os.fchmod(fd, 0o600)  # a log an older rolebar left 0644
            return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115
        except BaseException:
            os.close(fd)
            raise

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.broken = True
        with contextlib.suppress(OSError, ValueError):
            self.close()


def setup(debug: bool = False, *, to_file: bool = True) -> None:
    """Configure the `rolebar` logger once per process; `--debug` also logs to stderr.

    With no usable log file the records go nowhere, not to logging's last-resort stderr
    handler: stderr is for the one `rolebar:` line.
    """
    root = logging.getLogger("rolebar")
    if root.handlers:
        return
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    root.addHandler(logging.NullHandler())
    fmt = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    if to_file:
        try:
            folder = paths.private_dir(paths.log_dir())
            handler = PrivateLog(folder / "rolebar.log", maxBytes=1_000_000, backupCount=3,
                                 encoding="utf-8")
        except OSError:
            pass  # a read-only home must not stop credentials from being served
        else:
            handler.setFormatter(fmt)
            handler.addFilter(Redactor())
            root.addHandler(handler)
    if debug:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter("rolebar: debug: %(name)s: %(message)s"))
        stderr.addFilter(Redactor())
        root.addHandler(stderr)


def stacks_on_request() -> None:
    """`kill -USR1 PID` prints every thread's stack to stderr (names and lines, no values):
    how to see where a long-lived process (keep, the tray) waits, should it ever hang."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGUSR1"):  # not on Windows
        with contextlib.suppress(AttributeError, ValueError, OSError):  # stderr with no fd
            faulthandler.register(signal.SIGUSR1, all_threads=True)
