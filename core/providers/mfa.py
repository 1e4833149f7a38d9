"""The MFA session: GetSessionToken with a one-time code."""

from __future__ import annotations

from dataclasses import dataclass

from rolebar.core.credentials import Credentials, Keys
from rolebar.core.providers.base import Call, Provider, with_code


@dataclass(frozen=True)
class MfaSession:
    """A session for `device`, signed by the source's keys: every role behind the device
    is then assumed without a code until it ends (wrap it in `Cached`, per device)."""

    source: Provider[Keys]
    device: str
    seconds: int
    call: Call

    def retrieve(self) -> Credentials:
        keys = self.source.retrieve()
        sts = self.call.sts
        return with_code(self.call, self.device, lambda code: sts.get_session_token(
            keys, self.device, code, self.seconds))

    def describe(self) -> str:
        return f"MfaSession({self.device}, {self.source.describe()})"
