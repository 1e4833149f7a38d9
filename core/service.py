"""The running engine as one unit: the instance lock, the keeper, the ipc channel and the
credentials endpoint.

`rolebar keep` and the tray both run one of these (through client.ServedEngine): `start()`
takes the one-engine-per-user lock (EngineBusy names the holder), serves ipc and the
endpoint and starts the keeper; `stop()` undoes it in reverse order. `keeper_handler` is
the engine's side of the ipc ops.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from rolebar.core import ipc
from rolebar.core.codes import PROMPT_TIMEOUT, CodeRequest, six_digits
from rolebar.core.endpoint import Endpoint, engine_lookup
from rolebar.core.engine import Engine
from rolebar.core.instance import Instance
from rolebar.core.keeper import Keeper
from rolebar.core.settings import Settings
from rolebar.core.state import EngineInfo

log = logging.getLogger(__name__)


class EngineService:
    def __init__(self, kind: str, *, prompt: Callable[[CodeRequest], str | None] | None = None,
                 answers_codes: bool = False, engine: Engine | None = None,
                 settings: Settings | None = None) -> None:
        self.kind = kind
        # The engine's own chain: generate_token only (plus a code handed in). Prompts
        # are the keeper's business; no code source that asks a running engine over ipc.
        self.engine = engine or Engine(interactive=False, extra_sources=())
        self.settings = settings or Settings()
        self.keeper = Keeper(self.engine, self.settings, kind=kind, prompt=prompt,
                             answers_codes=answers_codes)
        self.instance = Instance(kind)
        self.server = ipc.Server(keeper_handler(self.keeper))
        self.endpoint = Endpoint(engine_lookup(self.engine))
        self._started = False

    def start(self) -> None:
        self.instance.acquire()
        try:
            self.server.start()
            self._start_endpoint()
            self.keeper.start()
        except BaseException:
            self.endpoint.stop()
            self.server.stop()
            self.instance.release()
            raise
        self._started = True
        log.info("engine: %s running", self.kind)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.endpoint.stop()
        self.server.stop()
        self.keeper.stop()
        self.instance.release()
        log.info("engine: %s stopped", self.kind)

    def _start_endpoint(self) -> None:
        # An extra: an engine that cannot serve it still keeps the sections fresh.
        try:
            self.endpoint.start()
        except OSError as exc:
            log.warning("endpoint: not served (%s)", exc.strerror or type(exc).__name__)


def engine_info(keeper: Keeper) -> EngineInfo:
    """This process as the running engine."""
    return EngineInfo(os.getpid(), keeper.kind, keeper.answers_codes)


def keeper_handler(keeper: Keeper) -> ipc.Handler:
    """The engine's side of the ops, answered from `keeper` with state.py's dicts."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, **engine_info(keeper).to_dict()}
        if op == "status":
            return {"ok": True, **engine_info(keeper).to_dict(),
                    "state": keeper.state().to_dict()}
        if op == "reload":
            keeper.reload()
            return {"ok": True}
        if op == "refresh":
            section = request.get("section")
            keeper.refresh_now(section if isinstance(section, str) else None)
            return {"ok": True}
        if op == "code":
            return _code(keeper, request)
        if op == "submit":
            return _submit(keeper, request)
        return {"ok": False, "error": f"unknown op {op!r}"}

    return handle


def _code(keeper: Keeper, request: dict[str, Any]) -> dict[str, Any]:
    device, profile = request.get("device"), request.get("profile")
    if not isinstance(device, str) or not isinstance(profile, str):
        return {"ok": False, "error": "device and profile are required"}
    if not keeper.answers_codes:
        return {"ok": False, "error": f"the running {keeper.kind} cannot ask for codes"}
    wait = request.get("wait")
    timeout = float(wait) if isinstance(wait, (int, float)) else PROMPT_TIMEOUT
    code = keeper.request_code(device, profile, min(timeout, PROMPT_TIMEOUT))
    if code is None:
        return {"ok": False, "error": "no code was entered in time"}
    return {"ok": True, "code": code}


def _submit(keeper: Keeper, request: dict[str, Any]) -> dict[str, Any]:
    device, code = request.get("device"), request.get("code")
    found = six_digits(code) if isinstance(code, str) else None
    if not isinstance(device, str) or found is None:
        return {"ok": False, "error": "a device and a six-digit code are required"}
    keeper.submit_code(device, found)
    return {"ok": True}
