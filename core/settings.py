"""Which sections of the credentials file are kept, for which profile, in which style.

One JSON file, ``<config dir>/settings.json``::

    {"sections": {"tray-managed": {"profile": "dev", "style": "keys"}}}

Each write also writes ``sections.index`` (``section TAB profile TAB style`` lines), which
``fastpath.section_profile`` reads without json, from the same data in the same locked
operation, after the JSON: its first line holds the sha256 of the settings.json it was
made from, so a reader sees when the two disagree (a hand edit, a write cut short) and
reads the JSON instead; the next reader of the JSON writes the index again. Writes are
atomic (temporary file in the same folder, fsync, rename), 0600, under a lock; readers
never need the lock. A file that cannot be read counts as "nothing selected", so a
hand-edited typo stops no reader.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from rolebar.core import locks, paths
from rolebar.core.atomic import Stamp, stamp_of, write_private
from rolebar.core.errors import ConfigError
from rolebar.core.fastpath import SECTIONS_INDEX, index_header
from rolebar.core.sections import check_section
from rolebar.core.state import Style

log = logging.getLogger(__name__)

STYLES: tuple[Style, ...] = ("keys", "process")
DEFAULT_SECTION = "tray-managed"
# `process` lets a long-running SDK client refresh in-process (`pnpm dev` all day); `keys`
# is chosen for containers that mount ~/.aws and tools without credential_process.
DEFAULT_STYLE: Style = "process"
# What an entry without a "style" meant before `process` became the default: it stays so.
_UNRECORDED_STYLE: Style = "keys"
# The tray's "Keep fresh" submenu keeps a checked profile P in [tray-managed-P].
TRAY_PREFIX = "tray-managed-"
# How many recently chosen roles the tray's picker remembers (settings.json "recent").
RECENT = 8

@dataclass(frozen=True)
class SectionSetting:
    name: str
    profile: str
    style: Style


def tray_section(profile: str) -> str:
    """The section the tray's "Keep fresh" checkbox for `profile` keeps."""
    return f"{TRAY_PREFIX}{profile}"


def check_style(style: str) -> Style:
    if style in STYLES:
        return style
    raise ConfigError("usage", f"style must be keys or process, not {style!r}")


class Settings:
    """The settings file; every method reads it afresh (another process may change it)."""

    def __init__(self, path: Path | None = None, lock_timeout: float = 10.0) -> None:
        self._path = path
        self._lock_timeout = lock_timeout

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = paths.config_dir() / "settings.json"
        return self._path

    # -- reading -----------------------------------------------------------------------

    def sections(self) -> dict[str, SectionSetting]:
        """The kept sections by name; entries that make no sense are left out (and logged)."""
        data, raw = self._read()
        found = self._parse(data)
        if raw is not None:
            self._reindex(raw, found, stale_only=True)
        return found

    def _parse(self, data: dict[str, Any]) -> dict[str, SectionSetting]:
        found: dict[str, SectionSetting] = {}
        for name, entry in data.get("sections", {}).items():
            profile = entry.get("profile") if isinstance(entry, dict) else None
            style = entry.get("style", _UNRECORDED_STYLE) if isinstance(entry, dict) else None
            if not isinstance(profile, str) or not profile or style not in STYLES:
                log.warning("section %s: ignoring a malformed entry in %s", name, self.path)
                continue
            try:
                check_section(name)  # a hand-edited file is held to what `select` accepts
            except ConfigError as exc:
                log.warning("%s: ignoring it in %s: %s", exc.subject, self.path, exc.cause)
                continue
            found[name] = SectionSetting(name, profile, cast(Style, style))
        return found

    def get(self, name: str) -> SectionSetting | None:
        return self.sections().get(name)

    def stamp(self) -> Stamp | None:
        """Cheap change detection for the keeper's wake-ups (no read, no parse)."""
        try:
            return stamp_of(self.path)
        except OSError:
            return None

    # -- changing ----------------------------------------------------------------------

    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None, found: Style | None = None) -> SectionSetting:
        """Keep `section` for `profile`; the section keeps its style unless one is given.

        `found` is the style of the section as the credentials file holds it: used when
        the settings record none for it (it keeps the style it has), else DEFAULT_STYLE.
        """
        check_section(section)
        if style is not None:
            check_style(style)

        def change(sections: dict[str, Any]) -> None:
            old = sections.get(section)
            old_style = old.get("style", _UNRECORDED_STYLE) if isinstance(old, dict) else None
            kept = old_style if old_style in STYLES else found
            sections[section] = {"profile": profile, "style": style or kept or DEFAULT_STYLE}

        data = self._update(change)
        entry = data["sections"][section]
        return SectionSetting(section, entry["profile"], entry["style"])

    def unselect(self, section: str) -> bool:
        """Stop keeping `section`; False if it was not kept."""
        removed: list[bool] = []

        def change(sections: dict[str, Any]) -> None:
            removed.append(sections.pop(section, None) is not None)

        self._update(change)
        return removed[0]

    def set_style(self, section: str, style: Style) -> SectionSetting:
        check_style(style)

        def change(sections: dict[str, Any]) -> None:
            entry = sections.get(section)
            if not isinstance(entry, dict):
                raise ConfigError(f"section {section}",
                                  "is not kept; run `rolebar select PROFILE --section "
                                  f"{section}` first")
            entry["style"] = style

        data = self._update(change)
        entry = data["sections"][section]
        return SectionSetting(section, entry["profile"], entry["style"])

    # -- the tray's role picker: recently chosen and pinned roles -----------------------

    def picks(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the recently chosen roles, newest first; the pinned roles, sorted)."""
        data = self._load()
        return _names(data.get("recent")), _names(data.get("pinned"))

    def used(self, profile: str, keep: int = RECENT) -> None:
        """`profile` was just chosen: first of the recent roles, which keep `keep`."""

        def change(data: dict[str, Any]) -> None:
            older = [p for p in _names(data.get("recent")) if p != profile]
            data["recent"] = [profile, *older][:keep]

        self._change(change)

    def pin(self, profile: str, on: bool) -> None:
        def change(data: dict[str, Any]) -> None:
            others = [p for p in _names(data.get("pinned")) if p != profile]
            data["pinned"] = sorted([*others, profile]) if on else others

        self._change(change)

    # -- internals ---------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        return self._read()[0]

    def _read(self) -> tuple[dict[str, Any], bytes | None]:
        """The settings, and the file's bytes as read (None if there is no file)."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
            data = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            return {"sections": {}}, None
        except (OSError, ValueError) as exc:
            log.warning("settings %s: unreadable (%s); nothing selected", self.path,
                        type(exc).__name__)
            return {"sections": {}}, None
        if not isinstance(data, dict) or not isinstance(data.get("sections"), dict):
            return {"sections": {}}, raw
        return data, raw

    def _update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        return self._change(lambda data: change(data["sections"]))

    def _change(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        with self._locked():
            data = self._load()
            change(data)
            self._write(data)
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        busy = ConfigError(f"settings {self.path}", "another rolebar process holds its lock")
        with locks.held(self._folder() / ".settings.lock", self._lock_timeout, lambda: busy):
            yield

    def _folder(self) -> Path:
        try:
            return paths.private_dir(self.path.parent)
        except OSError as exc:
            raise ConfigError(f"settings {self.path}",
                              f"cannot create its folder ({exc.strerror})") from None

    def _write(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        try:
            write_private(self.path, text)
        except OSError as exc:
            raise ConfigError(f"settings {self.path}", f"cannot write ({exc.strerror})") from None
        self._reindex(text.encode("utf-8"), self._parse(data))

    def _reindex(self, raw: bytes, found: dict[str, SectionSetting],
                 stale_only: bool = False) -> None:
        """Write the fast path's index of the settings.json whose bytes are ``raw``.

        Without the lock too: an index written from an older settings.json names that
        one in its first line, so no reader takes it for the current one.
        """
        header = index_header(raw)
        path = self.path.with_name(SECTIONS_INDEX)
        if stale_only:
            with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
                if f.readline().rstrip("\n") == header:
                    return
        lines = "".join(f"{s.name}\t{s.profile}\t{s.style}\n"
                        for s in sorted(found.values(), key=lambda s: s.name))
        try:
            write_private(path, f"{header}\n{lines}")
        except OSError as exc:  # the fast path then reads settings.json instead
            log.log(logging.INFO if stale_only else logging.WARNING,
                    "settings %s: cannot write its index (%s)", self.path, exc.strerror)


def _names(value: Any) -> tuple[str, ...]:
    """A hand-edited list read leniently: its non-empty strings, once each, in order."""
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))
