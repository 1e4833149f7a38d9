"""One error family that already knows its output line.

Every error names a subject (a profile, a file, a section or an MFA device) and a cause,
and carries the exit status of DESIGN.md section 5. ``cli.main`` is the only place that
prints them: ``rolebar: <subject>: <cause>``. Messages are built from names and error
codes only, never from secrets.
"""

from __future__ import annotations

import re


class RolebarError(Exception):
    """Could not get credentials (STS, MFA, network): exit 1."""

    exit_code = 1

    def __init__(self, subject: str, cause: str) -> None:
        # One line with no terminal controls, whatever the names and messages quoted hold.
        subject, cause = printable(subject), printable(cause)
        super().__init__(f"{subject}: {cause}")
        self.subject = subject
        self.cause = cause


# Control characters (C0, DEL, C1) and Unicode line breaks: a name or a message quoted
# from input could otherwise move the cursor, recolour or clear the terminal, ring the bell
# or split the one line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every control character escaped (`\\n`, `\\x1b`, `\\u2028`)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


# -- usage and configuration: exit 2 ------------------------------------------------------


class ConfigError(RolebarError):
    """The AWS files or rolebar's settings are wrong, or the command line is."""

    exit_code = 2


class ProfileNotFound(ConfigError):
    """No such profile in the AWS files."""


# -- getting credentials: exit 1 ----------------------------------------------------------


class NoCodeError(RolebarError):
    """No source could supply a one-time code."""


class CodeReusedError(RolebarError):
    """A given code was already sent once and cannot be sent again."""


class StsError(RolebarError):
    """STS refused the call or could not be reached.

    ``code`` is AWS's error code (``Error.Code``) and ``status`` the HTTP status, or None
    when no answer came: callers decide on these, never on the text of a message.
    """

    def __init__(self, subject: str, cause: str, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(subject, cause)
        self.code = code
        self.status = status


class SectionError(RolebarError):
    """A section of the credentials file could not be written."""


class EngineBusy(RolebarError):
    """Another engine (keep or tray) is already running for this user."""

    exit_code = 2
