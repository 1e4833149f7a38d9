"""Long-term keys, as the AWS files hold them, or from the OS keyring."""

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


@dataclass(frozen=True)
class KeyringKeys:
    """The source profile's keys from the OS keyring (`rolebar_keys = keyring`): read on
    the first call that needs them, then kept for the process (keystore.cached)."""

    profile: str

    def retrieve(self) -> Keys:
        from rolebar.core import keystore

        return keystore.cached(self.profile)

    def describe(self) -> str:
        return f"KeyringKeys({self.profile})"


def source_keys(keys: Keys) -> StaticKeys | KeyringKeys:
    """The provider of a plan's source keys."""
    return KeyringKeys(keys.profile) if keys.keyring else StaticKeys(keys)
