"""The engine's front door: "credentials for profile P".

plan -> cache -> codes -> sts -> cache. The CLI, `credential_process`, the keeper and the
tray all come through here. Methods return frozen dataclasses of plain values.

Single flight: role credentials are fetched under one lock per profile and MFA sessions
under one lock per device; whoever waited on a lock reads the cache again before calling
STS, so many simultaneous cold callers make one GetSessionToken and one AssumeRole.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rolebar.core.cache import Cache, entry_name
from rolebar.core.codes import (
    CodeChain,
    CodeRequest,
    CodeSource,
    Guard,
    default_sources,
    given_code,
)
from rolebar.core.credentials import Credentials, Keys
from rolebar.core.errors import ConfigError
from rolebar.core.fastpath import answer_file, role_entry_name, stamps
from rolebar.core.profiles import Catalog, Plan, ProfileInfo
from rolebar.core.sts import CallFailed, InvalidCode, SessionExpired, SessionRouteRefused, Sts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileStatus:
    profile: str
    route: str
    reason: str
    device: str | None
    expires: float | None  # cached role credentials, if any are still valid
    session_expires: float | None  # the MFA session behind them, if any
    needs_code: bool  # the next refresh needs a one-time code nobody can supply silently


class Engine:
    """Credentials for profiles, with the cache, the code chain and STS behind them."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        cache: Cache | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        interactive: bool = True,
        extra_sources: Sequence[CodeSource] | None = None,
        sts: Callable[[str, str | None], Sts] = Sts,
    ) -> None:
        self.env = os.environ if env is None else env
        self.cache = cache or Cache()
        self.clock = clock
        self.sleep = sleep
        self.interactive = interactive
        # Default: the running engine's prompt (the tray) before the GUI and terminal
        # prompts, so a `rolebar process` started by an IDE gets its code through the tray.
        # The keeper's own engine passes () so it never asks itself.
        self.extra_sources = list(_engine_code() if extra_sources is None else extra_sources)
        self._sts = sts

    # -- the front door ----------------------------------------------------------------

    def catalog(self) -> Catalog:
        return Catalog.load(self.env)

    def profiles(self) -> list[ProfileInfo]:
        return self.catalog().assumable()

    def plan(self, profile: str) -> Plan:
        return self.catalog().plan(profile)

    def credentials(self, profile: str, *, code: str | None = None, force: bool = False,
                    interactive: bool | None = None, code_from: str = "-t") -> Credentials:
        """Fresh credentials for `profile`, from the cache when it holds them.

        `force` ignores what was cached before this call (a refresh ahead of time); a
        caller that waited on the lock still takes what another process fetched meanwhile.
        `code_from` names where `code` came from, for the log.
        """
        code = given_code(profile, code)
        plan = self.plan(profile)
        name = role_entry_name(profile, plan.files)
        started = self.clock()
        if not force and (hit := self._role_hit(name, plan)):
            return hit
        with self.cache.lock(name):
            if hit := self._role_hit(name, plan, issued_after=started if force else None):
                return hit
            chain = self._chain(plan, code, interactive, code_from)
            creds = self._fetch(plan, chain)
            self._store_role(name, plan, creds)
            return creds

    def cached(self, profile: str) -> Credentials | None:
        """Fresh cached credentials for `profile`, or None; never calls STS."""
        plan = self.plan(profile)
        return self._role_hit(role_entry_name(profile, plan.files), plan)

    def session(self, profile: str) -> Credentials | None:
        """The usable cached MFA session behind `profile` (session route), or None."""
        plan = self.plan(profile)
        return self._load_session(plan) if plan.route == "session" and plan.device else None

    def renew_session(self, profile: str, *, code: str | None = None,
                      interactive: bool | None = None, code_from: str = "-t") -> Credentials:
        """A new MFA session for `profile`'s device, before the cached one ends.

        The keeper calls this ahead of time; a caller that waited on the lock takes the
        session another process opened meanwhile instead of spending a second code.
        """
        code = given_code(profile, code)
        plan = self.plan(profile)
        if plan.route != "session" or not plan.device:
            raise ConfigError(f"profile {profile}", "has no MFA session to renew")
        sts = self._sts(plan.profile, plan.region)
        sts.check()
        return self._session(plan, self._chain(plan, code, interactive, code_from), sts,
                             issued_after=self.clock())

    def status(self, profiles: Sequence[str] | None = None) -> list[ProfileStatus]:
        catalog = self.catalog()
        names = profiles if profiles is not None else [p.name for p in catalog.assumable()]
        return [self._status(catalog.plan(name)) for name in names]

    def needs_code(self, profile: str) -> bool:
        return self._status(self.plan(profile)).needs_code

    def forget(self, profile: str | None = None) -> int:
        """Drop cached role credentials and MFA sessions (of one profile, or all)."""
        if profile is None:
            names = self.cache.names("role") + self.cache.names("session")
        else:
            plan = self.plan(profile)
            names = [role_entry_name(profile, plan.files)]
            if plan.device:
                names.append(self._session_name(plan))
        return sum(self.cache.delete(name) for name in names)

    # -- cache -------------------------------------------------------------------------

    def _role_hit(self, name: str, plan: Plan, issued_after: float | None = None
                  ) -> Credentials | None:
        entry = self.cache.load(name)
        if not entry or entry.get("plan") != plan.fingerprint:
            return None
        try:
            creds = Credentials.from_dict(entry)
        except (KeyError, TypeError, ValueError):
            return None
        if not creds.fresh(self.clock()):
            return None
        if issued_after is not None and creds.issued < issued_after:
            return None
        if entry.get("stamps") != stamps(plan.files):
            # The AWS files changed but not this plan: re-stamp so the fast path hits again.
            self._store_role(name, plan, creds)
        return creds

    def _store_role(self, name: str, plan: Plan, creds: Credentials) -> None:
        files_stamp = stamps(plan.files)
        entry = {**creds.to_dict(), "profile": plan.profile, "plan": plan.fingerprint,
                 "stamps": files_stamp}
        answer = answer_file(creds.issued, creds.expires, files_stamp, creds.process_json())
        self.cache.store(name, entry, answer)

    def _session_name(self, plan: Plan) -> str:
        return entry_name("session", device=plan.device or "", key=plan.source.access_key_id)

    def _load_session(self, plan: Plan) -> Credentials | None:
        entry = self.cache.load(self._session_name(plan))
        try:
            session = Credentials.from_dict(entry) if entry else None
        except (KeyError, TypeError, ValueError):
            return None
        return session if session and session.usable(self.clock()) else None

    def _status(self, plan: Plan) -> ProfileStatus:
        role = self._role_hit(role_entry_name(plan.profile, plan.files), plan)
        session = self._load_session(plan) if plan.route == "session" else None
        needs_code = plan.device is not None and plan.code_command is None and (
            plan.route == "direct" or session is None
        )
        return ProfileStatus(
            profile=plan.profile, route=plan.route, reason=plan.reason, device=plan.device,
            expires=role.expires if role else None,
            session_expires=session.expires if session else None,
            needs_code=needs_code,
        )

    # -- fetching ----------------------------------------------------------------------

    def _chain(self, plan: Plan, code: str | None, interactive: bool | None,
               code_from: str = "-t") -> CodeChain:
        interactive = self.interactive if interactive is None else interactive
        sources = default_sources(code, plan.code_command, self.extra_sources, interactive,
                                  code_from)
        return CodeChain(sources, Guard(self.cache, self.clock), self.sleep, self.clock)

    def _fetch(self, plan: Plan, chain: CodeChain) -> Credentials:
        sts = self._sts(plan.profile, plan.region)
        sts.check()  # a bad region is a configuration error, found before a code is spent
        log.debug("profile %s: %s", plan.profile, plan.reason)
        caller: Keys | Credentials = plan.source
        steps = list(plan.roles)
        if plan.route == "session":
            caller = self._session(plan, chain, sts)
            if steps:
                try:
                    try:
                        caller = sts.assume_role(caller, plan.roles[0], session=True)
                    except SessionExpired:
                        # STS ended the session before its Expiration (revoked, or our
                        # clock is off): drop it and open a new one, once.
                        log.info("profile %s: STS refused the cached MFA session; renewing",
                                 plan.profile)
                        self.cache.delete(self._session_name(plan))
                        caller = sts.assume_role(self._session(plan, chain, sts),
                                                 plan.roles[0], session=True)
                    steps.pop(0)
                except SessionRouteRefused:
                    log.info("profile %s: the role refused the MFA session; direct AssumeRole",
                             plan.profile)
                    caller = self._with_code(plan, chain, lambda code: sts.assume_role(
                        plan.source, plan.roles[0], device=plan.device, code=code))
                    steps.pop(0)
        elif plan.route == "direct":
            first = steps.pop(0)
            caller = self._with_code(plan, chain, lambda code: sts.assume_role(
                plan.source, first, device=plan.device, code=code))
        for step in steps:
            caller = sts.assume_role(caller, step)
        assert isinstance(caller, Credentials)
        return caller

    def _session(self, plan: Plan, chain: CodeChain, sts: Sts,
                 issued_after: float | None = None) -> Credentials:
        """The MFA session for the plan's device, fetched once for every role behind it.

        `issued_after` asks for a newer session than the cached one (a renewal).
        """
        def cached() -> Credentials | None:
            session = self._load_session(plan)
            if session and (issued_after is None or session.issued >= issued_after):
                return session
            return None

        if issued_after is None and (session := cached()):
            return session
        name = self._session_name(plan)
        with self.cache.lock(name):
            if session := cached():
                return session
            assert plan.device is not None
            device = plan.device
            session = self._with_code(plan, chain, lambda code: sts.get_session_token(
                plan.source, device, code, plan.session_seconds))
            self.cache.store(name, {**session.to_dict(), "device": device})
            return session

    def _with_code(self, plan: Plan, chain: CodeChain,
                   call: Callable[[str], Credentials]) -> Credentials:
        """Make `call` with a fresh code, and once more with a new code if it failed.

        A rejected code, a 5xx, a reset or a read timeout all may have spent the code (the
        SDK never retries these calls): the guard holds it back, so the next one comes
        from the sources again (generate_token's in the next 30-second step). A fixed `-t`
        code has no successor: its failure is final.
        """
        assert plan.device is not None
        request = CodeRequest(plan.device, plan.profile)
        code, source = chain.obtain(request)
        try:
            return call(code)
        except (InvalidCode, CallFailed) as exc:
            if source.on_repeat == "never":
                raise
            log.info("profile %s: the call with a code failed (%s); once more with a new code",
                     plan.profile, exc.cause)
            code, _ = chain.obtain(request)
            return call(code)


def _engine_code() -> list[CodeSource]:
    from rolebar.core.ipc import EngineCode

    return [EngineCode()]
