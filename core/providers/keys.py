"""Long-term keys, as the AWS files hold them."""

from __future__ import annotations

from dataclasses import dataclass

from rolebar.core.credentials import Keys


@dataclass(frozen=True)
class StaticKeys:
    """The source profile's access key and secret (and session token, if it has one)."""

    keys: Keys

    def retrieve(self) -> Keys:
        return self.keys

    def describe(self) -> str:
        return f"StaticKeys({self.keys.profile})"
