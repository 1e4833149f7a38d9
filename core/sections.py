"""What a kept section of the credentials file holds, in each style."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Literal

from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError

Style = Literal["keys", "process"]


def rolebar_command() -> str:
    """The absolute path of the `rolebar` command, quoted for `credential_process`."""
    name = "rolebar.exe" if sys.platform == "win32" else "rolebar"
    if getattr(sys, "frozen", False):  # a PyInstaller build is the command itself
        found: str | None = sys.executable
    else:
        candidates = [Path(sys.executable).parent / name, Path(sys.argv[0]).parent / name]
        found = next((str(p.absolute()) for p in candidates if p.is_file()), None)
        found = found or shutil.which("rolebar")
    if not found:
        raise ConfigError("rolebar", "cannot find the rolebar command for credential_process")
    if sys.platform == "win32":
        return f'"{found}"' if " " in found else found
    return shlex.quote(found)


def section_values(style: Style, section: str, creds: Credentials | None,
                   region: str | None, command: str | None = None) -> dict[str, str] | None:
    """What `[section]` holds in `style`; None while keys are not fetched yet."""
    values: dict[str, str]
    if style == "process":
        values = {"credential_process":
                  f"{command or rolebar_command()} process --section {section}"}
    elif creds is None:
        return None
    else:
        values = {
            "aws_access_key_id": creds.access_key_id,
            "aws_secret_access_key": creds.secret_access_key,
            "aws_session_token": creds.session_token,
            # For people and scripts; the SDKs ignore it.
            "rolebar_expiration": creds.expiration,
        }
    if region:
        values["region"] = region
    return values
