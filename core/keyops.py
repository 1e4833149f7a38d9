"""Moving a source profile's long-term keys between the credentials file and the OS
keyring (`rolebar keys import|export|list`, DESIGN.md section 5c).

The mark is `rolebar_keys = keyring` in the profile's section of the credentials file,
where the keys stood: botocore ignores the key, rolebar's plan (profiles.py) then reads
the keys from the keyring. An import writes the keyring first and reads it back, then
takes the keys out of the file (atomically, 0600, every other byte kept); a failure on the
way leaves the keys where they were. An export is the same the other way round.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from rolebar.core import keystore, keytext
from rolebar.core.atomic import read_whole
from rolebar.core.awsfiles import load_credentials
from rolebar.core.cache import Cache
from rolebar.core.credentials import Keys, mask
from rolebar.core.credfile import SectionWriter
from rolebar.core.credtext import Text
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.planner import Planner
from rolebar.core.profiles import Catalog, Plan

log = logging.getLogger(__name__)

Where = Literal["keyring", "file", "config", "none"]


@dataclass(frozen=True)
class KeySource:
    """A source profile and where its long-term keys live (no secret)."""

    profile: str
    where: Where
    key_id: str | None = None  # masked: AKIA…WXYZ
    problem: str | None = None  # the keyring could not be read, say


def where(catalog: Catalog, profile: str) -> Where:
    values = catalog.values(profile)
    if values.get(keytext.MARK) is not None:
        return "keyring"
    if values.get(keytext.KEY_ID) and values.get(keytext.SECRET):
        in_file = load_credentials(catalog.files[1]).get(profile, {})  # parsed once a stamp
        return "file" if in_file.get(keytext.KEY_ID) else "config"
    return "none"


def source_profiles(catalog: Catalog) -> list[str]:
    """Profiles whose long-term keys sign some assumable profile's first call, and the
    ones marked for the keyring."""
    found = {name for name in catalog.names if catalog.values(name).get(keytext.MARK)}
    for info in catalog.assumable():
        try:
            found.add(catalog.plan(info.name).source.profile)
        except RolebarError:
            continue
    return sorted(found)


def describe(catalog: Catalog, profile: str, read: bool = True) -> KeySource:
    """Where `profile`'s keys live and their masked id (`read`: ask the keyring too)."""
    found = where(catalog, profile)
    if found in ("file", "config"):
        return KeySource(profile, found, mask(str(catalog.values(profile)[keytext.KEY_ID])))
    if found == "keyring" and read:
        try:
            keys = keystore.get(profile)
        except RolebarError as exc:
            return KeySource(profile, found, None, exc.cause)
        if keys is None:
            return KeySource(profile, found, None, "no keyring item")
        return KeySource(profile, found, mask(keys.access_key_id))
    return KeySource(profile, found)


def import_keys(env: Mapping[str, str], profile: str) -> Keys:
    """The profile's keys into the keyring and out of the credentials file."""
    catalog = Catalog.load(env)
    catalog.values(profile)  # ProfileNotFound names the files
    state = where(catalog, profile)
    if state == "keyring":
        raise ConfigError(f"profile {profile}", "its keys are already in the keyring")
    if state == "config":
        raise ConfigError(f"profile {profile}", f"its keys are in {catalog.files[0]}; "
                          f"move them to [{profile}] in {catalog.files[1]} first")
    keys = keytext.stored_keys(_text(catalog), profile)
    if keys is None:
        raise ConfigError(f"profile {profile}", f"has no aws_access_key_id and "
                          f"aws_secret_access_key in {catalog.files[1]}")
    if keys.session_token:
        raise ConfigError(f"profile {profile}", "holds temporary keys (aws_session_token), "
                          "not long-term keys: nothing to keep in the keyring")
    keystore.put(profile, keys)
    if keystore.get(profile) != keys:
        keystore.delete(profile)
        raise keystore.KeyringError(f"profile {profile}", "the keyring did not give back what "
                                    "was stored; the keys stay in the file")
    try:
        with _carried(env, catalog, profile):
            _edit(catalog, profile, lambda doc: keytext.without_keys(
                _same(doc, profile, keys), profile))
    except BaseException:
        keystore.delete(profile)  # the file still has them: one place, as before
        raise
    log.info("profile %s: keys %s moved to the keyring", profile, mask(keys.access_key_id))
    return keys


def export_keys(env: Mapping[str, str], profile: str) -> Keys:
    """The profile's keys back into the credentials file, and out of the keyring."""
    catalog = Catalog.load(env)
    if where(catalog, profile) != "keyring":
        raise ConfigError(f"profile {profile}", "is not marked rolebar_keys = keyring in "
                          f"{catalog.files[1]}")
    keys = keystore.get(profile)
    if keys is None:
        raise keystore.KeyringError(f"profile {profile}", "the keyring holds no item for it")
    with _carried(env, catalog, profile):
        _edit(catalog, profile, lambda doc: keytext.with_keys(doc, profile, keys))
    keystore.delete(profile)
    log.info("profile %s: keys %s moved to %s", profile, mask(keys.access_key_id),
             catalog.files[1])
    return keys


def store_in_file(catalog: Catalog, profile: str, old: Keys, new: Keys) -> None:
    """Replace the file's keys of `profile` (a rotation), only while they are `old`."""
    _edit(catalog, profile, lambda doc: keytext.replaced_keys(
        _same(doc, profile, old), profile, new))


def plans_using(catalog: Catalog, source: str) -> list[Plan]:
    """The plans of every assumable profile that `source`'s keys sign for, itself first."""
    plans = []
    for info in catalog.assumable():
        try:
            plan = catalog.plan(info.name)
        except RolebarError:
            continue
        if plan.source.profile == source:
            plans.append(plan)
    return sorted(plans, key=lambda p: p.profile != source)


# -- internals ----------------------------------------------------------------------------


@contextlib.contextmanager
def _carried(env: Mapping[str, str], catalog: Catalog, profile: str) -> Iterator[None]:
    """Keep the cached MFA sessions and role credentials of the keys across a move: the
    keys are the same, only where rolebar finds them (and so the cache's names) changes."""
    planner = Planner(Cache(), time.time)
    before = plans_using(catalog, profile)
    yield
    after = {p.profile: p for p in plans_using(Catalog.load(env), profile)}
    for old in before:
        new = after.get(old.profile)
        if new is None:
            continue
        if old.device and new.device == old.device:
            session = planner.session_entry(old).load()
            if session is not None:
                planner.session_entry(new).store(session)
                planner.cache.delete(planner.session_entry(old).name)
        if (creds := planner.role_entry(old).load()) is not None:
            planner.role_entry(new).store(creds)


def _text(catalog: Catalog) -> Text:
    path = catalog.files[1]
    try:
        data = read_whole(path).data
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read it ({exc.strerror})") from exc
    return Text(data.decode("utf-8", "surrogateescape"))


def _same(doc: Text, profile: str, keys: Keys) -> Text:
    """`doc`, if the file still holds `keys` for `profile` (another program may have
    changed them since they were read)."""
    found = keytext.stored_keys(doc, profile)
    if found is None or (found.access_key_id, found.secret_access_key) != (
            keys.access_key_id, keys.secret_access_key):
        raise ConfigError(f"profile {profile}", "its keys in the file changed meanwhile; "
                          "nothing was done, try again")
    return doc


def _edit(catalog: Catalog, profile: str, change: Callable[[Text], str]) -> None:
    SectionWriter(catalog.files[1]).edit(profile, change)
