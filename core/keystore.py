"""Long-term keys in the OS keyring (DESIGN.md section 5c): one narrow API over `keyring`.

One item per source profile: service "rolebar", user name the profile, the secret a JSON
object with the key id and secret. Every failure of the keyring (no backend, a locked
collection, a daemon gone, a D-Bus error) is one `RolebarError` line; nothing here ever
falls back to the plaintext file. A locked keyring is `KeyringLocked`: a person must
unlock it (the keyring's own prompt), as a one-time code needs a person.

Keys are read once per process and kept in memory (`cached`); a process that changes an
item (import, export, rotate) bumps a generation file in rolebar's cache folder, so a
running engine reads the item again on its next use instead of signing with a deleted key.
`keyring` is imported only here and only when called: the cached `credential_process`
path (fastpath.py) never loads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rolebar.core import paths
from rolebar.core.atomic import Stamp, stamp_of, write_private
from rolebar.core.credentials import Keys
from rolebar.core.errors import RolebarError
from rolebar.core.timing import seconds_setting

log = logging.getLogger(__name__)

SERVICE = "rolebar"
# An unlock prompt waits for a person; a hung daemon must not hold the engine forever.
DEFAULT_TIMEOUT = 120.0
# Backends that are no OS keyring: none at all, or a plaintext file under another name.
_REFUSED = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

T = TypeVar("T")


class KeyringError(RolebarError):
    """The OS keyring is missing or failed."""


class KeyringLocked(KeyringError):
    """The keyring is locked: a person must unlock it, with the keyring's own prompt."""


def get(profile: str) -> Keys | None:
    """The keys stored for `profile`, or None if there is no item (reads the keyring)."""
    raw = _run(profile, "read", lambda kr: kr.get_password(SERVICE, profile))
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Keys(profile, str(data["AccessKeyId"]), str(data["SecretAccessKey"]))
    except (ValueError, KeyError, TypeError):
        raise KeyringError(f"profile {profile}", f"the keyring item {SERVICE}/{profile} is "
                           "not rolebar's (no key id and secret in it)") from None


def put(profile: str, keys: Keys) -> None:
    """Store `keys` as `profile`'s item, replacing any item there."""
    value = json.dumps({"Version": 1, "AccessKeyId": keys.access_key_id,
                        "SecretAccessKey": keys.secret_access_key})
    _run(profile, "write", lambda kr: kr.set_password(SERVICE, profile, value))
    _changed(profile, keys)


def delete(profile: str) -> bool:
    """Remove `profile`'s item; False if there was none."""
    import keyring.errors

    def remove(kr: Any) -> bool:
        try:
            kr.delete_password(SERVICE, profile)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    found = _run(profile, "delete", remove)
    _changed(profile, None)
    return found


def cached(profile: str) -> Keys:
    """`profile`'s keys, read from the keyring once per process (again after another
    process changed the item). No item is a KeyringError saying how to put one there."""
    generation = _generation(profile)
    with _LOCK:
        hit = _CACHE.get(profile)
    if hit is not None and hit[0] == generation:
        return hit[1]
    keys = get(profile)
    if keys is None:
        raise KeyringError(f"profile {profile}", f"is marked rolebar_keys = keyring but the "
                           f"keyring holds no {SERVICE}/{profile} item (run `rolebar keys "
                           f"import {profile}` with its keys in the file)")
    with _LOCK:
        _CACHE[profile] = (generation, keys)
    return keys


# -- internals ----------------------------------------------------------------------------

_LOCK = threading.Lock()
_CACHE: dict[str, tuple[Stamp | None, Keys]] = {}


def _generation_file(profile: str) -> Path:
    digest = hashlib.sha256(profile.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return paths.cache_dir() / f"keyring-{digest}.gen"


def _generation(profile: str) -> Stamp | None:
    return stamp_of(_generation_file(profile))


def _changed(profile: str, keys: Keys | None) -> None:
    """This process's cache follows at once; other processes see a new generation."""
    path = _generation_file(profile)
    try:
        paths.private_dir(paths.cache_dir())
        write_private(path, os.urandom(8).hex())
    except OSError as exc:
        log.warning("profile %s: cannot note the keyring change in %s (%s); a running "
                    "engine reads the item again when it restarts", profile, path, exc.strerror)
    with _LOCK:
        _CACHE.pop(profile, None)
        if keys is not None:
            _CACHE[profile] = (_generation(profile), keys)


def _backend(profile: str | None) -> Any:
    subject = f"profile {profile}" if profile else "keyring"
    try:
        import keyring
    except ImportError:  # pragma: no cover - a dependency; a broken install says so
        raise KeyringError(subject, "the keyring library is not installed") from None
    try:
        chosen = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any backend's failure is one line
        raise KeyringError(subject, f"no OS keyring could be loaded ({type(exc).__name__})") \
            from exc
    module = type(chosen).__module__
    if module.startswith(_REFUSED):
        raise KeyringError(subject, "no OS keyring is available (on Linux: a Secret Service "
                           "such as gnome-keyring or KeePassXC on the session D-Bus)")
    return chosen


def _run(profile: str, what: str, action: Callable[[Any], T]) -> T:
    """`action(backend)` with every failure as one line, bounded in time (a thread)."""
    import keyring.errors

    subject = f"profile {profile}"
    backend = _backend(profile)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(action(backend))
        except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
            failure.append(exc)

    timeout = seconds_setting(os.environ, "ROLEBAR_KEYRING_TIMEOUT", DEFAULT_TIMEOUT)
    worker = threading.Thread(target=work, name="rolebar-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise KeyringError(subject, f"the OS keyring did not answer a {what} in {timeout:g} s")
    if failure:
        exc = failure[0]
        if isinstance(exc, keyring.errors.KeyringLocked):
            raise KeyringLocked(subject, "the OS keyring is locked; unlock it (its own "
                                "prompt, or the desktop's keyring app) and try again") from exc
        if isinstance(exc, keyring.errors.NoKeyringError):
            raise KeyringError(subject, "no OS keyring is available") from exc
        if isinstance(exc, RolebarError):
            raise exc
        # The type names the failure (a D-Bus error, a daemon gone); messages may quote
        # whatever the backend saw, so they stay on __cause__ for --debug only.
        raise KeyringError(subject, f"the OS keyring failed a {what} "
                           f"({type(exc).__name__})") from exc
    log.debug("profile %s: keyring %s done", profile, what)
    return outcome[0]
