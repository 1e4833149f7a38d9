"""The IAM access-key calls a rotation makes, and STS GetCallerIdentity to try a key.

Clients are made as sts.py makes its own: boto3 from the engine's SDK session, with the
caller's credentials given explicitly (never the default chain), the endpoint the SDK
resolves for the profile (`AWS_ENDPOINT_URL_IAM`, `endpoint_url`, `[services]`). Errors
are rolebar errors carrying AWS's code, built from the code only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rolebar.core.credentials import Credentials, Keys, mask
from rolebar.core.errors import StsError
from rolebar.core.sdk import Client
from rolebar.core.sts import translate

if TYPE_CHECKING:
    from rolebar.core.sdk import Sdk

log = logging.getLogger(__name__)

CAUSES = {
    "LimitExceeded": "the IAM user already has two access keys (IAM's limit); delete the "
                     "one not in use (IAM console or `aws iam delete-access-key`) and rotate "
                     "again",
    "NoSuchEntity": "IAM does not know that access key",
    "AccessDenied": "IAM refused the call (access denied)",
    "InvalidClientTokenId": "the access key is not (or not yet) valid",
    "SignatureDoesNotMatch": "IAM rejected the signature (wrong secret access key?)",
    "ExpiredToken": "the MFA session has expired",
}


class IamError(StsError):
    """IAM (or STS, trying a key) refused the call or could not be reached."""


@dataclass(frozen=True)
class KeyInfo:
    access_key_id: str
    created: float | None  # POSIX seconds
    status: str


class Iam:
    """IAM and STS seen from one profile (its region and endpoint settings)."""

    def __init__(self, profile: str, sdk: Callable[[], Sdk]) -> None:
        self.profile = profile
        self._sdk = sdk

    def list_keys(self, caller: Keys | Credentials) -> list[KeyInfo]:
        with self._calling("ListAccessKeys"):
            answer = self._client("iam", caller).list_access_keys()
        return [KeyInfo(k["AccessKeyId"], k["CreateDate"].timestamp()
                        if k.get("CreateDate") else None, str(k.get("Status", "")))
                for k in answer.get("AccessKeyMetadata", [])]

    def create_key(self, session: Keys | Credentials, owner: str) -> Keys:
        with self._calling("CreateAccessKey"):
            made = self._client("iam", session).create_access_key()["AccessKey"]
        keys = Keys(owner, made["AccessKeyId"], made["SecretAccessKey"])
        log.info("profile %s: created access key %s", self.profile, mask(keys.access_key_id))
        return keys

    def delete_key(self, session: Keys | Credentials, access_key_id: str) -> None:
        with self._calling("DeleteAccessKey"):
            self._client("iam", session).delete_access_key(AccessKeyId=access_key_id)
        log.info("profile %s: deleted access key %s", self.profile, mask(access_key_id))

    def works(self, keys: Keys) -> bool:
        """Whether STS takes `keys` (GetCallerIdentity); False while IAM has not settled."""
        try:
            with self._calling("GetCallerIdentity"):
                self._client("sts", keys).get_caller_identity()
        except IamError as exc:
            if exc.code in ("InvalidClientTokenId", "SignatureDoesNotMatch"):
                return False
            raise
        return True

    @contextlib.contextmanager
    def _calling(self, action: str) -> Iterator[None]:
        subject = f"profile {self.profile}: {action}"
        try:
            with translate(subject):
                yield
        except StsError as exc:
            cause = CAUSES.get(exc.code or "", exc.cause.replace("STS", "AWS"))
            if exc.code and exc.code in CAUSES:
                cause = f"{cause} ({exc.code})"
            raise IamError(subject, cause, exc.code, exc.status) from exc

    def _client(self, service: str, caller: Keys | Credentials) -> Any:
        # No SDK retry: a CreateAccessKey retried after a lost answer makes a second key.
        spec = Client(service, self.profile, keys=Client.keys_of(caller), attempts=1)
        with translate(f"profile {self.profile}"):
            return self._sdk().client(spec)
