"""Linux and the BSDs: an XDG autostart entry (``$XDG_CONFIG_HOME/autostart``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rolebar.core.autostart.common import ENTRY_NAME, remove_entry, tray_command, write_entry

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
        write_entry(self.path, self._render(hidden=False).encode("utf-8"))

    def disable(self) -> None:
        if any(_entry_active(path) for path in self._system_entries()):
            # Removing our file would let the system-wide entry start the tray again.
            write_entry(self.path, self._render(hidden=True).encode("utf-8"))
        else:
            remove_entry(self.path)

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

