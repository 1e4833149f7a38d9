"""macOS: a LaunchAgent (``~/Library/LaunchAgents``)."""

from __future__ import annotations

import os
import plistlib
import xml.parsers.expat
from collections.abc import Sequence
from pathlib import Path

from rolebar.core.autostart.common import (
    LAUNCH_AGENT_LABEL,
    remove_entry,
    tray_command,
    write_entry,
)


class LaunchAgent:
    """``~/Library/LaunchAgents/com.rolebar.tray.plist``, read by launchd at login.

    launchctl is deliberately not called: ``bootstrap`` would start a second tray next to
    the one whose "Start at login" item was just ticked, and ``bootout`` would kill a tray
    that launchd started. The file alone decides what happens at the next login.
    """

    def __init__(self, home: Path | None = None, command: Sequence[str] | None = None) -> None:
        self._home = home
        self._command = list(command) if command is not None else None

    @property
    def path(self) -> Path:
        home = self._home if self._home is not None else Path(os.path.expanduser("~"))
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def job(self) -> dict[str, object]:
        """The plist's content; the keys of packaging/com.rolebar.tray.plist."""
        command = self._command if self._command is not None else tray_command()
        return {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            # A tray the user quits must stay quit.
            "KeepAlive": False,
        }

    def enable(self) -> None:
        write_entry(self.path, plistlib.dumps(self.job(), fmt=plistlib.FMT_XML))

    def disable(self) -> None:
        remove_entry(self.path)

    @property
    def enabled(self) -> bool:
        try:
            with self.path.open("rb") as file:
                job = plistlib.load(file)
        except FileNotFoundError:
            return False
        except (OSError, ValueError, xml.parsers.expat.ExpatError):
            return False  # launchd will not load a file it cannot read or parse either
        return isinstance(job, dict) and job.get("Disabled") is not True

    def describe(self) -> str:
        return str(self.path)

