"""boto3 in this process, on one botocore session per state of the AWS files (sdk.py).

The botocore session is built on the Catalog's parse (`Catalog.full_config`), so the
config is read once per change of the files, by rolebar and botocore together. Each
client names its profile (for its region and endpoint settings) and brings its own
credentials or none (unsigned): no default credential chain is consulted, and
`AWS_PROFILE` picks nothing. Only this module and sdkchild's child import boto3.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import boto3.session
import botocore
import botocore.config
import botocore.session
import botocore.utils

from rolebar.core.sdk import Client

# botocore sessions are not thread-safe, and a profile is chosen on the shared session
# for the length of one client's creation: the keeper's jobs and the ipc thread share it.
_LOCK = threading.Lock()


class _Session(botocore.session.Session):  # type: ignore[misc] # botocore has no types
    """A botocore session that takes its config from rolebar's parse of the files."""

    def __init__(self, full_config: dict[str, Any]) -> None:
        # No profile from AWS_PROFILE or AWS_DEFAULT_PROFILE: each client names its own.
        super().__init__(session_vars={"profile": (None, None, None, None)})
        self._parsed = full_config

    @property
    def full_config(self) -> dict[str, Any]:
        return self._parsed


class LocalSdk:
    """boto3 on a botocore session for one state of the AWS files."""

    def __init__(self, full_config: dict[str, Any]) -> None:
        self.botocore = _Session(full_config)
        self.boto3 = boto3.session.Session(botocore_session=self.botocore)

    def client(self, spec: Client) -> Any:
        config = botocore.config.Config(
            connect_timeout=spec.connect_timeout, read_timeout=spec.read_timeout,
            retries={"mode": "standard", "total_max_attempts": spec.attempts},
            **({} if spec.keys else {"signature_version": botocore.UNSIGNED}))
        keys = dict(zip(("aws_access_key_id", "aws_secret_access_key", "aws_session_token"),
                        spec.keys or (), strict=False))
        with self._seen_from(spec.profile) as seen:
            return self.boto3.client(spec.service, region_name=self._region(spec, seen),
                                     config=config, **keys)

    def check(self, spec: Client) -> None:
        with self._seen_from(spec.profile) as seen:
            botocore.utils.validate_region_name(self._region(spec, seen))

    @contextlib.contextmanager
    def _seen_from(self, profile: str | None) -> Iterator[Any]:
        """The botocore session as `profile` sees it (region, endpoints), held alone."""
        with _LOCK:
            self.botocore.set_config_variable("profile", profile)
            yield self.botocore

    @staticmethod
    def _region(spec: Client, seen: Any) -> str:
        return str(spec.region or seen.get_config_variable("region") or "us-east-1")
