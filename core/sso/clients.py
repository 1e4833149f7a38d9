"""botocore clients for OIDC (`sso-oidc`) and the portal (`sso`): unsigned, as the SDKs
make them, so no credential chain is consulted at all.

The endpoints are the SDK's: `AWS_ENDPOINT_URL_SSO_OIDC` / `AWS_ENDPOINT_URL_SSO` (or
`AWS_ENDPOINT_URL`, or the profile's `services` block), else `oidc.<region>.amazonaws.com`
and `portal.sso.<region>.amazonaws.com`. `AWS_PROFILE` is ignored: the session reads the
profile the sign-in was configured on, or none.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

from rolebar.core.fastpath import aws_files, stamps
from rolebar.core.sso.errors import translate

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
OIDC = "IAM Identity Center OIDC"
PORTAL = "the IAM Identity Center portal"

# botocore sessions are not thread-safe; the keeper's jobs and ipc share them.
_LOCK = threading.Lock()


def oidc(region: str, profile: str | None, subject: str) -> Any:
    return _client("sso-oidc", region, profile, subject, OIDC)


def portal(region: str, profile: str | None, subject: str) -> Any:
    return _client("sso", region, profile, subject, PORTAL)


def oidc_endpoint(client: Any) -> str:
    """The OIDC endpoint the client calls; `/authorize` is found under it."""
    return str(client.meta.endpoint_url).rstrip("/")


def _client(service: str, region: str, profile: str | None, subject: str, name: str) -> Any:
    import botocore
    import botocore.config

    config = botocore.config.Config(
        signature_version=botocore.UNSIGNED, region_name=region,
        connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    with _LOCK, translate(subject, name):
        return _session(profile, stamps(aws_files(os.environ))).create_client(
            service, region_name=region, config=config)


@functools.lru_cache(maxsize=16)
def _session(profile: str | None, files_stamp: str) -> Any:
    """One botocore session per profile while the AWS files stay as they were."""
    import botocore.session

    if profile is not None:
        return botocore.session.Session(profile=profile)
    # No profile: AWS_PROFILE / AWS_DEFAULT_PROFILE must not pick one (nor fail on one
    # that does not exist).
    return botocore.session.Session(session_vars={"profile": (None, None, None, None)})
