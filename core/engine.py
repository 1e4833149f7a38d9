"""The engine's front door: "credentials for profile P".

plan (profiles.py) -> providers (planner.py, core/providers) -> codes, sts, cache. The
CLI, `credential_process`, the keeper and the tray all come through here. Methods return
frozen dataclasses of plain values.

Single flight: role credentials are fetched under one lock per profile and MFA sessions
under one lock per device (the `Cached` provider); whoever waited on a lock reads the
cache again before calling STS, so many simultaneous cold callers make one
GetSessionToken and one AssumeRole.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rolebar.core.cache import Cache
from rolebar.core.codes import CodeChain, CodeSource, Guard, default_sources, given_code
from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.planner import Composition, Planner
from rolebar.core.profiles import Catalog, Plan, ProfileInfo
from rolebar.core.providers import Call
from rolebar.core.sso.errors import SignInNeeded
from rolebar.core.sts import Sts

if TYPE_CHECKING:
    from rolebar.core.sdk import Sdk

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
    """Credentials for profiles, with the cache, the code chain and STS behind them.

    `extra_sources` are the code sources between generate_token and the prompts: a
    command started by an IDE passes the running engine's (the tray's prompt); the
    running engine itself passes none, so it never asks itself.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        cache: Cache | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        interactive: bool = True,
        extra_sources: Sequence[CodeSource] = (),
        sts: Callable[[str, str | None], Sts] | None = None,
    ) -> None:
        self.env = os.environ if env is None else env
        self.cache = cache or Cache()
        self.clock = clock
        self.sleep = sleep
        self.interactive = interactive
        self.extra_sources = list(extra_sources)
        self._sts = sts or self._own_sts
        self.planner = Planner(self.cache, self.clock)

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
        return self.compose(profile, code=code, force=force, interactive=interactive,
                            code_from=code_from).retrieve()

    def compose(self, profile: str, *, code: str | None = None, force: bool = False,
                interactive: bool | None = None, code_from: str = "-t") -> Composition:
        """The providers that would serve `credentials(profile)`, and why (no call made)."""
        plan = self.plan(profile)
        issued_after = self.clock() if force else None
        return self.planner.compose(plan, self._call(plan, code, interactive, code_from),
                                    issued_after)

    def cached(self, profile: str) -> Credentials | None:
        """Fresh cached credentials for `profile`, or None; never calls STS."""
        return self.planner.role_entry(self.plan(profile)).load()

    def restamp(self, profile: str) -> bool:
        """Stamp `profile`'s cached answer with the AWS files as they are now (after a
        write that changed them but not the plan), so the fast path keeps hitting.
        False if nothing fresh is cached for it."""
        return self.planner.role_entry(self.plan(profile)).restamp()

    def session(self, profile: str) -> Credentials | None:
        """The usable cached MFA session behind `profile` (session route), or None."""
        plan = self.plan(profile)
        return self.planner.session_entry(plan).load() if self.planner.has_session(plan) else None

    def renew_session(self, profile: str, *, code: str | None = None,
                      interactive: bool | None = None, code_from: str = "-t") -> Credentials:
        """A new MFA session for `profile`'s device, before the cached one ends.

        The keeper calls this ahead of time; a caller that waited on the lock takes the
        session another process opened meanwhile instead of spending a second code.
        """
        code = given_code(profile, code)
        plan = self.plan(profile)
        if not self.planner.has_session(plan):
            raise ConfigError(f"profile {profile}", "has no MFA session to renew")
        call = self._call(plan, code, interactive, code_from)
        call.sts  # noqa: B018 - a bad region is a config error before the lock and any code
        return self.planner.session(plan, call, issued_after=self.clock()).retrieve()

    def signin_ahead(self, profile: str) -> SignInNeeded | None:
        """Whether `profile`'s IAM Identity Center sign-in cannot be renewed any more
        (renewing the access token now if it is near its end); None when it can, when the
        profile has none, or when IAM Identity Center could not be asked (next time)."""
        try:
            plan = self.plan(profile)
            if plan.sso is not None:
                self.planner.tokens.token(plan.sso.session, strict=True)
        except SignInNeeded as exc:
            return exc
        except RolebarError as exc:
            log.debug("profile %s: sign-in not checked: %s", profile, exc.cause)
        return None

    def status(self, profiles: Sequence[str] | None = None) -> list[ProfileStatus]:
        catalog = self.catalog()
        names = profiles if profiles is not None else [p.name for p in catalog.assumable()]
        return [self._status(catalog.plan(name)) for name in names]

    def needs_code(self, profile: str) -> bool:
        return self._status(self.plan(profile)).needs_code

    def forget(self, profile: str | None = None) -> int:
        """Drop cached role credentials and MFA sessions (of one profile, or all)."""
        if profile is None:
            names = [*self.cache.names("role"), *self.cache.names("session"),
                     *self.cache.names("sso-role")]
        else:
            plan = self.plan(profile)
            names = [self.planner.role_entry(plan).name]
            if plan.device:
                names.append(self.planner.session_entry(plan).name)
            if plan.sso and plan.roles:
                names.append(self.planner.sso_entry(plan).name)
        return sum(self.cache.delete(name) for name in names)

    # -- helpers -----------------------------------------------------------------------

    def _status(self, plan: Plan) -> ProfileStatus:
        entry = self.planner.role_entry(plan)
        role = entry.load()
        session = self.planner.session_entry(plan).load() \
            if self.planner.has_session(plan) else None
        # The route the last fetch took, when the role made it differ from the plan's
        # (the direct one: each fetch then needs a code, session or not).
        taken = entry.taken()
        route, reason = taken or (plan.route, plan.reason)
        needs_code = plan.device is not None and plan.code_command is None and (
            taken is not None or session is None
        )
        return ProfileStatus(
            profile=plan.profile, route=route, reason=reason, device=plan.device,
            expires=role.expires if role else None,
            session_expires=session.expires if session else None,
            needs_code=needs_code,
        )

    def _call(self, plan: Plan, code: str | None, interactive: bool | None,
              code_from: str) -> Call:
        wanted = self.interactive if interactive is None else interactive

        def chain() -> CodeChain:
            sources = default_sources(code, plan.code_command, self.extra_sources, wanted,
                                      code_from)
            return CodeChain(sources, Guard(self.cache, self.clock), self.sleep, self.clock)

        return Call(plan.profile, lambda: self._sts(plan.profile, plan.region), chain)

    def _own_sts(self, profile: str, region: str | None) -> Sts:
        return Sts(profile, region, self.sdk)

    def sdk(self) -> Sdk:
        """The SDK session of this engine's AWS files, for every AWS client it makes."""
        from rolebar.core.sdk import sdk

        return sdk(self.catalog())
