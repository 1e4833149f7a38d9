"""One error family that already knows its output line.

Every error names a subject (a profile, a file, a section or an MFA device) and a cause,
and carries the exit status of DESIGN.md section 5. ``cli.main`` is the only place that
prints them: ``rolebar: <subject>: <cause>``. Messages are built from names and error
codes only, never from secrets.
"""

from __future__ import annotations


class RolebarError(Exception):
    """Could not get credentials (STS, MFA, network): exit 1."""

    exit_code = 1

    def __init__(self, subject: str, cause: str) -> None:
        subject, cause = _one_line(subject), _one_line(cause)
        super().__init__(f"{subject}: {cause}")
        self.subject = subject
        self.cause = cause


def _one_line(text: str) -> str:
    """Names and values quoted from the AWS files may span lines; the message must not."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


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
    """STS refused the call or could not be reached."""


class SectionError(RolebarError):
    """A section of the credentials file could not be written."""


class EngineBusy(RolebarError):
    """Another engine (keep or tray) is already running for this user."""

    exit_code = 2
