"""MFA-session renewal: the sessions the kept profiles use, renewed ahead of their end.

A session that ends within its lead (timing.session_lead) is renewed off the keeper's
thread, silently through generate_token; when that needs a person, `session_ending` goes
out once per session, ahead of time, and a code need is raised. Failed renewals are
retried with backoff.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from rolebar.core.credentials import Credentials
from rolebar.core.errors import NoCodeError, RolebarError
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.keeper.needs import Needs
from rolebar.core.keeper.publish import Publisher
from rolebar.core.keeper.records import Books, Session, mfa
from rolebar.core.timing import backoff, session_lead, span

if TYPE_CHECKING:
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)


class Sessions:
    def __init__(self, books: Books, engine: Engine, jobs: Jobs, needs: Needs,
                 publisher: Publisher, clock: Callable[[], float],
                 rnd: Callable[[], float], stopping: threading.Event) -> None:
        self._books = books
        self._engine = engine
        self._jobs = jobs
        self._needs = needs
        self._publisher = publisher
        self._clock = clock
        self._rnd = rnd
        self._stopping = stopping

    def note(self, device: str, session: Credentials | None) -> None:
        """What the engine holds for `device` now (None: no session)."""
        if session is None:
            self._books.sessions.pop(device, None)
            return
        old = self._books.sessions.get(device)
        if old is None or old.expires != session.expires:
            self._books.sessions[device] = Session(session.issued, session.expires)

    def retry_now(self) -> None:
        """After a clock jump: renewals are looked at again at once."""
        for session in self._books.sessions.values():
            session.retry_at = 0.0

    def moments(self) -> list[float]:
        """When each session in use is next looked at (none while its work is under way)."""
        moments = []
        for device, session in self._books.sessions.items():
            if self._books.users(device) and not self._jobs.busy(mfa(device)):
                lead = session_lead(session.issued, session.expires)
                moments.append(max(session.retry_at, session.expires - lead))
        return moments

    def renew(self) -> None:
        """Start renewing the sessions that are within their lead."""
        now = self._clock()
        for device, session in list(self._books.sessions.items()):
            users = [k for k in self._books.users(device) if k.route == "session"]
            lead = session_lead(session.issued, session.expires)
            if not users or now < max(session.retry_at, session.expires - lead):
                continue
            if self._stopping.is_set():
                return
            profile = users[0].profile
            self._jobs.start(mfa(device),
                             functools.partial(self._engine.renew_session, profile,
                                               interactive=False),
                             functools.partial(self._renewed, device, session, profile))

    def _renewed(self, device: str, session: Session, profile: str,
                 renewed: Credentials | None, exc: Exception | None) -> None:
        if isinstance(exc, NoCodeError):
            self._retry_later(session)
            if not session.warned:
                session.warned = True
                left = session.expires - self._clock()
                self._publisher.emit("session_ending", device,
                                     f"the MFA session for {device} ends in {span(left)}; "
                                     "enter a code to keep credentials fresh")
            self._needs.need(device, profile, "session_ending",
                             f"the MFA session for {device} ends soon; a code is needed")
        elif isinstance(exc, RolebarError):
            self._retry_later(session)
            log.warning("mfa %s: renewing the MFA session failed: %s", device, exc)
        elif exc is not None:
            raise exc
        else:
            log.info("mfa %s: MFA session renewed ahead of time", device)
            self.note(device, renewed)
            self._needs.met(device)

    def _retry_later(self, session: Session) -> None:
        session.failures += 1
        lead = session_lead(session.issued, session.expires)
        session.retry_at = self._clock() + backoff(session.failures, lead, self._rnd)
