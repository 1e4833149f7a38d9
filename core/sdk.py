"""Every AWS client rolebar makes: described by plain values (`Client`), made by an SDK.

Two SDKs answer the same two calls. `boto.LocalSdk` is boto3 in this process: what a
command that ends soon uses. A process that lives all day (`rolebar keep`, the tray)
calls `isolate()` first; from then on each call runs boto3 in a short-lived child
(`sdkchild.ChildSdk`), so botocore's 30 MiB never stay resident beside the icon. Both
read the same parse of the AWS files, resolve region and endpoint the same way, and fail
with botocore's exceptions, which `sts.translate` and `sso.errors.translate` turn into
rolebar errors. This module imports neither boto3 nor botocore.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rolebar.core.credentials import Credentials, Keys
    from rolebar.core.profiles import Catalog

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Client:
    """An AWS client as plain values, so that another process can make the same one.

    `profile` is whose region and endpoint settings apply (never whose keys: those are
    `keys`, or None for an unsigned client). `region` None is the profile's region as
    the SDK resolves it, else us-east-1. `attempts` counts the SDK's own tries: 1 for a
    call that carries a one-time code or makes something (a retry would repeat it).
    """

    service: str
    profile: str | None
    region: str | None = None
    keys: tuple[str, str, str | None] | None = field(default=None, repr=False)
    attempts: int = 2
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT

    @staticmethod
    def keys_of(caller: Keys | Credentials) -> tuple[str, str, str | None]:
        return (caller.access_key_id, caller.secret_access_key, caller.session_token)


class Sdk(Protocol):
    def client(self, spec: Client) -> Any:
        """A boto3 client for `spec`, or a stand-in that answers its methods the same."""
        ...

    def check(self, spec: Client) -> None:
        """Raise what making the client would (an invalid region), without calling AWS."""
        ...


_LOCK = threading.Lock()
_SDKS: dict[tuple[object, ...], Sdk] = {}
_KEEP = 4  # files seen by one process: the user's, and a test's or the demo's
_isolated = False


def isolate() -> None:
    """From now on, make AWS calls in a short-lived child: this process lives long."""
    global _isolated
    with _LOCK:
        _isolated = True
        _SDKS.clear()


def sdk(catalog: Catalog) -> Sdk:
    """The SDK for the catalog's files as they stood when it was read."""
    key = (*map(str, catalog.files), *catalog.stamp)
    with _LOCK:
        found = _SDKS.get(key)
        isolated = _isolated
    if found is None:
        if isolated:
            from rolebar.core.sdkchild import ChildSdk

            found = ChildSdk(catalog.files)
        else:
            from rolebar.core.boto import LocalSdk

            found = LocalSdk(catalog.full_config())
        with _LOCK:
            if len(_SDKS) >= _KEEP:
                _SDKS.clear()
            found = _SDKS.setdefault(key, found)
    return found
