"""`rolebar keys rotate`: a new IAM access key for a source profile, the old one deleted.

Steps, each leaving exactly one working key stored: the MFA session of a profile that
these keys sign for (a code only if none is cached); CreateAccessKey; GetCallerIdentity
with the new key until it works (IAM is eventually consistent: bounded); the new key
stored where the old one lived (keyring or file); DeleteAccessKey of the old one; the
cached MFA sessions of the old key dropped. A failure before the store deletes the new key
again (or says it could not, naming it masked); a failure after it says the old key is
still in IAM. Nothing here prints: the outcome is a `Rotated`, or one RolebarError line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from rolebar.core import keyops, keystore
from rolebar.core.credentials import Credentials, Keys, mask
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.iam import Iam
from rolebar.core.profiles import Catalog, Plan

log = logging.getLogger(__name__)

# How long a new key may take to work: IAM says "a few seconds" and means up to a minute.
SETTLE_SECONDS = 60.0
SETTLE_PAUSES = (1.0, 1.0, 2.0, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Rotated:
    profile: str
    where: str
    old: str  # masked key ids
    new: str
    sessions_dropped: int


@dataclass
class Rotation:
    engine: Engine
    profile: str
    code: str | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    settle_seconds: float = SETTLE_SECONDS

    def run(self) -> Rotated:
        catalog = self.engine.catalog()
        place = keyops.where(catalog, self.profile)
        if place not in ("keyring", "file"):
            raise ConfigError(f"profile {self.profile}", "has no long-term keys in the "
                              "credentials file or the keyring to rotate")
        old = self._old_keys(catalog, place)
        plans = keyops.plans_using(catalog, self.profile)
        caller = self._caller(plans) or old
        iam = Iam(self.profile, self.engine.sdk)
        new = iam.create_key(caller, self.profile)
        try:
            self._settle(iam, new)
            self._store(catalog, place, old, new)
        except BaseException as exc:
            raise self._undo(iam, caller, new, exc) from exc
        try:
            iam.delete_key(caller, old.access_key_id)
        except RolebarError as exc:
            raise RolebarError(f"profile {self.profile}", f"the new key {mask(new.access_key_id)} "
                               f"is stored in the {place} and works, but deleting the old key "
                               f"{mask(old.access_key_id)} failed ({exc.cause}); delete it "
                               "in IAM") from exc
        dropped = self._drop_sessions(plans)
        return Rotated(self.profile, place, mask(old.access_key_id),
                       mask(new.access_key_id), dropped)

    def _old_keys(self, catalog: Catalog, place: str) -> Keys:
        if place == "keyring":
            keys = keystore.get(self.profile)
            if keys is None:
                raise keystore.KeyringError(f"profile {self.profile}", "the keyring holds "
                                            "no item for it")
            return keys
        values = catalog.values(self.profile)
        if values.get("aws_session_token"):
            raise ConfigError(f"profile {self.profile}", "holds temporary keys "
                              "(aws_session_token); only long-term keys can be rotated")
        return Keys(self.profile, str(values["aws_access_key_id"]),
                    str(values["aws_secret_access_key"]))

    def _caller(self, plans: list[Plan]) -> Credentials | None:
        """The MFA session of a profile these keys sign for; None if none has a device."""
        with_session = [p for p in plans if self.engine.planner.has_session(p)]
        if not with_session:
            if any(p.device for p in plans):
                raise ConfigError(f"profile {self.profile}", "rotation needs an MFA session, "
                                  "and every profile using these keys takes the direct route")
            return None  # no MFA anywhere: the keys themselves sign the IAM calls
        first = with_session[0].profile
        session = self.engine.session(first)
        if session is not None:  # a -t code is then not spent
            log.info("profile %s: rotating with the cached MFA session", self.profile)
            return session
        return self.engine.renew_session(first, code=self.code, interactive=True)

    def _settle(self, iam: Iam, new: Keys) -> None:
        deadline = self.clock() + self.settle_seconds
        pauses = iter(SETTLE_PAUSES)
        while not iam.works(new):
            pause = next(pauses, SETTLE_PAUSES[-1])
            if self.clock() + pause > deadline:
                raise RolebarError(f"profile {self.profile}", "the new key did not start "
                                   f"working within {self.settle_seconds:g} s")
            self.sleep(pause)

    def _store(self, catalog: Catalog, place: str, old: Keys, new: Keys) -> None:
        if place == "keyring":
            keystore.put(self.profile, new)
            if keystore.get(self.profile) != new:
                keystore.put(self.profile, old)
                raise keystore.KeyringError(f"profile {self.profile}", "the keyring did not "
                                            "give back the new key")
        else:
            keyops.store_in_file(catalog, self.profile, old, new)

    def _undo(self, iam: Iam, caller: Keys | Credentials, new: Keys,
              exc: BaseException) -> RolebarError:
        why = exc.cause if isinstance(exc, RolebarError) else type(exc).__name__
        try:
            iam.delete_key(caller, new.access_key_id)
        except RolebarError as undo:
            return RolebarError(f"profile {self.profile}", f"rotation failed ({why}); the old "
                                "key stays stored and in use, but the new key "
                                f"{mask(new.access_key_id)} could not be deleted again "
                                f"({undo.cause}): delete it in IAM")
        return RolebarError(f"profile {self.profile}", f"rotation failed ({why}); the new key "
                            "was deleted again and the old key stays stored and in use")

    def _drop_sessions(self, plans: list[Plan]) -> int:
        """The old key's cached MFA sessions (plans as they were before the rotation)."""
        names = {self.engine.planner.session_entry(p).name for p in plans if p.device}
        return sum(self.engine.cache.delete(name) for name in names)
