"""Codes a person typed (the tray's prompt, `keep`'s terminal): spent on the MFA session
the profiles waiting for that device share, or on the role itself (direct route).

A code is spent off the keeper's thread, one piece of work per device at a time (a
renewal under way makes the code wait). A code STS rejected, or one already used, raises
the need again with the reason, so the next prompt says why it asks again.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from rolebar.core.codes import REUSED, WRONG
from rolebar.core.credentials import Credentials
from rolebar.core.errors import CodeReusedError, RolebarError
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.keeper.needs import Needs
from rolebar.core.keeper.records import Books, Kept, mfa
from rolebar.core.keeper.refresh import Refresher
from rolebar.core.keeper.sessions import Sessions
from rolebar.core.sts import InvalidCode

if TYPE_CHECKING:
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)

# Where the codes given to `submit_code` come from, as the log names it.
TYPED = "the prompt"


class TypedCodes:
    def __init__(self, books: Books, engine: Engine, jobs: Jobs, needs: Needs,
                 sessions: Sessions, refresher: Refresher) -> None:
        self._books = books
        self._engine = engine
        self._jobs = jobs
        self._needs = needs
        self._sessions = sessions
        self._refresher = refresher
        self._codes: dict[str, str] = {}  # by device, not spent yet

    def add(self, device: str, code: str) -> None:
        self._codes[device] = code

    def pending(self) -> bool:
        """A code waits that could be spent now."""
        return any(not self._jobs.busy(mfa(d)) for d in self._codes)

    def spend(self) -> None:
        codes, self._codes = self._codes, {}
        for device, code in codes.items():
            waiting = self._books.users(device)
            if not waiting:
                log.info("mfa %s: a code arrived that no kept profile needs", device)
                continue
            first = waiting[0]
            work = functools.partial(self._spend, first.profile, first.route, code)
            done = functools.partial(self._spent, device, first, waiting)
            if not self._jobs.start(mfa(device), work, done):
                # This device's session is being renewed: the code waits.
                self._codes.setdefault(device, code)

    def _spend(self, profile: str, route: str | None, code: str) -> Credentials:
        """Off the keeper's thread: the MFA session (or the role) with a typed code."""
        if route == "session":
            return self._engine.renew_session(profile, code=code, interactive=False,
                                              code_from=TYPED)
        return self._engine.credentials(profile, code=code, force=True, interactive=False,
                                        code_from=TYPED)

    def _spent(self, device: str, first: Kept, waiting: list[Kept],
               creds: Credentials | None, exc: Exception | None) -> None:
        if isinstance(exc, InvalidCode):
            self._needs.need(device, first.profile, "code_needed",
                             f"STS rejected the code for {device}; enter the next one",
                             again=True, reason=WRONG)
        elif isinstance(exc, CodeReusedError):
            self._needs.need(device, first.profile, "code_needed",
                             f"profile {first.profile}: {exc.cause}", again=True,
                             reason=REUSED)
        elif isinstance(exc, RolebarError):
            log.warning("mfa %s: %s", device, exc)
            self._needs.need(device, first.profile, "code_needed",
                             f"profile {first.profile}: {exc.cause}", again=True)
        elif exc is not None:
            raise exc
        else:
            assert creds is not None
            if first.route == "session":
                self._sessions.note(device, creds)
                for kept in waiting:  # the new session serves all of them
                    if kept.problem or kept.creds is None:
                        kept.due = 0.0
            else:
                self._refresher.refreshed(first, creds)
            self._needs.met(device)
