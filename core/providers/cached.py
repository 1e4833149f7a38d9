"""One cached provider: cache lookup, the lock and single flight around any provider.

Whoever waited on an entry's lock reads the entry again before calling the provider, so
many simultaneous cold callers (threads or processes) make one STS call. What an entry
is good for is the entry kind's business: role credentials (with the fast path's
`.answer` twin, good while the plan and the AWS files are the same) or an MFA session
(good while it can still sign a call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rolebar.core.cache import Cache, entry_name
from rolebar.core.credentials import Credentials
from rolebar.core.errors import RolebarError
from rolebar.core.fastpath import answer_file, role_entry_name, stamps
from rolebar.core.providers.base import Call, Provider

if TYPE_CHECKING:
    from rolebar.core.profiles import Plan

log = logging.getLogger(__name__)


class Entry(Protocol):
    @property
    def name(self) -> str: ...

    def load(self, issued_after: float | None = None) -> Credentials | None:
        """What the cache holds if it is good enough (and newer than `issued_after`)."""
        ...

    def store(self, creds: Credentials) -> None: ...


@dataclass(frozen=True)
class Cached:
    """`inner`'s credentials through the cache. `issued_after` asks for credentials newer
    than what was cached before this request (a refresh ahead of time, a renewal); a
    caller that waited on the lock still takes what another process fetched meanwhile.
    `why` is logged (debug) when the provider is called."""

    inner: Provider[Credentials]
    entry: Entry
    cache: Cache
    issued_after: float | None = None
    why: str = ""

    def retrieve(self) -> Credentials:
        if self.issued_after is None and (hit := self.entry.load()):
            return hit
        with self.cache.lock(self.entry.name):
            if hit := self.entry.load(self.issued_after):
                return hit
            if self.why:
                log.debug("%s", self.why)
            creds = self.inner.retrieve()
            self.entry.store(creds)
            return creds

    def drop(self) -> None:
        self.cache.delete(self.entry.name)

    def describe(self) -> str:
        return f"Cached({self.inner.describe()})"


@dataclass(frozen=True)
class RoleEntry:
    """A profile's credentials, with the `.answer` twin the fast path reads. `call` is the
    request that stores them: the route it took is kept beside them for `status`."""

    cache: Cache
    plan: Plan
    clock: Callable[[], float]
    call: Call | None = None

    @property
    def name(self) -> str:
        return role_entry_name(self.plan.profile, self.plan.files)

    def raw(self) -> dict[str, Any] | None:
        """The entry if it was made for this plan (fresh or not)."""
        entry = self.cache.load(self.name)
        return entry if entry and entry.get("plan") == self.plan.fingerprint else None

    def load(self, issued_after: float | None = None) -> Credentials | None:
        """Fresh credentials made for this plan; a hit is re-stamped (see `restamp`)."""
        if (found := self._fresh()) is None:
            return None
        creds, entry = found
        if issued_after is not None and creds.issued < issued_after:
            return None
        self._stamp(creds, entry)
        return creds

    def restamp(self) -> bool:
        """Stamp fresh credentials with the AWS files as they are now; False if none."""
        if (found := self._fresh()) is None:
            return False
        self._stamp(*found)
        return True

    def _stamp(self, creds: Credentials, entry: dict[str, Any]) -> None:
        """The AWS files changed but not this plan: stamp the entry and its `.answer` twin
        with the files as they are, so the fast path hits again.

        Under the entry's lock, and only while it still holds these credentials: a fetch
        that stored newer ones since they were read must not be overwritten with them (the
        cache would hand the older credentials out again). A busy lock (a fetch under
        way, or this very call holding it) skips the stamp: the next hit makes it.
        """
        if entry.get("stamps") == stamps(self.plan.files):
            return
        try:
            with self.cache.lock(self.name, timeout=0):
                current = self.raw()
                if current is not None and current.get("AccessKeyId") == creds.access_key_id:
                    self._write(creds, current)
        except RolebarError as exc:
            log.debug("%s: not stamped now (%s)", self.name, exc.cause)

    def _fresh(self) -> tuple[Credentials, dict[str, Any]] | None:
        if (entry := self.raw()) is None:
            return None
        try:
            creds = Credentials.from_dict(entry)
        except (KeyError, TypeError, ValueError):
            return None
        return (creds, entry) if creds.fresh(self.clock()) else None

    def store(self, creds: Credentials) -> None:
        entry: dict[str, Any] = {"profile": self.plan.profile, "plan": self.plan.fingerprint}
        if self.call is not None and self.call.taken is not None:
            entry["route"], entry["reason"] = self.call.taken
        self._write(creds, entry)

    def taken(self) -> tuple[str, str] | None:
        """The route and reason the stored credentials were fetched by, if not the plan's."""
        entry = self.raw() or {}
        route, reason = entry.get("route"), entry.get("reason")
        return (route, reason) if isinstance(route, str) and isinstance(reason, str) else None

    def _write(self, creds: Credentials, entry: dict[str, Any]) -> None:
        files_stamp = stamps(self.plan.files)
        entry = {**entry, **creds.to_dict(), "stamps": files_stamp}
        answer = answer_file(creds.issued, creds.expires, files_stamp, creds.process_json())
        self.cache.store(self.name, entry, answer)


@dataclass(frozen=True)
class SessionEntry:
    """The MFA session of one device and source key, shared by every role behind it."""

    cache: Cache
    device: str
    key_id: str
    clock: Callable[[], float]

    @property
    def name(self) -> str:
        return entry_name("session", device=self.device, key=self.key_id)

    def load(self, issued_after: float | None = None) -> Credentials | None:
        return load_usable(self.cache, self.name, self.clock(), issued_after)

    def store(self, creds: Credentials) -> None:
        self.cache.store(self.name, {**creds.to_dict(), "device": self.device})


def load_usable(cache: Cache, name: str, now: float,
                issued_after: float | None = None) -> Credentials | None:
    """Credentials that sign the next call (an MFA session, a chain's SSO role): still
    usable at `now`, and issued after `issued_after` if given."""
    entry = cache.load(name)
    try:
        creds = Credentials.from_dict(entry) if entry else None
    except (KeyError, TypeError, ValueError):
        return None
    if creds is None or not creds.usable(now):
        return None
    return creds if issued_after is None or creds.issued >= issued_after else None
