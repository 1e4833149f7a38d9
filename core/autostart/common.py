"""What every adapter shares: the tray's command line, and writing or removing an entry."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

from rolebar.core.atomic import write_private
from rolebar.core.errors import ConfigError

TRAY_SCRIPT = "rolebar-tray"
TRAY_MODULE = "rolebar.tray.app"
ENTRY_NAME = "rolebar"  # the .desktop file's stem and the Windows Run value's name
LAUNCH_AGENT_LABEL = "com.rolebar.tray"


def tray_command(
    platform: str = sys.platform,
    executable: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """The absolute command line that starts the tray of this installation.

    Looks for the ``rolebar-tray`` script next to the interpreter first (the script of
    the same install, even if another one comes first on PATH), then on PATH, and falls
    back to ``python -m rolebar.tray.app`` (``pythonw`` on Windows, so no console window
    opens at login). ``executable`` replaces ``sys.executable`` and the interpreter's
    scripts folder, for tests.
    """
    windows = platform == "win32"
    script = TRAY_SCRIPT + (".exe" if windows else "")
    python = Path(os.path.abspath(executable or sys.executable))
    folders = [python.parent]
    if windows:
        folders.append(python.parent / "Scripts")  # a base install keeps scripts there
    if executable is None:
        folders.append(Path(sysconfig.get_path("scripts")))
    for folder in folders:
        candidate = folder / script
        if candidate.is_file() and (windows or os.access(candidate, os.X_OK)):
            return [str(candidate)]
    found = which(script)
    if found:
        return [os.path.abspath(found)]
    if windows and python.with_name("pythonw.exe").is_file():
        python = python.with_name("pythonw.exe")
    return [str(python), "-m", TRAY_MODULE]



def write_entry(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step (mode 0644), following a symlink to its target.

    A dotfiles manager may have linked the entry into a repository; replacing the link by
    a plain file would silently cut it loose. The session manager reads the entry, and
    nothing in it is secret.
    """
    try:
        Path(os.path.realpath(path)).parent.mkdir(parents=True, exist_ok=True)
        write_private(path, data, mode=0o644, follow=True)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot write: {exc.strerror or exc}") from exc


def remove_entry(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot remove: {exc.strerror or exc}") from exc
