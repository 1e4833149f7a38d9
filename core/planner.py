"""A profile's plan -> the providers that get its credentials, and why.

The plan (profiles.py) says what the AWS files ask for: the source keys, the roles in
order, the MFA device and the route chosen for the first role, with its reason. The
planner turns that into a tree of providers (core/providers) whose root is the profile's
cached role entry. The tree is the route: the engine calls it and never branches on
`Plan.route`, which stays a label for `status`, `profiles` and the keeper's display.

    no MFA            Cached(AssumeRole(... AssumeRole(role 1, StaticKeys)))
    session route     Cached(... SessionOrDirect(SessionRole(role 1, Cached(MfaSession)),
                                                 AssumeRole(role 1 with a code, StaticKeys)))
    direct route      Cached(... AssumeRole(role 1 with a code, StaticKeys))
    MFA session only  Cached(Cached(MfaSession(StaticKeys)))
    SSO role          Cached(SsoRoleCredentials)
    chained from SSO  Cached(... AssumeRole(role 1, Cached(SsoRoleCredentials)))

Roles after the first are plain AssumeRole calls signed by the one before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rolebar.core.cache import Cache
from rolebar.core.credentials import Credentials, Keys
from rolebar.core.profiles import Plan
from rolebar.core.providers import (
    AssumeRole,
    Cached,
    Call,
    MfaSession,
    Provider,
    RoleEntry,
    SessionEntry,
    SessionOrDirect,
    SessionRole,
    SsoEntry,
    SsoRoleCredentials,
    source_keys,
)
from rolebar.core.sso.tokens import Tokens


@dataclass(frozen=True)
class Composition:
    """The provider tree for one request, and why it has this shape."""

    provider: Cached
    reason: str

    def retrieve(self) -> Credentials:
        return self.provider.retrieve()

    def describe(self) -> str:
        return self.provider.describe()


@dataclass(frozen=True)
class Planner:
    """Composes providers over one cache and one clock."""

    cache: Cache
    clock: Callable[[], float]

    @property
    def tokens(self) -> Tokens:
        """SSO access tokens, renewed under locks in this cache's folder."""
        return Tokens(locks=self.cache)

    def compose(self, plan: Plan, call: Call, issued_after: float | None = None) -> Composition:
        """The tree for `plan`'s credentials; `issued_after`: newer than those cached."""
        if plan.sso is not None and not plan.roles:
            inner: Provider[Credentials] = SsoRoleCredentials(plan.sso, self.tokens, call)
        elif not plan.roles:
            inner = self.session(plan, call)
        else:
            inner = self._first_role(plan, call, self._source(plan, call))
            for step in plan.roles[1:]:
                inner = AssumeRole(step, inner, call)
        why = f"profile {plan.profile}: {plan.reason}: {inner.describe()}"
        root = Cached(inner, self.role_entry(plan, call), self.cache, issued_after, why)
        return Composition(root, plan.reason)

    @staticmethod
    def has_session(plan: Plan) -> bool:
        """Whether the plan's credentials come through an MFA session (one to renew)."""
        return plan.device is not None and plan.route == "session"

    def session(self, plan: Plan, call: Call, issued_after: float | None = None) -> Cached:
        """The MFA session of the plan's device, cached per device and source key."""
        if plan.device is None:
            raise ValueError(f"profile {plan.profile}: no MFA device, no MFA session")
        minted = MfaSession(source_keys(plan.source), plan.device, plan.session_seconds, call)
        return Cached(minted, self.session_entry(plan), self.cache, issued_after)

    def role_entry(self, plan: Plan, call: Call | None = None) -> RoleEntry:
        return RoleEntry(self.cache, plan, self.clock, call)

    def sso_entry(self, plan: Plan) -> SsoEntry:
        """The SSO role a chain starts from (plan.sso must be set)."""
        assert plan.sso is not None
        return SsoEntry(self.cache, plan.sso, self.clock)

    def session_entry(self, plan: Plan) -> SessionEntry:
        return SessionEntry(self.cache, plan.device or "", plan.key_ref, self.clock)

    def _source(self, plan: Plan, call: Call) -> Provider[Keys | Credentials]:
        """What signs the first role: long-term keys, or an SSO role's credentials."""
        if plan.sso is None:
            return source_keys(plan.source)
        portal = SsoRoleCredentials(plan.sso, self.tokens, call)
        return Cached(portal, self.sso_entry(plan), self.cache)

    def _first_role(self, plan: Plan, call: Call,
                    keys: Provider[Keys | Credentials]) -> Provider[Credentials]:
        step = plan.roles[0]
        direct = AssumeRole(step, keys, call, device=plan.device)  # no device: no code
        if not self.has_session(plan):
            return direct
        return SessionOrDirect(SessionRole(step, self.session(plan, call), call), direct, call)
