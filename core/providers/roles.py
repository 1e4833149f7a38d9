"""AssumeRole, three ways: plainly, with a code in the call, signed by the MFA session."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rolebar.core.credentials import Credentials, Keys
from rolebar.core.providers.base import Call, Provider, with_code
from rolebar.core.sts import SessionExpired, SessionRouteRefused

if TYPE_CHECKING:
    from rolebar.core.profiles import RoleStep
    from rolebar.core.providers.cached import Cached

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssumeRole:
    """One role, signed by what `caller` retrieves (keys, or the role before it in a
    chain); with `device`, the call carries a one-time code for it."""

    step: RoleStep
    caller: Provider[Keys | Credentials]
    call: Call
    device: str | None = None

    def retrieve(self) -> Credentials:
        caller = self.caller.retrieve()
        sts = self.call.sts
        if (device := self.device) is None:
            return sts.assume_role(caller, self.step)
        return with_code(self.call, device, lambda code: sts.assume_role(
            caller, self.step, device=device, code=code))

    def describe(self) -> str:
        code = ", with a code" if self.device else ""
        return f"AssumeRole({self.step.role_arn}{code}, {self.caller.describe()})"


@dataclass(frozen=True)
class SessionRole:
    """One role signed by the MFA session, with no code.

    STS may end a session before its Expiration (revoked, or the clock here is off):
    then the cached session is dropped and a new one opened, once.
    """

    step: RoleStep
    session: Cached
    call: Call

    def retrieve(self) -> Credentials:
        sts = self.call.sts
        try:
            return sts.assume_role(self.session.retrieve(), self.step, session=True)
        except SessionExpired:
            log.info("profile %s: STS refused the cached MFA session; renewing",
                     self.call.profile)
            self.session.drop()
            return sts.assume_role(self.session.retrieve(), self.step, session=True)

    def describe(self) -> str:
        return f"SessionRole({self.step.role_arn}, {self.session.describe()})"


@dataclass(frozen=True)
class SessionOrDirect:
    """The session route, or, when the role refuses MFA-session credentials (STS answers
    AccessDenied, 403: a trust policy wanting a recent code, say), the direct one: the
    role with a code in the call. The route taken is noted on the call for `status`."""

    via_session: SessionRole
    direct: AssumeRole
    call: Call

    def retrieve(self) -> Credentials:
        try:
            return self.via_session.retrieve()
        except SessionRouteRefused as exc:
            reason = (f"the role refused the MFA session ({exc.code}): "
                      "direct AssumeRole with a code")
            log.info("profile %s: %s", self.call.profile, reason)
            self.call.taken = ("direct", reason)
            return self.direct.retrieve()

    def describe(self) -> str:
        return f"SessionOrDirect({self.via_session.describe()}, {self.direct.describe()})"
