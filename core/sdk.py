"""The SDK behind every AWS client rolebar makes: a boto3 session on one botocore session
per state of the AWS files.

The botocore session is built on the Catalog's parse (`Catalog.full_config`), so the
config is read once per change of the files, by rolebar and botocore together. Each
client names its profile (for its region and endpoint settings) and brings its own
credentials or none (unsigned): no default credential chain is consulted, and
`AWS_PROFILE` picks nothing. Import this module only where a client is made: it loads
boto3 and botocore, which the cached `credential_process` path never does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3.session
import botocore.session

if TYPE_CHECKING:
    from rolebar.core.profiles import Catalog

# botocore sessions are not thread-safe, and a profile is chosen on the shared session
# for the length of one client's creation: the keeper's jobs and the ipc thread share it.
_LOCK = threading.Lock()
_SDKS: dict[tuple[object, ...], Sdk] = {}
_KEEP = 4  # files seen by one process: the user's, and a test's or the demo's


class _Session(botocore.session.Session):  # type: ignore[misc] # botocore has no types
    """A botocore session that takes its config from rolebar's parse of the files."""

    def __init__(self, full_config: dict[str, Any]) -> None:
        # No profile from AWS_PROFILE or AWS_DEFAULT_PROFILE: each client names its own.
        super().__init__(session_vars={"profile": (None, None, None, None)})
        self._parsed = full_config

    @property
    def full_config(self) -> dict[str, Any]:
        return self._parsed


class Sdk:
    """boto3 on a botocore session for one state of the AWS files."""

    def __init__(self, full_config: dict[str, Any]) -> None:
        self.botocore = _Session(full_config)
        self.boto3 = boto3.session.Session(botocore_session=self.botocore)

    @contextlib.contextmanager
    def seen_from(self, profile: str | None) -> Iterator[Any]:
        """The botocore session as `profile` sees it (region, endpoints), held alone."""
        with _LOCK:
            self.botocore.set_config_variable("profile", profile)
            yield self.botocore

    def client(self, service: str, profile: str | None, **options: Any) -> Any:
        """A boto3 client for `service` with `profile`'s settings; `options` as boto3's."""
        with self.seen_from(profile):
            return self.boto3.client(service, **options)


def sdk(catalog: Catalog) -> Sdk:
    """The SDK for the catalog's files as they stood when it was read."""
    key = (*map(str, catalog.files), *catalog.stamp)
    with _LOCK:
        found = _SDKS.get(key)
    if found is None:
        found = Sdk(catalog.full_config())
        with _LOCK:
            if len(_SDKS) >= _KEEP:
                _SDKS.clear()
            found = _SDKS.setdefault(key, found)
    return found
