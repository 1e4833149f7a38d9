"""One front door to "the engine" for the commands and the tray (DESIGN.md section 6a).

`connect()` chooses once, by a ping over ipc:
- `RemoteEngine`: an engine runs in another process (keep, the tray). A choice of section
  is recorded in the settings file (the engine reads it too) and the engine is told over
  ipc; it writes the sections, refreshes them and answers for its state and for codes.
- `LocalEngine` (local.py): none runs. This process does what can be done without one:
  it records the choice, writes what a section can hold with no credentials (a `process`
  section; a `keys` section cleared of another role's keys) and shows the sections idle.
`ServedEngine` is the client in the process that runs the engine (keep, the tray, the
demo): calls go to its own keeper, and it is the one that can be subscribed to.

Each has `engine`, this process's Engine (plans, profiles, the cache, fetching), built with
its code sources said explicitly: the running engine's prompt (over ipc) only for an
interactive client of another process's engine, so an engine never asks itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rolebar.core import ipc
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError
from rolebar.core.local import (
    NOT_RUNNING,
    START_ONE,
    Choice,
    LocalEngine,
    Recorded,
    Status,
)
from rolebar.core.settings import DEFAULT_SECTION, SectionSetting, Settings
from rolebar.core.state import EngineInfo, KeeperState, Listener, Style

__all__ = ["NOT_RUNNING", "START_ONE", "Choice", "EngineClient", "LiveEngine", "LocalEngine",
           "RemoteEngine", "ServedEngine", "Status", "connect", "ping", "serve"]

if TYPE_CHECKING:
    from rolebar.core.service import EngineService

log = logging.getLogger(__name__)


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
    """The engine for this process to run (not started); `options` go to EngineService.

    A process that serves the engine lives all day (`keep`, the tray, the demo): its AWS
    calls run in a short-lived child (botocore never stays loaded here), and SIGUSR1
    prints its threads' stacks."""
    from rolebar.core import logs, sdk
    from rolebar.core.service import EngineService

    sdk.isolate()
    logs.stacks_on_request()
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


class ServedEngine(Recorded):
    """This process runs the engine (keep, the tray, the demo): calls go to its keeper."""

    def __init__(self, service: EngineService) -> None:
        from rolebar.core.service import engine_info

        super().__init__(service.engine, service.settings)
        self._service = service
        self._keeper = service.keeper
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
