"""One front door to "the engine" for the commands and the tray (DESIGN.md section 6a).

`connect()` chooses once, by a ping over ipc:
- `RemoteEngine`: an engine runs in another process (keep, the tray). A choice of section
  is recorded in the settings file (the engine reads it too) and the engine is told over
  ipc; it writes the sections, refreshes them and answers for its state and for codes.
- `LocalEngine`: none runs. This process does what can be done without one: it records
  the choice, writes what a section can hold with no credentials (a `process` section; a
  `keys` section cleared of another role's keys) and shows the sections as idle.
`ServedEngine` is the client in the process that runs the engine (keep, the tray, the
demo): calls go to its own keeper, and it is the one that can be subscribed to.

Each has `engine`, this process's Engine (plans, profiles, the cache, fetching), built with
its code sources said explicitly: the running engine's prompt (over ipc) only for an
interactive client of another process's engine, so an engine never asks itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rolebar.core import ipc, paths
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError, RolebarError, SectionError
from rolebar.core.sections import check_section, found_style, section_values, switching_values
from rolebar.core.settings import DEFAULT_SECTION, SectionSetting, Settings
from rolebar.core.state import EngineInfo, KeeperState, Listener, SectionState, Style

if TYPE_CHECKING:
    from rolebar.core.service import EngineService

log = logging.getLogger(__name__)

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


class EngineClient(Protocol):
    """What commands and the tray ask of "the engine", wherever it runs."""

    @property
    def engine(self) -> Engine: ...
    @property
    def info(self) -> EngineInfo | None: ...  # the running engine; None: this process alone
    def ping(self) -> EngineInfo | None: ...
    def status(self) -> Status: ...
    def setting(self, section: str) -> SectionSetting | None: ...
    def kept(self) -> list[str]: ...
    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None) -> SectionSetting: ...
    def unselect(self, section: str) -> bool: ...
    def set_style(self, section: str, style: Style) -> SectionSetting: ...
    def reload(self) -> None: ...
    def refresh_now(self, section: str | None = None) -> None: ...
    def submit_code(self, device: str, code: str) -> None: ...
    def request_code(self, device: str, profile: str, timeout: float) -> str | None: ...


class LiveEngine(EngineClient, Protocol):
    """An engine that runs in this process (the tray's): its state and events too."""

    def state(self) -> KeeperState: ...
    def subscribe(self, listener: Listener) -> Callable[[], None]: ...


def connect(env: Mapping[str, str] | None = None, *, interactive: bool = False,
            settings: Settings | None = None, root: Path | None = None) -> EngineClient:
    """The running engine if one answers, else this process alone; chosen once.

    `interactive`: fetching may ask a person for a code (the running engine's prompt,
    then a GUI prompt or the terminal); otherwise only `-t` and generate_token.
    """
    info = ping(root)
    settings = settings or Settings()
    if info is None:
        return LocalEngine(Engine(env, interactive=interactive, extra_sources=()), settings)
    sources = [ipc.EngineCode(root=root)] if interactive else []
    engine = Engine(env, interactive=interactive, extra_sources=sources)
    return RemoteEngine(info, engine, settings, root)


def serve(kind: str, **options: Any) -> ServedEngine:
    """The engine for this process to run (not started); `options` go to EngineService."""
    from rolebar.core.service import EngineService

    return ServedEngine(EngineService(kind, **options))


def ping(root: Path | None = None) -> EngineInfo | None:
    reply = ipc.call("ping", root=root)
    if not reply or not reply.get("ok"):
        return None
    try:
        return EngineInfo.from_dict(reply)
    except ValueError as exc:
        log.warning("ipc: the running engine answered ping oddly (%s)", exc)
        return None


class LocalEngine:
    """No engine runs: this process records choices and writes what it can itself."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.info: EngineInfo | None = None

    def ping(self) -> EngineInfo | None:
        return self.info

    def setting(self, section: str) -> SectionSetting | None:
        return self.settings.get(section)

    def kept(self) -> list[str]:
        return sorted(self.settings.sections())

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


class RemoteEngine(LocalEngine):
    """An engine runs in another process: it keeps the sections, told over ipc. Should it
    stop answering, this client goes on as a LocalEngine (`info` becomes None)."""

    def __init__(self, info: EngineInfo, engine: Engine, settings: Settings,
                 root: Path | None = None) -> None:
        super().__init__(engine, settings)
        self.info = info
        self._root = root

    def ping(self) -> EngineInfo | None:
        if self.info is not None:
            self.info = ping(self._root)
        return self.info

    def status(self) -> Status:
        reply = self._call("status")
        if reply is not None:
            try:
                return Status(EngineInfo.from_dict(reply), KeeperState.from_dict(reply["state"]))
            except (KeyError, ValueError) as exc:
                log.warning("ipc: the running engine's status had another shape (%s)", exc)
        return super().status()

    def reload(self) -> None:
        self._call("reload")

    def refresh_now(self, section: str | None = None) -> None:
        if self._call("refresh", section=section) is None:
            super().refresh_now(section)

    def submit_code(self, device: str, code: str) -> None:
        reply = self._call("submit", device=device, code=code)
        if reply is None:
            super().submit_code(device, code)
        elif not reply.get("ok"):
            raise ConfigError(device, str(reply.get("error", "the engine refused the code")))

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        return ipc.request_code(device, profile, timeout, self._root) if self.info else None

    def _applied(self, before: SectionSetting | None, chosen: SectionSetting) -> None:
        if self._call("reload") is None:
            super()._applied(before, chosen)

    def _dropped(self, section: str) -> None:
        if self._call("reload") is None:
            super()._dropped(section)

    def _call(self, op: str, **params: Any) -> dict[str, Any] | None:
        """The engine's answer; None once it stopped answering (from then on, alone)."""
        if self.info is None:
            return None
        reply = ipc.call(op, root=self._root, **params)
        if reply is None:
            log.info("engine: the running %s stopped answering; going on without it",
                     self.info.kind)
            self.info = None
        return reply


class ServedEngine:
    """This process runs the engine (keep, the tray, the demo): calls go to its keeper."""

    def __init__(self, service: EngineService) -> None:
        from rolebar.core.service import engine_info

        self._service = service
        self._keeper = service.keeper
        self.engine = service.engine
        self.settings = service.settings
        self.info = engine_info(service.keeper)

    def start(self, first: Choice | None = None) -> None:
        """Take the one-engine lock, select `first`, start; a busy engine changes nothing.

        `first` is applied as with no engine running (ours has not started, and the lock
        says no other runs), so its section is right before the keeper's first tick.
        """
        self._service.instance.acquire()
        try:
            if first is not None:
                LocalEngine(self.engine, self.settings).select(
                    first.profile, first.section, first.style)
            self._service.start()
        except BaseException:
            self._service.instance.release()
            raise

    def stop(self) -> None:
        self._service.stop()

    def ping(self) -> EngineInfo:
        return self.info

    def status(self) -> Status:
        return Status(self.info, self._keeper.state())

    def state(self) -> KeeperState:
        return self._keeper.state()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._keeper.subscribe(listener)

    def setting(self, section: str) -> SectionSetting | None:
        return self.settings.get(section)

    def kept(self) -> list[str]:
        return sorted(self.settings.sections())

    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None) -> SectionSetting:
        return self._keeper.select(profile, section, style)

    def unselect(self, section: str) -> bool:
        return self._keeper.unselect(section)

    def set_style(self, section: str, style: Style) -> SectionSetting:
        return self._keeper.set_style(section, style)

    def reload(self) -> None:
        self._keeper.reload()

    def refresh_now(self, section: str | None = None) -> None:
        self._keeper.refresh_now(section)

    def submit_code(self, device: str, code: str) -> None:
        self._keeper.submit_code(device, code)

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        return self._keeper.request_code(device, profile, timeout)
