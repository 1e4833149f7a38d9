"""The running engine as one unit: the instance lock, the keeper, the ipc channel and the
credentials endpoint.

`rolebar keep` and the tray both run one of these: `start()` takes the one-engine-per-user
lock (EngineBusy names the holder), serves ipc and the endpoint and starts the keeper;
`stop()` undoes it in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rolebar.core import ipc
from rolebar.core.codes import CodeRequest
from rolebar.core.endpoint import Endpoint, engine_lookup
from rolebar.core.engine import Engine
from rolebar.core.instance import Instance
from rolebar.core.keeper import Keeper
from rolebar.core.settings import Settings

log = logging.getLogger(__name__)


class EngineService:
    def __init__(self, kind: str, *, prompt: Callable[[CodeRequest], str | None] | None = None,
                 answers_codes: bool = False, engine: Engine | None = None,
                 settings: Settings | None = None) -> None:
        self.kind = kind
        # The engine's own chain: generate_token only (plus a code handed in). Prompts
        # are the keeper's business, and it must never ask itself over ipc.
        self.engine = engine or Engine(interactive=False, extra_sources=())
        self.keeper = Keeper(self.engine, settings or Settings(), kind=kind, prompt=prompt,
                             answers_codes=answers_codes)
        self.instance = Instance(kind)
        self.server = ipc.Server(ipc.keeper_handler(self.keeper))
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
