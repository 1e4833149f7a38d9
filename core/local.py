"""The engine client when no engine runs (client.py chooses it): this process records a
choice in the settings and writes what a section can hold with no credentials (a `process`
section at once; a `keys` section cleared of another role's keys); `status` shows the kept
sections as idle. RemoteEngine (client.py) falls back on it when its engine goes away.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from rolebar.core import paths
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError, RolebarError, SectionError
from rolebar.core.sections import check_section, found_style, section_values, switching_values
from rolebar.core.settings import DEFAULT_SECTION, SectionSetting, Settings
from rolebar.core.state import EngineInfo, KeeperState, SectionState, Style

START_ONE = "start one with `rolebar keep` or `rolebar tray`"
NOT_RUNNING = "no engine running"  # the problem a kept section shows while none runs


@dataclass(frozen=True)
class Status:
    engine: EngineInfo | None  # None: no engine runs (the sections as recorded, idle)
    state: KeeperState


@dataclass(frozen=True)
class Choice:
    """Keep `section` for `profile`; no style: as recorded, else as found, else process."""

    profile: str
    section: str = DEFAULT_SECTION
    style: Style | None = None


class Recorded:
    """What every client reads alike: this process's engine and the settings file."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def setting(self, section: str) -> SectionSetting | None:
        return self.settings.get(section)

    def kept(self) -> list[str]:
        return sorted(self.settings.sections())


class LocalEngine(Recorded):
    """No engine runs: this process records choices and writes what it can itself."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(engine, settings)
        self.info: EngineInfo | None = None

    def ping(self) -> EngineInfo | None:
        return self.info

    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None) -> SectionSetting:
        """Keep `section` for `profile`, once the profile can be planned and the section
        is rolebar's (or missing). A section already in the file keeps the style it is
        written in unless `style` says otherwise (a container may read its keys)."""
        check_section(section)
        self.engine.plan(profile)
        check_section(section, self.engine.env)
        self._writable(section)
        before = self.settings.get(section)
        chosen = self.settings.select(profile, section, style,
                                      found_style(self._file(), section))
        self._applied_or_undone(before, chosen)
        return chosen

    def unselect(self, section: str) -> bool:
        removed = self.settings.unselect(section)
        self._dropped(section)
        return removed

    def set_style(self, section: str, style: Style) -> SectionSetting:
        self._writable(section)
        before = self.settings.get(section)
        chosen = self.settings.set_style(section, style)
        self._applied_or_undone(before, chosen)
        return chosen

    def reload(self) -> None:
        """Nothing runs to tell: the settings file is the record."""

    def refresh_now(self, section: str | None = None) -> None:
        raise ConfigError(f"section {section}" if section else "engine",
                          f"no engine is running; {START_ONE}")

    def submit_code(self, device: str, code: str) -> None:
        raise ConfigError(device, f"no engine is running to take the code; {START_ONE}")

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        return None  # nobody here to ask

    def status(self) -> Status:
        found = tuple(self._idle(s) for s in self.settings.sections().values())
        return Status(None, KeeperState(found, (), (), ()))

    def _idle(self, setting: SectionSetting) -> SectionState:
        try:
            cached = self.engine.cached(setting.profile)
        except Exception:  # noqa: BLE001 - status shows what it can
            cached = None
        return SectionState(setting.name, setting.profile, setting.style, "idle",
                            cached.expires if cached else None, NOT_RUNNING)

    # -- the file, where no engine runs to write it ----------------------------------------

    def _file(self) -> Path:
        return paths.aws_credentials_file(self.engine.env)

    def _writable(self, section: str) -> None:
        """Refuse a choice whose section the credentials file could not take (a dangling
        symlink, a symlink loop, a folder), before anything is recorded."""
        from rolebar.core.credfile import SectionWriter

        try:
            SectionWriter(self._file()).check(section)
        except SectionError as exc:
            raise ConfigError(exc.subject, exc.cause) from None

    def _applied_or_undone(self, before: SectionSetting | None,
                           chosen: SectionSetting) -> None:
        """Apply a recorded choice; if that fails, the record goes back to what it was:
        a choice is recorded fully or not at all (the error raised says why)."""
        try:
            self._applied(before, chosen)
        except BaseException:
            with contextlib.suppress(RolebarError):
                if before is None:
                    self.settings.unselect(chosen.name)
                else:
                    self.settings.select(before.profile, before.name, before.style)
            raise

    def _applied(self, before: SectionSetting | None, chosen: SectionSetting) -> None:
        """A `process` section is complete at once. A `keys` section that held another
        role's keys (or keys of unknown origin) is cleared until an engine writes the new
        role's: it must never serve a role other than the selected one."""
        from rolebar.core.credfile import SectionWriter

        writer = SectionWriter(self._file())
        if chosen.style == "process":
            region = self.engine.plan(chosen.profile).region
            values = section_values("process", chosen.name, None, region)
            assert values is not None
            writer.write(chosen.name, values)
        elif before is None or before.profile != chosen.profile:
            if writer.status(chosen.name) == "managed":
                writer.write(chosen.name, switching_values(chosen.profile))

    def _dropped(self, section: str) -> None:
        from rolebar.core.credfile import SectionWriter, UnmanagedSectionError

        with contextlib.suppress(UnmanagedSectionError):  # never rolebar's: left as it is
            SectionWriter(self._file()).remove(section)
