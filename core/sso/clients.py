"""boto3 clients for OIDC (`sso-oidc`) and the portal (`sso`), from the process's SDK
(core/sdk.py): unsigned, as the SDKs make them, so no credential chain is
consulted at all.

The endpoints are the SDK's: `AWS_ENDPOINT_URL_SSO_OIDC` / `AWS_ENDPOINT_URL_SSO` (or
`AWS_ENDPOINT_URL`, or the profile's `services` block), else `oidc.<region>.amazonaws.com`
and `portal.sso.<region>.amazonaws.com`. `AWS_PROFILE` is ignored: the session reads the
profile the sign-in was configured on, or none.
"""

from __future__ import annotations

from typing import Any

from rolebar.core.sso.errors import translate

OIDC = "IAM Identity Center OIDC"
PORTAL = "the IAM Identity Center portal"


def oidc(region: str, profile: str | None, subject: str) -> Any:
    return _client("sso-oidc", region, profile, subject, OIDC)


def portal(region: str, profile: str | None, subject: str) -> Any:
    return _client("sso", region, profile, subject, PORTAL)


def oidc_endpoint(client: Any) -> str:
    """The OIDC endpoint the client calls; `/authorize` is found under it."""
    return str(client.meta.endpoint_url).rstrip("/")


def _client(service: str, region: str, profile: str | None, subject: str, name: str) -> Any:
    from rolebar.core.profiles import Catalog
    from rolebar.core.sdk import Client, sdk

    with translate(subject, name):
        return sdk(Catalog.load()).client(Client(service, profile, region))
