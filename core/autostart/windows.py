"""Windows: the ``rolebar`` value under HKCU's Run key, and Explorer's flag for it."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from typing import Protocol

from rolebar.core.autostart.common import ENTRY_NAME, tray_command
from rolebar.core.errors import ConfigError

log = logging.getLogger(__name__)

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
# Explorer's flag for a Run entry; Task Manager's "Disable" sets bit 0 (0x03) and records
# when in the rest. What it writes when a user enables an entry again:
APPROVED_ENABLED = b"\x02" + bytes(11)


class Registry(Protocol):
    """Values under HKEY_CURRENT_USER: ``str`` is REG_SZ, ``bytes`` is REG_BINARY."""

    def get(self, key: str, name: str) -> str | bytes | None:
        """The value, or ``None`` if the key or value is missing."""

    def set(self, key: str, name: str, value: str | bytes) -> None:
        """Create the key if needed and write the value."""

    def delete(self, key: str, name: str) -> None:
        """Remove the value; nothing to do if it is missing."""


class WinregRegistry:
    """The real HKEY_CURRENT_USER, through ``winreg`` (imported on use, Windows only)."""

    def get(self, key: str, name: str) -> str | bytes | None:
        if sys.platform != "win32":
            raise ConfigError(_hkcu(key), f"no registry on {sys.platform}")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(_hkcu(key), f"cannot read {name}: {exc.strerror}") from exc
        return value if isinstance(value, (str, bytes)) else None

    def set(self, key: str, name: str, value: str | bytes) -> None:
        if sys.platform != "win32":
            raise ConfigError(_hkcu(key), f"no registry on {sys.platform}")
        import winreg

        kind = winreg.REG_BINARY if isinstance(value, bytes) else winreg.REG_SZ
        try:
            with winreg.CreateKeyEx(
                winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE
            ) as handle:
                winreg.SetValueEx(handle, name, 0, kind, value)
        except OSError as exc:
            raise ConfigError(_hkcu(key), f"cannot write {name}: {exc.strerror}") from exc

    def delete(self, key: str, name: str) -> None:
        if sys.platform != "win32":
            raise ConfigError(_hkcu(key), f"no registry on {sys.platform}")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConfigError(_hkcu(key), f"cannot remove {name}: {exc.strerror}") from exc


def _hkcu(key: str) -> str:
    return f"HKCU\\{key}"


def windows_command_line(argv: Sequence[str]) -> str:
    """``argv`` as one command line; the program is always quoted, as Explorer expects."""
    rest = subprocess.list2cmdline(argv[1:])
    return f'"{argv[0]}"' + (f" {rest}" if rest else "")


def _approved_disabled(flag: str | bytes | None) -> bool:
    return isinstance(flag, bytes) and len(flag) > 0 and flag[0] & 1 == 1


class WindowsRun:
    """The ``rolebar`` value under HKCU's Run key, as Task Manager's Startup apps show it."""

    def __init__(
        self, registry: Registry | None = None, command: Sequence[str] | None = None
    ) -> None:
        self._registry = registry if registry is not None else WinregRegistry()
        self._command = list(command) if command is not None else None

    def enable(self) -> None:
        command = self._command if self._command is not None else tray_command("win32")
        self._registry.set(RUN_KEY, ENTRY_NAME, windows_command_line(command))
        if _approved_disabled(self._registry.get(APPROVED_KEY, ENTRY_NAME)):
            # `rolebar autostart enable` (or ticking "Start at login") is an explicit
            # request, so it undoes an earlier "Disable" in Task Manager; but not silently.
            self._registry.set(APPROVED_KEY, ENTRY_NAME, APPROVED_ENABLED)
            log.warning(
                "autostart: rolebar was disabled in Task Manager's startup apps; "
                "enabled it again as asked"
            )

    def disable(self) -> None:
        self._registry.delete(RUN_KEY, ENTRY_NAME)
        # Explorer's flag for a Run value that no longer exists is only clutter.
        self._registry.delete(APPROVED_KEY, ENTRY_NAME)

    @property
    def enabled(self) -> bool:
        if not isinstance(self._registry.get(RUN_KEY, ENTRY_NAME), str):
            return False
        return not _approved_disabled(self._registry.get(APPROVED_KEY, ENTRY_NAME))

    def describe(self) -> str:
        return _hkcu(f"{RUN_KEY}\\{ENTRY_NAME}")

