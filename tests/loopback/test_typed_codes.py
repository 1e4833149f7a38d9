"""A code typed into the tray's prompt, through the real keeper and engine to the STS double.

The log names where the code came from (it said "code from -t"), and a prompt opened
again after a code did not go through says why: wrong, or already used.
"""

from __future__ import annotations

import logging
import time

import pytest

from rolebar.core.cache import Cache
from rolebar.core.codes import REUSED, WRONG, Guard
from rolebar.core.engine import Engine
from rolebar.core.service import EngineService
from rolebar.core.state import CodeNeed, Event, KeeperState
from rolebar.core.stsdouble import totp
from tests.loopback.clients.harness import fresh_keys, wait_for
from tests.loopback.conftest import Aws


def need(service: EngineService) -> CodeNeed | None:
    needs = service.keeper.state().needs
    return needs[0] if needs else None


def test_a_typed_code_is_logged_as_typed_and_a_reopened_prompt_says_why(
    aws: Aws, caplog: pytest.LogCaptureFixture,
) -> None:
    aws.write_config(generate_token=False)
    device = aws.user.mfa_serial
    service = EngineService("tray", answers_codes=True,
                            engine=Engine(interactive=False, extra_sources=()))
    announced: list[Event] = []

    def tray(state: KeeperState, event: Event) -> None:
        if event.kind == "code_needed":
            announced.append(event)

    service.keeper.settings.select("project-dev", style="keys")
    service.keeper.subscribe(tray)
    caplog.set_level(logging.INFO, logger="rolebar")
    service.start()
    try:
        first = wait_for(lambda: need(service), 30, what="a code need")
        assert first.reason is None  # the first prompt has nothing to explain

        current = aws.code()
        service.keeper.submit_code(device, f"{(int(current) + 500_000) % 1_000_000:06d}")
        wrong = wait_for(lambda: (n := need(service)) and n.reason == WRONG and n, 30,
                         what="the need again, as wrong")
        assert wrong.device == device

        # Spent elsewhere (generate_token in another process, say): the guard knows.
        assert Guard(Cache()).claim(device, current)
        service.keeper.submit_code(device, current)
        wait_for(lambda: (n := need(service)) and n.reason == REUSED, 30,
                 what="the need again, as already used")
        assert len(announced) == 3, [e.message for e in announced]

        # The next step's code: STS takes it at once (±1 step), the guard has not seen it.
        service.keeper.submit_code(device, totp(str(aws.user.totp_secret), time.time() + 30))
        wait_for(lambda: need(service) is None and fresh_keys(aws), 30, what="fresh keys")
    finally:
        service.stop()
    sources = [r.getMessage() for r in caplog.records if ": code from " in r.getMessage()]
    assert sources and all(m.endswith("code from the prompt") for m in sources), sources
