"""Role credentials from IAM Identity Center: the portal's GetRoleCredentials with the
sign-in's access token (core/sso), renewed with the refresh token when it runs low.

An SSO profile's own credentials are cached as any role's (`Cached` + `RoleEntry`, with the
fast path's `.answer` twin); a role chained from it is signed by the SSO role's credentials,
cached per sign-in, account and role (`SsoEntry`) so every role behind it shares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rolebar.core.cache import Cache, entry_name
from rolebar.core.credentials import Credentials
from rolebar.core.providers.base import Call
from rolebar.core.providers.cached import load_usable

if TYPE_CHECKING:
    from rolebar.core.sso.config import SsoRole
    from rolebar.core.sso.tokens import Tokens


@dataclass(frozen=True)
class SsoRoleCredentials:
    """One IAM Identity Center role; SignInNeeded when only a person can go on."""

    role: SsoRole
    tokens: Tokens
    call: Call

    def retrieve(self) -> Credentials:
        from rolebar.core.sso.portal import role_credentials

        return role_credentials(self.role.session, self.role.account_id, self.role.role_name,
                                profile=self.call.profile, tokens=self.tokens)

    def describe(self) -> str:
        return (f"SsoRole({self.role.role_name} in {self.role.account_id}, "
                f"{self.role.session.subject})")


@dataclass(frozen=True)
class SsoEntry:
    """An SSO role's credentials as the source of a chain: good while they can sign."""

    cache: Cache
    role: SsoRole
    clock: Callable[[], float]

    @property
    def name(self) -> str:
        session = self.role.session
        return entry_name("sso-role", url=session.start_url, session=session.cache_key,
                          account=self.role.account_id, role=self.role.role_name)

    def load(self, issued_after: float | None = None) -> Credentials | None:
        return load_usable(self.cache, self.name, self.clock(), issued_after)

    def store(self, creds: Credentials) -> None:
        self.cache.store(self.name, creds.to_dict())
