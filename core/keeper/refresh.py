"""Role credentials: each kept profile refreshed at its soft deadline, off the keeper's
thread, with backoff after failures.

Deadlines come from the Expiration STS returned (timing.deadlines). A failure keeps the
old credentials (they stay in the section until they expire), retries with backoff, and
says so once per streak after a few failures or once they expired; a failure that only a
code can mend raises a code need instead. "Refresh now" always leads to a forced refresh,
even when it arrives while one is under way (`Kept.again`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, NoCodeError, RolebarError
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.keeper.needs import Needs
from rolebar.core.keeper.publish import Publisher
from rolebar.core.keeper.records import Books, Kept, profile_key
from rolebar.core.keeper.sessions import Sessions
from rolebar.core.keystore import KeyringLocked
from rolebar.core.sso.errors import REASONS, SignInNeeded
from rolebar.core.state import SignInNeed
from rolebar.core.timing import FAILS_BEFORE_NOTICE, backoff, deadlines

if TYPE_CHECKING:
    from rolebar.core.engine import Engine
    from rolebar.core.profiles import Plan

log = logging.getLogger(__name__)


@dataclass
class Fetched:
    """What a refresh found off the keeper's thread."""

    plan: Plan | None = None  # when the profile was not planned yet
    creds: Credentials | None = None
    error: RolebarError | None = None
    signin: SignInNeeded | None = None  # fetched, but the sign-in cannot be renewed


class Refresher:
    def __init__(self, books: Books, engine: Engine, jobs: Jobs, needs: Needs,
                 sessions: Sessions, publisher: Publisher, clock: Callable[[], float],
                 rnd: Callable[[], float]) -> None:
        self._books = books
        self._engine = engine
        self._jobs = jobs
        self._needs = needs
        self._sessions = sessions
        self._publisher = publisher
        self._clock = clock
        self._rnd = rnd

    def ask(self, section: str | None = None) -> None:
        """Refresh the profile of `section` (or every kept profile) now."""
        profiles = {s.setting.profile for s in self._books.sections.values()
                    if section is None or s.setting.name == section}
        for kept in self._books.kept.values():
            if section is None or kept.profile in profiles:
                kept.ask()

    def due(self) -> list[Kept]:
        now = self._clock()
        return [k for k in self._books.kept.values() if k.due <= now and not k.busy]

    def start(self, kept: Kept) -> bool:
        """Fetch `kept`'s credentials off the keeper's thread; False if it is not kept
        any more."""
        if not self._books.current(kept):
            return False
        now = self._clock()
        kept.busy = True
        force, kept.again = kept.force, False
        self._publisher.publish()
        work = functools.partial(self._fetch, kept.profile, force, kept.planned, now)
        if not self._jobs.start(profile_key(kept.profile), work,
                                functools.partial(self._fetched, kept)):
            kept.busy, kept.due = False, now + 1.0  # under way for a record this one replaced
        return True

    def _fetch(self, profile: str, force: bool, planned: bool, now: float) -> Fetched:
        """Off the keeper's thread: the plan (unless known) and the role's credentials."""
        fetched = Fetched()
        try:
            if not planned:
                fetched.plan = self._engine.plan(profile)
            creds = self._engine.credentials(profile, force=force, interactive=False)
            if not force and now >= deadlines(creds.issued, creds.expires)[0]:
                # The cache's answer is past its soft deadline: fetch anew.
                creds = self._engine.credentials(profile, force=True, interactive=False)
            fetched.creds = creds
            fetched.signin = self._engine.signin_ahead(profile)
        except RolebarError as exc:
            fetched.error = exc
        return fetched

    def _fetched(self, kept: Kept, fetched: Fetched | None, exc: Exception | None) -> None:
        kept.busy = False
        if exc is not None:
            raise exc
        assert fetched is not None
        if not self._books.current(kept):  # unselected meanwhile: no need or problem
            log.debug("profile %s: no longer kept; its refresh is dropped", kept.profile)
            return
        if (plan := fetched.plan) is not None:
            kept.device, kept.route, kept.region = plan.device, plan.route, plan.region
            kept.planned = True
        if fetched.error is not None:
            self._failed(kept, fetched.error, needs_code=isinstance(fetched.error, NoCodeError))
        else:
            assert fetched.creds is not None
            self.refreshed(kept, fetched.creds)
            self._signin(kept, fetched.signin)
        if kept.again:  # asked for while this one ran: its outcome does not answer it
            kept.due, kept.force, kept.again = 0.0, True, False

    def refreshed(self, kept: Kept, creds: Credentials) -> None:
        soft, _ = deadlines(creds.issued, creds.expires)
        if kept.failures:
            log.info("profile %s: refreshed after %d failure(s)", kept.profile, kept.failures)
        else:
            log.info("profile %s: credentials until %s", kept.profile, creds.expiration)
        kept.creds, kept.due, kept.force = creds, soft, True
        kept.failures, kept.noticed, kept.problem = 0, False, None
        if kept.device:
            self._needs.met(kept.device, kept.profile)
        if kept.device and kept.route == "session":
            try:
                self._sessions.note(kept.device, self._engine.session(kept.profile))
            except RolebarError as exc:
                log.debug("profile %s: no session info: %s", kept.profile, exc)

    def _failed(self, kept: Kept, exc: RolebarError, needs_code: bool = False) -> None:
        now = self._clock()
        kept.failures += 1
        kept.force = True
        margin = kept.creds.margin if kept.creds else 60.0
        kept.due = now + backoff(kept.failures, margin, self._rnd)
        if isinstance(exc, ConfigError):
            kept.planned = False
        kept.problem = f"profile {kept.profile}: {exc.cause}"
        if isinstance(exc, SignInNeeded):
            self._signin(kept, exc)
            return
        if needs_code and kept.device:
            kept.problem = f"profile {kept.profile} needs a one-time code for {kept.device}"
            self._needs.need(kept.device, kept.profile, "code_needed", kept.problem)
            log.info("profile %s: waiting for a one-time code", kept.profile)
            return
        log.warning("profile %s: refresh failed (%d in a row): %s", kept.profile,
                    kept.failures, exc.cause)
        expired = kept.creds is None or now >= kept.creds.expires
        # A locked keyring needs a person at once, as a code does (its own unlock prompt).
        person = isinstance(exc, KeyringLocked)
        if not kept.noticed and (kept.failures >= FAILS_BEFORE_NOTICE or expired or person):
            kept.noticed = True
            how = "waits for you" if person else "keeps failing"
            self._publisher.emit("refresh_failed", f"profile {kept.profile}",
                                 f"refreshing profile {kept.profile} {how}: {exc.cause}")

    def _signin(self, kept: Kept, exc: SignInNeeded | None) -> None:
        """Record (or clear) the sign-in `kept` waits for; announced once per sign-in."""
        if exc is None:
            kept.signin = None
            return
        session = exc.session
        need = SignInNeed(session.subject, session.name or str(session.profile),
                          kept.profile, session.login_command)
        known = any(k.signin is not None and k.signin.session == need.session
                    for k in self._books.kept.values())
        kept.signin = need
        log.info("profile %s: waiting for a sign-in to %s", kept.profile, need.session)
        if not known:
            why = REASONS.get(exc.reason, exc.reason)
            self._publisher.emit("signin_needed", need.session,
                                 f"{need.session}: sign-in needed ({why}): choose "
                                 f"\"Sign in to {need.name}...\" or run `{need.command}`")
