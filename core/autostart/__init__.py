"""Start the tray at login: one interface, one small adapter per mechanism, one module each.

- ``XdgAutostart`` (xdg.py): ``$XDG_CONFIG_HOME/autostart/rolebar.desktop`` (Linux, BSDs).
- ``LaunchAgent`` (launchd.py): ``~/Library/LaunchAgents/com.rolebar.tray.plist`` (macOS).
- ``WindowsRun`` (windows.py): the ``rolebar`` value under ``HKCU\\...\\CurrentVersion\\Run``.
- ``Unsupported``: anything else; enable and disable raise ``ConfigError``.

``pick()`` chooses by platform. Constructors do no I/O (they only keep what they were
given), so building an adapter to ask ``enabled`` never changes anything. ``enable()`` and
``disable()`` are idempotent. Every entry names the tray by absolute path, because a login
session (launchd, a desktop session's autostart, Explorer) does not have the user's shell
PATH (common.py: ``tray_command``, and the entry files written through core/atomic.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rolebar.core.errors import ConfigError

if TYPE_CHECKING:
    from rolebar.core.autostart.common import tray_command
    from rolebar.core.autostart.launchd import LaunchAgent
    from rolebar.core.autostart.windows import (
        APPROVED_ENABLED,
        APPROVED_KEY,
        RUN_KEY,
        Registry,
        WindowsRun,
        windows_command_line,
    )
    from rolebar.core.autostart.xdg import XdgAutostart, desktop_exec, render_desktop_entry

# Each name's module, loaded on first use (PEP 562): the tray on Linux never loads the
# macOS adapter's plistlib and XML parser, nor the Windows one.
_LAZY = {
    "tray_command": "common", "LaunchAgent": "launchd", "APPROVED_ENABLED": "windows",
    "APPROVED_KEY": "windows", "RUN_KEY": "windows", "Registry": "windows",
    "WindowsRun": "windows", "windows_command_line": "windows", "XdgAutostart": "xdg",
    "desktop_exec": "xdg", "render_desktop_entry": "xdg",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "APPROVED_ENABLED", "APPROVED_KEY", "RUN_KEY", "AutoStart", "LaunchAgent", "Registry",
    "Unsupported", "WindowsRun", "XdgAutostart", "desktop_exec", "pick",
    "render_desktop_entry", "tray_command", "windows_command_line",
]


class AutoStart(Protocol):
    """Starting the tray at login, whatever the mechanism."""

    def enable(self) -> None:
        """Start the tray at every login from now on (also undoes a user's opt-out)."""

    def disable(self) -> None:
        """Stop starting the tray at login; nothing to do if it was not enabled."""

    @property
    def enabled(self) -> bool:
        """Whether the next login will start the tray, as far as this mechanism says."""

    def describe(self) -> str:
        """One line saying where the setting lives (a file path or a registry value)."""



class Unsupported:
    """A platform with no known autostart mechanism: never enabled, cannot be enabled."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def enable(self) -> None:
        raise ConfigError("autostart", f"not supported on {self.platform}")

    def disable(self) -> None:
        raise ConfigError("autostart", f"not supported on {self.platform}")

    @property
    def enabled(self) -> bool:
        return False

    def describe(self) -> str:
        return f"not supported on {self.platform}"


_XDG_PLATFORMS = ("linux", "freebsd", "openbsd", "netbsd", "dragonfly")


def pick(
    platform: str = sys.platform,
    *,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    registry: Registry | None = None,
) -> AutoStart:
    """The adapter for ``platform``; the keyword arguments reach the one that uses them."""
    if platform == "darwin":
        from rolebar.core.autostart.launchd import LaunchAgent

        return LaunchAgent(home=home, command=command)
    if platform == "win32":
        from rolebar.core.autostart.windows import WindowsRun

        return WindowsRun(registry=registry, command=command)
    if platform.startswith(_XDG_PLATFORMS):
        from rolebar.core.autostart.xdg import XdgAutostart

        return XdgAutostart(env=env, command=command)
    return Unsupported(platform)
