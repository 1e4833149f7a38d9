"""Start the tray at login: one interface, one small adapter per mechanism.

- ``XdgAutostart``: ``$XDG_CONFIG_HOME/autostart/rolebar.desktop`` (Linux and the BSDs).
- ``LaunchAgent``: ``~/Library/LaunchAgents/com.rolebar.tray.plist`` (macOS).
- ``WindowsRun``: the ``rolebar`` value under ``HKCU\\...\\CurrentVersion\\Run`` (Windows).
- ``Unsupported``: anything else; enable and disable raise ``ConfigError``.

``pick()`` chooses by platform. Constructors do no I/O (they only keep what they were
given), so building an adapter to ask ``enabled`` never changes anything. ``enable()`` and
``disable()`` are idempotent. Every entry names the tray by absolute path, because a login
session (launchd, a desktop session's autostart, Explorer) does not have the user's shell
PATH.
"""

from __future__ import annotations

import logging
import os
import plistlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import xml.parsers.expat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from rolebar.core.errors import ConfigError

log = logging.getLogger(__name__)

TRAY_SCRIPT = "rolebar-tray"
TRAY_MODULE = "rolebar.tray.app"
ENTRY_NAME = "rolebar"  # the .desktop file's stem and the Windows Run value's name
LAUNCH_AGENT_LABEL = "com.rolebar.tray"


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


# -- the command that login starts ------------------------------------------------------


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


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step (mode 0644), following a symlink to its target.

    A dotfiles manager may have linked the entry into a repository; replacing the link by
    a plain file would silently cut it loose.
    """
    target = Path(os.path.realpath(path))
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # read by the session manager, and nothing secret in it
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot write: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot remove: {exc.strerror or exc}") from exc


# -- Linux and the BSDs: an XDG autostart entry ------------------------------------------

# Characters that force an Exec argument into double quotes (Desktop Entry spec, "The Exec
# key"), and the ones that must then be backslash-escaped inside the quotes.
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_ESCAPED = frozenset('"`$\\')


def desktop_exec(argv: Sequence[str]) -> str:
    """``argv`` as the value of an ``Exec`` key, quoted and escaped per the spec.

    Three layers: ``%`` is doubled (field codes), arguments with reserved characters are
    quoted, and then the string-value escapes apply to the whole line, which is why a
    backslash in a quoted argument ends up as four backslashes in the file.
    """
    words = []
    for arg in argv:
        word = arg.replace("%", "%%")
        if not word or any(ch in _EXEC_RESERVED for ch in word):
            word = '"' + "".join("\\" + ch if ch in _EXEC_ESCAPED else ch for ch in word) + '"'
        words.append(word)
    line = " ".join(words)
    for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        line = line.replace(raw, escaped)
    return line


def render_desktop_entry(template: str, argv: Sequence[str], *, hidden: bool = False) -> str:
    """The autostart entry: the shipped template with ``Exec`` set to ``argv``.

    ``hidden`` adds ``Hidden=true``, the spec's way to switch off an entry of the same
    name in a system-wide autostart folder.
    """
    lines = ["# Written by `rolebar autostart enable`; `rolebar autostart disable` undoes it."]
    group = None
    for line in template.splitlines():
        stripped = line.strip()
        if group is None and (not stripped or stripped.startswith("#")):
            continue  # the template's own header comment is about the template
        if stripped.startswith("[") and stripped.endswith("]"):
            group = stripped[1:-1]
        elif group == "Desktop Entry" and stripped.split("=", 1)[0].strip() == "Exec":
            line = f"Exec={desktop_exec(argv)}"
            if hidden:
                lines.append(line)
                line = "Hidden=true"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _desktop_entry_keys(text: str) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group; enough for Hidden and friends."""
    keys: dict[str, str] = {}
    group = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            group = stripped[1:-1]
        elif group == "Desktop Entry" and "=" in stripped:
            key, value = stripped.split("=", 1)
            keys[key.strip()] = value.strip()
    return keys


def _is_true(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _is_false(value: str | None) -> bool:
    return value is not None and value.lower() in ("false", "0")


def _entry_active(path: Path) -> bool | None:
    """Whether the entry at ``path`` starts the tray; ``None`` when there is no file.

    A user who switched rolebar off in their desktop's startup settings gets ``Hidden=true``
    or ``X-GNOME-Autostart-enabled=false`` in the file rather than no file, and that choice
    is what counts.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return False  # the session cannot read it either
    keys = _desktop_entry_keys(text)
    return not (_is_true(keys.get("Hidden")) or _is_false(keys.get("X-GNOME-Autostart-enabled")))


class XdgAutostart:
    """An entry in ``$XDG_CONFIG_HOME/autostart`` (default ``~/.config/autostart``)."""

    def __init__(
        self, env: Mapping[str, str] | None = None, command: Sequence[str] | None = None
    ) -> None:
        self._env = env
        self._command = list(command) if command is not None else None

    @property
    def path(self) -> Path:
        return self._config_home() / "autostart" / f"{ENTRY_NAME}.desktop"

    def enable(self) -> None:
        # Always rewritten, also when already enabled: after a reinstall the old entry may
        # name a tray that no longer exists.
        _write_atomic(self.path, self._render(hidden=False).encode("utf-8"))

    def disable(self) -> None:
        if any(_entry_active(path) for path in self._system_entries()):
            # Removing our file would let the system-wide entry start the tray again.
            _write_atomic(self.path, self._render(hidden=True).encode("utf-8"))
        else:
            _remove(self.path)

    @property
    def enabled(self) -> bool:
        # The user's entry overrides a system-wide one of the same name, whatever it says.
        for path in (self.path, *self._system_entries()):
            active = _entry_active(path)
            if active is not None:
                return active
        return False

    def describe(self) -> str:
        return str(self.path)

    def _render(self, *, hidden: bool) -> str:
        from importlib.resources import files

        template = files("rolebar.assets").joinpath("rolebar.desktop").read_text("utf-8")
        command = self._command if self._command is not None else tray_command()
        return render_desktop_entry(template, command, hidden=hidden)

    def _environ(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def _config_home(self) -> Path:
        # The spec ignores an empty or relative XDG_CONFIG_HOME.
        value = self._environ().get("XDG_CONFIG_HOME", "")
        if os.path.isabs(value):
            return Path(value)
        return Path(os.path.expanduser("~")) / ".config"

    def _system_entries(self) -> list[Path]:
        value = self._environ().get("XDG_CONFIG_DIRS") or "/etc/xdg"
        return [
            Path(folder) / "autostart" / f"{ENTRY_NAME}.desktop"
            for folder in value.split(os.pathsep)
            if os.path.isabs(folder)
        ]


# -- macOS: a LaunchAgent ------------------------------------------------------------------


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
        _write_atomic(self.path, plistlib.dumps(self.job(), fmt=plistlib.FMT_XML))

    def disable(self) -> None:
        _remove(self.path)

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


# -- Windows: the Run key ------------------------------------------------------------------

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


# -- anything else -------------------------------------------------------------------------


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
        return LaunchAgent(home=home, command=command)
    if platform == "win32":
        return WindowsRun(registry=registry, command=command)
    if platform.startswith(_XDG_PLATFORMS):
        return XdgAutostart(env=env, command=command)
    return Unsupported(platform)
