"""Logging: a rotating file in the platform log directory, and a redacting filter.

Log lines name the subject (`profile NAME:`, `section NAME:`) and never the secret; the
filter is a second safety net that masks anything shaped like an AWS key, secret or token.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re

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


def setup(debug: bool = False, *, to_file: bool = True) -> None:
    """Configure the `rolebar` logger once per process; `--debug` also logs to stderr."""
    root = logging.getLogger("rolebar")
    if root.handlers:
        return
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    fmt = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    if to_file:
        try:
            folder = paths.private_dir(paths.log_dir())
            handler = logging.handlers.RotatingFileHandler(
                folder / "rolebar.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
            )
            os.chmod(folder / "rolebar.log", 0o600)
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
