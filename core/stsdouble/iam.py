"""IAM access keys (query protocol, SigV4 scoped to ``iam``): ListAccessKeys,
CreateAccessKey and DeleteAccessKey for the caller's own IAM user.

- ``mfa_actions`` (Create and Delete by default) need the caller's MFA session, i.e.
  GetSessionToken credentials with a code, as the usual "force MFA" policy does; anything
  else is AccessDenied with an explicit deny. A user holds at most two keys
  (``LimitExceeded``, 409).
- Eventual consistency: a new key is known to IAM at once but works for signing (STS, IAM)
  only after ``consistency_delay`` seconds and ``consistency_calls`` refused attempts;
  until then it is ``InvalidClientTokenId``. A deleted key stops working at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import wire
from .model import Keys, User, key_id, secret_key
from .wire import StsError, denied

VERSION = "2010-05-08"
NAMESPACE = f"https://iam.amazonaws.com/doc/{VERSION}/"
ACTIONS = ("ListAccessKeys", "CreateAccessKey", "DeleteAccessKey")
KEYS_PER_USER = 2


@dataclass
class _Pending:
    keys: Keys
    ready_at: float
    calls_left: int


@dataclass
class Iam:
    keys: dict[str, Keys] = field(repr=False)  # the double's key store
    remember: Callable[[list[str]], None] = field(repr=False)
    consistency_delay: float = 0.0
    consistency_calls: int = 0
    mfa_actions: set[str] = field(default_factory=lambda: {"CreateAccessKey",
                                                           "DeleteAccessKey"})
    _pending: dict[str, _Pending] = field(default_factory=dict, repr=False)
    _created: dict[str, float] = field(default_factory=dict, repr=False)
    _epoch: float = field(default_factory=time.time, repr=False)

    def settle(self, access_key_id: str) -> Keys | None:
        """A new key at its signing attempt: its keys once consistent, else None."""
        pending = self._pending.get(access_key_id)
        if pending is None:
            return None
        early = pending.calls_left > 0 or time.time() < pending.ready_at
        pending.calls_left = max(pending.calls_left - 1, 0)
        if early:
            return None
        del self._pending[access_key_id]
        self.keys[access_key_id] = pending.keys
        return pending.keys

    def answer(self, action: str, params: dict[str, str], caller: Keys) -> str | None:
        """The result element's content (None: no result element), or StsError."""
        if params.get("Version") != VERSION or action not in ACTIONS:
            raise StsError("InvalidAction", f"Could not find operation {action} for version "
                           f"{params.get('Version', 'NO_VERSION_SPECIFIED')}")
        errors: list[str] = []
        wire.check(errors, "userName", params.get("UserName"), lo=1, hi=128,
                   pattern=r"[\w+=,.@-]+")
        wire.check(errors, "accessKeyId", params.get("AccessKeyId"), lo=16, hi=128,
                   pattern=r"[\w]+", required=action == "DeleteAccessKey")
        wire.raise_if(errors)
        user = self._target(action, params.get("UserName"), caller)
        if action == "ListAccessKeys":
            rows = "".join(f"<member>{self._metadata(user, k)}</member>"
                           for k in self._user_keys(user))
            return f"<AccessKeyMetadata>{rows}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
        if action == "CreateAccessKey":
            return self._create(user)
        self._delete(user, params["AccessKeyId"])
        return None

    def _target(self, action: str, name: str | None, caller: Keys) -> User:
        """The user acted on: the caller's own, with MFA if the action needs it."""
        if caller.role is not None and name is None:
            raise StsError("ValidationError", "Must specify userName when calling with "
                           "non-User credentials")
        resource = f"user {name or caller.user.name}"
        if caller.role is not None or (name is not None and name != caller.user.name):
            raise denied(f"User: {caller.arn} is not authorized to perform: iam:{action} on "
                         f"resource: {resource} because no identity-based policy allows the "
                         f"iam:{action} action")
        if action in self.mfa_actions and not (caller.token is not None and caller.mfa):
            raise denied(f"User: {caller.arn} is not authorized to perform: iam:{action} on "
                         f"resource: {resource} with an explicit deny in an identity-based "
                         "policy")
        return caller.user

    def _user_keys(self, user: User) -> list[str]:
        live = [k.access_key_id for k in self.keys.values() if k.token is None and k.user is user]
        pending = [p.keys.access_key_id for p in self._pending.values() if p.keys.user is user]
        return sorted(live + pending, key=self._created_at)

    def _created_at(self, access_key_id: str) -> float:
        return self._created.get(access_key_id, self._epoch)

    def _metadata(self, user: User, access_key_id: str) -> str:
        return wire.tags(UserName=user.name, AccessKeyId=access_key_id, Status="Active",
                         CreateDate=wire.iso(self._created_at(access_key_id)))

    def _create(self, user: User) -> str:
        if len(self._user_keys(user)) >= KEYS_PER_USER:
            raise StsError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: "
                           f"{KEYS_PER_USER}", 409)
        keys = Keys(key_id("AKIA"), secret_key(), user)
        now = time.time()
        self._created[keys.access_key_id] = now
        self.remember([keys.secret])
        if self.consistency_delay > 0 or self.consistency_calls > 0:
            self._pending[keys.access_key_id] = _Pending(
                keys, now + self.consistency_delay, self.consistency_calls)
        else:
            self.keys[keys.access_key_id] = keys
        secret = wire.tags(SecretAccessKey=keys.secret)
        return f"<AccessKey>{self._metadata(user, keys.access_key_id)}{secret}</AccessKey>"

    def _delete(self, user: User, access_key_id: str) -> None:
        pending = self._pending.get(access_key_id)
        if pending is not None and pending.keys.user is user:
            del self._pending[access_key_id]
            return
        keys = self.keys.get(access_key_id)
        if keys is None or keys.token is not None or keys.user is not user:
            raise StsError("NoSuchEntity", f"The Access Key with id {access_key_id} cannot be "
                           "found.", 404)
        del self.keys[access_key_id]


def response_xml(action: str, result: str | None, request_id: str) -> bytes:
    inner = f"<{action}Result>{result}</{action}Result>" if result is not None else ""
    return (f'<{action}Response xmlns="{NAMESPACE}">{inner}<ResponseMetadata><RequestId>'
            f"{request_id}</RequestId></ResponseMetadata></{action}Response>\n").encode()


def error_xml(error: StsError, request_id: str) -> bytes:
    inner = wire.tags(Type=error.kind, Code=error.code, Message=error.message)
    return (f'<ErrorResponse xmlns="{NAMESPACE}"><Error>{inner}</Error><RequestId>'
            f"{request_id}</RequestId></ErrorResponse>\n").encode()
