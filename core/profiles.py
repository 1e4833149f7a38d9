"""The AWS config files -> a resolved plan per profile.

Parsing is botocore's (its loader handles `[profile x]`, `[default]`, `[services]` and
`[sso-session]` blocks), once per change of a file (awsfiles.py); keys in the credentials
file override the config file's per profile. A plan says which long-term keys sign the
first call, whether an MFA session is fetched first, which roles are assumed in order,
and why this route was chosen; the planner (planner.py) turns it into providers.
"""

from __future__ import annotations

import copy
import getpass
import hashlib
import json
import logging
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rolebar.core import paths
from rolebar.core.atomic import Stamp
from rolebar.core.awsfiles import load_config, load_credentials, stamps
from rolebar.core.credentials import Keys
from rolebar.core.endpoints import check_sts_endpoint
from rolebar.core.errors import ConfigError, ProfileNotFound

if TYPE_CHECKING:
    from rolebar.core.sso.config import SsoRole

log = logging.getLogger(__name__)

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,128}$")
SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]")
MAX_CHAINED = 3600  # STS caps role credentials obtained with session or role credentials
DEFAULT_SESSION_SECONDS = 12 * 3600

Route = Literal["session", "direct", "none", "sso"]


@dataclass(frozen=True)
class RoleStep:
    profile: str
    role_arn: str
    session_name: str
    external_id: str | None = None
    duration: int | None = None


@dataclass(frozen=True)
class Plan:
    """How to get credentials for `profile`."""

    profile: str
    source: Keys
    roles: tuple[RoleStep, ...]
    route: Route
    reason: str
    device: str | None = None  # the MFA serial, when one is needed
    session_seconds: int = DEFAULT_SESSION_SECONDS
    code_command: tuple[str, ...] | None = None  # generate_token / mfa_process argv
    region: str | None = None
    files: tuple[str, ...] = field(default=(), compare=False)
    # The IAM Identity Center role at the bottom of the chain (then `source` is a stand-in).
    sso: SsoRole | None = None

    @property
    def key_ref(self) -> str:
        """Which long-term keys sign: their key id, the keyring item of the source, or the
        IAM Identity Center role and sign-in."""
        if self.sso is not None:
            return (f"sso:{self.sso.session.start_url}:{self.sso.session.cache_key}:"
                    f"{self.sso.account_id}:{self.sso.role_name}")
        return f"keyring:{self.source.profile}" if self.source.keyring else \
            self.source.access_key_id

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that shapes the credentials changes (no secrets)."""
        shape = [self.source.profile, self.key_ref, self.route, self.device,
                 self.session_seconds, self.region, [vars(r) for r in self.roles]]
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Lineage:
    """A profile and the sources its source_profile chain leads to, and how it ends:
    `top` (no source_profile), `self` (its own source), `cycle` or `missing` (`next`
    names the profile met again, or the one that does not exist)."""

    profiles: tuple[tuple[str, Mapping[str, Any]], ...]
    end: Literal["top", "self", "cycle", "missing"]
    next: str | None = None


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    role_arn: str | None
    device: str | None
    route: Route
    region: str | None
    has_code_command: bool
    sso: str | None = None  # "ROLE in ACCOUNT (sso-session NAME)" for an SSO source


class Catalog:
    """The parsed AWS files of one moment."""

    def __init__(self, profiles: dict[str, dict[str, Any]], files: tuple[Path, Path],
                 services: dict[str, Any] | None = None,
                 env: Mapping[str, str] = os.environ,
                 stamp: tuple[Stamp | None, ...] | None = None) -> None:
        self._profiles = profiles
        self.files = files
        self._services = services or {}
        self._env = env
        self._blocks: dict[str, Any] = {"services": self._services}
        self._stamp = stamp if stamp is not None else stamps(files)

    @classmethod
    def load(cls, env: Mapping[str, str] = os.environ) -> Catalog:
        """The files as they stand; each is parsed again only when its stamp changed."""
        config, creds = paths.aws_config_file(env), paths.aws_credentials_file(env)
        stamp = stamps((config, creds))  # before reading: a change meanwhile shows next time
        parsed = load_config(config)
        # The parse's own dicts, shared by every Catalog of this state of the files (and
        # never changed); only a profile with keys in the credentials file gets a merged copy.
        profiles: dict[str, dict[str, Any]] = dict(parsed.get("profiles", {}))
        for name, values in load_credentials(creds).items():
            profiles[name] = {**profiles.get(name, {}), **values}
        catalog = cls(profiles, (config, creds), dict(parsed.get("services", {})), env, stamp)
        catalog._blocks = {k: v for k, v in parsed.items() if k != "profiles"}
        return catalog

    @property
    def stamp(self) -> tuple[Stamp | None, ...]:
        """The files' stamps when they were read: what this catalog is good for."""
        return self._stamp

    def full_config(self) -> dict[str, Any]:
        """botocore's `Session.full_config` for these files: the config file's blocks, with
        each profile's credentials-file keys over its config keys (a copy)."""
        return copy.deepcopy({**self._blocks, "profiles": self._profiles})

    @property
    def names(self) -> list[str]:
        return sorted(self._profiles)

    def assumable(self) -> list[ProfileInfo]:
        """Profiles with a role to assume or an MFA session to open; broken ones left out."""
        found = []
        for name in self.names:
            values = self._profiles[name]
            if "role_arn" not in values and "mfa_serial" not in values \
                    and not _is_sso(values):
                continue
            try:
                plan = self._plan(name)  # the endpoint is checked when it is used
            except ConfigError as exc:
                log.debug("profile %s: not assumable: %s", name, exc.cause)
                continue
            found.append(ProfileInfo(
                name=name,
                role_arn=plan.roles[-1].role_arn if plan.roles else None,
                device=plan.device,
                route=plan.route,
                region=plan.region,
                has_code_command=plan.code_command is not None,
                sso=plan.sso.label if plan.sso else None,
            ))
        return found

    def values(self, name: str) -> dict[str, Any]:
        try:
            return self._profiles[name]
        except KeyError:
            raise ProfileNotFound(
                f"profile {name}", f"not found in {self.files[0]} or {self.files[1]}"
            ) from None

    def plan(self, name: str) -> Plan:
        plan = self._plan(name)
        # Before any code is asked for: an endpoint botocore cannot use fails every call.
        check_sts_endpoint(name, self._profiles[name], self._services, self._env)
        return plan

    def _plan(self, name: str) -> Plan:
        values = self.values(name)
        if "credential_source" in values:
            raise ConfigError(f"profile {name}", "credential_source is not supported")
        if "role_arn" not in values and _is_sso(values):
            return self._finish(name, Keys(name, "", ""), (), None, name, self._sso_role(name))
        if "role_arn" not in values:
            if "mfa_serial" not in values:
                raise ConfigError(f"profile {name}", "has no role_arn or mfa_serial to assume")
            source = self._keys(name, values)
            return self._finish(name, source, (), values["mfa_serial"], name)

        chain, source, sso = self._chain(name)
        device = next(
            (self._profiles[step.profile].get("mfa_serial") for step in reversed(chain)
             if self._profiles[step.profile].get("mfa_serial")),
            None,
        )
        owner = next((s.profile for s in reversed(chain)
                      if self._profiles[s.profile].get("mfa_serial") == device), name)
        return self._finish(name, source, tuple(chain), device, owner, sso)

    def lineage(self, name: str) -> Lineage:
        """The one walker of source_profile: `name`, then each source in turn."""
        found: list[tuple[str, Mapping[str, Any]]] = []
        current = name
        while current in self._profiles:
            values = self._profiles[current]
            found.append((current, values))
            source = values.get("source_profile")
            if not source:
                return Lineage(tuple(found), "top")
            if source == current:
                return Lineage(tuple(found), "self")
            if any(source == seen for seen, _ in found):
                return Lineage(tuple(found), "cycle", source)
            current = source
        return Lineage(tuple(found), "missing", current)

    def _chain(self, name: str) -> tuple[list[RoleStep], Keys, SsoRole | None]:
        """Roles down to static keys or an SSO role; the chain comes back source first."""
        self.values(name)  # ProfileNotFound names the files
        walk = self.lineage(name)
        steps: list[RoleStep] = []
        for current, values in walk.profiles:
            if "role_arn" not in values and _is_sso(values):
                return list(reversed(steps)), Keys(current, "", ""), self._sso_role(current)
            if "role_arn" not in values:
                return list(reversed(steps)), self._keys(name, values, current), None
            steps.append(self._role_step(current, values))
        last, values = walk.profiles[-1]
        if walk.end == "self":  # a role profile holding its own keys, as botocore allows
            return list(reversed(steps)), self._keys(name, values, last), None
        if walk.end == "cycle":
            loop = " -> ".join([*(p for p, _ in walk.profiles), str(walk.next)])
            raise ConfigError(f"profile {name}", f"source_profile cycle: {loop}")
        if walk.end == "missing":
            raise ConfigError(f"profile {name}", f"source_profile {walk.next} does not exist")
        if "credential_source" in values:
            raise ConfigError(f"profile {last}", "credential_source is not supported")
        raise ConfigError(f"profile {last}", "role_arn without source_profile")

    def _keys(self, name: str, values: Mapping[str, Any], owner: str | None = None) -> Keys:
        owner = owner or name
        key_id, secret = values.get("aws_access_key_id"), values.get("aws_secret_access_key")
        if (mark := values.get("rolebar_keys")) is not None:
            return _keyring_keys(owner, str(mark), bool(key_id or secret))
        if not key_id or not secret:
            subject = f"profile {name}" if owner == name else f"profile {name}: source {owner}"
            raise ConfigError(subject, "has no aws_access_key_id and aws_secret_access_key")
        return Keys(owner, key_id, secret, values.get("aws_session_token") or None)

    def _role_step(self, name: str, values: Mapping[str, Any]) -> RoleStep:
        arn = values["role_arn"]
        if not ROLE_ARN.match(arn):
            raise ConfigError(f"profile {name}", f"malformed role_arn {arn!r}")
        return RoleStep(
            profile=name,
            role_arn=arn,
            session_name=_session_name(name, values.get("role_session_name")),
            external_id=values.get("external_id") or None,
            duration=_seconds(name, values, "duration_seconds", 900, 43200),
        )

    def _sso_role(self, name: str) -> SsoRole:
        """The profile's IAM Identity Center role, checked (config errors name it)."""
        from rolebar.core.sso.config import SsoConfig

        sessions = dict(self._blocks.get("sso_sessions", {}))
        return SsoConfig(self._profiles, sessions, self.files[0]).role(name)

    def _finish(self, name: str, source: Keys, chain: tuple[RoleStep, ...],
                device: str | None, owner: str, sso: SsoRole | None = None) -> Plan:
        values = self._profiles[name]
        route, reason = _route(values, chain, device) if sso is None else \
            _sso_route(sso, chain, device)
        session_seconds = _seconds(name, values, "rolebar_session_seconds", 900, 129600)
        return Plan(
            profile=name,
            source=source,
            roles=chain,
            route=route,
            reason=reason,
            device=device,
            session_seconds=session_seconds or DEFAULT_SESSION_SECONDS,
            code_command=self._code_command(owner) if device else None,
            region=self._region(name),
            files=tuple(str(f) for f in self.files),
            sso=sso,
        )

    def _code_command(self, owner: str) -> tuple[str, ...] | None:
        """generate_token (or aws-vault's mfa_process): the owner first, then its sources."""
        for current, values in self.lineage(owner).profiles:
            command = values.get("generate_token") or values.get("mfa_process")
            if command:
                try:
                    argv = tuple(shlex.split(command))
                except ValueError as exc:
                    raise ConfigError(f"profile {current}", f"generate_token: {exc}") from None
                return argv or None
        return None

    def _region(self, name: str) -> str | None:
        return next((str(values["region"]) for _, values in self.lineage(name).profiles
                     if values.get("region")), None)


def _route(values: Mapping[str, Any], chain: tuple[RoleStep, ...],
           device: str | None) -> tuple[Route, str]:
    if device is None:
        return "none", "no mfa_serial: AssumeRole needs no code"
    if not chain:
        return "session", "no role_arn: the MFA session itself"
    wanted = values.get("rolebar_route")
    if wanted not in (None, "session", "direct"):
        raise ConfigError(f"profile {chain[-1].profile}",
                          f"rolebar_route must be session or direct, not {wanted!r}")
    first = chain[0].duration or 0
    if first > MAX_CHAINED:
        return "direct", f"direct AssumeRole: duration_seconds {first} > {MAX_CHAINED}"
    if wanted == "direct":
        return "direct", "direct AssumeRole: rolebar_route = direct"
    return "session", "MFA session: GetSessionToken once, then AssumeRole with no code"


def _is_sso(values: Mapping[str, Any]) -> bool:
    return "sso_session" in values or "sso_start_url" in values


def _sso_route(sso: SsoRole, chain: tuple[RoleStep, ...],
               device: str | None) -> tuple[Route, str]:
    """Roles after an SSO role: no MFA session (GetSessionToken takes no temporary keys)."""
    label = f"IAM Identity Center role {sso.label}"
    if not chain:
        return "sso", label
    if device is not None:
        return "direct", f"direct AssumeRole with a code, signed by the {label}"
    return "none", f"AssumeRole with no code, signed by the {label}"


def _keyring_keys(owner: str, mark: str, in_file: bool) -> Keys:
    """The stand-in for keys kept in the OS keyring (`rolebar_keys = keyring`)."""
    if mark != "keyring":
        raise ConfigError(f"profile {owner}", f"rolebar_keys must be keyring, not {mark!r}")
    if in_file:
        raise ConfigError(f"profile {owner}", "has keys in the file and rolebar_keys = "
                          "keyring; remove one (`rolebar keys import` moves them)")
    return Keys(owner, "", "", None, keyring=True)


def _seconds(name: str, values: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    try:
        seconds = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"profile {name}", f"{key} must be a number, not {raw!r}") from None
    if not low <= seconds <= high:
        raise ConfigError(f"profile {name}", f"{key} {seconds} is outside {low}..{high}")
    return seconds


def _session_name(profile: str, configured: str | None) -> str:
    if configured:
        if not re.fullmatch(r"[\w+=,.@-]{2,64}", configured):
            raise ConfigError(f"profile {profile}", f"malformed role_session_name {configured!r}")
        return configured
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in a minimal container
        user = "user"
    return SESSION_NAME_CHARS.sub("-", f"rolebar-{user}")[:64]


def config_profile_names(path: Path) -> frozenset[str]:
    """The profiles a config file defines (`[default]` and `[profile x]` blocks)."""
    return frozenset(load_config(path).get("profiles", {}))


def none_found(env: Mapping[str, str] = os.environ) -> tuple[str, str, str]:
    """What to say when no profile can be assumed: what is missing, where rolebar looked,
    what to try. The CLI prints it on one line, the tray as three menu lines."""
    return (
        "no AWS profile to assume (one with role_arn or mfa_serial)",
        f"looked in {paths.aws_config_file(env)} and {paths.aws_credentials_file(env)}",
        "try `rolebar demo`, or set one up as in the README's quick start",
    )
