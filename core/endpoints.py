"""The STS endpoint a profile configures, checked before any call (and any code).

botocore picks the endpoint of a client in this order (its ConfiguredEndpointProvider):
`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, `sts = endpoint_url = ...` in the profile's
`[services NAME]` section, the profile's own `endpoint_url`; none of them when
`ignore_configured_endpoint_urls` (or `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`) is true. A
value it cannot use ends in a bare ValueError deep in client creation; here it is a
configuration error that names the profile, the setting and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rolebar.core.errors import ConfigError


def sts_endpoint(values: Mapping[str, Any], services: Mapping[str, Any],
                 env: Mapping[str, str]) -> tuple[str, str] | None:
    """(where it is set, the URL) that botocore would use for STS, or None."""
    ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    if ignore is None:
        ignore = values.get("ignore_configured_endpoint_urls")
    if str(ignore).strip().lower() == "true":
        return None
    section = values.get("services")
    service = services.get(section, {}) if isinstance(section, str) else {}
    sts = service.get("sts") if isinstance(service, dict) else None
    candidates = (
        ("AWS_ENDPOINT_URL_STS", env.get("AWS_ENDPOINT_URL_STS")),
        ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
        (f"[services {section}] sts endpoint_url",
         sts.get("endpoint_url") if isinstance(sts, dict) else None),
        ("endpoint_url", values.get("endpoint_url")),
    )
    return next(((where, str(url)) for where, url in candidates if url), None)


def check_sts_endpoint(profile: str, values: Mapping[str, Any], services: Mapping[str, Any],
                       env: Mapping[str, str]) -> None:
    section = values.get("services")
    if isinstance(section, str) and section not in services:
        raise ConfigError(f"profile {profile}",
                          f"services = {section}, but there is no [services {section}] section")
    found = sts_endpoint(values, services, env)
    if found is None:
        return
    where, url = found
    if not _is_url(url):
        raise ConfigError(f"profile {profile}", f"{where} {url!r} is not a URL "
                          "(https://host[:port])")


def _is_url(url: str) -> bool:
    """What botocore accepts as an endpoint, and an http(s) one."""
    import botocore.utils

    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    return scheme in ("http", "https") and bool(
        botocore.utils.is_valid_endpoint_url(url)
        or botocore.utils.is_valid_ipv6_endpoint_url(url))
