"""What a kept section of the credentials file holds, in each style."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, SectionError
from rolebar.core.state import Style

# What a section name may hold: configparser reads a header up to its last "]", and
# botocore strips the name; keep to names every tool reads the same way.
_NAME = re.compile(r"[A-Za-z0-9_.@+=,:/-]{1,128}")
# configparser's defaults section: its keys would leak into every profile of the file.
_DEFAULTS = "DEFAULT"


def check_section(name: str, env: Mapping[str, str] | None = None) -> str:
    """The one check of a section name rolebar is asked to keep (exit 2 if refused).

    Always: a name every INI reader sees the same way, which `credential_process ...
    --section NAME` can carry. With `env`, also: not a profile the AWS files already
    define, since a kept section of that name would override it for every tool.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"section {name!r}",
                          "a section name is letters, digits and _.@+=,:/- only")
    if name.startswith("-"):
        raise ConfigError(f"section {name}", "a section name cannot start with '-' (the "
                          "credential_process line would read it as an option)")
    if name == _DEFAULTS:
        raise ConfigError(f"section {name}", "is the INI defaults section, whose keys "
                          "would apply to every profile")
    if env is not None:
        _check_not_a_profile(name, env)
    return name


def _check_not_a_profile(name: str, env: Mapping[str, str]) -> None:
    from rolebar.core import paths
    from rolebar.core.credfile import MARKER, section_status
    from rolebar.core.profiles import config_profile_names

    config = paths.aws_config_file(env)
    if name in config_profile_names(config):
        raise ConfigError(f"section {name}", f"is a profile in {config}; a kept section of "
                          "that name would override it (choose another --section)")
    credentials = paths.aws_credentials_file(env)
    if section_status(credentials, name) == "unmanaged":
        raise ConfigError(f"section {name}", f"[{name}] in {credentials} has no '{MARKER}' "
                          "marker; rolebar leaves it alone (rename or delete it first)")


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


# What a keys section holds between a role switch and the new role's keys: no credentials
# (tools fail with "Unable to locate credentials" rather than act as the old role), and
# one line saying why. credfile writes no empty section: its marker could end up
# directly above the next header.
SWITCHING_KEY = "rolebar_switching_to"


def switching_values(profile: str) -> dict[str, str]:
    """A keys section while `profile`'s credentials are not there yet after a switch."""
    return {SWITCHING_KEY: profile}


def style_in_file(values: Mapping[str, str] | None) -> Style | None:
    """The style a section of the file is written in; None if it shows neither."""
    if not values:
        return None
    if "credential_process" in values:
        return "process"
    return "keys" if "aws_access_key_id" in values or SWITCHING_KEY in values else None


def found_style(path: Path, section: str) -> Style | None:
    """The style of rolebar's own `[section]` in the credentials file at `path`, if any.

    `select` uses it when the settings record no style for the section: a marked section
    a container already reads as keys stays keys.
    """
    from rolebar.core.credfile import read_section, section_status

    try:
        if section_status(path, section) != "managed":
            return None
        return style_in_file(read_section(path, section))
    except SectionError:
        return None


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
