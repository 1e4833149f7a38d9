"""IAM Identity Center settings from the AWS config file, as the SDKs read them.

Two forms: a profile naming an `[sso-session NAME]` block (`sso_start_url`, `sso_region`,
`sso_registration_scopes`), and the older one with `sso_start_url` and `sso_region` on the
profile itself. Parsing is botocore's loader. A sign-in belongs to the session (its name,
or for the older form its start URL): every profile on it shares one token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rolebar.core import paths
from rolebar.core.errors import ConfigError, ProfileNotFound

DEFAULT_SCOPES = ("sso:account:access",)
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")  # botocore's rule


@dataclass(frozen=True)
class SsoSession:
    """One IAM Identity Center sign-in; ``name`` is None for the older, per-profile form."""

    name: str | None
    start_url: str
    region: str
    scopes: tuple[str, ...] = ()
    # The profile this was read from: messages for the older form, endpoint settings.
    profile: str | None = field(default=None, compare=False)

    @property
    def cache_key(self) -> str:
        """What the AWS CLI hashes for the token file's name."""
        return self.name if self.name is not None else self.start_url

    @property
    def subject(self) -> str:
        return f"sso-session {self.name}" if self.name is not None else f"profile {self.profile}"

    @property
    def login_command(self) -> str:
        if self.name is not None:
            return f"rolebar login --sso-session {self.name}"
        return f"rolebar login {self.profile}"

    @property
    def registration_scopes(self) -> tuple[str, ...]:
        """Scopes to register with: a session's, else the CLI's default (which brings
        refresh tokens); the older form registers none, as the CLI does."""
        if self.name is None:
            return self.scopes
        return self.scopes or DEFAULT_SCOPES


@dataclass(frozen=True)
class SsoRole:
    """A profile's role through IAM Identity Center."""

    profile: str
    session: SsoSession
    account_id: str
    role_name: str

    @property
    def label(self) -> str:
        return f"{self.role_name} in {self.account_id} ({self.session.subject})"


class SsoConfig:
    """The SSO side of one reading of the config file."""

    def __init__(self, profiles: dict[str, dict[str, Any]],
                 sessions: dict[str, dict[str, Any]], file: Path) -> None:
        self._profiles, self._sessions, self.file = profiles, sessions, file

    @classmethod
    def load(cls, env: Mapping[str, str] = os.environ) -> SsoConfig:
        file = paths.aws_config_file(env)
        parsed = _parse(file)
        return cls(dict(parsed.get("profiles", {})), dict(parsed.get("sso_sessions", {})), file)

    def is_sso(self, profile: str) -> bool:
        values = self._profiles.get(profile, {})
        return "sso_session" in values or "sso_start_url" in values

    def session(self, name: str) -> SsoSession:
        """The `[sso-session NAME]` block, checked."""
        values = self._sessions.get(name)
        if values is None:
            raise ConfigError(f"sso-session {name}", f"not found in {self.file}")
        subject = f"sso-session {name}"
        start_url, region = self._required(subject, values)
        scopes = tuple(s.strip() for s in str(values.get("sso_registration_scopes", ""))
                       .split(",") if s.strip())
        return SsoSession(name, start_url, region, scopes)

    def for_profile(self, profile: str) -> SsoSession:
        """The sign-in a profile uses (either form)."""
        values = self._values(profile)
        subject = f"profile {profile}"
        name = values.get("sso_session")
        if name is None:
            if "sso_start_url" not in values:
                raise ConfigError(subject, "has no sso_session or sso_start_url "
                                  "(not an IAM Identity Center profile)")
            start_url, region = self._required(subject, values)
            return SsoSession(None, start_url, region, (), profile)
        name = str(name)
        if name not in self._sessions:
            raise ConfigError(subject, f"sso_session {name!r} has no [sso-session {name}] "
                              f"section in {self.file}")
        session = self.session(name)
        for key, want in (("sso_start_url", session.start_url), ("sso_region", session.region)):
            if key in values and str(values[key]) != want:
                raise ConfigError(subject, f"{key} differs from sso-session {name}'s")
        return SsoSession(name, session.start_url, session.region, session.scopes, profile)

    def role(self, profile: str) -> SsoRole:
        session = self.for_profile(profile)
        values = self._values(profile)
        account, role = values.get("sso_account_id"), values.get("sso_role_name")
        if not account or not role:
            missing = [k for k, v in (("sso_account_id", account), ("sso_role_name", role))
                       if not v]
            raise ConfigError(f"profile {profile}", f"{' and '.join(missing)} missing")
        if _ACCOUNT.fullmatch(str(account)) is None:
            raise ConfigError(f"profile {profile}", "sso_account_id is not a 12-digit account id")
        return SsoRole(profile, session, str(account), str(role))

    def sessions(self) -> list[SsoSession]:
        """Every sign-in the config names (each once), broken ones left out."""
        found: dict[str, SsoSession] = {}
        for name in sorted(self._sessions):
            try:
                found.setdefault(name, self.session(name))
            except ConfigError:
                continue
        for profile in sorted(self._profiles):
            if "sso_session" not in self._profiles[profile] and self.is_sso(profile):
                try:
                    session = self.for_profile(profile)
                except ConfigError:
                    continue
                found.setdefault(session.cache_key, session)
        return list(found.values())

    def roles(self) -> list[SsoRole]:
        """Every profile's IAM Identity Center role (role profiles chained from one are
        not SSO profiles themselves), broken ones left out."""
        found = []
        for profile in sorted(self._profiles):
            if self.is_sso(profile) and "role_arn" not in self._profiles[profile]:
                try:
                    found.append(self.role(profile))
                except ConfigError:
                    continue
        return found

    def problems(self) -> list[ConfigError]:
        """What is wrong with each `[sso-session]` block (profiles: by their plans)."""
        found = []
        for name in sorted(self._sessions):
            try:
                self.session(name)
            except ConfigError as exc:
                found.append(exc)
        return found

    def _values(self, profile: str) -> dict[str, Any]:
        try:
            return self._profiles[profile]
        except KeyError:
            raise ProfileNotFound(f"profile {profile}", f"not found in {self.file}") from None

    def _required(self, subject: str, values: Mapping[str, Any]) -> tuple[str, str]:
        missing = [k for k in ("sso_start_url", "sso_region") if not values.get(k)]
        if missing:
            raise ConfigError(subject, f"{' and '.join(missing)} missing in {self.file}")
        start_url, region = str(values["sso_start_url"]), str(values["sso_region"])
        if not start_url.startswith(("https://", "http://")):
            raise ConfigError(subject, "sso_start_url is not a URL (https://...)")
        if _REGION.fullmatch(region) is None:
            raise ConfigError(subject, f"sso_region {region!r} is not a region name")
        return start_url, region


def _parse(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    if not path.is_file():
        raise ConfigError(str(path), "cannot be read (not a regular file)")
    import botocore.configloader
    import botocore.exceptions

    try:
        parsed: dict[str, Any] = botocore.configloader.load_config(str(path))
    except botocore.exceptions.ConfigParseError:
        raise ConfigError(str(path), "cannot be parsed (malformed INI)") from None
    except (OSError, UnicodeDecodeError) as exc:
        cause = getattr(exc, "strerror", None) or "not valid UTF-8"
        raise ConfigError(str(path), f"cannot be read ({cause})") from None
    return parsed
